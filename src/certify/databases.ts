// Fresh databases for one certification, on the target server: created,
// migrated, and dropped afterwards. The user's database is never touched.

import { randomBytes } from 'node:crypto';
import pg from '../db/pg.js';
import { ensureDatabaseExists } from '../db/database.js';
import { migrate } from '../db/migrate.js';
import { createPool } from '../db/pool.js';
import type { CertifyDatabase } from './context.js';

/** Parallel connections a phase may open at once (contention, soak workers). */
export const CERTIFY_POOL_MAX = 64;

export function withDatabaseName(connectionString: string, database: string): string {
  const url = new URL(connectionString);
  url.pathname = `/${encodeURIComponent(database)}`;
  return url.toString();
}

/** The server's maintenance database, from which databases are created and dropped. */
export function adminConnectionStringFor(connectionString: string): string {
  return withDatabaseName(connectionString, 'postgres');
}

export async function createCertifyDatabase(adminConnectionString: string, options: { simulation: boolean; label: string }): Promise<CertifyDatabase> {
  const name = `bookiji_certify_${options.label}_${randomBytes(4).toString('hex')}`;
  await ensureDatabaseExists(adminConnectionString, name, { simulation: options.simulation });
  const connectionString = withDatabaseName(adminConnectionString, name);
  const pool = createPool({ connectionString, max: CERTIFY_POOL_MAX, applicationName: 'bookiji-certify' });
  await migrate(pool);
  return { name, connectionString, pool };
}

export async function dropCertifyDatabase(adminConnectionString: string, database: CertifyDatabase): Promise<void> {
  await database.pool.end().catch(() => undefined);
  const admin = new pg.Client({ connectionString: adminConnectionString });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(database.name)} WITH (FORCE)`);
  } finally {
    await admin.end();
  }
}
