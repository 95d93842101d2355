// Figure 1: claim throughput and latency at 1, 8 and 32 clients on distinct
// slots, against pgbench's TPC-B-like transaction through the same driver
// and pool on the same server. Each repetition runs both, alternating which
// goes first, so drifting machine load hits both sides alike. Two more pairs
// (pgbenchPair.ts: pgbench on both sides, no node driver; busyVendor.ts: one
// busy vendor vs the same claims spread over 100) are judged here too.

import { claimSlot } from '../../engine/bookings.js';
import { latenciesOf, outcomeCounts, runLoad, type LoadResult } from '../load.js';
import { ratioCheck, type Check } from '../report.js';
import { BENCH_ACTOR, seedCustomers, seedSlotGrid, seedVendors, warmPool } from '../seed.js';
import { latencySummary, spreadOf, type LatencySummary } from '../stats.js';
import { createTpcbTables, tpcbTransaction } from '../tpcb.js';
import { busyVendorPair } from './busyVendor.js';
import type { FigureContext, FigureResult } from './context.js';
import { pgbenchPair } from './pgbenchPair.js';

const VENDOR_COUNT = 256;
const CUSTOMER_COUNT = 2_000;
const THROUGHPUT_TARGET_CLIENTS = 8;
const THROUGHPUT_RATIO_MIN = 1.0;
const P95_RATIO_MAX = 1.5;

interface RunFigures {
  throughputPerS: number;
  latency: LatencySummary;
  failures: number;
}

function figuresOf(result: LoadResult): RunFigures {
  const ok = latenciesOf(result, 'ok');
  return { throughputPerS: ok.length / (result.wallMs / 1000), latency: latencySummary(ok), failures: result.samples.length - ok.length };
}

// biome-ignore lint/complexity/noExcessiveLinesPerFunction: stays long: one figure read top to bottom as its method (seed, warm, measure, check), each step using the rows the last one made.
export async function claimThroughput(context: FigureContext): Promise<FigureResult> {
  const { sizes } = context;
  const database = await context.server.createDatabase('claims');
  const setupPool = database.openPool(2);
  const scale = { branches: sizes.tpcbBranches, accounts: sizes.tpcbAccounts };
  await createTpcbTables(setupPool, scale);
  const vendors = await seedVendors(setupPool, VENDOR_COUNT, 'Claims vendor');
  const customers = await seedCustomers(setupPool, CUSTOMER_COUNT, 'Claims customer');
  const slotsNeeded = sizes.claimClients.length * (sizes.repetitions * sizes.claimOpsPerRun + sizes.warmupOps);
  const slots = await seedSlotGrid(setupPool, {
    vendorIds: vendors,
    slotsPerVendor: Math.ceil(slotsNeeded / VENDOR_COUNT),
    startAfterHours: 48,
    slotMinutes: 60,
    strideMinutes: 60,
  });
  await setupPool.query('VACUUM ANALYZE');
  let cursor = 0;
  const claimNext = (pool: Parameters<typeof claimSlot>[0]) => {
    return async (index: number): Promise<void> => {
      const slot = slots[cursor++]!;
      await claimSlot(pool, { slot: slot.id, customer: customers[index % customers.length] }, BENCH_ACTOR);
    };
  };

  const checks: Check[] = [];
  const perClients: Record<string, unknown> = {};
  for (const clients of sizes.claimClients) {
    context.log(`figure 1: ${clients} client(s)`);
    const pool = database.openPool(clients);
    await warmPool(pool, clients);
    await runLoad(sizes.warmupOps, clients, claimNext(pool));
    await runLoad(sizes.warmupOps, clients, () => tpcbTransaction(pool, scale));
    const engineRuns: RunFigures[] = [];
    const baselineRuns: RunFigures[] = [];
    const unexpected: string[] = [];
    for (let repetition = 0; repetition < sizes.repetitions; repetition++) {
      const runEngine = async (): Promise<void> => {
        const result = await runLoad(sizes.claimOpsPerRun, clients, claimNext(pool));
        unexpected.push(
          ...result.unexpected,
          ...Object.entries(outcomeCounts(result))
            .filter(([outcome]) => outcome !== 'ok')
            .map(([outcome, n]) => `${n}× ${outcome}`),
        );
        engineRuns.push(figuresOf(result));
      };
      const runBaseline = async (): Promise<void> => {
        baselineRuns.push(figuresOf(await runLoad(sizes.claimOpsPerRun, clients, () => tpcbTransaction(pool, scale))));
      };
      if (repetition % 2 === 0) {
        await runBaseline();
        await runEngine();
      } else {
        await runEngine();
        await runBaseline();
      }
    }
    await pool.end();
    const throughputRatio = spreadOf(engineRuns.map((run, i) => run.throughputPerS / baselineRuns[i]!.throughputPerS));
    const p95Ratio = spreadOf(engineRuns.map((run, i) => run.latency.p95 / baselineRuns[i]!.latency.p95));
    const judged = clients === THROUGHPUT_TARGET_CLIENTS;
    const throughput = {
      id: `1.throughput.${clients}`,
      label: `claims/s vs TPC-B tx/s, ${clients} client${clients === 1 ? '' : 's'}`,
      unit: '/s',
      engine: spreadOf(engineRuns.map((run) => run.throughputPerS)),
      baseline: spreadOf(baselineRuns.map((run) => run.throughputPerS)),
      ratio: throughputRatio,
    };
    checks.push(
      judged
        ? ratioCheck({ ...throughput, target: `≥ ${THROUGHPUT_RATIO_MIN.toFixed(1)}×`, bound: THROUGHPUT_RATIO_MIN, direction: 'atLeast' })
        : { ...throughput, target: `info (judged at ${THROUGHPUT_TARGET_CLIENTS})`, met: null },
    );
    checks.push(
      ratioCheck({
        id: `1.p95.${clients}`,
        label: `p95 latency, ${clients} client${clients === 1 ? '' : 's'}`,
        unit: 'ms',
        engine: spreadOf(engineRuns.map((run) => run.latency.p95)),
        baseline: spreadOf(baselineRuns.map((run) => run.latency.p95)),
        ratio: p95Ratio,
        target: `≤ ${P95_RATIO_MAX.toFixed(1)}×`,
        bound: P95_RATIO_MAX,
        direction: 'atMost',
      }),
    );
    perClients[String(clients)] = {
      engine: engineRuns.map((run) => ({ throughputPerS: run.throughputPerS, ...run.latency, failures: run.failures })),
      baseline: baselineRuns.map((run) => ({ throughputPerS: run.throughputPerS, ...run.latency, failures: run.failures })),
      engineFailures: unexpected,
    };
  }
  const pgbench = await pgbenchPair(context);
  checks.push(...pgbench.checks, await busyVendorPair(context));
  return {
    id: '1',
    title: 'Claim throughput and latency vs pgbench TPC-B-like',
    status: 'measured',
    checks,
    details: {
      pgbench: pgbench.skipped ?? pgbench.details,
      operationsPerRun: sizes.claimOpsPerRun,
      baseline: `pgbench TPC-B-like (BEGIN; 3 UPDATE, 1 SELECT, 1 INSERT; END) through node-postgres and the same pool, ${scale.branches} branches, ${scale.accounts} accounts`,
      engine: `claimSlot (one claim_slot call) on distinct capacity-1 slots spread over ${VENDOR_COUNT} vendors, ${CUSTOMER_COUNT} customers`,
      perClients,
    },
  };
}
