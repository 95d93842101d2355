// `npm run schema`: migrates a throwaway database and rewrites schema/ from
// its catalog. Uses a disposable embedded server in a temporary directory, or
// a temporary database on DATABASE_URL's server (its role needs CREATEDB).

import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from './pg.js';
import { connectionStringFor, ensureDatabaseExists } from './database.js';
import { destroyEmbeddedServer, ensureEmbeddedServer } from './embeddedServer.js';
import { migrate, readMigrationFiles } from './migrate.js';
import { createPool } from './pool.js';
import { dumpSchema, supersededIndex, writeSchemaDir } from './schemaDump.js';

const SCHEMA_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'schema');
const DATABASE_NAME = `bookiji_schema_${process.pid}`;

function withDatabase(connectionString: string, database: string): string {
  const url = new URL(connectionString);
  url.pathname = `/${database}`;
  return url.toString();
}

async function main(): Promise<void> {
  let home: string | undefined;
  let admin = process.env.DATABASE_URL;
  if (!admin) {
    home = mkdtempSync(path.join(os.tmpdir(), 'bookiji-schema-'));
    chmodSync(home, 0o755); // the server may run as postgres when we are root
    admin = connectionStringFor(await ensureEmbeddedServer({ home, disposable: true }), 'postgres');
  }
  try {
    await ensureDatabaseExists(admin, DATABASE_NAME);
    const pool = createPool({ connectionString: withDatabase(admin, DATABASE_NAME), max: 1 });
    try {
      await migrate(pool);
      const files = await dumpSchema(pool);
      files.set('README.md', supersededIndex(readMigrationFiles(), files));
      writeSchemaDir(SCHEMA_DIR, files);
      process.stdout.write(`schema/: ${files.size} files written from ${DATABASE_NAME}\n`);
    } finally {
      await pool.end();
    }
  } finally {
    const client = new pg.Client({ connectionString: admin });
    await client.connect();
    await client.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(DATABASE_NAME)} WITH (FORCE)`).finally(() => client.end());
    if (home) {
      await destroyEmbeddedServer(home);
      rmSync(home, { recursive: true, force: true });
    }
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`npm run schema failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
