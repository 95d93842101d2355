// Mutants of the money side: confirmed means verified money (I4, P1), money
// released or refunded when its booking goes (P2, P3), the ledger to the
// cent (P4), late events never moving a payment back (I10 for payments), and
// the reservation machine (R4).

import { randomBytes } from 'node:crypto';
import { cancelBooking, claimSlot, confirmBooking } from '../../../engine/bookings.js';
import type { Pool } from '../../../db/pool.js';
import { expectOutcome, one, outcomeOf, refusedWrite, WITNESS_ACTOR, witnessVendor } from '../fixtures.js';
import { alterGuard, constraintExists, rewriteFunction, triggerExists } from '../sqlEdit.js';
import type { Mutant } from '../types.js';
import { APPLY_PAYMENT_STATE, CONFIRM_BOOKING, RESERVATION_STATE_MACHINE } from './signatures.js';

const PRICE_CENTS = 5_000;
const CONFIRM_PAYMENT_CHECK = "IF v_booking.payment_method = 'card' AND v_booking.payment_status NOT IN ('authorized', 'captured') THEN";
const ORDERING_GUARD = 'IF v_new = v_payment.status OR NOT EXISTS (';
const CAPTURE_LEDGER = "IF v_new IN ('captured', 'refunded') AND v_payment.status <> 'captured' THEN";
const REFUND_SYNC_BOUND = 'AND p_amount_refunded <= v_payment.amount_captured_cents THEN';
const PARTIAL_REFUND_CENTS = 1_000;
const RESERVATION_MACHINE_CHECK = "AND NOT EXISTS (SELECT 1 FROM machine_transitions WHERE machine = 'reservation'";

interface CardHold {
  vendorId: string;
  bookingId: string;
}

async function cardHold(pool: Pool): Promise<CardHold> {
  const v = await witnessVendor(pool, [{ startInMinutes: 600, priceCents: PRICE_CENTS }], 1);
  const { booking } = await claimSlot(pool, { slot: v.slots[0], customer: v.customers[0], hold: true, paymentMethod: 'card' }, WITNESS_ACTOR);
  return { vendorId: v.vendorId, bookingId: booking.id };
}

/** The provider's answer for a payment, applied as the webhook or reconcile would (no provider needed). */
async function applyProviderState(
  pool: Pool,
  hold: CardHold & { paymentId: string; intentId: string },
  status: string,
  amounts: { capturable: number; received: number },
): Promise<void> {
  await pool.query(`SELECT apply_payment_state($1, $2, $3, $4, $5, 0, NULL, NULL, $6, NULL, 'operator', 'witness', 'test')`, [
    hold.vendorId,
    hold.paymentId,
    status,
    amounts.capturable,
    amounts.received,
    hold.intentId,
  ]);
}

/** A card hold with a payment the provider authorized: the booking is confirmed by it. */
async function authorizedCardBooking(pool: Pool): Promise<CardHold & { paymentId: string; intentId: string }> {
  const hold = await cardHold(pool);
  const payment = await one<{ p: { id: string } }>(pool, `SELECT begin_card_payment($1, 'operator', 'witness', 'test') AS p`, [hold.bookingId]);
  const intentId = `pi_witness_${randomBytes(6).toString('hex')}`;
  await pool.query(`SELECT record_payment_intent($1, $2, $3, 'operator', 'witness', 'test')`, [hold.vendorId, payment.p.id, intentId]);
  const paid = { ...hold, paymentId: payment.p.id, intentId };
  await applyProviderState(pool, paid, 'requires_capture', { capturable: PRICE_CENTS, received: 0 });
  return paid;
}

export const PAYMENT_GUARD_MUTANTS: Mutant[] = [
  {
    id: 'confirmed-without-money-writable',
    title: 'the CHECK tying a confirmed card booking to verified money dropped',
    language: 'sql',
    invariants: ['I4', 'P1'],
    phase: 4,
    expectedCatcher: 'phase 4: confirm without paying, by the engine or by a direct write',
    source: { file: 'migrations/0002_slots_bookings.sql', original: 'CONSTRAINT bookings_confirmed_is_paid CHECK (', replacement: '(dropped)' },
    apply: (pool) =>
      alterGuard(pool, constraintExists('bookings', 'bookings_confirmed_is_paid'), 'ALTER TABLE bookings DROP CONSTRAINT bookings_confirmed_is_paid'),
    async witness({ normal }) {
      const hold = await cardHold(normal);
      return refusedWrite(
        normal,
        `UPDATE bookings SET state = 'confirmed', hold_expires_at = NULL WHERE id = $1`,
        [hold.bookingId],
        'a direct UPDATE of an unpaid card hold to confirmed',
      );
    },
  },
  {
    id: 'confirm-skips-payment-check',
    title: 'confirm_booking no longer asks for verified money before confirming a card hold',
    language: 'sql',
    invariants: ['I4', 'P1'],
    phase: 4,
    expectedCatcher: 'phase 4: confirm without paying answers PAYMENT_REQUIRED',
    source: { file: 'migrations/0006_engine_hardening.sql', original: CONFIRM_PAYMENT_CHECK, replacement: 'IF false THEN' },
    apply: (pool) => rewriteFunction(pool, CONFIRM_BOOKING, CONFIRM_PAYMENT_CHECK, 'IF false THEN'),
    async witness({ normal }) {
      const hold = await cardHold(normal);
      const got = await outcomeOf(() => confirmBooking(normal, { booking: hold.bookingId }, WITNESS_ACTOR));
      return expectOutcome('PAYMENT_REQUIRED', got, 'confirming an unpaid card hold');
    },
  },
  {
    id: 'cancel-forgets-the-money',
    title: 'cancelling a paid booking no longer records the release or refund its money is owed',
    language: 'sql',
    invariants: ['P2', 'P3'],
    phase: 6,
    expectedCatcher:
      'phase 6: a card booking through payment and cancellation, then the P3 check of verify (SC-2 in phase 2 did not catch it in the first full run)',
    source: {
      file: 'migrations/0010_payments.sql',
      original: 'CREATE TRIGGER bookings_release_payment AFTER UPDATE OF state ON bookings',
      replacement: 'ALTER TABLE bookings DISABLE TRIGGER bookings_release_payment',
    },
    apply: (pool) => alterGuard(pool, triggerExists('bookings', 'bookings_release_payment'), 'ALTER TABLE bookings DISABLE TRIGGER bookings_release_payment'),
    async witness({ normal }) {
      const paid = await authorizedCardBooking(normal);
      await cancelBooking(normal, { booking: paid.bookingId, reason: 'witness' }, WITNESS_ACTOR);
      const owed = (await one<{ a: string }>(normal, 'SELECT pending_action AS a FROM payments WHERE id = $1', [paid.paymentId])).a;
      return { held: owed === 'cancel', observed: `an authorized payment's owed call after its booking was cancelled: ${owed} (the real engine: cancel)` };
    },
  },
  {
    id: 'ledger-skips-captures',
    title: 'apply_payment_state captures without writing the capture to the ledger',
    language: 'sql',
    invariants: ['P4'],
    phase: 2,
    expectedCatcher: 'phase 2: SimCity SC-2 and the P4 check (ledger agrees to the cent)',
    source: { file: 'migrations/0014_owed_cancel_fence.sql', original: CAPTURE_LEDGER, replacement: 'IF false THEN' },
    apply: (pool) => rewriteFunction(pool, APPLY_PAYMENT_STATE, CAPTURE_LEDGER, 'IF false THEN'),
    async witness({ normal }) {
      const paid = await authorizedCardBooking(normal);
      await applyProviderState(normal, paid, 'succeeded', { capturable: 0, received: PRICE_CENTS });
      const n = Number(
        (await one<{ n: number }>(normal, `SELECT count(*)::int AS n FROM ledger_entries WHERE payment_id = $1 AND kind = 'capture'`, [paid.paymentId])).n,
      );
      return { held: n === 1, observed: `capture rows in the ledger after a capture: ${n} (the real engine: 1)` };
    },
  },
  {
    id: 'provider-refund-not-synced',
    title: 'apply_payment_state never records a partial refund made at the provider (the sync branch cannot run)',
    language: 'sql',
    invariants: ['P4'],
    phase: 2,
    expectedCatcher: "phase 2: SimCity SC-2's refund_at_provider attack (the ledger against the provider's refunds to the cent)",
    source: {
      file: 'migrations/0050_refund_sync.sql',
      original: REFUND_SYNC_BOUND,
      replacement: 'AND p_amount_refunded > v_payment.amount_captured_cents THEN',
    },
    apply: (pool) => rewriteFunction(pool, APPLY_PAYMENT_STATE, REFUND_SYNC_BOUND, 'AND p_amount_refunded > v_payment.amount_captured_cents THEN'),
    async witness({ normal }) {
      const paid = await authorizedCardBooking(normal);
      await applyProviderState(normal, paid, 'succeeded', { capturable: 0, received: PRICE_CENTS });
      await normal.query(`SELECT apply_payment_state($1, $2, 'succeeded', 0, $3, $4, NULL, NULL, $5, NULL, 'operator', 'witness', 'test')`, [
        paid.vendorId,
        paid.paymentId,
        PRICE_CENTS,
        PARTIAL_REFUND_CENTS,
        paid.intentId,
      ]);
      const row = await one<{ n: number }>(normal, 'SELECT amount_refunded_cents AS n FROM payments WHERE id = $1', [paid.paymentId]);
      return {
        held: Number(row.n) === PARTIAL_REFUND_CENTS,
        observed: `amount_refunded_cents after the provider reports ${PARTIAL_REFUND_CENTS} of ${PRICE_CENTS} refunded: ${row.n} (the real engine: ${PARTIAL_REFUND_CENTS})`,
      };
    },
  },
  {
    id: 'late-event-not-recognised',
    title: 'apply_payment_state no longer recognises a late event that would move a payment backwards',
    language: 'sql',
    invariants: ['I10', 'P1'],
    phase: 2,
    expectedCatcher: 'phase 2: SimCity SC-2 (reordered and duplicated webhooks)',
    source: { file: 'migrations/0014_owed_cancel_fence.sql', original: ORDERING_GUARD, replacement: 'IF v_new = v_payment.status OR false AND NOT EXISTS (' },
    apply: (pool) => rewriteFunction(pool, APPLY_PAYMENT_STATE, ORDERING_GUARD, 'IF v_new = v_payment.status OR false AND NOT EXISTS ('),
    async witness({ normal }) {
      const paid = await authorizedCardBooking(normal);
      await applyProviderState(normal, paid, 'succeeded', { capturable: 0, received: PRICE_CENTS });
      const got = await outcomeOf(() => applyProviderState(normal, paid, 'requires_capture', { capturable: PRICE_CENTS, received: 0 }));
      return expectOutcome('OK', got, 'a late "authorized" event after the capture (recorded as stale)');
    },
  },
  {
    id: 'reservation-machine-unchecked',
    title: 'the reservations state-machine trigger no longer looks moves up in machine_transitions',
    language: 'sql',
    invariants: ['R4', 'R1'],
    phase: 2,
    expectedCatcher: 'SimCity SC-9 (reservations: the opening attack forbidden_reservation_moves, then forbidden-moves-refused)',
    source: { file: 'migrations/0012_reservations.sql', original: RESERVATION_MACHINE_CHECK, replacement: `AND false ${RESERVATION_MACHINE_CHECK}` },
    apply: (pool) => rewriteFunction(pool, RESERVATION_STATE_MACHINE, RESERVATION_MACHINE_CHECK, `AND false ${RESERVATION_MACHINE_CHECK}`),
    async witness({ normal }) {
      const v = await witnessVendor(normal, [{ startInMinutes: 600, priceCents: PRICE_CENTS }], 1);
      const created = await one<{ r: { id: string } }>(
        normal,
        `SELECT reservation AS r FROM create_reservation($1, (SELECT starts_at FROM slots WHERE id = $2), (SELECT ends_at FROM slots WHERE id = $2), $3, 'witness-partner', '{}'::jsonb, $4, 'operator', 'witness', 'test')`,
        [v.vendorId, v.slots[0], v.customers[0], `witness-${v.vendorId}`],
      );
      return refusedWrite(
        normal,
        `UPDATE reservations SET state = 'COMMITTED' WHERE id = $1`,
        [created.r.id],
        'a direct UPDATE of a fresh reservation to COMMITTED',
      );
    },
  },
];
