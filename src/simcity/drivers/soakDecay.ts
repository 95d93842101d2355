// SC-8, soak and time decay (scenarios/SC-8.json): one iteration is one
// simulated day on the simulation database, and the days share one vendor
// whose schedule rolls forward a day each night. Each day opens with the
// same probes, whatever the seed (a past slot, a taken slot, confirming a
// hold, confirming an unpaid card hold, an unknown booking, holds up to the
// limit and one more), then runs a seeded mix of holds, bookings,
// confirmations, cancellations, reschedules and reads on parallel
// connections, and ends at midnight: the clock moves 24 h, reconcile runs,
// tomorrow's slots are added.
//
// Oracles: every slot coherent and nothing entering a started slot (I3,
// I5); holds released only after their TTL, once, and none left after the
// nightly reconcile (I9, no build-up); no partner webhook left pending;
// verify_invariants() clean every night; the live future schedule the same
// size every night; the probes giving the documented answers every day, the
// last as the first; the day's median latency within a generous bound of
// the first day's.

import type { Pool } from '../../db/pool.js';
import { cancelBooking, claimSlot, confirmBooking, getBooking, rescheduleBooking } from '../../engine/bookings.js';
import { advanceClock } from '../../engine/clock.js';
import { expireHolds } from '../../engine/holds.js';
import { addSlot, listSlots } from '../../engine/slots.js';
import type { Actor } from '../../engine/types.js';
import { verifyInvariants } from '../../engine/verify.js';
import { BookijiError } from '../../errors.js';
import { readVendorTruth, slotAndBookingChecks } from '../truth.js';
import type { IterationPlan, PlannedAction } from '../types.js';
import { insertCustomer, type Driver, type Finding, type Fixture } from './driver.js';
import { holdExpiryChecks, inSnapshot, nothingIntoThePast, readTimeTruth, type TimeTruth } from './timeTruth.js';

const DAY_MS = 24 * 3_600_000;
const HOUR_MS = 3_600_000;
const SLOTS_PER_DAY = 6;
const DAYS_AHEAD = 3;
const CUSTOMERS = ['C1', 'C2', 'C3', 'C4', 'C5', 'C6'];
const PROBE_ANSWERS = [
  'past slot: PAST_SLOT',
  'taken slot: BOOKING_CONFLICT',
  'confirm hold: OK',
  'confirm unpaid card: PAYMENT_REQUIRED',
  'unknown booking: BOOKING_NOT_FOUND',
];
/** The day's median may be this many times the first day's, plus a floor for noise on shared machines. */
const LATENCY_FACTOR_MAX = 5;
const LATENCY_FLOOR_MS = 100;
const OPERATOR: Actor = { kind: 'operator', id: 'simcity-soak', source: 'simcity' };
const RECONCILE_ACTOR: Actor = { kind: 'system', id: 'simcity-reconcile', source: 'reconcile' };

/** What outlives one iteration: the run's vendor, its customers and the first day's figures. */
interface SoakRun {
  vendorId: string;
  customerIds: Record<string, string>;
  origin: Date;
  daysAdded: number;
  firstMedianMs: number | null;
}
const runs = new Map<string, SoakRun>();

interface SoakFixture extends Fixture {
  run: SoakRun;
  day: number;
  latenciesMs: number[];
  time: TimeTruth;
  reconciledAt: string | null;
  /** Read after the nightly work: the run's whole-database figures. */
  night: { leftoverHolds: number; pendingWebhooks: number; invariantViolations: number; futureSlots: number } | null;
}

const actorFor = (name: string): Actor => ({ kind: 'customer', id: name, source: 'simcity', requestId: `soak:${name}` });

async function addDay(pool: Pool, run: SoakRun): Promise<void> {
  const day = run.daysAdded;
  for (let h = 0; h < SLOTS_PER_DAY; h++) {
    const start = new Date(run.origin.getTime() + day * DAY_MS + (2 + 2 * h) * HOUR_MS);
    await addSlot(pool, { vendor: run.vendorId, start: start.toISOString(), end: new Date(start.getTime() + HOUR_MS).toISOString(), capacity: 2 }, OPERATOR);
  }
  run.daysAdded += 1;
}

async function openRun(db: Pool, runId: string): Promise<SoakRun> {
  const found = runs.get(runId);
  if (found) return found;
  const vendorId = (await db.query(`INSERT INTO vendors (name, timezone) VALUES ($1, 'Europe/Paris') RETURNING id`, [`SimCity SC-8 ${runId}`])).rows[0]
    .id as string;
  const customerIds: Record<string, string> = {};
  for (const name of CUSTOMERS) customerIds[name] = await insertCustomer(db, name, runId);
  const origin = (await db.query('SELECT bookiji_now() AS now')).rows[0].now as Date;
  const run: SoakRun = { vendorId, customerIds, origin, daysAdded: 0, firstMedianMs: null };
  for (let d = 0; d < DAYS_AHEAD; d++) await addDay(db, run);
  runs.set(runId, run);
  return run;
}

const codeOf = (attempt: () => Promise<unknown>): Promise<string> =>
  attempt().then(
    () => 'OK',
    (error: unknown) => (error instanceof BookijiError ? error.code : 'UNEXPECTED'),
  );

/** The day's probes, on a vendor of their own: the answers must be the documented ones, every day. */
async function probe(pool: Pool, day: number): Promise<Record<string, string>> {
  const vendor = (
    await pool.query(`INSERT INTO vendors (name, timezone) VALUES ($1, 'UTC') RETURNING id`, [
      `SimCity SC-8 probe day ${day} ${Math.random().toString(36).slice(2)}`,
    ])
  ).rows[0].id as string;
  const [a, b, flooder] = [await insertCustomer(pool, 'PA', vendor), await insertCustomer(pool, 'PB', vendor), await insertCustomer(pool, 'PF', vendor)];
  const slot = async (offsetMinutes: number, priceCents = 0): Promise<string> => {
    const now = (await pool.query('SELECT bookiji_now() AS now')).rows[0].now as Date;
    const start = new Date(now.getTime() + offsetMinutes * 60_000);
    return (await addSlot(pool, { vendor, start: start.toISOString(), end: new Date(start.getTime() + 30 * 60_000).toISOString(), priceCents }, OPERATOR)).id;
  };
  const answers: string[] = [];
  answers.push(`past slot: ${await codeOf(async () => claimSlot(pool, { slot: await slot(-60), customer: a }, actorFor('PA')))}`);
  const single = await slot(6 * 60);
  const hold = await claimSlot(pool, { slot: single, customer: a, hold: true }, actorFor('PA'));
  answers.push(`taken slot: ${await codeOf(() => claimSlot(pool, { slot: single, customer: b }, actorFor('PB')))}`);
  answers.push(`confirm hold: ${await codeOf(() => confirmBooking(pool, { booking: hold.booking.id }, actorFor('PA')))}`);
  const card = await claimSlot(pool, { slot: await slot(8 * 60, 2_000), customer: b, hold: true, paymentMethod: 'card' }, actorFor('PB'));
  answers.push(`confirm unpaid card: ${await codeOf(() => confirmBooking(pool, { booking: card.booking.id }, actorFor('PB')))}`);
  answers.push(`unknown booking: ${await codeOf(() => getBooking(pool, '00000000-0000-4000-8000-000000000000'))}`);
  const limit = Number((await pool.query(`SELECT value FROM engine_limits WHERE name = 'holds_per_customer_max'`)).rows[0].value);
  const flood: string[] = [];
  for (let i = 0; i <= limit; i++)
    flood.push(await codeOf(async () => claimSlot(pool, { slot: await slot(10 * 60 + i * 60), customer: flooder, hold: true }, actorFor('PF'))));
  return { answers: answers.join('; '), flood: flood.join(','), limit: String(limit) };
}

async function nightly(pool: Pool, fixture: SoakFixture): Promise<Record<string, unknown>> {
  const run = fixture.run;
  fixture.reconciledAt = ((await pool.query('SELECT bookiji_now() AS now')).rows[0].now as Date).toISOString();
  const released = (await expireHolds(pool, { dryRun: false, actor: RECONCILE_ACTOR })).length;
  await addDay(pool, run);
  const sorted = [...fixture.latenciesMs].sort((x, y) => x - y);
  const medianMs = sorted.length ? sorted[Math.floor(sorted.length / 2)]! : 0;
  if (run.firstMedianMs === null) run.firstMedianMs = medianMs;
  const violations = (await verifyInvariants(pool)).reduce((sum, check) => sum + check.violations, 0);
  return { released, medianMs, firstMedianMs: run.firstMedianMs, invariantViolations: violations };
}

/** Resolves a planned "k-th live slot" to an id at the moment it runs: the schedule rolls, the plan stays symbolic. */
async function liveSlot(pool: Pool, fixture: SoakFixture, index: number): Promise<string | null> {
  const now = (await pool.query('SELECT bookiji_now() AS now')).rows[0].now as Date;
  const live = await listSlots(pool, { vendor: fixture.run.vendorId, from: new Date(now.getTime() + HOUR_MS).toISOString(), limit: 1000 });
  return live.length ? live[index % live.length]!.id : null;
}

async function ownBooking(pool: Pool, fixture: SoakFixture, customer: string, index: number, state: string): Promise<string | null> {
  const rows = (
    await pool.query(`SELECT id FROM bookings WHERE vendor_id = $1 AND customer_id = $2 AND state = $3 ORDER BY created_at, id`, [
      fixture.run.vendorId,
      fixture.run.customerIds[customer],
      state,
    ])
  ).rows as Array<{ id: string }>;
  return rows.length ? rows[index % rows.length]!.id : null;
}

async function operation(pool: Pool, fixture: SoakFixture, kind: string, customer: string, index: number, ttl: number): Promise<Record<string, unknown>> {
  const actor = actorFor(customer);
  const customerId = fixture.run.customerIds[customer]!;
  if (kind === 'hold' || kind === 'book') {
    const slot = await liveSlot(pool, fixture, index);
    if (!slot) return { skipped: 'no live slot' };
    const result = await claimSlot(pool, { slot, customer: customerId, ...(kind === 'hold' ? { hold: true, holdTtlSeconds: ttl } : {}) }, actor);
    return { booking: result.booking.id, state: result.booking.state };
  }
  if (kind === 'read') return { slots: await liveSlotCount(pool, fixture) };
  const state = kind === 'confirm' ? 'held' : 'confirmed';
  const booking = await ownBooking(pool, fixture, customer, index, kind === 'cancel' ? (index % 2 ? 'held' : 'confirmed') : state);
  if (!booking) return { skipped: `no ${state} booking` };
  if (kind === 'confirm') return { booking: (await confirmBooking(pool, { booking }, actor)).id };
  if (kind === 'cancel') return { booking: (await cancelBooking(pool, { booking, reason: 'soak: plans changed' }, actor)).id };
  const slot = await liveSlot(pool, fixture, index + 1);
  if (!slot) return { skipped: 'no live slot' };
  return { booking: (await rescheduleBooking(pool, { booking, slot }, actor)).id };
}

async function liveSlotCount(pool: Pool, fixture: SoakFixture): Promise<number> {
  const now = (await pool.query('SELECT bookiji_now() AS now')).rows[0].now as Date;
  return (await listSlots(pool, { vendor: fixture.run.vendorId, from: now.toISOString(), limit: 1000 })).length;
}

function soakChecks(truth: Parameters<typeof slotAndBookingChecks>[0], fixture: SoakFixture, events: Parameters<Driver['observe']>[2]): Finding[] {
  const findings: Finding[] = [
    ...slotAndBookingChecks(truth),
    ...nothingIntoThePast(truth, fixture.time),
    ...holdExpiryChecks(fixture.time, fixture.reconciledAt),
  ];
  for (const event of events) {
    if (event.type === 'unknown' || event.error === 'UNEXPECTED')
      findings.push({
        oracle: 'no-unexplained-failure',
        message: `${event.action} failed without a clear code: ${event.error}: ${event.message ?? ''}`,
        evidence: event,
      });
    if ((event.action === 'probe' || event.action === 'nightly' || event.action === 'advance_day') && event.type === 'fail')
      findings.push({ oracle: 'no-unexplained-failure', message: `${event.action} could not run: ${event.error}: ${event.message ?? ''}`, evidence: event });
    if (event.action === 'probe' && event.type === 'ok') {
      const limit = Number(event.value?.limit);
      const flood = [...Array.from({ length: limit }, () => 'OK'), 'HOLD_LIMIT_REACHED'].join(',');
      if (event.value?.answers !== PROBE_ANSWERS.join('; ') || event.value?.flood !== flood)
        findings.push({
          oracle: 'same-answers',
          message: `day ${fixture.day + 1}'s probes answered ${String(event.value?.answers)}; holds up to the limit and one more: ${String(event.value?.flood)} (day 1 and every day must answer ${PROBE_ANSWERS.join('; ')}; ${flood})`,
          evidence: event.value,
        });
    }
    if (event.action === 'nightly' && event.type === 'ok') {
      const median = Number(event.value?.medianMs);
      const first = Number(event.value?.firstMedianMs);
      if (median > Math.max(first * LATENCY_FACTOR_MAX, first + LATENCY_FLOOR_MS))
        findings.push({
          oracle: 'no-slowdown',
          message: `day ${fixture.day + 1}'s median operation took ${median} ms, day 1's ${first} ms`,
          evidence: event.value,
        });
      if (Number(event.value?.invariantViolations) > 0)
        findings.push({
          oracle: 'invariants-clean',
          message: `verify_invariants() reports ${String(event.value?.invariantViolations)} violation(s) at midnight of day ${fixture.day + 1}`,
        });
    }
  }
  const night = fixture.night;
  if (night) {
    if (night.leftoverHolds > 0)
      findings.push({
        oracle: 'no-build-up',
        message: `${night.leftoverHolds} expired hold(s) still held after the nightly reconcile of day ${fixture.day + 1}`,
      });
    if (night.pendingWebhooks > 0)
      findings.push({ oracle: 'no-build-up', message: `${night.pendingWebhooks} partner webhook(s) due and undelivered at midnight` });
    if (night.futureSlots !== DAYS_AHEAD * SLOTS_PER_DAY)
      findings.push({
        oracle: 'schedule-steady',
        message: `the live future schedule has ${night.futureSlots} slots at midnight of day ${fixture.day + 1}; it started with ${DAYS_AHEAD * SLOTS_PER_DAY}`,
      });
  }
  return findings;
}

export const soakDecay: Driver<SoakFixture> = {
  oracles: [
    'capacity',
    'slot-coherence',
    'booking-coherence',
    'nothing-into-the-past',
    'expired-only-after-ttl',
    'released-exactly-once',
    'reconcile-releases-expired',
    'no-build-up',
    'invariants-clean',
    'schedule-steady',
    'same-answers',
    'no-slowdown',
    'no-unexplained-failure',
  ],
  oracleInvariants: {
    capacity: ['I1'],
    'slot-coherence': ['I3'],
    'booking-coherence': ['I3', 'I10'],
    'nothing-into-the-past': ['I5'],
    'expired-only-after-ttl': ['I9'],
    'released-exactly-once': ['I9'],
    'reconcile-releases-expired': ['I9'],
    'no-build-up': ['I9'],
    'invariants-clean': ['I1', 'I2', 'I3', 'I4', 'I5', 'I6', 'I7', 'I8', 'I9', 'I10'],
    'schedule-steady': ['I3', 'I7'],
    'same-answers': ['I1', 'I4', 'I5', 'I9'],
    'no-slowdown': ['I3'],
    'no-unexplained-failure': ['I3'],
  },
  faultKinds: ['probe', 'advance_day', 'nightly'],

  fixtureParameters: () => ({ customers: CUSTOMERS, slotsPerDay: SLOTS_PER_DAY, daysAhead: DAYS_AHEAD, probes: PROBE_ANSWERS }),

  plan(random, parameters, iteration): IterationPlan {
    const actions: PlannedAction[] = [{ kind: 'probe', args: {} }];
    for (let n = 0; n < parameters.actionsPerIteration; n++) {
      const kind = random.weighted(parameters.actionMix);
      actions.push(
        kind === 'no_op' ? { kind, args: {} } : { kind, args: { customer: random.pick(CUSTOMERS), index: random.int(0, 999), ttl: random.int(300, 3_300) } },
      );
    }
    actions.push({ kind: 'advance_day', args: {} }, { kind: 'nightly', args: {} });
    return { iteration, fixtures: parameters.fixtures, actions, settle: [] };
  },

  async setup(db, plan, runId) {
    const run = await openRun(db, runId);
    return {
      vendorId: run.vendorId,
      run,
      day: plan.iteration,
      latenciesMs: [],
      time: { now: new Date(0).toISOString(), transitions: [], holds: [] },
      reconciledAt: null,
      night: null,
      names: { V: run.vendorId, ...run.customerIds },
    };
  },

  async perform(action, fixture, session) {
    const pool = session.pool;
    if (action.kind === 'probe') return probe(pool, fixture.day);
    if (action.kind === 'advance_day') return { now: (await advanceClock(pool, DAY_MS)).toISOString() };
    if (action.kind === 'nightly') {
      const value = await nightly(pool, fixture);
      fixture.night = { leftoverHolds: 0, pendingWebhooks: 0, invariantViolations: 0, futureSlots: 0 };
      return value;
    }
    const started = performance.now();
    try {
      return await operation(pool, fixture, action.kind, String(action.args.customer), Number(action.args.index), Number(action.args.ttl));
    } finally {
      fixture.latenciesMs.push(performance.now() - started);
    }
  },

  async readTruth(db, fixture) {
    return inSnapshot(db, async (client) => {
      const truth = await readVendorTruth(client, fixture.vendorId);
      fixture.time = await readTimeTruth(client, fixture.vendorId);
      if (fixture.night) {
        // Whole-database figures: a build-up anywhere is a build-up.
        const row = (
          await client.query(
            `SELECT (SELECT count(*)::int FROM bookings WHERE state = 'held' AND hold_expires_at <= $1) AS "leftoverHolds",
                  (SELECT count(*)::int FROM webhook_outbox WHERE delivered_at IS NULL AND next_attempt_at <= bookiji_now() - interval '1 hour') AS "pendingWebhooks",
                  (SELECT count(*)::int FROM slots WHERE vendor_id = $2 AND starts_at > bookiji_now() AND NOT legacy) AS "futureSlots"`,
            [fixture.reconciledAt, fixture.vendorId],
          )
        ).rows[0] as { leftoverHolds: number; pendingWebhooks: number; futureSlots: number };
        fixture.night = { ...row, invariantViolations: 0 };
      }
      return truth;
    });
  },

  observe(truth, fixture, events) {
    return soakChecks(truth, fixture, events);
  },

  terminal(truth, fixture, events) {
    return { findings: soakChecks(truth, fixture, events) };
  },

  exercised(event) {
    if (event.type !== 'ok') return [];
    if (event.action === 'nightly' && Number(event.value?.released) > 0) return ['I9'];
    if (event.action === 'probe') return ['I1', 'I4', 'I5', 'I9'];
    if (['cancel', 'reschedule'].includes(event.action) && typeof event.value?.booking === 'string') return ['I3'];
    return [];
  },
};
