// The engine before issue 12's reservation fixes, one defect at a time, for
// SC-9's broken-engine twins: each swaps the shipped SQL back to its pre-fix
// behaviour in one test database (the patched text is the shipped function's
// own, minus the fix), so the twin shows SC-9 catches that class of defect.

import type { Pool } from '../../src/db/pool.js';
import { PaymentGateway } from '../../src/payments/gateway.js';
import { installPatched } from '../payments/fixtures/broken.js';

/** Defect 2: cancelling a committed reservation's booking leaves the reservation COMMITTED and keeps both captures. */
export async function installCancelAfterCommitKeepsMoney(pool: Pool): Promise<void> {
  await installPatched(pool, 'bookings_end_reservation()', [["(r.state = 'COMMITTED' OR NOT", '(false OR NOT']]);
}

/** Defect 3: a reservation's booking can be paid and confirmed as a plain card booking. */
export async function installBookingPaidOutsideReservation(pool: Pool): Promise<void> {
  await pool.query('ALTER TABLE payments DISABLE TRIGGER payments_reservation_booking_not_paid_alone');
  await pool.query('ALTER TABLE bookings DISABLE TRIGGER bookings_reservation_confirms_on_commit');
}

/** Defect 4: stage TTLs run past the slot's start and the commit finishes whenever it is resumed. */
export async function installUncappedDeadlines(pool: Pool): Promise<void> {
  await installPatched(pool, 'reservation_set_stage(reservations, text, text, text)', [[', p_res.starts_at)', ", p_res.starts_at + interval '100 years')"]]);
  await installPatched(pool, 'create_reservation(uuid, timestamptz, timestamptz, uuid, text, jsonb, text, text, text, text)', [
    [', v_slot.starts_at);', ", v_slot.starts_at + interval '100 years');"],
  ]);
  await installPatched(pool, 'reservation_finish_commit(uuid, text, text, text)', [['IF reservation_past_deadline(v_res) THEN', 'IF false THEN']]);
}

/** Defect 5: money that arrives after a reservation failed or expired is kept with nothing owed. */
export async function installLateMoneyKept(pool: Pool): Promise<void> {
  await pool.query('ALTER TABLE payments DISABLE TRIGGER payments_reservation_money_owed_back');
}

/** Defect 7: the unique-violation path of create_reservation replays the first reservation without comparing requests. */
export async function installRaceReplaysAnyRequest(pool: Pool): Promise<void> {
  await installPatched(pool, 'create_reservation(uuid, timestamptz, timestamptz, uuid, text, jsonb, text, text, text, text)', [
    [
      'idempotency_key = p_idempotency_key;\n    RETURN QUERY SELECT reservation_replay(v_existing, v_hash), true;',
      'idempotency_key = p_idempotency_key;\n    RETURN QUERY SELECT to_jsonb(v_existing), true;',
    ],
  ]);
}

/** A commit marks the booking's payment captured but leaves the booking held (R1), as mutant commit-leaves-booking-held does. */
export async function installCommitLeavesBookingHeld(pool: Pool): Promise<void> {
  await installPatched(pool, 'reservation_finish_commit(uuid, text, text, text)', [
    ["SET payment_status = 'captured', state = 'confirmed', hold_expires_at = NULL", "SET payment_status = 'captured'"],
  ]);
}

/** A failed or cancelled reservation no longer owes its authorizations and captures back (R3), as mutant failed-reservation-keeps-money does. */
export async function installFailedReservationKeepsMoney(pool: Pool): Promise<void> {
  await installPatched(pool, 'reservation_release_payments(uuid, uuid)', [
    [
      'WHERE p.vendor_id = p_vendor_id AND p.reservation_id = p_reservation_id',
      'WHERE false AND p.vendor_id = p_vendor_id AND p.reservation_id = p_reservation_id',
    ],
  ]);
}

/** A reservation commits as soon as either of its two payments is captured (R2), as mutant commit-on-one-capture does. */
export async function installCommitOnOneCapture(pool: Pool): Promise<void> {
  await installPatched(pool, 'reservation_finish_commit(uuid, text, text, text)', [['IF v_captured = 2 THEN', 'IF v_captured >= 1 THEN']]);
}

/** The reservations state-machine trigger no longer looks moves up in machine_transitions (R4), as mutant reservation-machine-unchecked does. */
export async function installUncheckedReservationMachine(pool: Pool): Promise<void> {
  await installPatched(pool, 'reservations_state_machine()', [
    ['AND NOT EXISTS (SELECT 1 FROM machine_transitions', 'AND false AND NOT EXISTS (SELECT 1 FROM machine_transitions'],
  ]);
}

/** Review finding 3: a reservation's booking can be moved to another slot outside the reservation (before migration 0035). */
export async function installRescheduleOutsideReservation(pool: Pool): Promise<void> {
  await pool.query('ALTER TABLE bookings DISABLE TRIGGER bookings_reservation_booking_not_moved_alone');
}

/**
 * Review finding 1: the engine before it confirmed a party's saved card
 * without `off_session` (the one provider call the fix changed), so a card
 * needing 3-D Secure waited in requires_action for a customer who is not
 * there. Swapped into the gateway class of this test process only; the
 * returned function puts the shipped method back.
 */
export function installOnSessionServerConfirm(): () => void {
  const shipped = PaymentGateway.prototype.confirmIntentOffSession;
  PaymentGateway.prototype.confirmIntentOffSession = function confirmWithoutOffSession(this: PaymentGateway, intentId: string, paymentMethod: string) {
    return this.call('confirm payment intent', () => this.stripe.paymentIntents.confirm(intentId, { payment_method: paymentMethod }));
  };
  return () => {
    PaymentGateway.prototype.confirmIntentOffSession = shipped;
  };
}

/**
 * Review finding 2: reconcile's commit resumption before the fix finished the
 * commits one after the other and stopped at the first that failed (the rest
 * stayed in progress until a later run got past it). Built on the shipped
 * module's own commitReservation, which finishes a commit in progress.
 */
export function unsafeResumeCommitsStoppingAtFirstFailure(shipped: typeof import('../../src/reservations/index.js')): typeof shipped.resumeCommits {
  return async (pool, gateway, actor) => {
    const open = await pool.query(`SELECT id, state FROM reservations WHERE state = 'COMMIT_IN_PROGRESS' ORDER BY updated_at, id`);
    const resumed: Awaited<ReturnType<typeof shipped.resumeCommits>> = [];
    for (const row of open.rows as Array<{ id: string; state: 'COMMIT_IN_PROGRESS' }>) {
      try {
        const after = await shipped.commitReservation(pool, gateway, row.id, actor);
        resumed.push({ reservationId: after.id, state: after.state, error: null });
      } catch (error) {
        resumed.push({ reservationId: row.id, state: row.state, error: error as never });
        break;
      }
    }
    return resumed;
  };
}
