// Throwaway databases for mutants: two migrated templates (normal, and one
// created for simulation) made once per run, and clones of them per use,
// so a mutant never sees another's changes nor the user's data.

import { randomBytes } from 'node:crypto';
import pg from '../../db/pg.js';
import { ensureDatabaseExists } from '../../db/database.js';
import { migrate } from '../../db/migrate.js';
import { createPool, type Pool } from '../../db/pool.js';
import { withDatabaseName } from '../databases.js';
import type { DatabaseRef } from './worker.js';

export interface MutantTemplates {
  adminConnectionString: string;
  normal: string;
  simulation: string;
  drop(): Promise<void>;
}

export interface OpenPair {
  normal: DatabaseRef & { pool: Pool };
  simulation: DatabaseRef & { pool: Pool };
  drop(): Promise<void>;
}

async function dropDatabases(adminConnectionString: string, names: string[]): Promise<void> {
  const admin = new pg.Client({ connectionString: adminConnectionString });
  await admin.connect();
  try {
    for (const name of names) await admin.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`);
  } finally {
    await admin.end();
  }
}

export async function createTemplates(adminConnectionString: string): Promise<MutantTemplates> {
  const tag = randomBytes(4).toString('hex');
  const names = { normal: `bookiji_mutant_tpl_n_${tag}`, simulation: `bookiji_mutant_tpl_s_${tag}` };
  for (const [kind, name] of Object.entries(names)) {
    await ensureDatabaseExists(adminConnectionString, name, { simulation: kind === 'simulation' });
    const pool = createPool({ connectionString: withDatabaseName(adminConnectionString, name), max: 2, applicationName: 'bookiji-mutant-template' });
    try {
      await migrate(pool);
    } finally {
      await pool.end();
    }
  }
  return { adminConnectionString, ...names, drop: () => dropDatabases(adminConnectionString, Object.values(names)) };
}

/** A fresh normal + simulation pair cloned from the templates, with small pools for witnesses and mutations. */
export async function clonePair(templates: MutantTemplates, label: string): Promise<OpenPair> {
  const tag = randomBytes(4).toString('hex');
  const refs: Record<'normal' | 'simulation', DatabaseRef & { pool: Pool }> = {} as never;
  const created: string[] = [];
  try {
    for (const kind of ['normal', 'simulation'] as const) {
      const name = `bookiji_mutant_${label}_${kind[0]}_${tag}`;
      await ensureDatabaseExists(templates.adminConnectionString, name, { template: templates[kind] });
      created.push(name);
      const connectionString = withDatabaseName(templates.adminConnectionString, name);
      const pool = createPool({ connectionString, max: 8, applicationName: 'bookiji-mutant' });
      pool.on('error', () => undefined);
      refs[kind] = { name, connectionString, pool };
    }
  } catch (error) {
    await dropDatabases(templates.adminConnectionString, created).catch(() => undefined);
    throw error;
  }
  return {
    ...refs,
    async drop() {
      await refs.normal.pool.end().catch(() => undefined);
      await refs.simulation.pool.end().catch(() => undefined);
      await dropDatabases(templates.adminConnectionString, created);
    },
  };
}

/** The reference a worker needs: name and connection string, no pool. */
export function refOf(db: DatabaseRef): DatabaseRef {
  return { name: db.name, connectionString: db.connectionString };
}
