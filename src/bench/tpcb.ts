// The baseline transaction: pgbench's built-in TPC-B-like script (three
// updates, one select, one insert between BEGIN and END), issued statement by
// statement through the same node-postgres driver and pool as the engine, on
// the same server. It is what "the database's own limit" means here: the
// standard small read-write transaction, with no application logic.

import type { Pool } from '../db/pool.js';

export interface TpcbScale {
  branches: number;
  accounts: number;
}

const TELLERS_PER_BRANCH = 10;

export async function createTpcbTables(pool: Pool, scale: TpcbScale): Promise<void> {
  // Same tables, fill factor and keys as `pgbench -i`.
  await pool.query(`
    CREATE TABLE pgbench_branches (bid int PRIMARY KEY, bbalance int NOT NULL, filler char(88)) WITH (fillfactor = 100);
    CREATE TABLE pgbench_tellers (tid int PRIMARY KEY, bid int NOT NULL, tbalance int NOT NULL, filler char(84)) WITH (fillfactor = 100);
    CREATE TABLE pgbench_accounts (aid int PRIMARY KEY, bid int NOT NULL, abalance int NOT NULL, filler char(84)) WITH (fillfactor = 100);
    CREATE TABLE pgbench_history (tid int, bid int, aid int, delta int, mtime timestamp, filler char(22));`);
  await pool.query('INSERT INTO pgbench_branches SELECT g, 0 FROM generate_series(1, $1::int) g', [scale.branches]);
  await pool.query('INSERT INTO pgbench_tellers SELECT g, (g - 1) / $2::int + 1, 0 FROM generate_series(1, $1::int * $2::int) g', [
    scale.branches,
    TELLERS_PER_BRANCH,
  ]);
  await pool.query("INSERT INTO pgbench_accounts SELECT g, (g - 1) % $2::int + 1, 0, '' FROM generate_series(1, $1::int) g", [scale.accounts, scale.branches]);
  await pool.query('VACUUM ANALYZE pgbench_branches, pgbench_tellers, pgbench_accounts, pgbench_history');
}

function randomInt(min: number, max: number): number {
  return min + Math.floor(Math.random() * (max - min + 1));
}

/** One TPC-B-like transaction, as pgbench's built-in script runs it. */
export async function tpcbTransaction(pool: Pool, scale: TpcbScale): Promise<void> {
  const aid = randomInt(1, scale.accounts);
  const bid = randomInt(1, scale.branches);
  const tid = randomInt(1, scale.branches * TELLERS_PER_BRANCH);
  const delta = randomInt(-5000, 5000);
  const client = await pool.connect();
  let broken = false;
  try {
    await client.query('BEGIN');
    await client.query('UPDATE pgbench_accounts SET abalance = abalance + $1 WHERE aid = $2', [delta, aid]);
    await client.query('SELECT abalance FROM pgbench_accounts WHERE aid = $1', [aid]);
    await client.query('UPDATE pgbench_tellers SET tbalance = tbalance + $1 WHERE tid = $2', [delta, tid]);
    await client.query('UPDATE pgbench_branches SET bbalance = bbalance + $1 WHERE bid = $2', [delta, bid]);
    await client.query('INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES ($1, $2, $3, $4, CURRENT_TIMESTAMP)', [tid, bid, aid, delta]);
    await client.query('END');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {
      broken = true;
    });
    throw error;
  } finally {
    client.release(broken);
  }
}
