// SC-1, the double-booking attack (scenarios/SC-1.json): one vendor, one free
// slot S of capacity 1, customers C1 and C2, intents A (C1) and B (C2). An
// intent is an idempotency key plus its customer: send_book and retry_book
// send the identical request, so a retry can only ever return the intent's
// first outcome. After every action the oracles read the slot and every
// booking of the vendor; after the chaos settles exactly STATE 1 (C1 won) or
// STATE 2 (C2 won) must hold.

import { claimSlot } from '../../engine/bookings.js';
import type { Pool } from '../../db/pool.js';
import { slotAndBookingChecks, type VendorTruth } from '../truth.js';
import type { HistoryEvent, IterationPlan, PlannedAction } from '../types.js';
import { insertCustomer, type Driver, type Finding, type Fixture, type TerminalVerdict } from './driver.js';
import { httpClaim, intentKey, requestChannel } from './channels.js';

const INTENTS = ['A', 'B'] as const;
type IntentName = (typeof INTENTS)[number];
const CUSTOMER_OF: Record<IntentName, string> = { A: 'C1', B: 'C2' };

interface DoubleBookingFixture extends Fixture {
  slotId: string;
  customers: Record<string, string>;
  keys: Record<IntentName, string>;
  /** The observer's memory (the checker's, so a restart of the clients does not erase it). */
  winner: string | null;
  seen: Set<string>;
  restarts: number;
}

const toOracle = (oracle: string): string => (oracle === 'capacity' ? 'cardinality' : oracle);

export const doubleBooking: Driver<DoubleBookingFixture> = {
  oracles: ['cardinality', 'slot-coherence', 'booking-coherence', 'idempotency', 'winner-never-flips', 'no-booking-without-intent', 'no-booking-disappears'],
  fixtureParameters: () => ({ vendors: 1, slots: 1, capacity: 1, customers: ['C1', 'C2'], intents: { A: 'C1', B: 'C2' } }),

  plan(random, parameters, iteration): IterationPlan {
    const actions: PlannedAction[] = [];
    for (let n = 0; n < parameters.actionsPerIteration; n++) {
      const kind = random.weighted(parameters.actionMix);
      if (kind === 'send_book' || kind === 'retry_book') {
        actions.push({ kind, args: { intent: random.pick(INTENTS), path: requestChannel(random, parameters) } });
      } else {
        actions.push({ kind, args: {} });
      }
    }
    const settle = INTENTS.map((intent): PlannedAction => ({ kind: 'retry_book', args: { intent, path: 'engine' } }));
    return { iteration, fixtures: parameters.fixtures, actions, settle };
  },

  async setup(db: Pool, plan, runId, http) {
    const vendor = await db.query(`INSERT INTO vendors (name, timezone) VALUES ($1, 'UTC') RETURNING id`, [`SimCity SC-1 ${runId} #${plan.iteration}`]);
    const vendorId = (vendor.rows[0] as { id: string }).id;
    const slot = await db.query(
      `WITH who AS (SELECT set_actor('simcity', 'setup', 'simcity', 'SC-1 fixture'))
       INSERT INTO slots (vendor_id, starts_at, ends_at, capacity) SELECT $1, date_trunc('hour', bookiji_now()) + interval '2 days', date_trunc('hour', bookiji_now()) + interval '2 days 1 hour', 1 FROM who RETURNING id`,
      [vendorId],
    );
    const slotId = (slot.rows[0] as { id: string }).id;
    const customers = { C1: await insertCustomer(db, 'C1', runId), C2: await insertCustomer(db, 'C2', runId) };
    const keys = { A: intentKey(http, `sc1-${runId}-${plan.iteration}-intent-A`), B: intentKey(http, `sc1-${runId}-${plan.iteration}-intent-B`) };
    return {
      vendorId,
      slotId,
      customers,
      keys,
      names: { V: vendorId, S: slotId, C1: customers.C1, C2: customers.C2, intent_A: keys.A, intent_B: keys.B },
      winner: null,
      seen: new Set<string>(),
      restarts: 0,
    };
  },

  async perform(action, fixture, session) {
    const intent = action.args.intent as IntentName;
    const customer = fixture.customers[CUSTOMER_OF[intent]]!;
    if (action.args.path === 'http') {
      // The API takes the partner's own key and namespaces it; strip the namespace we stored.
      const key = fixture.keys[intent].replace(/^partner:[^:]+:/, '');
      const result = await httpClaim(session, { slotId: fixture.slotId, customerId: customer, idempotencyKey: key });
      return { booking: result.booking.id, replayed: result.replayed, state: result.booking.state, path: 'http' };
    }
    const result = await claimSlot(
      session.pool,
      { slot: fixture.slotId, customer, idempotencyKey: fixture.keys[intent] },
      { kind: 'simcity', id: CUSTOMER_OF[intent], source: 'simcity', requestId: `${action.kind}:${intent}` },
    );
    return { booking: result.booking.id, replayed: result.replayed, state: result.booking.state, path: 'engine' };
  },

  observe(truth, fixture, events) {
    const findings: Finding[] = slotAndBookingChecks(truth).map((f) => ({ ...f, oracle: toOracle(f.oracle) }));
    const keyToIntent = new Map(INTENTS.map((intent) => [fixture.keys[intent], intent]));
    const active = truth.bookings.filter((b) => b.state === 'held' || b.state === 'confirmed');
    fixture.restarts = events.filter((e) => e.action === 'restart_simcity' && e.type === 'ok').length;

    if (active.filter((b) => b.slotId === fixture.slotId).length > 1) {
      findings.push({ oracle: 'cardinality', message: `DOUBLE-BOOKING: ${active.length} active bookings on S (capacity 1)`, evidence: active });
    }
    const byKey = new Map<string, number>();
    for (const booking of truth.bookings) {
      const intent = booking.idempotencyKey === null ? undefined : keyToIntent.get(booking.idempotencyKey);
      if (!intent) {
        findings.push({ oracle: 'no-booking-without-intent', message: `booking ${booking.id} appeared with key ${booking.idempotencyKey ?? 'none'}, which is no intent of this run`, evidence: booking });
        continue;
      }
      byKey.set(booking.idempotencyKey!, (byKey.get(booking.idempotencyKey!) ?? 0) + 1);
      if (booking.customerId !== fixture.customers[CUSTOMER_OF[intent]] || booking.slotId !== fixture.slotId) {
        findings.push({ oracle: 'booking-coherence', message: `booking ${booking.id} of intent ${intent} belongs to customer ${booking.customerId} on slot ${booking.slotId}, not ${CUSTOMER_OF[intent]} on S`, evidence: booking });
      }
    }
    for (const [key, count] of byKey) {
      if (count > 1) findings.push({ oracle: 'idempotency', message: `intent key ${key} has ${count} bookings (a retry created a second one)` });
    }
    const slot = truth.slots.find((s) => s.id === fixture.slotId);
    if (slot && slot.bookedCount > 0 && active.length === 0) findings.push({ oracle: 'slot-coherence', message: 'slot S is marked booked with no booking' });
    if (slot && slot.bookedCount === 0 && active.some((b) => b.state === 'confirmed')) findings.push({ oracle: 'slot-coherence', message: 'slot S is marked free with a confirmed booking' });

    // The winner never flips: the first active booking seen stays the one.
    for (const booking of active) {
      if (fixture.winner === null) fixture.winner = booking.id;
      else if (booking.id !== fixture.winner) {
        findings.push({ oracle: 'winner-never-flips', message: `winner flipped from ${fixture.winner} to ${booking.id}`, evidence: booking });
      }
    }
    // Acknowledged bookings are known to exist, even if no read saw them yet.
    for (const event of events) {
      if (event.type === 'ok' && typeof event.value?.booking === 'string') fixture.seen.add(event.value.booking);
    }
    for (const booking of active) fixture.seen.add(booking.id);
    const present = new Map(truth.bookings.map((b) => [b.id, b]));
    for (const id of fixture.seen) {
      const booking = present.get(id);
      const after = fixture.restarts > 0 ? ` (after ${fixture.restarts} restart(s))` : '';
      if (!booking) findings.push({ oracle: 'no-booking-disappears', message: `booking ${id} was seen or acknowledged and is gone${after}` });
      else if (booking.state !== 'confirmed' && booking.state !== 'held') {
        findings.push({ oracle: 'no-booking-disappears', message: `booking ${id} was the winner and is now ${booking.state}${after}`, evidence: booking });
      }
    }
    return findings;
  },

  terminal(truth: VendorTruth, fixture, events: HistoryEvent[]): TerminalVerdict {
    const findings = doubleBooking.observe(truth, fixture, events);
    const settled = new Map<string, HistoryEvent>();
    for (const event of events) if (event.process === 'settle' && event.type !== 'invoke') settled.set(String(event.args.intent), event);
    const unknown = INTENTS.filter((intent) => settled.get(intent)?.type !== 'ok' && settled.get(intent)?.type !== 'fail');
    if (unknown.length > 0) return { findings, undecided: `intent(s) ${unknown.join(', ')} have no definite outcome after ${events.length} events` };
    const active = truth.bookings.filter((b) => b.state === 'held' || b.state === 'confirmed');
    const slot = truth.slots.find((s) => s.id === fixture.slotId);
    if (active.length !== 1 || active[0]!.state !== 'confirmed' || slot?.bookedCount !== 1) {
      findings.push({ oracle: 'terminal-state', message: `neither STATE 1 nor STATE 2: ${active.length} active booking(s), slot booked_count ${slot?.bookedCount ?? 'missing'}`, evidence: active });
      return { findings };
    }
    const winner = active[0]!;
    const winnerIntent = INTENTS.find((intent) => fixture.keys[intent] === winner.idempotencyKey)!;
    const loserIntent = winnerIntent === 'A' ? 'B' : 'A';
    const winnerReply = settled.get(winnerIntent)!;
    const loserReply = settled.get(loserIntent)!;
    if (winnerReply.type !== 'ok' || winnerReply.value?.booking !== winner.id) {
      findings.push({ oracle: 'terminal-state', message: `the winner's retry did not return its booking ${winner.id}`, evidence: winnerReply });
    }
    if (loserReply.type !== 'fail' || loserReply.error !== 'BOOKING_CONFLICT') {
      findings.push({ oracle: 'terminal-state', message: `the loser ${CUSTOMER_OF[loserIntent]} was not rejected with BOOKING_CONFLICT`, evidence: loserReply });
    }
    return { findings, state: winnerIntent === 'A' ? 'STATE 1 (C1 won)' : 'STATE 2 (C2 won)' };
  },
};
