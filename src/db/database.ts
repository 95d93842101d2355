// Where the database is and how to open it.
//
// With DATABASE_URL, that server. Without it, the embedded server under
// BOOKIJI_HOME (default ./.bookiji), started on first use and left running
// for the next command. Every command that touches data goes through
// `openDatabase`, which also brings the schema up to date.

import path from 'node:path';
import pg from './pg.js';
import { BookijiError, toBookijiError } from '../errors.js';
import { ensureEmbeddedServer, type ClusterCredentials } from './embeddedServer.js';
import { ensureMigrated } from './migrate.js';
import { createPool, type Pool } from './pool.js';

export interface DatabaseTarget {
  connectionString: string;
  embedded: boolean;
  home?: string;
}

export interface Database {
  pool: Pool;
  target: DatabaseTarget;
  close(): Promise<void>;
}

export function bookijiHome(env: NodeJS.ProcessEnv = process.env): string {
  return path.resolve(env.BOOKIJI_HOME ?? path.join(process.cwd(), '.bookiji'));
}

export function connectionStringFor(credentials: ClusterCredentials, database = credentials.database): string {
  return `postgres://${encodeURIComponent(credentials.user)}:${encodeURIComponent(credentials.password)}@127.0.0.1:${credentials.port}/${encodeURIComponent(database)}`;
}

/** Resolves (and for the embedded server, starts) the database server to use. */
export async function resolveTarget(env: NodeJS.ProcessEnv = process.env): Promise<DatabaseTarget> {
  if (env.DATABASE_URL) return { connectionString: env.DATABASE_URL, embedded: false };
  const home = bookijiHome(env);
  const credentials = await ensureEmbeddedServer({ home });
  const connectionString = connectionStringFor(credentials);
  await ensureDatabaseExists(connectionStringFor(credentials, 'postgres'), credentials.database);
  return { connectionString, embedded: true, home };
}

/** CREATE DATABASE if missing; safe when two commands race to create it. */
export async function ensureDatabaseExists(
  adminConnectionString: string,
  database: string,
  options: { simulation?: boolean; template?: string } = {},
): Promise<boolean> {
  const client = new pg.Client({ connectionString: adminConnectionString });
  try {
    await client.connect();
    const exists = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (exists.rowCount && exists.rowCount > 0) return false;
    try {
      const template = options.template ? ` TEMPLATE ${pg.escapeIdentifier(options.template)}` : '';
      await client.query(`CREATE DATABASE ${pg.escapeIdentifier(database)}${template}`);
    } catch (error) {
      if ((error as { code?: string }).code === '42P04') return false; // created by a concurrent command
      throw error;
    }
    if (options.simulation) {
      // Read by migration 0001 when it creates the clock: only a database
      // marked at creation may ever move its clock.
      await client.query(`ALTER DATABASE ${pg.escapeIdentifier(database)} SET bookiji.simulation = 'on'`);
    }
    return true;
  } catch (error) {
    throw toBookijiError(error);
  } finally {
    await client.end().catch(() => undefined);
  }
}

export interface OpenOptions {
  migrate?: boolean;
  poolMax?: number;
  env?: NodeJS.ProcessEnv;
  target?: DatabaseTarget;
}

export async function openDatabase(options: OpenOptions = {}): Promise<Database> {
  const target = options.target ?? (await resolveTarget(options.env));
  const pool = createPool({ connectionString: target.connectionString, max: options.poolMax ?? 10 });
  try {
    if (options.migrate ?? true) await ensureMigrated(pool);
  } catch (error) {
    await pool.end().catch(() => undefined);
    throw error instanceof BookijiError ? error : toBookijiError(error);
  }
  return { pool, target, close: () => pool.end() };
}
