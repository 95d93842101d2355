// SC-4, reschedule atomicity (scenarios/SC-4.json): one vendor, a few
// non-overlapping slots of capacity 1–2, four customers, and a schedule of
// concurrent claims, reschedules and cancels. Claims are intents K1, K2, …
// (idempotency keys); a reschedule or cancel names the intent whose booking
// it moves, and finds that booking by its key in the database at the time it
// runs, so it works whatever the claim's reply was (even unknown).
//
// Oracles: every slot within capacity and coherent (booked_count = active
// bookings); no booking lost (a booking once seen still exists, and leaves
// the active states only through a cancel somebody asked for); none
// duplicated (one booking per intent, none without an intent); a booking
// changes slot only through a reschedule asked for it.

import { cancelBooking, claimSlot, rescheduleBooking } from '../../engine/bookings.js';
import { BookijiError } from '../../errors.js';
import type { Pool } from '../../db/pool.js';
import { slotAndBookingChecks } from '../truth.js';
import type { HistoryEvent, IterationPlan, PlannedAction } from '../types.js';
import { insertCustomer, type Driver, type Finding, type Fixture } from './driver.js';

const CUSTOMERS = ['C1', 'C2', 'C3', 'C4'];

interface RescheduleFixture extends Fixture {
  slotIds: Record<string, string>;
  customerIds: Record<string, string>;
  keyPrefix: string;
  seen: Set<string>;
}

function invoked(events: HistoryEvent[], kind: string, intent: string): number {
  return events.filter((e) => e.type === 'invoke' && e.action === kind && e.args.intent === intent).length;
}

export const rescheduleAtomicity: Driver<RescheduleFixture> = {
  oracles: ['capacity', 'slot-coherence', 'booking-coherence', 'no-booking-lost', 'no-booking-duplicated', 'moves-only-by-reschedule'],
  oracleInvariants: {
    capacity: ['I1'],
    'slot-coherence': ['I3'],
    'booking-coherence': ['I3', 'I10'],
    'no-booking-lost': ['I1', 'I10'],
    'no-booking-duplicated': ['I1'],
    'moves-only-by-reschedule': ['I10'],
  },
  exercised(event) {
    // A claim or move into a full slot, refused: without the lock it would have over-booked it.
    if (event.type === 'fail' && event.error === 'BOOKING_CONFLICT') return ['I1', 'I3'];
    // A move releases one counter and takes another; a broken engine drifts one of them or loses the transition.
    if (event.type === 'ok' && event.action === 'reschedule') return ['I3', 'I10'];
    if (event.type === 'ok' && event.action === 'cancel') return ['I3', 'I10'];
    // A cancel or move of a booking already cancelled: the state machine must refuse to move it again.
    if (event.type === 'fail' && event.error === 'INVALID_TRANSITION') return ['I10'];
    return [];
  },
  fixtureParameters(definition, random) {
    const slots = definition.fixtures.slots as { min: number; max: number };
    const capacity = definition.fixtures.capacity as { min: number; max: number };
    const count = random.int(slots.min, slots.max);
    return { slots: Array.from({ length: count }, (_, i) => ({ name: `S${i + 1}`, capacity: random.int(capacity.min, capacity.max) })), customers: CUSTOMERS };
  },

  plan(random, parameters, iteration): IterationPlan {
    const slots = (parameters.fixtures.slots as Array<{ name: string }>).map((s) => s.name);
    const actions: PlannedAction[] = [];
    const intents: string[] = [];
    for (let n = 0; n < parameters.actionsPerIteration; n++) {
      let kind = random.weighted(parameters.actionMix);
      if ((kind === 'reschedule' || kind === 'cancel') && intents.length === 0) kind = 'claim';
      if (kind === 'claim') {
        const intent = `K${intents.length + 1}`;
        intents.push(intent);
        actions.push({ kind, args: { intent, customer: random.pick(CUSTOMERS), slot: random.pick(slots), path: 'engine' } });
      } else if (kind === 'reschedule') {
        actions.push({ kind, args: { intent: random.pick(intents), slot: random.pick(slots), path: 'engine' } });
      } else if (kind === 'cancel') {
        actions.push({ kind, args: { intent: random.pick(intents), path: 'engine' } });
      } else {
        actions.push({ kind, args: {} });
      }
    }
    return { iteration, fixtures: parameters.fixtures, actions, settle: [] };
  },

  async setup(db: Pool, plan, runId) {
    const vendor = await db.query(`INSERT INTO vendors (name, timezone) VALUES ($1, 'UTC') RETURNING id`, [`SimCity SC-4 ${runId} #${plan.iteration}`]);
    const vendorId = (vendor.rows[0] as { id: string }).id;
    const slotIds: Record<string, string> = {};
    const slots = plan.fixtures.slots as Array<{ name: string; capacity: number }>;
    for (const [index, slot] of slots.entries()) {
      // Two hours apart: the slots never overlap, so only capacity and coherence are at stake.
      const result = await db.query(
        `WITH who AS (SELECT set_actor('simcity', 'setup', 'simcity', 'SC-4 fixture'))
         INSERT INTO slots (vendor_id, starts_at, ends_at, capacity)
         SELECT $1, date_trunc('hour', bookiji_now()) + interval '2 days' + make_interval(hours => $2 * 2),
                date_trunc('hour', bookiji_now()) + interval '2 days 1 hour' + make_interval(hours => $2 * 2), $3 FROM who RETURNING id`,
        [vendorId, index, slot.capacity],
      );
      slotIds[slot.name] = (result.rows[0] as { id: string }).id;
    }
    const customerIds: Record<string, string> = {};
    for (const name of CUSTOMERS) customerIds[name] = await insertCustomer(db, name, runId);
    return {
      vendorId,
      slotIds,
      customerIds,
      keyPrefix: `sc4-${runId}-${plan.iteration}-`,
      seen: new Set<string>(),
      names: { V: vendorId, ...slotIds, ...customerIds },
    };
  },

  async perform(action, fixture, session) {
    const client = session.pool;
    const actor = { kind: 'simcity' as const, id: String(action.args.intent), source: 'simcity' as const, requestId: `${action.kind}:${action.args.intent}` };
    const key = `${fixture.keyPrefix}${action.args.intent}`;
    if (action.kind === 'claim') {
      const result = await claimSlot(
        client,
        { slot: fixture.slotIds[action.args.slot!], customer: fixture.customerIds[action.args.customer!], idempotencyKey: key },
        actor,
      );
      return { booking: result.booking.id, replayed: result.replayed };
    }
    const found = await client.query('SELECT id FROM bookings WHERE vendor_id = $1 AND idempotency_key = $2', [fixture.vendorId, key]);
    const bookingId = (found.rows[0] as { id: string } | undefined)?.id;
    if (!bookingId) throw new BookijiError('BOOKING_NOT_FOUND', `intent ${action.args.intent} has no booking (its claim failed or has not landed)`);
    if (action.kind === 'reschedule') {
      const booking = await rescheduleBooking(client, { booking: bookingId, slot: fixture.slotIds[action.args.slot!] }, actor);
      return { booking: booking.id, slot: String(action.args.slot) };
    }
    const booking = await cancelBooking(client, { booking: bookingId, reason: 'SimCity SC-4 cancel' }, actor);
    return { booking: booking.id, state: booking.state };
  },

  observe(truth, fixture, events) {
    const findings: Finding[] = slotAndBookingChecks(truth);
    const byKey = new Map<string, string[]>();
    for (const booking of truth.bookings) {
      const intent = booking.idempotencyKey?.startsWith(fixture.keyPrefix) ? booking.idempotencyKey.slice(fixture.keyPrefix.length) : undefined;
      if (!intent || invoked(events, 'claim', intent) === 0) {
        findings.push({
          oracle: 'no-booking-duplicated',
          message: `booking ${booking.id} has no intent of this run (key ${booking.idempotencyKey ?? 'none'})`,
          evidence: booking,
        });
        continue;
      }
      byKey.set(intent, [...(byKey.get(intent) ?? []), booking.id]);
      if (booking.slotMoves > invoked(events, 'reschedule', intent)) {
        findings.push({
          oracle: 'moves-only-by-reschedule',
          message: `booking ${booking.id} (${intent}) changed slot ${booking.slotMoves} time(s) with ${invoked(events, 'reschedule', intent)} reschedule(s) asked`,
          evidence: booking,
        });
      }
      if ((booking.state === 'cancelled' || booking.state === 'expired') && invoked(events, 'cancel', intent) === 0) {
        findings.push({
          oracle: 'no-booking-lost',
          message: `booking ${booking.id} (${intent}) is ${booking.state} though nobody cancelled it`,
          evidence: booking,
        });
      }
    }
    for (const [intent, ids] of byKey) {
      if (ids.length > 1) findings.push({ oracle: 'no-booking-duplicated', message: `intent ${intent} has ${ids.length} bookings`, evidence: ids });
    }
    for (const event of events)
      if (event.type === 'ok' && event.action === 'claim' && typeof event.value?.booking === 'string') fixture.seen.add(event.value.booking);
    for (const booking of truth.bookings) fixture.seen.add(booking.id);
    const present = new Set(truth.bookings.map((b) => b.id));
    for (const id of fixture.seen) {
      if (!present.has(id)) findings.push({ oracle: 'no-booking-lost', message: `booking ${id} was seen or acknowledged and is gone` });
    }
    return findings;
  },

  terminal(truth, fixture, events) {
    return { findings: rescheduleAtomicity.observe(truth, fixture, events) };
  },
};
