// The simulated clients' connections. A restart (the restart_simcity fault)
// kills every one of them on the server, drops the pool and all in-flight
// requests with it, and starts a new pool under a new name: what a crashed
// and restarted application process looks like to the database.

import pg from '../db/pg.js';
import { createPool, type Pool, type Queryable } from '../db/pool.js';

export class ClientPool {
  private generation = 0;
  pool: Pool;
  /** Aborted by a restart: HTTP requests in flight die with the process that sent them. */
  private controller = new AbortController();

  constructor(
    private readonly config: pg.PoolConfig,
    private readonly size: number,
    private readonly runId: string,
  ) {
    this.pool = this.open();
  }

  private applicationName(): string {
    return `simcity-${this.runId}-g${this.generation}`;
  }

  private open(): Pool {
    const pool = this.config.connectionString
      ? createPool({ connectionString: this.config.connectionString, max: this.size, applicationName: this.applicationName() })
      : new pg.Pool({ ...this.config, max: this.size, application_name: this.applicationName() });
    pool.on('error', () => undefined);
    quietClients(pool);
    return pool;
  }

  /** Kills this pool's server connections, forgets the pool, opens a fresh one. Returns how many connections died. */
  async restart(observer: Queryable): Promise<number> {
    const name = this.applicationName();
    const old = this.pool;
    const killed = await observer.query(
      'SELECT count(pg_terminate_backend(pid))::int AS killed FROM pg_stat_activity WHERE application_name = $1 AND pid <> pg_backend_pid()',
      [name],
    );
    // Not awaited: ending waits for checked-out clients, whose requests are
    // now failing on their own; the new process does not wait for the old.
    void old.end().catch(() => undefined);
    this.controller.abort();
    this.controller = new AbortController();
    this.generation += 1;
    this.pool = this.open();
    return (killed.rows[0] as { killed: number }).killed;
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  async end(): Promise<void> {
    await this.pool.end().catch(() => undefined);
  }
}

/**
 * A connection killed while checked out (a restart, a dropped simulation
 * database) emits 'error' on its client; the query in flight already rejects
 * with it and is recorded, so the event itself must not crash the process.
 */
export function quietClients(pool: Pool): void {
  pool.on('connect', (client) => {
    client.on('error', () => undefined);
  });
}
