// Phase 7, soak and time decay: the engine tomorrow behaves like today. A
// seeded mix of holds, bookings, confirmations, cancellations, reschedules
// and reads runs on parallel connections against the simulation database
// while its clock moves a day at a time; each simulated midnight, reconcile
// runs and the phase samples table sizes, holds left behind and the
// invariants, and the vendors' schedules roll forward a day. It then checks
// for drift: no hold left behind after any reconcile, invariants clean every
// day, the live future schedule the same size at the end as at the start,
// latency of the last tenth of operations within bounds of the first tenth,
// no unexplained error, and the same probes giving the same answers at the
// end as at the start.

import { BookijiError } from '../../errors.js';
import type { Pool } from '../../db/pool.js';
import { cancelBooking, claimSlot, confirmBooking, getBooking, rescheduleBooking } from '../../engine/bookings.js';
import { addSlot, listSlots } from '../../engine/slots.js';
import { advanceClock, databaseNow } from '../../engine/clock.js';
import { expireHolds } from '../../engine/holds.js';
import type { Customer, Slot, Vendor } from '../../engine/types.js';
import { verifyInvariants } from '../../engine/verify.js';
import type { PhaseContext } from '../context.js';
import { Evidence, outcomeCode, percentile } from '../evidence.js';
import type { PhaseOutcome } from './atomicSlot.js';
import { CERTIFY_OPERATOR, customerActor, newCustomers, newSlot, newVendor } from './shared.js';

// Vendors serialize on their audit chain's head: more vendors, less queueing among the workers.
const VENDORS = 8;
const CUSTOMERS = 40;
const SLOTS_PER_DAY = 10;
const DAYS_AHEAD = 3;
const BUCKETS = 10;
const DAY_MS = 24 * 3_600_000;
/** Latency drift allowed: the last tenth's median may be this many times the first tenth's, plus a floor for noise on shared machines. */
const LATENCY_DRIFT_FACTOR_MAX = 3;
const LATENCY_DRIFT_FLOOR_MS = 5;
/** Codes that mean "the engine itself failed": none may appear. */
const UNEXPLAINED = new Set(['INTERNAL_ERROR', 'DEPENDENCY_UNAVAILABLE', 'UNEXPECTED']);

interface Owned {
  id: string;
  vendorIndex: number;
}

interface DaySample {
  day: number;
  opsDone: number;
  rows: Record<string, number>;
  heldBeforeReconcile: number;
  released: number;
  leftoverHolds: number;
  invariantViolations: number;
  futureSlots: number;
}

async function probe(pool: Pool, label: string): Promise<string[]> {
  const vendor = await newVendor(pool, `probe-${label}`);
  const customers = await newCustomers(pool, `probe-${label}`, 3);
  const [a, b, flooder] = customers as [Customer, Customer, Customer];
  const now = await databaseNow(pool);
  const past = await addSlot(pool, { vendor: vendor.id, start: new Date(now.getTime() - 3_600_000).toISOString(), end: new Date(now.getTime() - 1_800_000).toISOString() }, CERTIFY_OPERATOR);
  const single = await newSlot(pool, vendor, { startInMinutes: 6 * 60 });
  const priced = await newSlot(pool, vendor, { startInMinutes: 8 * 60, priceCents: 2_000 });
  const answers: string[] = [];
  answers.push(`past slot: ${await outcomeCode(() => claimSlot(pool, { slot: past.id, customer: a.id }, customerActor(a)))}`);
  const hold = await claimSlot(pool, { slot: single.id, customer: a.id, hold: true }, customerActor(a));
  answers.push(`taken slot: ${await outcomeCode(() => claimSlot(pool, { slot: single.id, customer: b.id }, customerActor(b)))}`);
  answers.push(`confirm hold: ${await outcomeCode(() => confirmBooking(pool, { booking: hold.booking.id }, customerActor(a)))}`);
  const card = await claimSlot(pool, { slot: priced.id, customer: b.id, hold: true, paymentMethod: 'card' }, customerActor(b));
  answers.push(`confirm unpaid card: ${await outcomeCode(() => confirmBooking(pool, { booking: card.booking.id }, customerActor(b)))}`);
  answers.push(`unknown booking: ${await outcomeCode(() => getBooking(pool, '00000000-0000-4000-8000-000000000000'))}`);
  const limit = Number((await pool.query(`SELECT value FROM engine_limits WHERE name = 'holds_per_customer_max'`)).rows[0].value);
  const floodCodes: string[] = [];
  for (let i = 0; i <= limit; i++) {
    const slot = await newSlot(pool, vendor, { startInMinutes: 10 * 60 + i * 60 });
    floodCodes.push(await outcomeCode(() => claimSlot(pool, { slot: slot.id, customer: flooder.id, hold: true }, customerActor(flooder))));
  }
  answers.push(`holds up to the limit and one more: ${floodCodes.join(',')}`);
  return answers;
}

export async function runSoak(ctx: PhaseContext): Promise<PhaseOutcome> {
  const evidence = new Evidence();
  const pool = ctx.simulation.pool;
  const { soakOperations, soakWorkers, soakDays } = ctx.params;
  const random = ctx.random('soak');

  const probesBefore = await probe(pool, 'start');
  const vendors: Vendor[] = [];
  for (let i = 0; i < VENDORS; i++) vendors.push(await newVendor(pool, `soak-${i}`));
  const customers = await newCustomers(pool, 'soak', CUSTOMERS);
  const slotsByVendor: Slot[][] = vendors.map(() => []);

  // Day d's slots start 2 h after the soak's start instant plus d days, so
  // after n midnights the live future schedule is always days n … n + 2.
  const origin = await databaseNow(pool);
  const addDay = async (d: number): Promise<void> => {
    for (const [v, vendor] of vendors.entries()) {
      for (let h = 0; h < SLOTS_PER_DAY; h++) {
        const start = new Date(origin.getTime() + d * DAY_MS + (2 + h) * 3_600_000);
        slotsByVendor[v]!.push(await addSlot(pool, { vendor: vendor.id, start: start.toISOString(), end: new Date(start.getTime() + 3_600_000).toISOString(), capacity: 2 }, CERTIFY_OPERATOR));
      }
    }
  };
  let now = origin;
  for (let d = 0; d < DAYS_AHEAD; d++) await addDay(d);

  const futureSlotCount = async (): Promise<number> => {
    let n = 0;
    for (const vendor of vendors) n += (await listSlots(pool, { vendor: vendor.id, from: now.toISOString(), limit: 10_000 })).length;
    return n;
  };
  const futureAtStart = await futureSlotCount();

  const latencies: number[] = new Array<number>(soakOperations);
  const dayOfOp: number[] = new Array<number>(soakOperations);
  const outcomes: Record<string, number> = {};
  const unexplained: string[] = [];
  const owned: Owned[][] = customers.map(() => []);
  const samples: DaySample[] = [];
  const opsPerDay = Math.ceil(soakOperations / soakDays);
  let opIndex = 0;

  const pickSlot = (v: number): Slot | undefined => {
    const live = slotsByVendor[v]!.filter((s) => s.startsAt.getTime() > now.getTime() + 3_600_000);
    return live.length ? live[Math.floor(random() * live.length)] : undefined;
  };

  const operation = async (index: number): Promise<void> => {
    const c = Math.floor(random() * customers.length);
    const customer = customers[c]!;
    const actor = customerActor(customer, `soak-${index}`);
    const roll = random();
    const mine = owned[c]!;
    const v = Math.floor(random() * vendors.length);
    const started = performance.now();
    let code = 'OK';
    try {
      if (roll < 0.35 || (roll < 0.82 && mine.length === 0)) {
        const slot = pickSlot(v);
        if (slot) {
          const r = await claimSlot(pool, { slot: slot.id, customer: customer.id, hold: true, holdTtlSeconds: 300 + Math.floor(random() * 3_000) }, actor);
          mine.push({ id: r.booking.id, vendorIndex: v });
        }
      } else if (roll < 0.5) {
        const slot = pickSlot(v);
        if (slot) {
          const r = await claimSlot(pool, { slot: slot.id, customer: customer.id }, actor);
          mine.push({ id: r.booking.id, vendorIndex: v });
        }
      } else if (roll < 0.62) {
        await confirmBooking(pool, { booking: mine[Math.floor(random() * mine.length)]!.id }, actor);
      } else if (roll < 0.72) {
        const victim = mine.splice(Math.floor(random() * mine.length), 1)[0]!;
        await cancelBooking(pool, { booking: victim.id, reason: 'soak: plans changed' }, actor);
      } else if (roll < 0.82) {
        const moving = mine[Math.floor(random() * mine.length)]!;
        const slot = pickSlot(moving.vendorIndex);
        if (slot) await rescheduleBooking(pool, { booking: moving.id, slot: slot.id }, actor);
      } else {
        await listSlots(pool, { vendor: vendors[v]!.id, from: now.toISOString(), limit: 50 });
      }
    } catch (error) {
      code = error instanceof BookijiError ? error.code : 'UNEXPECTED';
      if (UNEXPLAINED.has(code) && unexplained.length < 5) unexplained.push(`${code}: ${error instanceof Error ? error.message : String(error)}`);
    }
    latencies[index] = performance.now() - started;
    outcomes[code] = (outcomes[code] ?? 0) + 1;
  };

  for (let day = 0; day < soakDays && opIndex < soakOperations; day++) {
    const dayEnd = Math.min(soakOperations, opIndex + opsPerDay);
    await Promise.all(
      Array.from({ length: soakWorkers }, async () => {
        for (;;) {
          const index = opIndex;
          if (index >= dayEnd) return;
          opIndex += 1;
          dayOfOp[index] = day;
          await operation(index);
        }
      }),
    );
    // Midnight: a day passes, reconcile runs, the schedule rolls forward.
    now = await advanceClock(pool, DAY_MS);
    const heldBefore = Number((await pool.query(`SELECT count(*) AS n FROM bookings WHERE state = 'held'`)).rows[0].n);
    const released = (await expireHolds(pool, { dryRun: false, actor: { kind: 'system', id: 'reconcile', source: 'reconcile' } })).length;
    await addDay(day + DAYS_AHEAD);
    const sizes = (await pool.query(
      `SELECT (SELECT count(*) FROM bookings) AS bookings, (SELECT count(*) FROM booking_transitions) AS transitions,
              (SELECT count(*) FROM audit_log) AS audit_log, (SELECT count(*) FROM slots) AS slots,
              (SELECT count(*) FROM bookings WHERE state = 'held' AND hold_expires_at <= bookiji_now()) AS leftover`,
    )).rows[0];
    const violations = (await verifyInvariants(pool)).reduce((s, c) => s + c.violations, 0);
    samples.push({
      day: day + 1,
      opsDone: opIndex,
      rows: { bookings: Number(sizes.bookings), transitions: Number(sizes.transitions), audit_log: Number(sizes.audit_log), slots: Number(sizes.slots) },
      heldBeforeReconcile: heldBefore,
      released,
      leftoverHolds: Number(sizes.leftover),
      invariantViolations: violations,
      futureSlots: await futureSlotCount(),
    });
    ctx.log(`  soak day ${day + 1}: ${opIndex} operations, ${released} holds released, ${Number(sizes.leftover)} left behind`);
  }

  const done = opIndex;
  const tenth = Math.max(1, Math.floor(done / BUCKETS));
  const sortedSlice = (from: number, to: number): number[] => latencies.slice(from, to).sort((x, y) => x - y);
  const buckets = Array.from({ length: BUCKETS }, (_, b) => {
    const slice = sortedSlice(b * tenth, b === BUCKETS - 1 ? done : (b + 1) * tenth);
    return { index: b + 1, opsDone: b === BUCKETS - 1 ? done : (b + 1) * tenth, p50Ms: percentile(slice, 50), p95Ms: percentile(slice, 95), simulatedDay: (dayOfOp[Math.min(done - 1, (b + 1) * tenth - 1)] ?? 0) + 1 };
  });
  const first = buckets[0]!;
  const last = buckets[BUCKETS - 1]!;

  evidence.record(`${done} operations over ${samples.length} simulated days on ${soakWorkers} parallel connections`, done >= soakOperations && unexplained.length === 0,
    `outcomes ${JSON.stringify(outcomes)}${unexplained.length ? `; unexplained failures: ${unexplained.join(' | ')}` : '; every refusal carried a clear code'}`,
    { operations: done, days: samples.length, workers: soakWorkers });
  const leftoverDays = samples.filter((s) => s.leftoverHolds > 0);
  evidence.record('no hold left behind after any nightly reconcile', leftoverDays.length === 0,
    leftoverDays.length === 0
      ? `every night: 0 expired holds left; ${samples.reduce((s, x) => s + x.released, 0)} released in all`
      : `expired holds left behind: ${leftoverDays.map((s) => `day ${s.day}: ${s.leftoverHolds}`).join(', ')}`,
    { maxLeftover: Math.max(0, ...samples.map((s) => s.leftoverHolds)) });
  const dirtyDays = samples.filter((s) => s.invariantViolations > 0);
  evidence.record('invariants clean at every simulated midnight', dirtyDays.length === 0,
    dirtyDays.length === 0 ? `${samples.length} checks of I1–I10, 0 violations` : `violations on ${dirtyDays.map((s) => `day ${s.day} (${s.invariantViolations})`).join(', ')}`);
  const futureAtEnd = samples.at(-1)?.futureSlots ?? futureAtStart;
  evidence.record('the live future schedule neither grows nor shrinks', futureAtEnd === futureAtStart,
    `future slots at the start ${futureAtStart}, at the end ${futureAtEnd}`, { futureAtStart, futureAtEnd });
  const latencyBound = Math.max(first.p50Ms * LATENCY_DRIFT_FACTOR_MAX, first.p50Ms + LATENCY_DRIFT_FLOOR_MS);
  evidence.record('latency of the last tenth within bounds of the first', last.p50Ms <= latencyBound,
    `median ${first.p50Ms} ms in the first tenth, ${last.p50Ms} ms in the last (bound ${Math.round(latencyBound * 100) / 100} ms); p95 ${first.p95Ms} → ${last.p95Ms} ms`,
    { firstP50Ms: first.p50Ms, lastP50Ms: last.p50Ms, firstP95Ms: first.p95Ms, lastP95Ms: last.p95Ms });
  const probesAfter = await probe(pool, 'end');
  const sameAnswers = probesAfter.length === probesBefore.length && probesAfter.every((a, i) => a === probesBefore[i]);
  evidence.record('the same probes give the same answers at the end as at the start', sameAnswers,
    sameAnswers ? `${probesBefore.length} probes, identical: ${probesBefore.join('; ')}` : `start: ${probesBefore.join('; ')} — end: ${probesAfter.join('; ')}`);

  return {
    checks: evidence.checks,
    numbers: { operations: done, simulatedDays: samples.length, firstP50Ms: first.p50Ms, lastP50Ms: last.p50Ms, leftoverHoldsMax: Math.max(0, ...samples.map((s) => s.leftoverHolds)) },
    series: {
      soak: {
        buckets,
        tableSizes: samples.map((s) => ({ opsDone: s.opsDone, rows: s.rows })),
        leftoverHolds: samples.map((s) => ({ opsDone: s.opsDone, holds: s.leftoverHolds })),
        days: samples,
      },
    },
  };
}
