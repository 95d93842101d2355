// SC-1, the double-booking attack (scenarios/SC-1.json): one vendor, one free
// slot S of capacity 1, customers C1 and C2, intents A (C1) and B (C2). An
// intent is an idempotency key plus its customer: send_book and retry_book
// send the identical request, so a retry can only ever return the intent's
// first outcome. After every action the oracles read the slot and every
// booking of the vendor; after the chaos settles exactly STATE 1 (C1 won) or
// STATE 2 (C2 won) must hold.
//
// Every iteration opens with the same idempotency race, whatever the seed:
// intent O (C1, its own slot S0) is sent and retried with the same request
// and, at the same time, its key is sent with a different request (C2's).
// Whichever lands first owns the key: the same request must get its booking
// back, the other IDEMPOTENCY_MISMATCH, never a second booking or a conflict.

import { claimSlot } from '../../engine/bookings.js';
import type { Pool } from '../../db/pool.js';
import { slotAndBookingChecks, type VendorTruth } from '../truth.js';
import type { HistoryEvent, IterationPlan, PlannedAction } from '../types.js';
import { insertCustomer, type Driver, type Finding, type Fixture, type TerminalVerdict } from './driver.js';
import { httpClaim, intentKey, requestChannel } from './channels.js';

const INTENTS = ['A', 'B'] as const;
/** The opening's intent: its own slot S0, so the race over its key leaves S to A and B. */
const OPENING_INTENT = 'O';
type IntentName = (typeof INTENTS)[number] | typeof OPENING_INTENT;
const ALL_INTENTS: readonly IntentName[] = [...INTENTS, OPENING_INTENT];
const CUSTOMER_OF: Record<IntentName, string> = { A: 'C1', B: 'C2', O: 'C1' };
/** mismatch_book sends an intent's key with another customer: a different request. */
const MISMATCH_CUSTOMER = 'C2';
const CLAIM_KINDS = ['send_book', 'retry_book', 'mismatch_book'];

function requestCustomer(kind: string, intent: IntentName): string {
  return kind === 'mismatch_book' ? MISMATCH_CUSTOMER : CUSTOMER_OF[intent];
}

/** The opening, the same every iteration: one key, the same request twice and a different one, all in flight together. */
function openingActions(http: boolean): PlannedAction[] {
  return [
    { kind: 'send_book', args: { intent: OPENING_INTENT, path: 'engine' } },
    { kind: 'retry_book', args: { intent: OPENING_INTENT, path: http ? 'http' : 'engine' } },
    { kind: 'mismatch_book', args: { intent: OPENING_INTENT, path: 'engine' } },
  ];
}

interface DoubleBookingFixture extends Fixture {
  slotId: string;
  openingSlotId: string;
  customers: Record<string, string>;
  keys: Record<IntentName, string>;
  /** The observer's memory (the checker's, so a restart of the clients does not erase it). */
  winner: string | null;
  seen: Set<string>;
  restarts: number;
}

const toOracle = (oracle: string): string => (oracle === 'capacity' ? 'cardinality' : oracle);

/**
 * I6 from the replies: every accepted request of an intent got its key's
 * booking, and only the request that booking was made for was accepted; a
 * request for a key that holds a booking is never refused as a conflict.
 */
function idempotencyReplies(truth: VendorTruth, fixture: DoubleBookingFixture, events: HistoryEvent[]): Finding[] {
  const findings: Finding[] = [];
  const byKey = new Map(truth.bookings.map((b) => [b.idempotencyKey, b]));
  for (const event of events) {
    if (!CLAIM_KINDS.includes(event.action) || event.type === 'invoke') continue;
    const intent = event.args.intent as IntentName;
    const stored = byKey.get(fixture.keys[intent]);
    if (!stored) continue;
    const sameRequest = stored.customerId === fixture.customers[requestCustomer(event.action, intent)];
    if (event.type === 'ok' && event.value?.booking !== stored.id) {
      findings.push({
        oracle: 'idempotency',
        message: `${event.action}(${intent}) returned booking ${String(event.value?.booking)}, but key ${fixture.keys[intent]} holds ${stored.id}`,
        evidence: event,
      });
    } else if (event.type === 'ok' && !sameRequest) {
      findings.push({
        oracle: 'idempotency',
        message: `${event.action}(${intent}) sent key ${fixture.keys[intent]} with a different request and was accepted (booking ${stored.id})`,
        evidence: event,
      });
    } else if (event.type === 'fail' && event.error === 'BOOKING_CONFLICT') {
      findings.push({
        oracle: 'idempotency',
        message: `${event.action}(${intent}) was refused BOOKING_CONFLICT though its key holds booking ${stored.id}: a retry must return the first outcome`,
        evidence: event,
      });
    } else if (event.type === 'fail' && event.error === 'IDEMPOTENCY_MISMATCH' && sameRequest) {
      findings.push({
        oracle: 'idempotency',
        message: `${event.action}(${intent}) repeated the request booking ${stored.id} was made for and was refused IDEMPOTENCY_MISMATCH`,
        evidence: event,
      });
    }
  }
  return findings;
}

/** The opening's end: one confirmed booking on S0 under key O; the request it was made for gets it back, the other a mismatch. */
function openingTerminal(truth: VendorTruth, fixture: DoubleBookingFixture, settled: Map<string, HistoryEvent>): Finding[] {
  const own = truth.bookings.filter((b) => b.idempotencyKey === fixture.keys.O);
  const slot = truth.slots.find((s) => s.id === fixture.openingSlotId);
  if (own.length !== 1 || own[0]!.state !== 'confirmed' || own[0]!.slotId !== fixture.openingSlotId || slot?.bookedCount !== 1) {
    return [
      {
        oracle: 'terminal-state',
        message: `the opening's key O should hold one confirmed booking on S0: ${own.length} booking(s), S0 booked_count ${slot?.bookedCount ?? 'missing'}`,
        evidence: own,
      },
    ];
  }
  const findings: Finding[] = [];
  for (const kind of ['retry_book', 'mismatch_book']) {
    const reply = settled.get(`${kind}:O`);
    const owner = own[0]!.customerId === fixture.customers[requestCustomer(kind, 'O')];
    const expected = owner ? reply?.type === 'ok' && reply.value?.booking === own[0]!.id : reply?.type === 'fail' && reply.error === 'IDEMPOTENCY_MISMATCH';
    if (!expected)
      findings.push({
        oracle: 'terminal-state',
        message: `settle ${kind}(O) should ${owner ? `return booking ${own[0]!.id}` : 'be refused IDEMPOTENCY_MISMATCH'}`,
        evidence: reply,
      });
  }
  return findings;
}

/**
 * The iteration's vendor, then its slots S (in two days) and S0 (a day after
 * S, so a booking on each never overlaps: I2 would refuse it) in one INSERT.
 */
async function insertVendorWithSlots(db: Pool, name: string): Promise<{ vendorId: string; slotId: string; openingSlotId: string }> {
  const vendor = await db.query(`INSERT INTO vendors (name, timezone) VALUES ($1, 'UTC') RETURNING id`, [name]);
  const vendorId = (vendor.rows[0] as { id: string }).id;
  const slots = await db.query(
    `WITH who AS (SELECT set_actor('simcity', 'setup', 'simcity', 'SC-1 fixture')),
          at AS (SELECT date_trunc('hour', bookiji_now()) AS hour)
     INSERT INTO slots (vendor_id, starts_at, ends_at, capacity)
     SELECT $1, at.hour + offsets.starts, at.hour + offsets.starts + interval '1 hour', 1
       FROM who, at, (VALUES (1, interval '2 days'), (2, interval '3 days')) AS offsets (position, starts)
      ORDER BY offsets.position
     RETURNING id, starts_at`,
    [vendorId],
  );
  const [slot, opening] = (slots.rows as Array<{ id: string; starts_at: Date }>).sort((a, b) => a.starts_at.getTime() - b.starts_at.getTime());
  return { vendorId, slotId: slot!.id, openingSlotId: opening!.id };
}

export const doubleBooking: Driver<DoubleBookingFixture> = {
  // A claim is one statement, over HTTP too (the API runs no outbox for SimCity): answered is done.
  answersAreFinal: true,
  oracles: ['cardinality', 'slot-coherence', 'booking-coherence', 'idempotency', 'winner-never-flips', 'no-booking-without-intent', 'no-booking-disappears'],
  oracleInvariants: {
    cardinality: ['I1'],
    'slot-coherence': ['I3'],
    'booking-coherence': ['I3'],
    idempotency: ['I6'],
    'winner-never-flips': ['I1', 'I6'],
    'no-booking-without-intent': ['I6'],
    'no-booking-disappears': ['I1'],
    'terminal-state': ['I1', 'I6'],
  },
  exercised(event) {
    if (!CLAIM_KINDS.includes(event.action)) return [];
    // A claim refused on a full slot: without the lock it would have been a second booking, and the counter must not move.
    if (event.type === 'fail' && event.error === 'BOOKING_CONFLICT') return ['I1', 'I3'];
    if (event.type === 'fail' && event.error === 'IDEMPOTENCY_MISMATCH') return ['I6'];
    if (event.type === 'ok') return event.value?.replayed === true ? ['I6'] : ['I3'];
    return [];
  },
  fixtureParameters: () => ({
    vendors: 1,
    slots: ['S', 'S0'],
    capacity: 1,
    customers: ['C1', 'C2'],
    intents: { A: 'C1', B: 'C2', O: 'C1 (and C2 with the same key)' },
  }),

  plan(random, parameters, iteration): IterationPlan {
    const actions: PlannedAction[] = openingActions(Boolean(parameters.paths.http));
    for (let n = 0; n < parameters.actionsPerIteration; n++) {
      const kind = random.weighted(parameters.actionMix);
      if (kind === 'send_book' || kind === 'retry_book') {
        actions.push({ kind, args: { intent: random.pick(INTENTS), path: requestChannel(random, parameters) } });
      } else {
        actions.push({ kind, args: {} });
      }
    }
    const settle: PlannedAction[] = [
      ...ALL_INTENTS.map((intent): PlannedAction => ({ kind: 'retry_book', args: { intent, path: 'engine' } })),
      { kind: 'mismatch_book', args: { intent: OPENING_INTENT, path: 'engine' } },
    ];
    return { iteration, fixtures: parameters.fixtures, actions, settle };
  },

  async setup(db: Pool, plan, runId, http) {
    // Two round trips deep instead of five: the customers do not depend on
    // the vendor, and both slots go in one INSERT (S first, so the vendor's
    // audit chain records them in the same order as one INSERT each did).
    const [{ vendorId, slotId, openingSlotId }, customers] = await Promise.all([
      insertVendorWithSlots(db, `SimCity SC-1 ${runId} #${plan.iteration}`),
      Promise.all([insertCustomer(db, 'C1', runId), insertCustomer(db, 'C2', runId)]).then(([C1, C2]) => ({ C1, C2 })),
    ]);
    const keys = Object.fromEntries(ALL_INTENTS.map((intent) => [intent, intentKey(http, `sc1-${runId}-${plan.iteration}-intent-${intent}`)])) as Record<
      IntentName,
      string
    >;
    return {
      vendorId,
      slotId,
      openingSlotId,
      customers,
      keys,
      names: { V: vendorId, S: slotId, S0: openingSlotId, C1: customers.C1, C2: customers.C2, intent_A: keys.A, intent_B: keys.B, intent_O: keys.O },
      winner: null,
      seen: new Set<string>(),
      restarts: 0,
    };
  },

  async perform(action, fixture, session) {
    const intent = action.args.intent as IntentName;
    const customer = fixture.customers[requestCustomer(action.kind, intent)]!;
    const slot = intent === OPENING_INTENT ? fixture.openingSlotId : fixture.slotId;
    if (action.args.path === 'http') {
      // The API takes the partner's own key and namespaces it; strip the namespace we stored.
      const key = fixture.keys[intent].replace(/^partner:[^:]+:/, '');
      const result = await httpClaim(session, { slotId: slot, customerId: customer, idempotencyKey: key });
      return { booking: result.booking.id, replayed: result.replayed, state: result.booking.state, path: 'http' };
    }
    const result = await claimSlot(
      session.pool,
      { slot, customer, idempotencyKey: fixture.keys[intent] },
      { kind: 'simcity', id: CUSTOMER_OF[intent], source: 'simcity', requestId: `${action.kind}:${intent}` },
    );
    return { booking: result.booking.id, replayed: result.replayed, state: result.booking.state, path: 'engine' };
  },

  observe(truth, fixture, events) {
    const findings: Finding[] = slotAndBookingChecks(truth).map((f) => ({ ...f, oracle: toOracle(f.oracle) }));
    const keyToIntent = new Map(ALL_INTENTS.map((intent) => [fixture.keys[intent], intent]));
    const everywhere = truth.bookings.filter((b) => b.state === 'held' || b.state === 'confirmed');
    const active = everywhere.filter((b) => b.slotId === fixture.slotId);
    fixture.restarts = events.filter((e) => e.action === 'restart_simcity' && e.type === 'ok').length;

    if (active.length > 1) {
      findings.push({ oracle: 'cardinality', message: `DOUBLE-BOOKING: ${active.length} active bookings on S (capacity 1)`, evidence: active });
    }
    const byKey = new Map<string, number>();
    for (const booking of truth.bookings) {
      const intent = booking.idempotencyKey === null ? undefined : keyToIntent.get(booking.idempotencyKey);
      if (!intent) {
        findings.push({
          oracle: 'no-booking-without-intent',
          message: `booking ${booking.id} appeared with key ${booking.idempotencyKey ?? 'none'}, which is no intent of this run`,
          evidence: booking,
        });
        continue;
      }
      byKey.set(booking.idempotencyKey!, (byKey.get(booking.idempotencyKey!) ?? 0) + 1);
      // The opening's key goes to whichever of its two requests landed first.
      const customers = intent === OPENING_INTENT ? [fixture.customers.C1, fixture.customers.C2] : [fixture.customers[CUSTOMER_OF[intent]]];
      const slot = intent === OPENING_INTENT ? fixture.openingSlotId : fixture.slotId;
      if (!customers.includes(booking.customerId) || booking.slotId !== slot) {
        findings.push({
          oracle: 'booking-coherence',
          message: `booking ${booking.id} of intent ${intent} belongs to customer ${booking.customerId} on slot ${booking.slotId}, not ${CUSTOMER_OF[intent]} on ${intent === OPENING_INTENT ? 'S0' : 'S'}`,
          evidence: booking,
        });
      }
    }
    for (const [key, count] of byKey) {
      if (count > 1) findings.push({ oracle: 'idempotency', message: `intent key ${key} has ${count} bookings (a retry created a second one)` });
    }
    findings.push(...idempotencyReplies(truth, fixture, events));
    const slot = truth.slots.find((s) => s.id === fixture.slotId);
    if (slot && slot.bookedCount > 0 && active.length === 0) findings.push({ oracle: 'slot-coherence', message: 'slot S is marked booked with no booking' });
    if (slot && slot.bookedCount === 0 && active.some((b) => b.state === 'confirmed'))
      findings.push({ oracle: 'slot-coherence', message: 'slot S is marked free with a confirmed booking' });

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
    for (const booking of everywhere) fixture.seen.add(booking.id);
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
    for (const event of events) if (event.process === 'settle' && event.type !== 'invoke') settled.set(`${event.action}:${String(event.args.intent)}`, event);
    const required = [...ALL_INTENTS.map((intent) => `retry_book:${intent}`), `mismatch_book:${OPENING_INTENT}`];
    const unknown = required.filter((key) => settled.get(key)?.type !== 'ok' && settled.get(key)?.type !== 'fail');
    if (unknown.length > 0) return { findings, undecided: `settle request(s) ${unknown.join(', ')} have no definite outcome after ${events.length} events` };
    findings.push(...openingTerminal(truth, fixture, settled));
    const active = truth.bookings.filter((b) => b.slotId === fixture.slotId && (b.state === 'held' || b.state === 'confirmed'));
    const slot = truth.slots.find((s) => s.id === fixture.slotId);
    if (active.length !== 1 || active[0]!.state !== 'confirmed' || slot?.bookedCount !== 1) {
      findings.push({
        oracle: 'terminal-state',
        message: `neither STATE 1 nor STATE 2: ${active.length} active booking(s), slot booked_count ${slot?.bookedCount ?? 'missing'}`,
        evidence: active,
      });
      return { findings };
    }
    const winner = active[0]!;
    const winnerIntent = INTENTS.find((intent) => fixture.keys[intent] === winner.idempotencyKey)!;
    const loserIntent = winnerIntent === 'A' ? 'B' : 'A';
    const winnerReply = settled.get(`retry_book:${winnerIntent}`)!;
    const loserReply = settled.get(`retry_book:${loserIntent}`)!;
    if (winnerReply.type !== 'ok' || winnerReply.value?.booking !== winner.id) {
      findings.push({ oracle: 'terminal-state', message: `the winner's retry did not return its booking ${winner.id}`, evidence: winnerReply });
    }
    if (loserReply.type !== 'fail' || loserReply.error !== 'BOOKING_CONFLICT') {
      findings.push({
        oracle: 'terminal-state',
        message: `the loser ${CUSTOMER_OF[loserIntent]} was not rejected with BOOKING_CONFLICT`,
        evidence: loserReply,
      });
    }
    return { findings, state: winnerIntent === 'A' ? 'STATE 1 (C1 won)' : 'STATE 2 (C2 won)' };
  },
};
