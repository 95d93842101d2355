// Figure 1's pgbench pair: the claim as the database's own client drives it
// (a pgbench script calling claim_slot on distinct slots of 256 vendors)
// against `pgbench -b tpcb-like`, same server, same clients, same number of
// transactions, alternating which goes first. No node driver on either side:
// this is the database cost of a claim against the standard small
// read-write transaction. Then the busy-vendor pair the same way: 16 clients
// on distinct slots of ONE vendor against the same spread over 100 vendors,
// which is what the per-vendor audit chain head costs the database (the
// node-driven pair in busyVendor.ts adds node's share of the two cores).
// Skipped when pgbench is not on PATH.

import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { findPgbench, initTpcb, runPgbench, seedScriptCustomers, seedScriptSlots, writeClaimScript, type PgbenchRun } from '../pgbench.js';
import { alternating } from '../load.js';
import { ratioCheck, type Check } from '../report.js';
import { seedVendors } from '../seed.js';
import { spreadOf } from '../stats.js';
import type { FigureContext } from './context.js';

const VENDOR_COUNT = 256;
const CUSTOMER_COUNT = 2_000;
const SEED_CHUNK = 4_000;
export const PGBENCH_JUDGED_CLIENTS = [8, 32];
const THROUGHPUT_RATIO_MIN = 1.0;
const P95_RATIO_MAX = 1.5;
const BUSY_CLIENTS = 16;
const BUSY_SPREAD_VENDORS = 100;
const BUSY_RATIO_MIN = 0.8;

export interface PgbenchPairResult {
  checks: Check[];
  details: Record<string, unknown>;
  skipped?: string;
}

function pairChecks(clients: number, claims: PgbenchRun[], tpcb: PgbenchRun[]): Check[] {
  const judged = PGBENCH_JUDGED_CLIENTS.includes(clients);
  const plural = clients === 1 ? '' : 's';
  const throughput = {
    id: `1.pgbench.throughput.${clients}`,
    label: `pgbench: claims/s vs tpcb-like tps, ${clients} client${plural}`,
    unit: '/s',
    engine: spreadOf(claims.map((run) => run.transactionsPerS)),
    baseline: spreadOf(tpcb.map((run) => run.transactionsPerS)),
    ratio: spreadOf(claims.map((run, i) => run.transactionsPerS / tpcb[i]!.transactionsPerS)),
  };
  const p95 = {
    id: `1.pgbench.p95.${clients}`,
    label: `pgbench: claim p95 vs tpcb-like p95, ${clients} client${plural}`,
    unit: 'ms',
    engine: spreadOf(claims.map((run) => run.latency.p95)),
    baseline: spreadOf(tpcb.map((run) => run.latency.p95)),
    ratio: spreadOf(claims.map((run, i) => run.latency.p95 / tpcb[i]!.latency.p95)),
  };
  return [
    judged
      ? ratioCheck({ ...throughput, target: `≥ ${THROUGHPUT_RATIO_MIN.toFixed(1)}×`, bound: THROUGHPUT_RATIO_MIN, direction: 'atLeast' })
      : { ...throughput, target: 'info', met: null },
    ratioCheck({ ...p95, target: `≤ ${P95_RATIO_MAX.toFixed(1)}×`, bound: P95_RATIO_MAX, direction: 'atMost' }),
  ];
}

export async function pgbenchPair(context: FigureContext): Promise<PgbenchPairResult> {
  const pgbench = findPgbench();
  if (!pgbench)
    return { checks: [], details: {}, skipped: 'skipped: pgbench not found (README, Performance: install postgresql-client or postgresql-contrib)' };
  const { sizes } = context;
  const database = await context.server.createDatabase('pgbench');
  const pool = database.openPool(2);
  const scriptDir = mkdtempSync(path.join(os.tmpdir(), 'bookiji-claim-script-'));
  try {
    context.log(`figure 1 (pgbench): pgbench -i -s ${sizes.pgbenchScale}`);
    await initTpcb(pgbench, database.connectionString, sizes.pgbenchScale);
    const vendors = await seedVendors(pool, VENDOR_COUNT, 'Pgbench vendor');
    await seedScriptCustomers(pool, CUSTOMER_COUNT);
    const [busyVendor] = await seedVendors(pool, 1, 'Pgbench busy vendor');
    const perClient = sizes.pgbenchTransactionsPerClient;
    const runs = sizes.repetitions + 1;
    // Slot numbers are ranges: the claims pair's, then the busy vendor's, then the spread's.
    let seeded = 0;
    const seedRange = async (vendorIds: string[], count: number): Promise<number> => {
      const first = seeded;
      for (let at = 0; at < count; at += SEED_CHUNK) await seedScriptSlots(pool, vendorIds, first + at, Math.min(SEED_CHUNK, count - at));
      seeded += count;
      return first;
    };
    await seedRange(vendors, sizes.claimClients.reduce((sum, clients) => sum + clients, 0) * perClient * runs);
    const busyFirst = await seedRange([busyVendor!], BUSY_CLIENTS * perClient * runs);
    const spreadFirst = await seedRange(vendors.slice(0, BUSY_SPREAD_VENDORS), BUSY_CLIENTS * perClient * runs);
    await pool.query('VACUUM ANALYZE');
    const script = writeClaimScript(scriptDir, CUSTOMER_COUNT);
    let nextSlot = 0;
    const checks: Check[] = [];
    const perClients: Record<string, unknown> = {};
    for (const clients of sizes.claimClients) {
      const base = { pgbench, connectionString: database.connectionString, clients, transactionsPerClient: perClient };
      const claim = async (): Promise<PgbenchRun> => {
        const first = nextSlot;
        nextSlot += clients * perClient;
        return runPgbench({ ...base, script: { file: script }, defines: { first, i: 0, clients } });
      };
      const tpcb = (): Promise<PgbenchRun> => runPgbench({ ...base, script: { builtin: 'tpcb-like' } });
      context.log(`figure 1 (pgbench): ${clients} client(s), ${clients * perClient} transactions per run`);
      await claim(); // warm-up of both sides, not counted
      await tpcb();
      const { engine: claims, baseline: baselines } = await alternating(sizes.repetitions, claim, tpcb);
      checks.push(...pairChecks(clients, claims, baselines));
      perClients[String(clients)] = { claims, tpcb: baselines, loadAverage: os.loadavg().map((value) => Math.round(value * 100) / 100) };
    }
    checks.push(await busyPair(context, { pgbench, connectionString: database.connectionString, script, perClient, busyFirst, spreadFirst }));
    return {
      checks,
      details: {
        pgbench: `${pgbench}, -M simple, synchronous_commit on, -t per client so both sides run the same transaction count`,
        claimScript: `claim_slot on distinct capacity-1 slots of ${VENDOR_COUNT} vendors (slot first + i × clients + client_id), ${CUSTOMER_COUNT} customers`,
        baseline: `pgbench -b tpcb-like at scale ${sizes.pgbenchScale}`,
        busyVendor: `the same script, ${BUSY_CLIENTS} clients, on one vendor's slots vs the same count spread over ${BUSY_SPREAD_VENDORS} vendors, alternating`,
        perClients,
      },
    };
  } finally {
    rmSync(scriptDir, { recursive: true, force: true });
    await pool.end().catch(() => undefined);
  }
}

/** The busy-vendor pair with pgbench on both sides: one vendor's distinct slots vs the same claims spread over 100 vendors, alternating. */
async function busyPair(
  context: FigureContext,
  run: { pgbench: string; connectionString: string; script: string; perClient: number; busyFirst: number; spreadFirst: number },
): Promise<Check> {
  const cursor = { busy: run.busyFirst, spread: run.spreadFirst };
  const claims = (side: keyof typeof cursor): Promise<PgbenchRun> => {
    const first = cursor[side];
    cursor[side] += BUSY_CLIENTS * run.perClient;
    return runPgbench({
      pgbench: run.pgbench,
      connectionString: run.connectionString,
      clients: BUSY_CLIENTS,
      transactionsPerClient: run.perClient,
      script: { file: run.script },
      defines: { first, i: 0, clients: BUSY_CLIENTS },
    });
  };
  context.log(`figure 1 (pgbench): busy vendor, ${BUSY_CLIENTS} clients, ${BUSY_CLIENTS * run.perClient} claims per run`);
  await claims('busy'); // warm-up of both sides, not counted
  await claims('spread');
  const { engine: busy, baseline: spread } = await alternating(
    context.sizes.repetitions,
    () => claims('busy'),
    () => claims('spread'),
  );
  return ratioCheck({
    id: '1.pgbench.busyVendor',
    label: `pgbench: one vendor, ${BUSY_CLIENTS} clients on its distinct slots vs spread over ${BUSY_SPREAD_VENDORS} vendors`,
    unit: '/s',
    engine: spreadOf(busy.map((r) => r.transactionsPerS)),
    baseline: spreadOf(spread.map((r) => r.transactionsPerS)),
    ratio: spreadOf(busy.map((r, i) => r.transactionsPerS / spread[i]!.transactionsPerS)),
    target: `≥ ${BUSY_RATIO_MIN.toFixed(1)}×`,
    bound: BUSY_RATIO_MIN,
    direction: 'atLeast',
  });
}
