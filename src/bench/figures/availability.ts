// Figure 3: availability. Free slots for one vendor over 90 days, and for
// 1,000 vendors over one day, through the engine's slot listing (listSlots:
// what is free now, expired holds counted free, I9) against a plain indexed
// SELECT of the same rows through the same pool. The database has bookings,
// live holds and holds whose TTL passed but that nobody has swept yet, so the
// listing does the work it does in production.

import { performance } from 'node:perf_hooks';
import type { Pool } from '../../db/pool.js';
import { advanceClock } from '../../engine/clock.js';
import { listSlots } from '../../engine/slots.js';
import { runLoad } from '../load.js';
import { ratioCheck } from '../report.js';
import { seedCustomers, seedSlotGrid, seedVendors, warmPool } from '../seed.js';
import { median, spreadOf } from '../stats.js';
import type { FigureContext, FigureResult } from './context.js';

const AVAILABILITY_RATIO_MAX = 2.0;
const SLOT_MINUTES = 30;
const START_AFTER_HOURS = 48;
// Coprime with the 12-slot pattern in occupy(), so no customer gets only holds (the engine caps unexpired holds per customer).
const CUSTOMER_COUNT = 3_001;
// Expired holds need a TTL that the clock can pass: the minimum the engine allows.
const SHORT_HOLD_TTL_S = 30;
const LONG_HOLD_TTL_S = 3_600;
const LIST_LIMIT = 100_000;

const PLAIN_SELECT = `SELECT * FROM slots WHERE vendor_id = $1 AND starts_at >= $2 AND starts_at < $3 AND NOT legacy ORDER BY starts_at, id`;

/** Books about a quarter of the slots, holds about a sixth (half of those with a TTL the clock will pass), all through claim_slot. */
async function occupy(pool: Pool): Promise<Record<string, number>> {
  const result = await pool.query<{ outcome: string; n: number }>(
    `WITH picked AS (
       SELECT s.id, row_number() OVER (ORDER BY md5(s.id::text)) AS rn FROM slots s),
     customer AS (SELECT id, row_number() OVER (ORDER BY id) - 1 AS rn FROM customers),
     claims AS (
       SELECT claim_slot(p.id, c.id, p.rn % 12 IN (1, 7), CASE WHEN p.rn % 12 = 1 THEN $1::int ELSE $2::int END,
                         NULL, NULL, 'system', 'bench', 'system') AS claim
       FROM picked p JOIN customer c ON c.rn = p.rn % $3::int
       WHERE p.rn % 12 IN (1, 4, 7, 10))
     SELECT (claim).booking->>'state' AS outcome, count(*) AS n FROM claims GROUP BY 1`,
    [SHORT_HOLD_TTL_S, LONG_HOLD_TTL_S, CUSTOMER_COUNT],
  );
  return Object.fromEntries(result.rows.map((row) => [row.outcome, row.n]));
}

// biome-ignore lint/complexity/noExcessiveLinesPerFunction: stays long: one figure read top to bottom as its method (seed, warm, measure, check), each step using the rows the last one made.
export async function availability(context: FigureContext): Promise<FigureResult> {
  const { sizes } = context;
  const database = await context.server.createDatabase('availability', { simulation: true });
  const pool = database.openPool(sizes.availabilityConcurrency);
  const strideMinutes = Math.floor((24 * 60) / sizes.availabilitySlotsPerDay);
  const [longVendor] = await seedVendors(pool, 1, 'Ninety-day vendor');
  const dayVendors = await seedVendors(pool, sizes.availabilityVendors, 'One-day vendor');
  await seedCustomers(pool, CUSTOMER_COUNT, 'Availability customer');
  await seedSlotGrid(pool, {
    vendorIds: [longVendor!],
    slotsPerVendor: sizes.availabilityDays * sizes.availabilitySlotsPerDay,
    startAfterHours: START_AFTER_HOURS,
    slotMinutes: SLOT_MINUTES,
    strideMinutes,
  });
  await seedSlotGrid(pool, {
    vendorIds: dayVendors,
    slotsPerVendor: sizes.availabilitySlotsPerDay,
    startAfterHours: START_AFTER_HOURS,
    slotMinutes: SLOT_MINUTES,
    strideMinutes,
  });
  const occupied = await occupy(pool);
  // Past the short holds' TTL: they are still 'held' rows, but free (I9).
  await advanceClock(pool, (SHORT_HOLD_TTL_S + 30) * 1000);
  await pool.query('VACUUM ANALYZE');
  const windowStart = (await pool.query<{ at: Date }>(`SELECT date_trunc('hour', bookiji_now()) + make_interval(hours => $1::int) AS at`, [START_AFTER_HOURS]))
    .rows[0]!.at;
  // The clock moved a minute; slots were laid out from the hour before it moved.
  const from = new Date(windowStart.getTime() - 3600_000);
  const longTo = new Date(from.getTime() + (sizes.availabilityDays * 24 + 1) * 3600_000);
  const dayTo = new Date(from.getTime() + 25 * 3600_000);
  await warmPool(pool, sizes.availabilityConcurrency);

  const engineList = async (vendor: string, to: Date): Promise<number> => {
    const slots = await listSlots(pool, { vendor, from: from.toISOString(), to: to.toISOString(), limit: LIST_LIMIT });
    return slots.filter((slot) => slot.available > 0).length;
  };
  const plainList = async (vendor: string, to: Date): Promise<number> => (await pool.query(PLAIN_SELECT, [vendor, from, to])).rowCount ?? 0;

  // Same rows on both sides, or the comparison means nothing.
  const rowsEngine = (await listSlots(pool, { vendor: longVendor!, from: from.toISOString(), to: longTo.toISOString(), limit: LIST_LIMIT })).length;
  const rowsPlain = await plainList(longVendor!, longTo);
  if (rowsEngine !== rowsPlain || rowsPlain !== sizes.availabilityDays * sizes.availabilitySlotsPerDay) {
    throw new Error(
      `availability: the listing returned ${rowsEngine} rows, the plain SELECT ${rowsPlain}, expected ${sizes.availabilityDays * sizes.availabilitySlotsPerDay}`,
    );
  }
  const freeLong = await engineList(longVendor!, longTo);

  const time = async (work: () => Promise<unknown>): Promise<number> => {
    const started = performance.now();
    await work();
    return performance.now() - started;
  };
  for (let i = 0; i < 3; i++) {
    await engineList(longVendor!, longTo);
    await plainList(longVendor!, longTo);
  }

  const long = { engine: [] as number[], baseline: [] as number[] };
  const many = { engine: [] as number[], baseline: [] as number[], oneStatement: [] as number[] };
  for (let repetition = 0; repetition < sizes.repetitions; repetition++) {
    context.log(`figure 3: repetition ${repetition + 1}`);
    const engineTimes: number[] = [];
    const plainTimes: number[] = [];
    for (let call = 0; call < sizes.availabilityCallsPerRun; call++) {
      engineTimes.push(await time(() => engineList(longVendor!, longTo)));
      plainTimes.push(await time(() => plainList(longVendor!, longTo)));
    }
    long.engine.push(median(engineTimes));
    long.baseline.push(median(plainTimes));
    // One pass over 50 vendors is 10-35 ms of wall time on two cores, which
    // a scheduler hiccup can double: each repetition times many passes,
    // engine and plain alternating, and keeps each side's median pass.
    const enginePasses: number[] = [];
    const plainPasses: number[] = [];
    for (let pass = 0; pass < sizes.availabilityCallsPerRun; pass++) {
      const engineRun = await runLoad(dayVendors.length, sizes.availabilityConcurrency, (index) => engineList(dayVendors[index]!, dayTo));
      const plainRun = await runLoad(dayVendors.length, sizes.availabilityConcurrency, (index) => plainList(dayVendors[index]!, dayTo));
      if (engineRun.samples.some((sample) => sample.outcome !== 'ok') || plainRun.samples.some((sample) => sample.outcome !== 'ok')) {
        throw new Error(`availability: listing ${dayVendors.length} vendors failed: ${[...engineRun.unexpected, ...plainRun.unexpected].join('; ')}`);
      }
      enginePasses.push(engineRun.wallMs);
      plainPasses.push(plainRun.wallMs);
    }
    many.engine.push(median(enginePasses));
    many.baseline.push(median(plainPasses));
    many.oneStatement.push(
      await time(() =>
        pool.query(`SELECT * FROM slots WHERE vendor_id = ANY($1) AND starts_at >= $2 AND starts_at < $3 AND NOT legacy ORDER BY vendor_id, starts_at, id`, [
          dayVendors,
          from,
          dayTo,
        ]),
      ),
    );
  }
  return {
    id: '3',
    title: 'Availability vs a plain indexed SELECT',
    status: 'measured',
    checks: [
      ratioCheck({
        id: '3.oneVendor',
        label: `1 vendor, ${sizes.availabilityDays} days (${rowsPlain} slots), per call`,
        unit: 'ms',
        engine: spreadOf(long.engine),
        baseline: spreadOf(long.baseline),
        ratio: spreadOf(long.engine.map((value, i) => value / long.baseline[i]!)),
        target: `≤ ${AVAILABILITY_RATIO_MAX.toFixed(1)}×`,
        bound: AVAILABILITY_RATIO_MAX,
        direction: 'atMost',
      }),
      ratioCheck({
        id: '3.manyVendors',
        label: `${dayVendors.length} vendors, 1 day, ${sizes.availabilityConcurrency} at a time`,
        unit: 'ms',
        engine: spreadOf(many.engine),
        baseline: spreadOf(many.baseline),
        ratio: spreadOf(many.engine.map((value, i) => value / many.baseline[i]!)),
        target: `≤ ${AVAILABILITY_RATIO_MAX.toFixed(1)}×`,
        bound: AVAILABILITY_RATIO_MAX,
        direction: 'atMost',
      }),
      {
        id: '3.manyVendors.oneStatement',
        label: `${dayVendors.length} vendors, 1 day: per-vendor listing vs one SELECT for all`,
        unit: 'ms',
        engine: spreadOf(many.engine),
        baseline: spreadOf(many.oneStatement),
        ratio: spreadOf(many.engine.map((value, i) => value / many.oneStatement[i]!)),
        target: 'info',
        met: null,
      },
    ],
    details: {
      engine: 'listSlots (vendor check + slots with `available`, expired holds counted free), free ones kept',
      baseline: PLAIN_SELECT,
      callsPerRun: sizes.availabilityCallsPerRun,
      statistic: 'one vendor: median call of each repetition; many vendors: median wall time of a pass over all vendors, callsPerRun passes per repetition',
      occupied,
      freeSlotsOneVendor: freeLong,
      slotsOneVendor: rowsPlain,
    },
  };
}
