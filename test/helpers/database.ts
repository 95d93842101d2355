// A fresh database per test file, cloned from a migrated template: real
// PostgreSQL, real schema, nobody else's rows.

import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';
import { ensureDatabaseExists } from '../../src/db/database.js';
import { createPool, type Pool } from '../../src/db/pool.js';

export interface TestDatabase {
  name: string;
  connectionString: string;
  adminConnectionString: string;
  pool: Pool;
  /** Drops the database (forcing other sessions off). */
  drop(): Promise<void>;
}

export function withDatabase(connectionString: string, database: string): string {
  const url = new URL(connectionString);
  url.pathname = `/${database}`;
  return url.toString();
}

export async function createTestDatabase(options: { simulation?: boolean; poolMax?: number; applicationName?: string } = {}): Promise<TestDatabase> {
  const adminConnectionString = inject('adminConnectionString');
  const template = options.simulation ? inject('templateSimulation') : inject('templateNormal');
  const name = `t_${randomBytes(6).toString('hex')}`;
  await ensureDatabaseExists(adminConnectionString, name, { template });
  const connectionString = withDatabase(adminConnectionString, name);
  const pool = createPool({ connectionString, max: options.poolMax ?? 60, ...(options.applicationName ? { applicationName: options.applicationName } : {}) });
  return {
    name,
    connectionString,
    adminConnectionString,
    pool,
    async drop() {
      await pool.end().catch(() => undefined);
      const admin = new pg.Client({ connectionString: adminConnectionString });
      await admin.connect();
      try {
        await admin.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`);
      } finally {
        await admin.end();
      }
    },
  };
}
