// Connection pools and the one way to run a transaction.
//
// Callers never get a raw client: `withTransaction` opens, commits or rolls
// back, and releases in `finally`, sets per-transaction timeouts, and retries
// serialization failures and deadlocks with jittered backoff, a bounded number
// of times. Errors leave here already mapped to BookijiError.

import pg from './pg.js';
import { toBookijiError } from '../errors.js';

export type Pool = pg.Pool;
export type PoolClient = pg.PoolClient;
export type Queryable = Pick<pg.Pool, 'query'> | Pick<pg.PoolClient, 'query'>;

// pg returns int8 and numeric as strings by default; our counts and cents fit
// in a double, and strings would leak into every caller.
pg.types.setTypeParser(20, (value: string) => Number.parseInt(value, 10));
pg.types.setTypeParser(1700, (value: string) => Number.parseFloat(value));

export interface PoolOptions {
  connectionString: string;
  max?: number;
  /** Fail fast instead of hanging when the server is gone. */
  connectionTimeoutMs?: number;
  applicationName?: string;
  /** Server-side limits for every statement on the pool's connections. */
  lockTimeoutMs?: number;
  statementTimeoutMs?: number;
  idleInTransactionTimeoutMs?: number;
}

// Limits on every connection, not only inside withTransaction: a session left
// idle in a transaction holding a slot lock (an operator's psql, a crashed
// client) must not stall every claim on that slot forever.
const CONNECTION_LOCK_TIMEOUT_MS = 10_000;
const CONNECTION_STATEMENT_TIMEOUT_MS = 120_000;
const CONNECTION_IDLE_IN_TRANSACTION_TIMEOUT_MS = 60_000;

export function createPool(options: PoolOptions): Pool {
  const pool = new pg.Pool({
    connectionString: options.connectionString,
    max: options.max ?? 10,
    connectionTimeoutMillis: options.connectionTimeoutMs ?? 10_000,
    idleTimeoutMillis: 10_000,
    application_name: options.applicationName ?? 'bookiji',
    options: [
      `-c lock_timeout=${options.lockTimeoutMs ?? CONNECTION_LOCK_TIMEOUT_MS}`,
      `-c statement_timeout=${options.statementTimeoutMs ?? CONNECTION_STATEMENT_TIMEOUT_MS}`,
      `-c idle_in_transaction_session_timeout=${options.idleInTransactionTimeoutMs ?? CONNECTION_IDLE_IN_TRANSACTION_TIMEOUT_MS}`,
    ].join(' '),
  });
  // An idle client whose server connection dies (restart, pg_terminate_backend)
  // emits 'error' on the pool; without a listener that would crash the process.
  pool.on('error', () => undefined);
  return pool;
}

export interface TransactionOptions {
  lockTimeoutMs?: number;
  statementTimeoutMs?: number;
  attemptMax?: number;
  isolation?: 'read committed' | 'repeatable read' | 'serializable';
}

const RETRYABLE_SQLSTATES = new Set(['40001', '40P01']);
const LOCK_TIMEOUT_MS_DEFAULT = 5_000;
const STATEMENT_TIMEOUT_MS_DEFAULT = 30_000;
const ATTEMPT_MAX_DEFAULT = 5;
const BACKOFF_BASE_MS = 5;

export async function withTransaction<T>(pool: Pool, work: (client: PoolClient) => Promise<T>, options: TransactionOptions = {}): Promise<T> {
  const attemptMax = options.attemptMax ?? ATTEMPT_MAX_DEFAULT;
  for (let attempt = 1; ; attempt++) {
    let client: PoolClient;
    try {
      client = await pool.connect();
    } catch (error) {
      throw toBookijiError(error);
    }
    let broken = false;
    // The session may be killed while checked out (see queryKeepingConnection).
    const onConnectionError = (): void => {
      broken = true;
    };
    client.on('error', onConnectionError);
    try {
      await client.query(`BEGIN ISOLATION LEVEL ${(options.isolation ?? 'read committed').toUpperCase()}`);
      await client.query(`SELECT set_config('lock_timeout', $1, true), set_config('statement_timeout', $2, true)`, [
        `${options.lockTimeoutMs ?? LOCK_TIMEOUT_MS_DEFAULT}ms`,
        `${options.statementTimeoutMs ?? STATEMENT_TIMEOUT_MS_DEFAULT}ms`,
      ]);
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {
        broken = true;
      });
      const sqlState = (error as { code?: string }).code ?? '';
      if (RETRYABLE_SQLSTATES.has(sqlState) && attempt < attemptMax) {
        await sleep(backoffMs(attempt));
        continue;
      }
      throw toBookijiError(error);
    } finally {
      client.removeListener('error', onConnectionError);
      client.release(broken);
    }
  }
}

/** One statement in its own implicit transaction, with the same retry and error mapping. */
export async function queryWithRetry<R extends pg.QueryResultRow>(
  pool: Pool,
  text: string,
  values: unknown[] = [],
  attemptMax = ATTEMPT_MAX_DEFAULT,
): Promise<pg.QueryResult<R>> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await queryKeepingConnection<R>(pool, text, values);
    } catch (error) {
      const sqlState = (error as { code?: string }).code ?? '';
      if (RETRYABLE_SQLSTATES.has(sqlState) && attempt < attemptMax) {
        await sleep(backoffMs(attempt));
        continue;
      }
      throw toBookijiError(error);
    }
  }
}

// pool.query() destroys the connection after *any* error, so every refused
// claim (a conflict the server answered cleanly) would pay a new connection:
// TCP, SCRAM login, a new backend. Measured on the hot-slot benchmark: the
// contest took 3.6x the time of distinct claims that way, 0.24x keeping the
// connection. A server-side error leaves the session healthy; only a
// connection-level failure does not.
async function queryKeepingConnection<R extends pg.QueryResultRow>(pool: Pool, text: string, values: unknown[]): Promise<pg.QueryResult<R>> {
  const client = await pool.connect();
  let connectionBroken: Error | undefined;
  // A checked-out client whose server session is killed also emits 'error';
  // without a listener that would crash the process (pool.query() does the same).
  const onConnectionError = (error: Error): void => {
    connectionBroken = error;
  };
  client.on('error', onConnectionError);
  try {
    return await client.query<R>(text, values);
  } catch (error) {
    if (!(error instanceof pg.DatabaseError) || error.severity === 'FATAL' || error.severity === 'PANIC') connectionBroken = error as Error;
    throw error;
  } finally {
    client.removeListener('error', onConnectionError);
    client.release(connectionBroken);
  }
}

function backoffMs(attempt: number): number {
  const ceiling = BACKOFF_BASE_MS * 2 ** attempt;
  return ceiling / 2 + Math.random() * (ceiling / 2);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
