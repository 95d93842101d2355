// Backend CPU per transaction, one session at a time: the CPU time the
// server process serving the session spent (user + system, from
// /proc/<pid>/stat, Linux only), divided by the transactions it ran. It
// leaves out what throughput mixes in on a shared machine (waiting for a
// core, lock queues), so a claim-path change can be judged between full
// benchmark runs (claimPathMain --cpu). Caches still move it: tpcb-like's
// random account reads cost 0.6-0.9 ms CPU from one run to the next.

import { readFileSync } from 'node:fs';
import type { Pool, PoolClient } from '../db/pool.js';

const CLOCK_TICK_MS = 10; // USER_HZ is 100 on every Linux we run on

function processCpuMs(pid: number): number {
  // Fields after the command name's closing parenthesis: utime and stime are the 12th and 13th.
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * CLOCK_TICK_MS;
}

export interface BackendCost {
  /** Backend CPU ms per call. */
  cpuMs: number;
  /** WAL bytes inserted per call (the whole server's, so a quiet server is assumed). */
  walBytes: number;
}

/** Runs `transactions` calls of `one` on a fresh session; returns its backend's CPU and the WAL written, per call. */
export async function backendCostPerTransaction(
  pool: Pool,
  transactions: number,
  one: (client: PoolClient, index: number) => Promise<unknown>,
): Promise<BackendCost> {
  const client = await pool.connect();
  try {
    const start = (await client.query<{ pid: number; lsn: string }>('SELECT pg_backend_pid() AS pid, pg_current_wal_insert_lsn()::text AS lsn')).rows[0]!;
    const before = processCpuMs(start.pid);
    for (let index = 0; index < transactions; index++) await one(client, index);
    const cpuMs = (processCpuMs(start.pid) - before) / transactions;
    const wal = await client.query<{ bytes: string }>('SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), $1::pg_lsn)::text AS bytes', [start.lsn]);
    return { cpuMs, walBytes: Number(wal.rows[0]!.bytes) / transactions };
  } finally {
    // A fresh session for the next measurement: no plans cached from this one.
    client.release(true);
  }
}

/** pgbench's tpcb-like transaction as pgbench -M simple sends it: seven statements. */
export async function tpcbLikeTransaction(client: PoolClient, scale: number): Promise<void> {
  const aid = 1 + Math.floor(Math.random() * 100_000 * scale);
  const tid = 1 + Math.floor(Math.random() * 10 * scale);
  const bid = 1 + Math.floor(Math.random() * scale);
  const delta = Math.floor(Math.random() * 10_001) - 5_000;
  await client.query('BEGIN');
  await client.query(`UPDATE pgbench_accounts SET abalance = abalance + ${delta} WHERE aid = ${aid}`);
  await client.query(`SELECT abalance FROM pgbench_accounts WHERE aid = ${aid}`);
  await client.query(`UPDATE pgbench_tellers SET tbalance = tbalance + ${delta} WHERE tid = ${tid}`);
  await client.query(`UPDATE pgbench_branches SET bbalance = bbalance + ${delta} WHERE bid = ${bid}`);
  await client.query(`INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES (${tid}, ${bid}, ${aid}, ${delta}, CURRENT_TIMESTAMP)`);
  await client.query('END');
}
