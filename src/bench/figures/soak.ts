// Figure 5: the soak. 100,000 mixed operations (book, hold, cancel,
// reschedule, expire) by concurrent workers on a simulation database, whose
// clock moves a minute at every expire operation, so holds really expire
// and days pass. Run in ten segments: the last segment's p95 is compared
// with the first's, the process heap after with before, and the holds whose
// TTL passed but are not yet released at the end of each segment, which
// must not pile up. Ends with verify_invariants(): fast and wrong is no
// result.
//
// Payment is not in the mix: the engine has no payment operation yet
// (src/payments holds only the Stripe-compatible sandbox), which the
// report says.

import { runInNewContext } from 'node:vm';
import v8 from 'node:v8';
import seedrandom from 'seedrandom';
import type { Pool } from '../../db/pool.js';
import { BookijiError } from '../../errors.js';
import { cancelBooking, claimSlot, rescheduleBooking } from '../../engine/bookings.js';
import { advanceClock } from '../../engine/clock.js';
import { expireHolds } from '../../engine/holds.js';
import { outcomeCounts, runLoad, type LoadResult } from '../load.js';
import { ratioCheck, type Check } from '../report.js';
import { BENCH_ACTOR, seedCustomers, seedSlotGrid, seedVendors, warmPool } from '../seed.js';
import { latencySummary, spreadOf } from '../stats.js';
import type { FigureContext, FigureResult } from './context.js';

const SEGMENTS = 10;
const P95_RATIO_MAX = 1.2;
const MEMORY_RATIO_MAX = 1.1;
const HOLD_TTL_S = 120;
const CLOCK_STEP_MS = 60_000;
// Operations the model will not start on a hold this close to its expiry:
// the clock may move under the request.
const HOLD_MARGIN_MS = 2 * CLOCK_STEP_MS;
const SLOTS_PER_VENDOR = 200;
const CUSTOMER_COUNT = 5_000;

type OperationKind = 'book' | 'hold' | 'cancel' | 'reschedule' | 'expire';

// The mix keeps the number of active bookings roughly level: claims are
// balanced by cancels, expiries and the free slots reschedules leave.
const MIX: Array<[OperationKind, number]> = [
  ['book', 0.25],
  ['hold', 0.22],
  ['cancel', 0.3],
  ['reschedule', 0.13],
  ['expire', 0.1],
];

interface ActiveBooking {
  id: string;
  vendorIndex: number;
  slotId: string;
  held: boolean;
  holdExpiresAtMs: number;
}

/**
 * What the workers believe about the database, so each operation is one the
 * engine should accept (a refusal then means something). Node runs one
 * callback at a time, so taking a slot or booking out of the model before
 * the request starts is enough to keep workers from colliding.
 */
class SoakModel {
  readonly freeSlots: string[][];
  clockMs: number;
  // Active bookings in an array plus an index, so a random pick and a removal
  // are O(1): the harness's own cost must not grow with the run.
  private readonly activeList: ActiveBooking[] = [];
  private readonly activeIndex = new Map<string, number>();

  constructor(
    slotsByVendor: string[][],
    clockMs: number,
    private readonly random: () => number,
  ) {
    this.freeSlots = slotsByVendor;
    this.clockMs = clockMs;
  }

  get activeCount(): number {
    return this.activeList.length;
  }

  takeFreeSlot(vendorIndex: number): string | undefined {
    const free = this.freeSlots[vendorIndex]!;
    if (free.length === 0) return undefined;
    const at = Math.floor(this.random() * free.length);
    const last = free.pop()!;
    if (at === free.length) return last;
    const taken = free[at]!;
    free[at] = last;
    return taken;
  }

  giveBack(vendorIndex: number, slotId: string): void {
    this.freeSlots[vendorIndex]!.push(slotId);
  }

  addActive(booking: ActiveBooking): void {
    this.activeIndex.set(booking.id, this.activeList.length);
    this.activeList.push(booking);
  }

  removeActive(id: string): ActiveBooking | undefined {
    const at = this.activeIndex.get(id);
    if (at === undefined) return undefined;
    const booking = this.activeList[at]!;
    const last = this.activeList.pop()!;
    this.activeIndex.delete(id);
    if (last.id !== id) {
      this.activeList[at] = last;
      this.activeIndex.set(last.id, at);
    }
    return booking;
  }

  /** Takes a random active booking that passes `filter` (a few tries; none is fine). */
  takeActive(filter: (booking: ActiveBooking) => boolean): ActiveBooking | undefined {
    for (let attempt = 0; attempt < 8 && this.activeList.length > 0; attempt++) {
      const booking = this.activeList[Math.floor(this.random() * this.activeList.length)]!;
      if (filter(booking)) return this.removeActive(booking.id);
    }
    return undefined;
  }
}

function isGoneHold(error: unknown): boolean {
  return error instanceof BookijiError && (error.code === 'HOLD_EXPIRED' || error.code === 'INVALID_TRANSITION');
}

function forceGc(): () => void {
  v8.setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

function heapUsedMb(gc: () => void): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed / 1024 / 1024;
}

interface SegmentFigures {
  p95Ms: number;
  p50Ms: number;
  throughputPerS: number;
  outcomes: Record<string, number>;
  heldRows: number;
  expiredUnreleased: number;
}

async function holdCounts(pool: Pool): Promise<{ heldRows: number; expiredUnreleased: number }> {
  const result = await pool.query<{ held: number; expired: number }>(
    `SELECT count(*) AS held, count(*) FILTER (WHERE hold_expires_at <= bookiji_now()) AS expired FROM bookings WHERE state = 'held'`,
  );
  return { heldRows: result.rows[0]!.held, expiredUnreleased: result.rows[0]!.expired };
}

interface SoakRun {
  segments: SegmentFigures[];
  heapBeforeMb: number;
  heapAfterMb: number;
  rssBeforeMb: number;
  rssAfterMb: number;
  violations: Array<{ check: string; violations: number }>;
  leftAfterFinalSweep: number;
  unexpected: string[];
  operations: Record<OperationKind, number>;
}

// biome-ignore lint/complexity/noExcessiveLinesPerFunction: stays long: one figure read top to bottom as its method (seed, warm, measure, check), each step using the rows the last one made.
async function soakOnce(context: FigureContext, repetition: number, gc: () => void): Promise<SoakRun> {
  const { sizes } = context;
  const database = await context.server.createDatabase(`soak${repetition}`, { simulation: true });
  const pool = database.openPool(sizes.soakConcurrency + 1);
  // Enough slots that the free pool never runs dry, starting after the days the clock will pass.
  const vendorCount = Math.max(10, Math.ceil(sizes.soakOps / 1000));
  const vendors = await seedVendors(pool, vendorCount, 'Soak vendor');
  const customers = await seedCustomers(pool, Math.min(CUSTOMER_COUNT, sizes.soakOps), 'Soak customer');
  const clockDaysMax = Math.ceil((sizes.soakOps * 0.1 * CLOCK_STEP_MS) / 86_400_000) + 2;
  const slots = await seedSlotGrid(pool, {
    vendorIds: vendors,
    slotsPerVendor: SLOTS_PER_VENDOR,
    startAfterHours: clockDaysMax * 24,
    slotMinutes: 60,
    strideMinutes: 60,
  });
  await pool.query('VACUUM ANALYZE');
  const vendorIndex = new Map(vendors.map((id, index) => [id, index]));
  const slotsByVendor = vendors.map(() => [] as string[]);
  for (const slot of slots) slotsByVendor[vendorIndex.get(slot.vendorId)!]!.push(slot.id);
  const random = seedrandom(`bookiji-bench-soak-${repetition}`);
  const now = (await pool.query<{ now: Date }>('SELECT bookiji_now() AS now')).rows[0]!.now;
  const model = new SoakModel(slotsByVendor, now.getTime(), random);
  const operations: Record<OperationKind, number> = { book: 0, hold: 0, cancel: 0, reschedule: 0, expire: 0 };

  const chooseKind = (): OperationKind => {
    let roll = random();
    for (const [kind, share] of MIX) {
      roll -= share;
      if (roll < 0) return kind;
    }
    return 'expire';
  };
  const validHold = (booking: ActiveBooking): boolean => !booking.held || booking.holdExpiresAtMs - model.clockMs > HOLD_MARGIN_MS;

  const claim = async (hold: boolean): Promise<void> => {
    const vendor = Math.floor(random() * vendors.length);
    const slotId = model.takeFreeSlot(vendor);
    if (!slotId) throw new Error(`soak: vendor ${vendor} has no free slot left; seed more slots`);
    const customer = customers[Math.floor(random() * customers.length)];
    try {
      const { booking } = await claimSlot(pool, { slot: slotId, customer, hold, holdTtlSeconds: hold ? HOLD_TTL_S : undefined }, BENCH_ACTOR);
      model.addActive({
        id: booking.id,
        vendorIndex: vendor,
        slotId,
        held: hold,
        holdExpiresAtMs: booking.holdExpiresAt?.getTime() ?? Number.POSITIVE_INFINITY,
      });
    } catch (error) {
      model.giveBack(vendor, slotId);
      throw error;
    }
  };

  const operation = async (): Promise<void> => {
    let kind = chooseKind();
    // With nothing to cancel or move yet, book instead: every operation does work.
    if ((kind === 'cancel' || kind === 'reschedule') && model.activeCount === 0) kind = 'book';
    operations[kind] += 1;
    switch (kind) {
      case 'book':
        return claim(false);
      case 'hold':
        return claim(true);
      case 'cancel': {
        const booking = model.takeActive(validHold);
        if (!booking) return claim(false);
        try {
          await cancelBooking(pool, { booking: booking.id, reason: 'bench soak' }, BENCH_ACTOR);
          model.giveBack(booking.vendorIndex, booking.slotId);
        } catch (error) {
          // A hold a sweep expired under us is gone and its slot free; anything else stays as it was.
          if (isGoneHold(error)) model.giveBack(booking.vendorIndex, booking.slotId);
          else model.addActive(booking);
          throw error;
        }
        return;
      }
      case 'reschedule': {
        const booking = model.takeActive((candidate) => !candidate.held);
        if (!booking) return claim(false);
        const target = model.takeFreeSlot(booking.vendorIndex);
        if (!target) {
          model.addActive(booking);
          return claim(false);
        }
        try {
          await rescheduleBooking(pool, { booking: booking.id, slot: target }, BENCH_ACTOR);
          model.giveBack(booking.vendorIndex, booking.slotId);
          model.addActive({ ...booking, slotId: target });
        } catch (error) {
          model.giveBack(booking.vendorIndex, target);
          model.addActive(booking);
          throw error;
        }
        return;
      }
      case 'expire': {
        model.clockMs = (await advanceClock(pool, CLOCK_STEP_MS)).getTime();
        const expired = await expireHolds(pool, { dryRun: false, actor: BENCH_ACTOR });
        for (const hold of expired) {
          const booking = model.removeActive(hold.bookingId);
          if (!booking) continue;
          model.giveBack(booking.vendorIndex, booking.slotId);
        }
        return;
      }
    }
  };

  await warmPool(pool, sizes.soakConcurrency + 1);
  await runLoad(Math.min(500, sizes.soakOps / 10), sizes.soakConcurrency, operation);
  const heapBeforeMb = heapUsedMb(gc);
  const rssBeforeMb = process.memoryUsage().rss / 1024 / 1024;
  const segmentOps = Math.floor(sizes.soakOps / SEGMENTS);
  const segments: SegmentFigures[] = [];
  const unexpected: string[] = [];
  for (let segment = 0; segment < SEGMENTS; segment++) {
    const result: LoadResult = await runLoad(segmentOps, sizes.soakConcurrency, operation);
    unexpected.push(...result.unexpected);
    const latency = latencySummary(result.samples.map((sample) => sample.latencyMs));
    segments.push({
      p95Ms: latency.p95,
      p50Ms: latency.p50,
      throughputPerS: segmentOps / (result.wallMs / 1000),
      outcomes: outcomeCounts(result),
      ...(await holdCounts(pool)),
    });
    if (segment === 0 || segment === SEGMENTS - 1 || (segment + 1) % 5 === 0)
      context.log(`figure 5: repetition ${repetition + 1}, segment ${segment + 1}/${SEGMENTS}, p95 ${latency.p95.toFixed(1)} ms`);
  }
  const heapAfterMb = heapUsedMb(gc);
  const rssAfterMb = process.memoryUsage().rss / 1024 / 1024;
  await advanceClock(pool, (HOLD_TTL_S + 1) * 1000);
  await expireHolds(pool, { dryRun: false, actor: BENCH_ACTOR });
  const leftAfterFinalSweep = (await holdCounts(pool)).expiredUnreleased;
  const verify = await pool.query<{ check_id: string; violations: number }>('SELECT check_id, violations FROM verify_invariants() WHERE violations > 0');
  await pool.end();
  return {
    segments,
    heapBeforeMb,
    heapAfterMb,
    rssBeforeMb,
    rssAfterMb,
    violations: verify.rows.map((row) => ({ check: row.check_id, violations: row.violations })),
    leftAfterFinalSweep,
    unexpected,
    operations,
  };
}

export async function soak(context: FigureContext): Promise<FigureResult> {
  const gc = forceGc();
  const runs: SoakRun[] = [];
  for (let repetition = 0; repetition < context.sizes.repetitions; repetition++) runs.push(await soakOnce(context, repetition, gc));
  const first = runs.map((run) => run.segments[0]!);
  const last = runs.map((run) => run.segments[SEGMENTS - 1]!);
  const leftover = runs.map((run) => ({ first: run.segments[0]!.expiredUnreleased, last: run.segments[SEGMENTS - 1]!.expiredUnreleased }));
  const checks: Check[] = [
    ratioCheck({
      id: '5.p95',
      label: `p95, last tenth vs first (${context.sizes.soakOps} ops)`,
      unit: 'ms',
      engine: spreadOf(last.map((segment) => segment.p95Ms)),
      baseline: spreadOf(first.map((segment) => segment.p95Ms)),
      ratio: spreadOf(last.map((segment, i) => segment.p95Ms / first[i]!.p95Ms)),
      target: `≤ ${P95_RATIO_MAX.toFixed(1)}×`,
      bound: P95_RATIO_MAX,
      direction: 'atMost',
    }),
    ratioCheck({
      id: '5.memory',
      label: 'process heap after vs before (after GC)',
      unit: 'MB',
      engine: spreadOf(runs.map((run) => run.heapAfterMb)),
      baseline: spreadOf(runs.map((run) => run.heapBeforeMb)),
      ratio: spreadOf(runs.map((run) => run.heapAfterMb / run.heapBeforeMb)),
      target: `≤ ${MEMORY_RATIO_MAX.toFixed(1)}×`,
      bound: MEMORY_RATIO_MAX,
      direction: 'atMost',
    }),
    {
      id: '5.leftover',
      label: 'expired holds not yet released: end vs first tenth',
      unit: '',
      engine: spreadOf(leftover.map((value) => value.last)),
      baseline: spreadOf(leftover.map((value) => value.first)),
      ratio: null,
      // Between two sweeps, holds keep expiring; at most the ones a round of
      // in-flight operations can leave is noise, more is a queue building up.
      target: `end ≤ first + ${context.sizes.soakConcurrency}; 0 after a sweep`,
      met: leftover.every((value) => value.last <= value.first + context.sizes.soakConcurrency) && runs.every((run) => run.leftAfterFinalSweep === 0),
      notes: 'no pending-event table exists in the schema yet, so only holds are counted',
    },
    {
      id: '5.invariants',
      label: 'verify_invariants() after the soak',
      unit: '',
      engine: spreadOf(runs.map((run) => run.violations.reduce((sum, violation) => sum + violation.violations, 0))),
      baseline: null,
      ratio: null,
      target: '0 violations, 0 unexpected errors',
      met: runs.every((run) => run.violations.length === 0 && run.unexpected.length === 0),
    },
  ];
  return {
    id: '5',
    title: 'Soak: mixed operations over simulated days',
    status: 'measured',
    checks,
    details: {
      operations: context.sizes.soakOps,
      concurrency: context.sizes.soakConcurrency,
      mix: Object.fromEntries(MIX),
      clockStepMsPerExpire: CLOCK_STEP_MS,
      holdTtlS: HOLD_TTL_S,
      payment: 'not in the mix: the engine has no payment operation yet (src/payments holds only the sandbox)',
      runs: runs.map((run) => ({ ...run, rssBeforeMb: Math.round(run.rssBeforeMb), rssAfterMb: Math.round(run.rssAfterMb) })),
    },
  };
}
