// A targeted measurement of the claim path's database cost, faster than
// `npm run bench -- --only 1`: one scratch embedded server, pgbench on both
// sides, and claim-path variants installed in turn into the same database so
// every variant is judged against tpcb-like runs made next to it.
//
//   node dist/bench/claimPathMain.js [--rounds N] [--per-client T] [--clients 8,32] \
//        [--busy] [--prototype] [--profile | --cpu] [--variant name=file.sql ... | --decompose]
//
// A variant is a SQL file of CREATE OR REPLACE statements (and trigger
// changes), installed before each of its runs; so each must define every
// function any variant changes. Without --variant, the migrated database is
// measured as it is ("shipped"). --decompose measures the shipped path
// against the same path with parts taken away (src/bench/claimDecomposition.ts).
//
// Alternatives measured with it (issue 13; each variant file was the
// previous definitions from `git show <rev>:schema/functions/<name>.sql`
// plus the trigger or constraint as it was, against the new migration):
//  - two audit rows per claim vs one (0053), expiry steps always vs only
//    when a probe finds an expired hold (0052), the vendor foreign key kept
//    vs checked through the slot (0054): claims/s 1.2×, busy vendor 1.28×;
//  - 0053's count with "=" vs "= ANY (ARRAY[…])": "=" let the planner use
//    the exclusion constraint's GiST index (busy pair 0.54× → 0.28×), until
//    0063 took that index away from queries (0064 spells "=" again);
//  - 0053's check and the path's SQL functions as SQL vs PL/pgSQL (0055):
//    claims/s 1.12×, busy vendor 1.17×;
//  - the path's functions without vs with SET enable_seqscan = off (0065;
//    the generic plans a session caches while bookings is small are full
//    scans): claims/tpcb-like 0.49× → 0.59× at 8 clients, 0.60× → 0.67× at 32;
//    --cpu with 1,600 claims per session 1.58× → 1.56× of tpcb-like: the
//    gain grows with the session (one session of 4,000 claims: 0065's note);
//  - the INSERT's EXCEPTION block (a subtransaction per claim) vs ON CONFLICT
//    on the idempotency key, --cpu: 1.83× vs 2.03× of tpcb-like's backend
//    CPU (medians of 3, spreads overlapping): no gain found, and an overlap
//    found by the exclusion constraint would reach SQL callers as a bare
//    23P01 instead of BK001; not shipped;
//  - slot_counter_change_explained comparing the two rows (booked_count
//    made equal) instead of both as jsonb, alone and with claim_slot's slot
//    read, customer check and fast-fail probe as one statement, --cpu with
//    6 rounds of 3,200 claims: 1.01-1.35 ms CPU per claim for every variant,
//    each one's spread covering the others'; not shipped;
//  - the INSERT's audit trigger firing before vs after the transition log
//    (0067; the variants recreate the triggers), --busy in two runs: busy
//    pair 0.83x -> 0.94x and 0.87x -> 0.97x, every round with it above every
//    round without; the 8-client pair 0.52x -> 0.48x and 0.58x -> 0.56x,
//    spreads overlapping.
//  - --decompose (parts taken away, none shippable), 3 rounds at 8/32
//    clients, load 3-16 from the 32-client runs: shipped 0.40/0.47x,
//    without the chain 0.42/0.54x, without audit and transition rows
//    0.59/0.73x, bare (no audit, transition, counter trigger or state
//    machine) 0.61/0.69x (0.77/0.71x in an earlier run): the booking INSERT
//    with its indexes, exclusion constraint, checks and keys, the counter
//    UPDATE and claim_slot's reads alone stay below tpcb-like.
// --cpu also divides WAL bytes: a claim inserts 5.2-5.6x tpcb-like's. By
// record type (pg_walinspect over 2,000 claims in one session): heap
// inserts 1,171 B (the booking, its audit row carrying the booking as jsonb,
// its transition), 8 B-tree leaf inserts 668 B, GiST 183 B, 3 row locks
// 165 B (slot, chain head, the customer's foreign key), no full-page images
// on either side. Throughput follows CPU more than WAL: both flush once per commit.
// Figures and commands are in the commit messages and README, Performance. --busy adds the busy-vendor pair: 16
// clients on distinct slots of one vendor vs the same spread over 100 vendors.
// --prototype adds issue 13's prototype claim (src/bench/claimPrototype.ts)
// to every round, on the same slot numbers in its own copy of the slots.
// One run (--prototype --clients 8,32 --rounds 3, 2026-12-02): prototype ÷
// tpcb-like 1.09x / 1.10x at 8 / 32 clients, shipped claim 0.28x / 0.33x.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { backendCostPerTransaction, tpcbLikeTransaction } from './backendCpu.js';
import { decompositionVariants } from './claimDecomposition.js';
import { PROTOTYPE_SQL, writePrototypeScript } from './claimPrototype.js';
import { claimStatement, findPgbench, initTpcb, runPgbench, seedScriptCustomers, seedScriptSlots, writeClaimScript, type PgbenchRun } from './pgbench.js';
import type { Pool } from '../db/pool.js';
import { seedVendors } from './seed.js';
import { startBenchServer } from './server.js';
import { median } from './stats.js';

interface Options {
  rounds: number;
  perClient: number;
  clients: number[];
  busy: boolean;
  /** Print a track_functions profile of one claim run per variant instead of ratios. */
  profile: boolean;
  /** Judge variants by backend CPU and WAL bytes per claim ÷ per tpcb-like transaction, one session each, instead of pgbench. */
  cpu: boolean;
  variants: Array<{ name: string; sql: string }>;
  /** Measure claimDecomposition's variants (parts taken away) instead of --variant files. */
  decompose: boolean;
  /** Also run issue 13's prototype claim in every round. */
  prototype: boolean;
}

function parse(argv: string[]): Options {
  const options: Options = {
    rounds: 3,
    perClient: 150,
    clients: [8],
    busy: false,
    profile: false,
    cpu: false,
    decompose: false,
    prototype: false,
    variants: [{ name: 'shipped', sql: '' }],
  };
  for (let i = 0; i < argv.length; i++) {
    const argument = argv[i]!;
    if (argument === '--rounds') options.rounds = Number(argv[++i]);
    else if (argument === '--per-client') options.perClient = Number(argv[++i]);
    else if (argument === '--clients') options.clients = argv[++i]!.split(',').map(Number);
    else if (argument === '--busy') options.busy = true;
    else if (argument === '--profile') options.profile = true;
    else if (argument === '--cpu') options.cpu = true;
    else if (argument === '--decompose') options.decompose = true;
    else if (argument === '--prototype') options.prototype = true;
    else if (argument === '--variant') {
      const [name, file] = argv[++i]!.split('=');
      options.variants.push({ name: name!, sql: readFileSync(file!, 'utf8') });
    } else throw new Error(`unknown argument ${argument}`);
  }
  // With variants named, each is installed before its runs, so the migrated definitions are not one of them.
  if (options.variants.length > 1) options.variants.shift();
  return options;
}

const BUSY_CLIENTS = 16;
const SPREAD_VENDORS = 100;
const SLOT_VENDORS = 256;
const CUSTOMERS = 2_000;
const TPCB_SCALE = 32;
const fmt = (run: PgbenchRun): string => `${run.transactionsPerS.toFixed(0)}/s p95 ${run.latency.p95.toFixed(2)}ms`;

interface Runner {
  claim(kind: 'claim' | 'busy' | 'spread' | 'prototype', clients: number): Promise<PgbenchRun>;
  tpcb(clients: number): Promise<PgbenchRun>;
}

/** --profile: each variant's per-claim function profile (track_functions) from 4 clients. */
async function printProfiles(pool: Pool, databaseName: string, options: Options, run: Runner): Promise<void> {
  await pool.query(`ALTER DATABASE ${databaseName} SET track_functions = 'all'`);
  for (const variant of options.variants) {
    if (variant.sql) await pool.query(variant.sql);
    await run.claim('claim', 4);
    await pool.query('SELECT pg_stat_reset()');
    const measured = await run.claim('claim', 4);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const profile = await pool.query<{ funcname: string; per_claim: string; self_ms: string; total_ms: string }>(
      `SELECT funcname, round(calls::numeric / $1, 2) AS per_claim, round((self_time / $1)::numeric, 4) AS self_ms, round((total_time / $1)::numeric, 4) AS total_ms
       FROM pg_stat_user_functions ORDER BY self_time DESC LIMIT 25`,
      [measured.transactions],
    );
    process.stdout.write(
      `${variant.name}: ${fmt(measured)}\n${profile.rows.map((row) => `  ${row.funcname} ×${row.per_claim} self ${row.self_ms} total ${row.total_ms} ms`).join('\n')}\n`,
    );
  }
}

/** The rounds: per variant and client count, claims and tpcb-like alternating which goes first; round 0 warms up. */
async function measureRounds(pool: Pool, options: Options, run: Runner): Promise<Map<string, number[]>> {
  const results = new Map<string, number[]>();
  const record = (key: string, value: number): void => void results.set(key, [...(results.get(key) ?? []), value]);
  for (let round = 0; round <= options.rounds; round++) {
    const flip = round % 2 === 0;
    for (const variant of options.variants) {
      if (variant.sql) await pool.query(variant.sql);
      for (const clients of options.clients) {
        const base = flip ? await run.tpcb(clients) : undefined;
        const mine = await run.claim('claim', clients);
        const prototype = options.prototype ? await run.claim('prototype', clients) : undefined;
        const baseline = base ?? (await run.tpcb(clients));
        const prototypeNote = prototype ? ` prototype ${fmt(prototype)}` : '';
        process.stderr.write(
          `round ${round} ${variant.name} c${clients}: claim ${fmt(mine)}${prototypeNote} tpcb ${fmt(baseline)} load ${os.loadavg()[0]!.toFixed(1)}\n`,
        );
        if (round === 0) continue; // warm-up
        record(`${variant.name} c${clients} tps`, mine.transactionsPerS / baseline.transactionsPerS);
        record(`${variant.name} c${clients} p95`, mine.latency.p95 / baseline.latency.p95);
        if (prototype) record(`prototype c${clients} tps`, prototype.transactionsPerS / baseline.transactionsPerS);
        if (prototype) record(`prototype c${clients} p95`, prototype.latency.p95 / baseline.latency.p95);
      }
      if (options.busy) {
        const spread = flip ? await run.claim('spread', BUSY_CLIENTS) : undefined;
        const one = await run.claim('busy', BUSY_CLIENTS);
        const many = spread ?? (await run.claim('spread', BUSY_CLIENTS));
        process.stderr.write(`round ${round} ${variant.name} busy: one ${fmt(one)} spread ${fmt(many)}\n`);
        if (round > 0) record(`${variant.name} busy`, one.transactionsPerS / many.transactionsPerS);
      }
    }
  }
  return results;
}

/** --cpu: per round and variant, backend CPU and WAL bytes per claim ÷ per tpcb-like transaction (src/bench/backendCpu.ts). */
async function measureCpu(pool: Pool, options: Options, nextClaim: () => number): Promise<Map<string, number[]>> {
  const results = new Map<string, number[]>();
  const transactions = options.perClient * Math.max(...options.clients);
  for (let round = 0; round <= options.rounds; round++) {
    for (const variant of options.variants) {
      if (variant.sql) await pool.query(variant.sql);
      const claim = await backendCostPerTransaction(pool, transactions, (client) => client.query(claimStatement(String(nextClaim()), CUSTOMERS)));
      const tpcb = await backendCostPerTransaction(pool, transactions, (client) => tpcbLikeTransaction(client, TPCB_SCALE));
      process.stderr.write(
        `round ${round} ${variant.name}: claim ${claim.cpuMs.toFixed(3)} ms CPU, ${Math.round(claim.walBytes)} B WAL; ` +
          `tpcb-like ${tpcb.cpuMs.toFixed(3)} ms CPU, ${Math.round(tpcb.walBytes)} B WAL\n`,
      );
      if (round > 0) results.set(`${variant.name} wal`, [...(results.get(`${variant.name} wal`) ?? []), claim.walBytes / tpcb.walBytes]);
      if (round > 0) results.set(`${variant.name} cpu`, [...(results.get(`${variant.name} cpu`) ?? []), claim.cpuMs / tpcb.cpuMs]);
    }
  }
  return results;
}

async function main(): Promise<void> {
  const options = parse(process.argv.slice(2));
  const pgbench = findPgbench();
  if (!pgbench) throw new Error('pgbench not found');
  const server = await startBenchServer();
  const scriptDir = mkdtempSync(path.join(os.tmpdir(), 'bookiji-claim-path-'));
  try {
    const database = await server.createDatabase('claimpath');
    const pool = database.openPool(2);
    if (options.decompose) {
      const shipped = await pool.query<{ definition: string }>(`SELECT pg_get_functiondef('audit_append'::regproc) AS definition`);
      options.variants = decompositionVariants(shipped.rows[0]!.definition);
    }
    await initTpcb(pgbench, database.connectionString, TPCB_SCALE);
    const vendors = await seedVendors(pool, SLOT_VENDORS, 'Pgbench vendor');
    const [busyVendor] = await seedVendors(pool, 1, 'Busy vendor');
    const spreadVendors = vendors.slice(0, SPREAD_VENDORS);
    await seedScriptCustomers(pool, CUSTOMERS);
    const perVariantRound = options.clients.reduce((sum, clients) => sum + clients * options.perClient, 0);
    const busyPerRun = BUSY_CLIENTS * options.perClient;
    const claimSlots = perVariantRound * options.variants.length * (options.rounds + 1);
    const busyRuns = options.busy ? options.variants.length * (options.rounds + 1) : 0;
    let nextSlot = 0;
    const ranges = { claim: 0, busy: 0, spread: 0, prototype: 0 };
    const seed = async (vendorIds: string[], count: number): Promise<number> => {
      const first = nextSlot;
      for (let at = 0; at < count; at += 4_000) await seedScriptSlots(pool, vendorIds, first + at, Math.min(4_000, count - at));
      nextSlot += count;
      return first;
    };
    ranges.claim = await seed(vendors, claimSlots);
    if (options.busy) {
      ranges.busy = await seed([busyVendor!], busyPerRun * busyRuns);
      ranges.spread = await seed(spreadVendors, busyPerRun * busyRuns);
    }
    // The prototype claims the claim runs' slot numbers in its own copy of the slots.
    ranges.prototype = ranges.claim;
    if (options.prototype) await pool.query(PROTOTYPE_SQL);
    await pool.query('VACUUM ANALYZE');
    const script = writeClaimScript(scriptDir, CUSTOMERS);
    const prototypeScript = writePrototypeScript(scriptDir, CUSTOMERS);
    const cursor = { ...ranges };
    const claim = (kind: keyof typeof ranges, clients: number): Promise<PgbenchRun> => {
      const first = cursor[kind];
      cursor[kind] += clients * options.perClient;
      return runPgbench({
        pgbench,
        connectionString: database.connectionString,
        clients,
        transactionsPerClient: options.perClient,
        script: { file: kind === 'prototype' ? prototypeScript : script },
        defines: { first, i: 0, clients },
      });
    };
    const tpcb = (clients: number): Promise<PgbenchRun> =>
      runPgbench({ pgbench, connectionString: database.connectionString, clients, transactionsPerClient: options.perClient, script: { builtin: 'tpcb-like' } });
    const runner: Runner = { claim, tpcb };
    if (options.profile) {
      await printProfiles(pool, database.name, options, runner);
      return;
    }
    const results = options.cpu ? await measureCpu(pool, options, () => cursor.claim++) : await measureRounds(pool, options, runner);
    const lines = [...results].map(([key, values]) => `${key}: median ${median(values).toFixed(2)}× [${values.map((v) => v.toFixed(2)).join(', ')}]`);
    process.stdout.write(
      `${lines.join('\n')}\nload average at end ${os
        .loadavg()
        .map((v) => v.toFixed(2))
        .join(' ')}\n`,
    );
    await pool.end();
  } finally {
    rmSync(scriptDir, { recursive: true, force: true });
    await server.close();
  }
}

await main();
