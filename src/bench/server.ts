// The benchmark's own database server and databases.
//
// By default a disposable embedded PostgreSQL in a temporary directory (fsync
// off, like the test server: we measure the engine's work, not the disk's),
// stopped and deleted at the end. With DATABASE_URL, that server is used
// instead (its role needs CREATEDB); the benchmark only creates and drops
// databases of its own there, named bench_<run>_<purpose>.

import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from '../db/pg.js';
import { connectionStringFor, ensureDatabaseExists } from '../db/database.js';
import { destroyEmbeddedServer, ensureEmbeddedServer } from '../db/embeddedServer.js';
import { migrate } from '../db/migrate.js';
import { createPool, type Pool } from '../db/pool.js';

export interface BenchServer {
  kind: 'embedded' | 'DATABASE_URL';
  adminConnectionString: string;
  /** A fresh migrated database (cloned from a template made once per run). */
  createDatabase(purpose: string, options?: { simulation?: boolean }): Promise<BenchDatabase>;
  /** Drops every database this run created and, when embedded, stops and deletes the server. */
  close(): Promise<void>;
}

export interface BenchDatabase {
  name: string;
  connectionString: string;
  /** A pool of `max` connections to this database. */
  openPool(max: number): Pool;
}

export function withDatabaseName(connectionString: string, database: string): string {
  const url = new URL(connectionString);
  url.pathname = `/${encodeURIComponent(database)}`;
  return url.toString();
}

async function adminQuery(adminConnectionString: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminConnectionString });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end().catch(() => undefined);
  }
}

// Stays long: it starts (or reaches) PostgreSQL and returns one handle whose methods share the run id, the templates and the pools they drop on stop.
export async function startBenchServer(env: NodeJS.ProcessEnv = process.env): Promise<BenchServer> {
  let home: string | undefined;
  let adminConnectionString: string;
  if (env.DATABASE_URL) {
    adminConnectionString = env.DATABASE_URL;
  } else {
    home = mkdtempSync(path.join(os.tmpdir(), 'bookiji-bench-'));
    // mkdtemp makes it private to us; run as root, PostgreSQL runs as
    // `postgres` and must be able to enter it (its own pgdata stays 0700).
    chmodSync(home, 0o755);
    const credentials = await ensureEmbeddedServer({ home, disposable: true });
    adminConnectionString = connectionStringFor(credentials, 'postgres');
  }
  const run = randomBytes(4).toString('hex');
  const created: string[] = [];
  const templates = new Map<boolean, Promise<string>>();

  const makeTemplate = async (simulation: boolean): Promise<string> => {
    const name = `bench_${run}_template${simulation ? '_sim' : ''}`;
    await ensureDatabaseExists(adminConnectionString, name, { simulation });
    created.push(name);
    const pool = createPool({ connectionString: withDatabaseName(adminConnectionString, name), max: 1 });
    try {
      await migrate(pool);
    } finally {
      await pool.end();
    }
    return name;
  };

  const templateFor = (simulation: boolean): Promise<string> => {
    let template = templates.get(simulation);
    if (!template) {
      template = makeTemplate(simulation);
      templates.set(simulation, template);
    }
    return template;
  };

  const pools: Pool[] = [];
  return {
    kind: home ? 'embedded' : 'DATABASE_URL',
    adminConnectionString,
    async createDatabase(purpose, options = {}) {
      const template = await templateFor(options.simulation ?? false);
      const name = `bench_${run}_${purpose}`;
      await ensureDatabaseExists(adminConnectionString, name, { template });
      created.push(name);
      const connectionString = withDatabaseName(adminConnectionString, name);
      return {
        name,
        connectionString,
        openPool(max) {
          const pool = createPool({ connectionString, max, applicationName: `bookiji-bench-${purpose}` });
          pools.push(pool);
          return pool;
        },
      };
    },
    async close() {
      await Promise.all(pools.map((pool) => pool.end().catch(() => undefined)));
      if (home) {
        await destroyEmbeddedServer(home).catch(() => undefined);
        rmSync(home, { recursive: true, force: true });
        return;
      }
      for (const name of created.reverse()) {
        await adminQuery(adminConnectionString, `DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`).catch(() => undefined);
      }
    },
  };
}
