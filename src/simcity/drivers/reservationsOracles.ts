// SC-9's truth and oracles (scenarios/SC-9.json): the vendor's reservations,
// their payments and transitions, the time facts of every commit, read in the
// same snapshot as the slots and bookings; the provider's own record of every
// intent for the checks that need it. Each oracle names the invariants it
// checks (RESERVATION_ORACLE_INVARIANTS), so the runtime counts checks per
// invariant.

import type Stripe from 'stripe';
import type { Queryable } from '../../db/pool.js';
import type { StripeSandbox } from '../../stripeSandbox/index.js';
import { slotAndBookingChecks, type VendorTruth } from '../truth.js';
import type { HistoryEvent } from '../types.js';
import type { Finding } from './driver.js';

export const RESERVATION_ORACLE_INVARIANTS = {
  capacity: ['I1'],
  'slot-coherence': ['I3'],
  'booking-coherence': ['I10'],
  'reservation-booking-agree': ['R1'],
  'committed-has-both-captures': ['R2'],
  'failed-owes-money-back': ['R3'],
  'reservation-transitions-logged': ['R4'],
  'confirmed-needs-verified-payment': ['I4'],
  'no-money-without-committed-booking': ['I4', 'R3'],
  'no-money-owed-back-left-unowed': ['R3', 'I4'],
  'no-commit-past-deadline': ['I5', 'R1'],
  'expired-hold-never-blocks': ['I9'],
  'released-exactly-once': ['I9'],
  'replay-matches-request': ['I6'],
  'off-session-authorization-decided': ['R3'],
  'each-commit-resumed-on-its-own': ['R2'],
  'forbidden-moves-refused': ['R4'],
} as const satisfies Record<string, readonly string[]>;

export const RESERVATION_ORACLES = Object.keys(RESERVATION_ORACLE_INVARIANTS) as ReadonlyArray<keyof typeof RESERVATION_ORACLE_INVARIANTS>;

export interface ReservationRow {
  id: string;
  state: string;
  bookingId: string;
  slotId: string;
  startsAt: string;
  expiresAt: string | null;
  terminal: boolean;
}

export interface ReservationPaymentRow {
  id: string;
  reservationId: string | null;
  bookingId: string;
  purpose: string;
  intentId: string | null;
  status: string;
  pendingAction: string;
  capturedCents: number;
  refundedCents: number;
}

export interface ReservationTruth {
  reservations: ReservationRow[];
  payments: ReservationPaymentRow[];
  /** Logged moves that do not follow the previous one, are not allowed, or end elsewhere than the reservation's state. */
  badTransitions: Array<{ reservationId: string; fromState: string | null; toState: string; problem: string }>;
  /** Commits at or after the slot's start or the hold's deadline; live stages whose deadline is past the slot's start; bookings confirmed at or after their start. */
  lateCommits: Array<{ id: string; problem: string; at: string | null }>;
  releases: Array<{ bookingId: string; releases: number }>;
}

const TRUTH_SQL = `
SELECT
  (SELECT coalesce(jsonb_agg(jsonb_build_object('id', r.id, 'state', r.state, 'bookingId', r.booking_id, 'slotId', r.slot_id, 'startsAt', r.starts_at, 'expiresAt', r.expires_at,
      'terminal', m.terminal) ORDER BY r.created_at, r.id), '[]')
   FROM reservations r JOIN machine_states m ON m.machine = 'reservation' AND m.state = r.state WHERE r.vendor_id = $1) AS reservations,
  (SELECT coalesce(jsonb_agg(jsonb_build_object('id', p.id, 'reservationId', p.reservation_id, 'bookingId', p.booking_id, 'purpose', p.purpose,
      'intentId', p.provider_intent_id, 'status', p.status, 'pendingAction', p.pending_action,
      'capturedCents', p.amount_captured_cents, 'refundedCents', p.amount_refunded_cents) ORDER BY p.created_at, p.id), '[]')
   FROM payments p WHERE p.vendor_id = $1) AS payments,
  (SELECT coalesce(jsonb_agg(x), '[]') FROM (
     SELECT t.reservation_id AS "reservationId", t.from_state AS "fromState", t.to_state AS "toState",
            CASE WHEN t.from_state IS DISTINCT FROM t.prev_to THEN 'does not follow the previous move' ELSE 'not an allowed move' END AS problem
     FROM (SELECT tr.*, lag(tr.to_state) OVER (PARTITION BY tr.reservation_id ORDER BY tr.id) AS prev_to FROM reservation_transitions tr WHERE tr.vendor_id = $1) t
     WHERE t.from_state IS DISTINCT FROM t.prev_to
        OR (t.from_state IS NOT NULL AND NOT EXISTS (SELECT 1 FROM machine_transitions mt WHERE mt.machine = 'reservation' AND mt.from_state = t.from_state AND mt.to_state = t.to_state))
     UNION ALL
     SELECT r.id, NULL, r.state, 'the log ends elsewhere than the state' FROM reservations r
     WHERE r.vendor_id = $1 AND r.state IS DISTINCT FROM (SELECT tr.to_state FROM reservation_transitions tr WHERE tr.vendor_id = r.vendor_id AND tr.reservation_id = r.id ORDER BY tr.id DESC LIMIT 1)
   ) x) AS bad_transitions,
  (SELECT coalesce(jsonb_agg(x), '[]') FROM (
     SELECT a.entity_id AS id, 'committed at ' || a.at || ', slot at ' || (a.after->>'starts_at') || ', hold until ' || coalesce(a.before->>'expires_at', '-') AS problem, a.at
     FROM audit_log a WHERE a.vendor_id = $1 AND a.entity = 'reservations' AND a.action = 'update'
       AND a.before->>'state' = 'COMMIT_IN_PROGRESS' AND a.after->>'state' = 'COMMITTED'
       AND (a.at >= (a.after->>'starts_at')::timestamptz OR a.at >= (a.before->>'expires_at')::timestamptz)
     UNION ALL
     SELECT r.id, 'live in ' || r.state || ' until ' || r.expires_at || ', after the slot''s start ' || r.starts_at, NULL
     FROM reservations r JOIN machine_states m ON m.machine = 'reservation' AND m.state = r.state
     WHERE r.vendor_id = $1 AND NOT m.terminal AND r.expires_at > r.starts_at
     UNION ALL
     SELECT t.booking_id, 'booking confirmed at ' || t.at || ', its slot starts ' || s.starts_at, t.at
     FROM booking_transitions t JOIN slots s ON s.vendor_id = t.vendor_id AND s.id = t.to_slot_id
     WHERE t.vendor_id = $1 AND t.to_state = 'confirmed' AND t.at >= s.starts_at
   ) x) AS late_commits,
  (SELECT coalesce(jsonb_agg(x), '[]') FROM (
     SELECT booking_id AS "bookingId", count(*)::int AS releases FROM booking_transitions
     WHERE vendor_id = $1 AND to_state IN ('expired', 'cancelled') GROUP BY booking_id) x) AS releases`;

export async function readReservationTruth(db: Queryable, vendorId: string): Promise<ReservationTruth> {
  const row = (await db.query(TRUTH_SQL, [vendorId])).rows[0] as Record<string, unknown>;
  return {
    reservations: row.reservations as ReservationRow[],
    payments: row.payments as ReservationPaymentRow[],
    badTransitions: row.bad_transitions as ReservationTruth['badTransitions'],
    lateCommits: row.late_commits as ReservationTruth['lateCommits'],
    releases: row.releases as ReservationTruth['releases'],
  };
}

const HOLDING_MONEY = ['authorized', 'captured'];

function paymentsOf(truth: ReservationTruth, reservationId: string): ReservationPaymentRow[] {
  return truth.payments.filter((p) => p.reservationId === reservationId);
}

/** R1, R2, R3, R4 and "no money kept without a committed booking", from the database's truth. */
function machineChecks(vendor: VendorTruth, truth: ReservationTruth): Finding[] {
  const findings: Finding[] = [];
  const bookings = new Map(vendor.bookings.map((b) => [b.id, b]));
  for (const reservation of truth.reservations) {
    const booking = bookings.get(reservation.bookingId);
    const own = paymentsOf(truth, reservation.id);
    if ((reservation.state === 'COMMITTED') !== (booking?.state === 'confirmed')) {
      findings.push({
        oracle: 'reservation-booking-agree',
        message: `reservation ${reservation.id} is ${reservation.state} while its booking is ${booking?.state ?? 'missing'}`,
        evidence: { reservation, booking },
      });
    }
    // The booking holds the reservation's slot, never another (a reschedule outside the reservation).
    if (booking && booking.slotId !== reservation.slotId) {
      findings.push({
        oracle: 'reservation-booking-agree',
        message: `reservation ${reservation.id} reserved slot ${reservation.slotId} but its booking holds slot ${booking.slotId}`,
        evidence: { reservation, booking },
      });
    }
    if (reservation.state === 'COMMITTED' && own.filter((p) => p.status === 'captured').length !== 2) {
      findings.push({
        oracle: 'committed-has-both-captures',
        message: `reservation ${reservation.id} is COMMITTED with payments ${own.map((p) => p.status).join(', ')}`,
        evidence: own,
      });
    }
    if (reservation.terminal && reservation.state !== 'COMMITTED') {
      for (const payment of own.filter((p) => HOLDING_MONEY.includes(p.status) && p.pendingAction !== (p.status === 'captured' ? 'refund' : 'cancel'))) {
        findings.push({
          oracle: 'failed-owes-money-back',
          message: `reservation ${reservation.id} is ${reservation.state} but its ${payment.purpose} payment is ${payment.status} with ${payment.pendingAction} owed`,
          evidence: payment,
        });
      }
    }
    const keepsCapture = !['COMMITTED', 'COMMIT_IN_PROGRESS'].includes(reservation.state);
    for (const payment of own.filter((p) => keepsCapture && p.capturedCents > p.refundedCents && p.pendingAction !== 'refund')) {
      findings.push({
        oracle: 'no-money-without-committed-booking',
        message: `reservation ${reservation.id} (${reservation.state}) keeps ${payment.capturedCents - payment.refundedCents} captured cents with no refund owed`,
        evidence: payment,
      });
    }
  }
  for (const bad of truth.badTransitions) {
    findings.push({
      oracle: 'reservation-transitions-logged',
      message: `reservation ${bad.reservationId}: move ${bad.fromState ?? '∅'} → ${bad.toState} ${bad.problem}`,
      evidence: bad,
    });
  }
  return findings;
}

function backedAtProvider(payments: ReservationPaymentRow[], intents: Map<string, Stripe.PaymentIntent>): boolean {
  return payments.some(
    (p) => HOLDING_MONEY.includes(p.status) && p.intentId !== null && ['requires_capture', 'succeeded'].includes(intents.get(p.intentId)?.status ?? ''),
  );
}

/** The checks that hold at every instant (the provider moves first, the database follows). */
export function instantReservationChecks(vendor: VendorTruth, truth: ReservationTruth, sandbox: StripeSandbox, events: HistoryEvent[]): Finding[] {
  const findings: Finding[] = [...slotAndBookingChecks(vendor), ...machineChecks(vendor, truth)];
  const intents = new Map(sandbox.paymentIntents().map((intent) => [intent.id, intent]));
  for (const booking of vendor.bookings.filter((b) => b.state === 'confirmed')) {
    if (
      !backedAtProvider(
        truth.payments.filter((p) => p.bookingId === booking.id),
        intents,
      )
    ) {
      findings.push({
        oracle: 'confirmed-needs-verified-payment',
        message: `booking ${booking.id} is confirmed but no payment the provider holds backs it`,
        evidence: booking,
      });
    }
  }
  for (const late of truth.lateCommits) findings.push({ oracle: 'no-commit-past-deadline', message: `${late.id}: ${late.problem}`, evidence: late });
  for (const release of truth.releases.filter((r) => r.releases > 1)) {
    findings.push({ oracle: 'released-exactly-once', message: `booking ${release.bookingId} released its hold ${release.releases} times` });
  }
  return [...findings, ...historyChecks(events)];
}

interface AttemptedMove {
  from: string;
  to: string;
  outcome: string;
}

/** The checks on what the actions themselves answered (history events), not on the database's state. */
function historyChecks(events: HistoryEvent[]): Finding[] {
  const findings: Finding[] = [];
  for (const event of events.filter((e) => e.type === 'ok' && e.action === 'forbidden_reservation_moves')) {
    for (const move of ((event.value?.moves ?? []) as AttemptedMove[]).filter((m) => m.outcome === 'ACCEPTED')) {
      findings.push({
        oracle: 'forbidden-moves-refused',
        message: `${event.action} step ${event.step}: a direct UPDATE of reservation ${String(event.value?.reservation)} from ${move.from} to ${move.to}, a move the machine forbids, was ACCEPTED`,
        evidence: event.value,
      });
    }
  }
  for (const event of events.filter((e) => e.type === 'ok' && e.value?.replayedOtherRequest === true)) {
    findings.push({
      oracle: 'replay-matches-request',
      message: `${event.action} step ${event.step}: a request with a reused key and other metadata was answered with the first request's reservation`,
      evidence: event.value,
    });
  }
  for (const event of events.filter(leftAwaitingCustomer)) {
    findings.push({
      oracle: 'off-session-authorization-decided',
      message: `${event.action} step ${event.step}: the server's off-session authorization left the reservation ${String(event.value?.state)} on an intent in requires_action, with no customer to finish it and nothing owed back`,
      evidence: event.value,
    });
  }
  for (const event of events.filter((e) => e.type === 'ok' && e.action === 'commit_resume_one_fails' && e.value?.keptState === 'COMMIT_IN_PROGRESS')) {
    findings.push({
      oracle: 'each-commit-resumed-on-its-own',
      message: `${event.action} step ${event.step}: reconcile left reservation ${String(event.value?.kept)} in progress, its captures possible, because another reservation's commit failed`,
      evidence: event.value,
    });
  }
  for (const event of events.filter((e) => e.type === 'ok' && e.value?.blockedByExpiredHold === true)) {
    findings.push({
      oracle: 'expired-hold-never-blocks',
      message: `${event.action} step ${event.step}: a claim was refused by a hold whose TTL had passed`,
      evidence: event.value,
    });
  }
  return findings;
}

const OFF_SESSION_AUTHORIZATIONS = ['authorize_vendor', 'authorize_requester', 'three_ds_off_session'];

/**
 * The server confirms a side's saved card with nobody present: the answer is
 * authorized or failed (a 3-D Secure card is declined off-session, its side
 * fails and the other's money is owed back). Still awaiting that side on an
 * intent that waits for a customer's challenge means nobody will ever finish
 * it: the slot and the other side's money stay held until a TTL.
 */
function leftAwaitingCustomer(event: HistoryEvent): boolean {
  if (event.type !== 'ok' || !OFF_SESSION_AUTHORIZATIONS.includes(event.action)) return false;
  return String(event.value?.state ?? '').startsWith('AWAITING_') && event.value?.intentStatus === 'requires_action';
}

function refundedAtProvider(sandbox: StripeSandbox, intentId: string): number {
  return sandbox
    .refunds()
    .filter((r) => r.payment_intent === intentId && r.status === 'succeeded')
    .reduce((sum, r) => sum + r.amount, 0);
}

/** After the chaos settled and reconcile ran: the provider's money agrees with the reservations. */
export function terminalReservationChecks(vendor: VendorTruth, truth: ReservationTruth, sandbox: StripeSandbox, events: HistoryEvent[]): Finding[] {
  const findings = instantReservationChecks(vendor, truth, sandbox, events);
  const intents = new Map(sandbox.paymentIntents().map((intent) => [intent.id, intent]));
  const reservations = new Map(truth.reservations.map((r) => [r.id, r]));
  const bookings = new Map(vendor.bookings.map((b) => [b.id, b]));
  for (const payment of truth.payments) {
    const intent = payment.intentId ? intents.get(payment.intentId) : undefined;
    if (!intent) continue;
    const reservation = payment.reservationId ? reservations.get(payment.reservationId) : undefined;
    const booking = bookings.get(payment.bookingId);
    const committed = reservation ? reservation.state === 'COMMITTED' && booking?.state === 'confirmed' : booking?.state === 'confirmed';
    const kept = intent.amount_received - refundedAtProvider(sandbox, intent.id);
    if (kept > 0 && !committed) {
      findings.push({
        oracle: 'no-money-without-committed-booking',
        message: `the provider keeps ${kept} cents of ${payment.purpose} payment ${payment.id}: reservation ${reservation?.state ?? '-'}, booking ${booking?.state ?? 'missing'}`,
        evidence: payment,
      });
    }
    if (intent.status === 'requires_capture' && (reservation ? reservation.terminal : booking?.state !== 'held' && booking?.state !== 'confirmed')) {
      findings.push({
        oracle: 'no-money-owed-back-left-unowed',
        message: `an authorization of ${intent.amount} cents is left at the provider for ${payment.purpose} payment ${payment.id} (reservation ${reservation?.state ?? '-'})`,
        evidence: payment,
      });
    }
  }
  return findings;
}
