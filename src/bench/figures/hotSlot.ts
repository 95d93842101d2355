// Figure 2: the hot slot. Many contenders on one capacity-1 slot, a fixed
// number at a time: exactly one must win, and the whole contest must take no
// longer than the same number of claims on distinct slots (losers fail fast
// instead of queueing on the slot's lock).

import { runContest, runDistinct, type ContestResult, type DistinctResult } from '../contention.js';
import { ratioCheck, type Check } from '../report.js';
import { seedCustomers, seedSlotGrid, seedVendors, warmPool } from '../seed.js';
import { spreadOf } from '../stats.js';
import type { FigureContext, FigureResult } from './context.js';

const VENDOR_COUNT = 64;
const CONTEST_RATIO_MAX = 1.0;
const WARMUP_CONTENDERS = 100;

// biome-ignore lint/complexity/noExcessiveLinesPerFunction: stays long: one figure read top to bottom as its method (seed, warm, measure, check), each step using the rows the last one made.
export async function hotSlot(context: FigureContext): Promise<FigureResult> {
  const { sizes } = context;
  const database = await context.server.createDatabase('hotslot');
  const pool = database.openPool(sizes.hotConcurrency);
  const vendors = await seedVendors(pool, VENDOR_COUNT, 'Hot vendor');
  const [hotVendor] = await seedVendors(pool, 1, 'Hot slot vendor');
  const customers = await seedCustomers(pool, sizes.hotContenders, 'Hot customer');
  const hotSlots = await seedSlotGrid(pool, {
    vendorIds: [hotVendor!],
    slotsPerVendor: sizes.repetitions + 1,
    startAfterHours: 48,
    slotMinutes: 60,
    strideMinutes: 60,
  });
  const distinctNeeded = sizes.repetitions * sizes.hotContenders + WARMUP_CONTENDERS;
  const distinctSlots = await seedSlotGrid(pool, {
    vendorIds: vendors,
    slotsPerVendor: Math.ceil(distinctNeeded / VENDOR_COUNT),
    startAfterHours: 48,
    slotMinutes: 60,
    strideMinutes: 60,
  });
  await pool.query('VACUUM ANALYZE');
  await warmPool(pool, sizes.hotConcurrency);

  const warmupCustomers = customers.slice(0, Math.min(WARMUP_CONTENDERS, customers.length));
  await runContest(pool, hotSlots[0]!.id, warmupCustomers, sizes.hotConcurrency);
  await runDistinct(
    pool,
    distinctSlots.slice(0, warmupCustomers.length).map((slot) => slot.id),
    warmupCustomers,
    sizes.hotConcurrency,
  );
  let distinctCursor = warmupCustomers.length;

  const contests: ContestResult[] = [];
  const distincts: DistinctResult[] = [];
  for (let repetition = 0; repetition < sizes.repetitions; repetition++) {
    context.log(`figure 2: repetition ${repetition + 1}`);
    const slotIds = distinctSlots.slice(distinctCursor, distinctCursor + sizes.hotContenders).map((slot) => slot.id);
    distinctCursor += sizes.hotContenders;
    const contest = (): Promise<void> =>
      runContest(pool, hotSlots[repetition + 1]!.id, customers, sizes.hotConcurrency).then((result) => void contests.push(result));
    const distinct = (): Promise<void> => runDistinct(pool, slotIds, customers, sizes.hotConcurrency).then((result) => void distincts.push(result));
    if (repetition % 2 === 0) {
      await distinct();
      await contest();
    } else {
      await contest();
      await distinct();
    }
  }

  const winners = contests.map((contest) => contest.winners);
  const unexpectedLosses = contests.map((contest) => contest.winners + (contest.outcomes.BOOKING_CONFLICT ?? 0) !== sizes.hotContenders);
  const checks: Check[] = [
    {
      id: '2.winners',
      label: `winners among ${sizes.hotContenders} contenders (capacity 1)`,
      unit: '',
      engine: spreadOf(winners),
      baseline: null,
      ratio: null,
      target: 'exactly 1, others BOOKING_CONFLICT',
      met: winners.every((count) => count === 1) && !unexpectedLosses.some(Boolean),
    },
    ratioCheck({
      id: '2.contest',
      label: `contest time vs ${sizes.hotContenders} distinct claims, ${sizes.hotConcurrency} at a time`,
      unit: 'ms',
      engine: spreadOf(contests.map((contest) => contest.wallMs)),
      baseline: spreadOf(distincts.map((distinct) => distinct.wallMs)),
      ratio: spreadOf(contests.map((contest, i) => contest.wallMs / distincts[i]!.wallMs)),
      target: `≤ ${CONTEST_RATIO_MAX.toFixed(1)}×`,
      bound: CONTEST_RATIO_MAX,
      direction: 'atMost',
    }),
    {
      id: '2.loser.p50',
      label: 'loser latency p50 vs distinct claim p50',
      unit: 'ms',
      engine: spreadOf(contests.map((contest) => contest.loserLatency.p50)),
      baseline: spreadOf(distincts.map((distinct) => distinct.latency.p50)),
      ratio: spreadOf(contests.map((contest, i) => contest.loserLatency.p50 / distincts[i]!.latency.p50)),
      target: 'info',
      met: null,
    },
    {
      id: '2.loser.p99',
      label: 'loser latency p99 vs distinct claim p99',
      unit: 'ms',
      engine: spreadOf(contests.map((contest) => contest.loserLatency.p99)),
      baseline: spreadOf(distincts.map((distinct) => distinct.latency.p99)),
      ratio: spreadOf(contests.map((contest, i) => contest.loserLatency.p99 / distincts[i]!.latency.p99)),
      target: 'info',
      met: null,
    },
  ];
  return {
    id: '2',
    title: 'Hot slot: one capacity-1 slot, many contenders',
    status: 'measured',
    checks,
    details: { contenders: sizes.hotContenders, concurrency: sizes.hotConcurrency, contests, distincts },
  };
}
