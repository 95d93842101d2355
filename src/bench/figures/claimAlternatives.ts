// The contended claim path's alternatives, measured side by side in a
// bench-only scratch database (see claimVariants.ts): for each variant, the
// hot-slot contest against distinct claims (as in figure 2), and a
// capacity-4 contest, which must still fill all four seats.

import { VariantAnchorMissing, CLAIM_VARIANTS } from '../claimVariants.js';
import { keepingConnectionsOnSqlErrors, runContest, runDistinct, type ContestResult, type DistinctResult } from '../contention.js';
import type { Check } from '../report.js';
import { seedCustomers, seedSlotGrid, seedVendors, warmPool } from '../seed.js';
import { spreadOf } from '../stats.js';
import type { FigureContext, FigureResult } from './context.js';

const VENDOR_COUNT = 64;
const CAPACITY = 4;
const WARMUP_CONTENDERS = 16;

interface VariantFigures {
  name: string;
  description: string;
  semanticsNote: string;
  built: boolean;
  reason?: string;
  contests: ContestResult[];
  distincts: DistinctResult[];
  capacityWinners: number[];
}

// biome-ignore lint/complexity/noExcessiveLinesPerFunction: stays long: one figure read top to bottom as its method (seed, warm, measure, check), each step using the rows the last one made.
export async function claimAlternatives(context: FigureContext): Promise<FigureResult> {
  const { sizes } = context;
  const concurrency = sizes.hotConcurrency;
  const database = await context.server.createDatabase('alternatives');
  const pool = database.openPool(concurrency);
  const shipped = (await pool.query<{ definition: string }>(`SELECT pg_get_functiondef('claim_slot'::regproc) AS definition`)).rows[0]!.definition;
  const variants = CLAIM_VARIANTS.length;
  const vendors = await seedVendors(pool, VENDOR_COUNT, 'Alternatives vendor');
  const [hotVendor] = await seedVendors(pool, 1, 'Alternatives hot vendor');
  const customers = await seedCustomers(pool, sizes.alternativeContenders, 'Alternatives customer');
  const perVariantHot = sizes.repetitions + 1;
  const hotSlots = await seedSlotGrid(pool, {
    vendorIds: [hotVendor!],
    slotsPerVendor: variants * perVariantHot,
    startAfterHours: 48,
    slotMinutes: 60,
    strideMinutes: 60,
  });
  const [capacityVendor] = await seedVendors(pool, 1, 'Alternatives capacity vendor');
  const capacitySlots = await seedSlotGrid(pool, {
    vendorIds: [capacityVendor!],
    slotsPerVendor: variants * sizes.repetitions,
    startAfterHours: 48,
    slotMinutes: 60,
    strideMinutes: 60,
    capacity: CAPACITY,
  });
  const distinctPerVariant = sizes.repetitions * sizes.alternativeContenders + WARMUP_CONTENDERS;
  const distinctSlots = await seedSlotGrid(pool, {
    vendorIds: vendors,
    slotsPerVendor: Math.ceil((variants * distinctPerVariant) / VENDOR_COUNT),
    startAfterHours: 48,
    slotMinutes: 60,
    strideMinutes: 60,
  });
  await pool.query('VACUUM ANALYZE');
  await warmPool(pool, concurrency);

  let hotCursor = 0;
  let capacityCursor = 0;
  let distinctCursor = 0;
  const takeDistinct = (count: number): string[] => {
    const ids = distinctSlots.slice(distinctCursor, distinctCursor + count).map((slot) => slot.id);
    distinctCursor += count;
    return ids;
  };
  const results: VariantFigures[] = [];
  for (const variant of CLAIM_VARIANTS) {
    const figures: VariantFigures = {
      name: variant.name,
      description: variant.description,
      semanticsNote: variant.semanticsNote,
      built: true,
      contests: [],
      distincts: [],
      capacityWinners: [],
    };
    results.push(figures);
    try {
      await pool.query(variant.build(shipped));
    } catch (error) {
      figures.built = false;
      figures.reason = error instanceof VariantAnchorMissing ? error.message : `did not compile: ${(error as Error).message}`;
      continue;
    }
    context.log(`alternatives: ${variant.name}`);
    const claimPool = variant.keepConnectionOnSqlError ? keepingConnectionsOnSqlErrors(pool) : pool;
    const warmup = customers.slice(0, WARMUP_CONTENDERS);
    await runContest(claimPool, hotSlots[hotCursor++]!.id, warmup, concurrency);
    await runDistinct(claimPool, takeDistinct(warmup.length), warmup, concurrency);
    for (let repetition = 0; repetition < sizes.repetitions; repetition++) {
      figures.distincts.push(await runDistinct(claimPool, takeDistinct(sizes.alternativeContenders), customers, concurrency));
      figures.contests.push(await runContest(claimPool, hotSlots[hotCursor++]!.id, customers, concurrency));
      const capacityContest = await runContest(
        claimPool,
        capacitySlots[capacityCursor++]!.id,
        customers.slice(0, sizes.alternativeCapacityContenders),
        concurrency,
      );
      figures.capacityWinners.push(capacityContest.winners);
    }
  }
  // The shipped function goes back, and the database must still be consistent.
  await pool.query(shipped);
  const violations = (await pool.query<{ check_id: string; violations: number }>('SELECT check_id, violations FROM verify_invariants() WHERE violations > 0'))
    .rows;
  await pool.end();

  const checks: Check[] = [];
  for (const figures of results) {
    if (!figures.built) continue;
    const winnersOk = figures.contests.every((contest) => contest.winners === 1);
    const capacityOk = figures.capacityWinners.every((winners) => winners === CAPACITY);
    checks.push({
      id: `alt.${figures.name}.contest`,
      label: `${figures.name}: contest vs distinct`,
      unit: 'ms',
      engine: spreadOf(figures.contests.map((contest) => contest.wallMs)),
      baseline: spreadOf(figures.distincts.map((distinct) => distinct.wallMs)),
      ratio: spreadOf(figures.contests.map((contest, i) => contest.wallMs / figures.distincts[i]!.wallMs)),
      target: 'info (figure 2 bound: ≤ 1.0×)',
      met: null,
      notes: `capacity-1 winners ${figures.contests.map((contest) => contest.winners).join('/')}${winnersOk ? '' : ' (WRONG)'}`,
    });
    checks.push({
      id: `alt.${figures.name}.loserP99`,
      label: `${figures.name}: loser p99`,
      unit: 'ms',
      engine: spreadOf(figures.contests.map((contest) => contest.loserLatency.p99)),
      baseline: spreadOf(figures.distincts.map((distinct) => distinct.latency.p99)),
      ratio: spreadOf(figures.contests.map((contest, i) => contest.loserLatency.p99 / figures.distincts[i]!.latency.p99)),
      target: 'info',
      met: null,
    });
    checks.push({
      id: `alt.${figures.name}.capacity`,
      label: `${figures.name}: seats filled, capacity ${CAPACITY}, ${sizes.alternativeCapacityContenders} contenders`,
      unit: '',
      engine: spreadOf(figures.capacityWinners),
      baseline: null,
      ratio: null,
      target: `exactly ${CAPACITY}`,
      met: capacityOk && winnersOk,
      notes: figures.semanticsNote,
    });
  }
  return {
    id: 'alt',
    title: 'Contended claim path: alternatives (bench-only fixture database)',
    status: 'measured',
    checks,
    details: {
      contenders: sizes.alternativeContenders,
      concurrency,
      variants: results.map(({ contests, distincts, ...rest }) => ({
        ...rest,
        contestMs: contests.map((contest) => contest.wallMs),
        distinctMs: distincts.map((distinct) => distinct.wallMs),
        loserP50Ms: contests.map((contest) => contest.loserLatency.p50),
        loserP99Ms: contests.map((contest) => contest.loserLatency.p99),
        outcomes: contests.map((contest) => contest.outcomes),
      })),
      invariantViolationsAfter: violations,
    },
  };
}
