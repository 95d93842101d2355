// pgbench on both sides: the database's own client drives the claim (a custom
// script calling claim_slot on distinct slots) and the baseline (`pgbench -b
// tpcb-like`), against the same server with the same clients, so neither side
// carries node's driver cost. Latencies come from pgbench's per-transaction
// log (-l), so p95 is a real percentile, not a mean.
//
// pgbench ships with PostgreSQL's client tools (Debian: postgresql-client or
// postgresql-contrib); without it on PATH the pair is reported as skipped.

import { execFile } from 'node:child_process';
import { accessSync, constants, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { withTransaction, type Pool, type PoolClient } from '../db/pool.js';
import { BENCH_ACTOR } from './seed.js';
import { latencySummary, type LatencySummary } from './stats.js';

const run = promisify(execFile);

/** pgbench's path on PATH, or undefined. */
export function findPgbench(env: NodeJS.ProcessEnv = process.env): string | undefined {
  for (const dir of (env.PATH ?? '').split(path.delimiter).filter(Boolean)) {
    const candidate = path.join(dir, 'pgbench');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

export interface PgbenchRun {
  transactionsPerS: number;
  latency: LatencySummary;
  transactions: number;
  failedClients: number;
}

export interface PgbenchInvocation {
  pgbench: string;
  connectionString: string;
  clients: number;
  /** Transactions per client (-t): the claim script uses exactly clients × this many slots. */
  transactionsPerClient: number;
  /** A script file, or a built-in such as 'tpcb-like'. */
  script: { file: string } | { builtin: string };
  defines?: Record<string, string | number>;
}

/** Latencies (ms) from pgbench's per-transaction logs: column 3 is the latency in µs. */
function readLatencies(dir: string): number[] {
  const latencies: number[] = [];
  for (const file of readdirSync(dir).filter((name) => name.startsWith('tx'))) {
    for (const line of readFileSync(path.join(dir, file), 'utf8').split('\n')) {
      const fields = line.split(' ');
      if (fields.length >= 3) latencies.push(Number(fields[2]) / 1000);
    }
  }
  return latencies;
}

export async function runPgbench(invocation: PgbenchInvocation): Promise<PgbenchRun> {
  const logDir = mkdtempSync(path.join(os.tmpdir(), 'bookiji-pgbench-'));
  const script = 'file' in invocation.script ? ['-f', invocation.script.file] : ['-b', invocation.script.builtin];
  const defines = Object.entries(invocation.defines ?? {}).flatMap(([name, value]) => ['-D', `${name}=${value}`]);
  const args = [
    ...script,
    ...defines,
    '-n',
    '-c',
    String(invocation.clients),
    '-j',
    String(Math.min(invocation.clients, 4)),
    '-t',
    String(invocation.transactionsPerClient),
    '-l',
    '--log-prefix',
    path.join(logDir, 'tx'),
    invocation.connectionString,
  ];
  try {
    // synchronous_commit on for both sides, as in the issue's measurement.
    const { stdout, stderr } = await run(invocation.pgbench, args, { env: { ...process.env, PGOPTIONS: '-c synchronous_commit=on' }, maxBuffer: 16 << 20 });
    const tps = /tps = ([\d.]+)/.exec(stdout);
    const processed = /number of transactions actually processed: (\d+)/.exec(stdout);
    if (!tps || !processed) throw new Error(`pgbench printed no throughput: ${stdout.slice(-400)} ${stderr.slice(-400)}`);
    const aborted = (stderr.match(/client \d+ aborted/g) ?? []).length;
    return { transactionsPerS: Number(tps[1]), latency: latencySummary(readLatencies(logDir)), transactions: Number(processed[1]), failedClients: aborted };
  } finally {
    rmSync(logDir, { recursive: true, force: true });
  }
}

/** `pgbench -i` at `scale` (server-side generation), in the given database. */
export async function initTpcb(pgbench: string, connectionString: string, scale: number): Promise<void> {
  await run(pgbench, ['-i', '-q', '-I', 'dtGvp', '-s', String(scale), connectionString], { maxBuffer: 16 << 20 });
}

// Deterministic ids, so the script can name the n-th slot and a customer
// without a lookup: md5 of a label is a valid uuid.
export const SLOT_ID = (n: string): string => `md5('bench-slot:' || ${n})::uuid`;
export const CUSTOMER_ID = (n: string): string => `md5('bench-customer:' || ${n})::uuid`;

function inSeed(pool: Pool, work: (client: PoolClient) => Promise<void>): Promise<void> {
  return withTransaction(pool, async (client) => {
    await client.query(`SELECT set_actor('system', 'bench', 'system', 'bench seed: pgbench claims')`);
    await work(client);
  });
}

/** Customers 0 … count-1 with the deterministic ids the claim script uses. */
export async function seedScriptCustomers(pool: Pool, count: number): Promise<void> {
  await inSeed(pool, async (client) => {
    await client.query(
      `INSERT INTO customers (id, name, email) SELECT ${CUSTOMER_ID('g')}, 'Pgbench customer ' || g, 'pgbench-' || g || '@bench.example' FROM generate_series(0, $1::int - 1) g`,
      [count],
    );
  });
}

/** Slots first … first+count-1: slot n belongs to vendor n % vendors and starts n / vendors hours after the base. */
export async function seedScriptSlots(pool: Pool, vendorIds: string[], first: number, count: number): Promise<void> {
  await inSeed(pool, async (client) => {
    await client.query(
      `WITH base AS (SELECT date_trunc('hour', bookiji_now()) + interval '48 hours' AS at)
       INSERT INTO slots (id, vendor_id, starts_at, ends_at, capacity, price_cents)
       SELECT ${SLOT_ID('g')}, ($1::uuid[])[g % cardinality($1::uuid[]) + 1],
              base.at + make_interval(hours => g / cardinality($1::uuid[])), base.at + make_interval(hours => g / cardinality($1::uuid[]) + 1), 1, 0
       FROM generate_series($2::int, $2::int + $3::int - 1) g, base`,
      [vendorIds, first, count],
    );
  });
}

/** The claim both the pgbench script and the one-session CPU measurement send: slot n, by a customer of `customers`. */
export function claimStatement(n: string, customers: number): string {
  const actor = `'${BENCH_ACTOR.kind}', '${BENCH_ACTOR.id}', '${BENCH_ACTOR.source}'`;
  return `SELECT claim_slot(${SLOT_ID(n)}, ${CUSTOMER_ID(`(${n} % ${customers})`)}, false, NULL, NULL, NULL, ${actor})`;
}

/**
 * Writes the claim script: each client claims slots first + i * clients +
 * client_id for i = 0, 1, …, so no two transactions touch the same slot and
 * consecutive claims land on different vendors.
 */
export function writeClaimScript(dir: string, customers: number): string {
  return writeSlotScript(dir, 'claim.sql', `${claimStatement(':n', customers)};`);
}

/** A pgbench script running `statement` once per transaction with :n the client's next slot number (first + i × clients + client_id). */
export function writeSlotScript(dir: string, name: string, statement: string): string {
  const file = path.join(dir, name);
  writeFileSync(file, ['\\set n :first + :i * :clients + :client_id', '\\set i :i + 1', statement, ''].join('\n'));
  return file;
}
