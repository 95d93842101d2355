// Regression tests for issue 12's reservation defects (adversarial review):
// each fails on the engine before migrations 0030–0034, and each new verify
// check has a twin showing it fails on the old, unsafe SQL.
import { describe, expect, it } from 'vitest';
import { cancelBooking } from '../../src/engine/bookings.js';
import { advanceClock } from '../../src/engine/clock.js';
import { expireHolds } from '../../src/engine/holds.js';
import { settlePayment } from '../../src/payments/actions.js';
import { payAsCustomer, startCardCheckout } from '../../src/payments/checkout.js';
import { reconcile } from '../../src/reconcile/index.js';
import { applyIntent } from '../../src/payments/store.js';
import { toPayment } from '../../src/payments/rows.js';
import { cancelReservation, commitReservation, createReservation, resumeCommits, vendorConfirmReservation } from '../../src/reservations/index.js';
import { TEST_ACTOR, makeCustomer, makeSlot, makeVendor } from '../helpers/fixtures.js';
import { codeOf } from '../helpers/outcomes.js';
import { CUSTOMER_ACTOR, RECONCILE_ACTOR, useWorlds, type World } from '../payments/harness.js';
import { installPatched } from '../payments/fixtures/broken.js';
import {
  PARTNER,
  VENDOR,
  bookingStateOf,
  bothAuthorized,
  capturesAtProvider,
  checksById,
  failing,
  openReservation,
  paymentsByRole,
  reservationState,
  vendorAuthorized,
} from './helpers.js';

const world = useWorlds({ simulation: true, sandbox: { autoDeliver: false } });

const CAPTURE_DOWN = { apiErrorRate: 1, apiErrorPaths: ['POST /v1/payment_intents/*/capture'] };

describe('defect 2: cancelling a committed reservation', () => {
  // Proves the booking's cancellation after commit cancels the reservation and owes both captures a refund, which reconcile pays to the cent.
  it('cancels the reservation with its booking and refunds both captures', async () => {
    const w = await world();
    const { after } = await bothAuthorized(w);
    const committed = await commitReservation(w.pool, w.gateway, after.id, PARTNER);
    expect(committed.state).toBe('COMMITTED');
    await cancelBooking(w.pool, { booking: committed.bookingId, reason: 'customer called' }, TEST_ACTOR);
    expect(await reservationState(w, after.id)).toBe('CANCELLED');
    const owed = await paymentsByRole(w, after.id);
    expect([owed.vendor.status, owed.vendor.pending_action, owed.requester.status, owed.requester.pending_action]).toEqual([
      'captured',
      'refund',
      'captured',
      'refund',
    ]);
    expect(failing(await checksById(w))).toEqual([]);
    await reconcile(w.pool, w.gateway, { dryRun: false, actor: RECONCILE_ACTOR });
    const settled = await paymentsByRole(w, after.id);
    expect([settled.vendor.status, settled.requester.status]).toEqual(['refunded', 'refunded']);
    const refunded = w.sandbox
      .refunds()
      .filter((r) => [settled.vendor.provider_intent_id, settled.requester.provider_intent_id].includes(String(r.payment_intent)));
    expect(refunded.reduce((sum, r) => sum + r.amount, 0)).toBe(11_000);
    expect(failing(await checksById(w))).toEqual([]);
  });

  // Proves the reservation itself can be cancelled after commit, with the same refunds.
  it('cancels a committed reservation directly', async () => {
    const w = await world();
    const { after } = await bothAuthorized(w);
    await commitReservation(w.pool, w.gateway, after.id, PARTNER);
    const cancelled = await cancelReservation(w.pool, after.id, 'vendor closed', PARTNER, w.gateway);
    expect(cancelled.state).toBe('CANCELLED');
    expect(await bookingStateOf(w, after.bookingId)).toBe('cancelled');
    const settled = await paymentsByRole(w, after.id);
    expect([settled.vendor.status, settled.requester.status]).toEqual(['refunded', 'refunded']);
    expect(failing(await checksById(w))).toEqual([]);
  });

  // Twin: the pre-0030 trigger (committed reservations skipped) keeps the money; P2 now sees reservation payments, and R1 the split.
  it('twin: the old trigger keeps the captures and P2 catches it', async () => {
    const w = await world();
    await installPatched(w.pool, 'bookings_end_reservation()', [["(r.state = 'COMMITTED' OR NOT", '(false OR NOT']]);
    const { after } = await bothAuthorized(w);
    const committed = await commitReservation(w.pool, w.gateway, after.id, PARTNER);
    await cancelBooking(w.pool, { booking: committed.bookingId, reason: 'customer called' }, TEST_ACTOR);
    const checks = await checksById(w);
    expect(checks.P2).toBe(2);
    expect(checks.R1).toBe(1);
  });
});

describe('defect 3: a reservation booking paid outside the reservation', () => {
  // Proves a card payment on a reservation's booking is refused in the database, nothing changes, and the reservation still expires on time.
  it('refuses the payment and the reservation still expires', async () => {
    const w = await world();
    const { reservation } = await openReservation(w);
    expect(await codeOf(startCardCheckout(w.pool, w.gateway, reservation.bookingId, CUSTOMER_ACTOR))).toBe('INVALID_TRANSITION');
    expect((await w.pool.query(`SELECT count(*)::int AS n FROM payments WHERE booking_id = $1`, [reservation.bookingId])).rows[0].n).toBe(0);
    expect(await bookingStateOf(w, reservation.bookingId)).toBe('held');
    await advanceClock(w.pool, 601_000);
    await expireHolds(w.pool, { dryRun: false, actor: TEST_ACTOR });
    expect(await reservationState(w, reservation.id)).toBe('FAILED_VENDOR_TIMEOUT');
    expect(failing(await checksById(w))).toEqual([]);
  });

  // Proves the booking of a reservation cannot be confirmed before the reservation commits, whoever writes it.
  it('refuses confirming the booking before commit', async () => {
    const w = await world();
    const { reservation } = await openReservation(w);
    await w.pool.query('ALTER TABLE bookings DISABLE TRIGGER bookings_payment_verified');
    await expect(w.pool.query(`UPDATE bookings SET state = 'confirmed', hold_expires_at = NULL WHERE id = $1`, [reservation.bookingId])).rejects.toMatchObject({
      code: 'BK011',
    });
  });

  // Twin: without the two triggers, `payment pay` confirms the booking while the vendor has not answered, which R1 catches.
  it('twin: the old engine confirms it and R1 catches it', async () => {
    const w = await world();
    await w.pool.query('ALTER TABLE payments DISABLE TRIGGER payments_reservation_booking_not_paid_alone');
    await w.pool.query('ALTER TABLE bookings DISABLE TRIGGER bookings_reservation_confirms_on_commit');
    const { reservation } = await openReservation(w);
    const started = await startCardCheckout(w.pool, w.gateway, reservation.bookingId, CUSTOMER_ACTOR);
    await payAsCustomer(w.gateway, started.payment.providerIntentId!, 'pm_card_visa');
    await reconcile(w.pool, w.gateway, { dryRun: false, actor: RECONCILE_ACTOR });
    expect(await bookingStateOf(w, reservation.bookingId)).toBe('confirmed');
    expect((await checksById(w)).R1).toBe(1);
  });
});

describe('defect 4: deadlines capped at the slot start, commit refused past them', () => {
  // Proves every stage's TTL ends at the slot's start at the latest, on the reservation and on its booking's hold.
  it('caps each stage TTL at the slot start', async () => {
    const w = await world();
    const { reservation, slot } = await openReservation(w, { startInMinutes: 5 });
    expect(reservation.expiresAt!.getTime()).toBe(slot.startsAt.getTime());
    const confirmed = await vendorConfirmReservation(w.pool, reservation.id, VENDOR);
    expect(confirmed.expiresAt!.getTime()).toBe(slot.startsAt.getTime());
    const hold = (await w.pool.query('SELECT hold_expires_at FROM bookings WHERE id = $1', [reservation.bookingId])).rows[0].hold_expires_at as Date;
    expect(hold.getTime()).toBe(slot.startsAt.getTime());
    expect(failing(await checksById(w))).toEqual([]);
  });

  // Proves a commit left in progress by a capture outage and resumed after the hold's TTL fails, captures nothing and releases both.
  it('refuses a commit resumed after the hold TTL and compensates both', async () => {
    const w = await world();
    const { after } = await bothAuthorized(w);
    w.sandbox.setFaults(CAPTURE_DOWN);
    expect((await commitReservation(w.pool, w.gateway, after.id, PARTNER)).state).toBe('COMMIT_IN_PROGRESS');
    w.sandbox.setFaults({});
    await advanceClock(w.pool, 901_000);
    const [resumed] = await resumeCommits(w.pool, w.gateway, RECONCILE_ACTOR);
    expect(resumed!.state).toBe('FAILED_COMMIT');
    expect(await bookingStateOf(w, after.bookingId)).toBe('cancelled');
    expect(capturesAtProvider(w, after.bookingId)).toBe(0);
    const payments = await paymentsByRole(w, after.id);
    expect([payments.vendor.status, payments.requester.status]).toEqual(['canceled', 'canceled']);
    expect(failing(await checksById(w))).toEqual([]);
  });

  // Proves the realistic path: provider down during commit, the slot starts, reconcile resumes: the commit fails instead of confirming after the start.
  it('refuses a commit that reconcile resumes after the slot started', async () => {
    const w = await world();
    const { after } = await bothAuthorized(w, { startInMinutes: 12 });
    w.sandbox.setFaults(CAPTURE_DOWN);
    expect((await commitReservation(w.pool, w.gateway, after.id, PARTNER)).state).toBe('COMMIT_IN_PROGRESS');
    w.sandbox.setFaults({});
    await advanceClock(w.pool, 13 * 60_000);
    await reconcile(w.pool, w.gateway, { dryRun: false, actor: RECONCILE_ACTOR });
    expect(await reservationState(w, after.id)).toBe('FAILED_COMMIT');
    expect(capturesAtProvider(w, after.bookingId)).toBe(0);
    expect(failing(await checksById(w))).toEqual([]);
  });

  // Twin: the pre-0032 finisher (no deadline check) commits after the TTL, which R5 catches.
  it('twin: the old finisher commits after the TTL and R5 catches it', async () => {
    const w = await world();
    await installPatched(w.pool, 'reservation_finish_commit(uuid, text, text, text)', [['IF reservation_past_deadline(v_res) THEN', 'IF false THEN']]);
    const { after } = await bothAuthorized(w);
    w.sandbox.setFaults(CAPTURE_DOWN);
    await commitReservation(w.pool, w.gateway, after.id, PARTNER);
    w.sandbox.setFaults({});
    await advanceClock(w.pool, 901_000);
    const [resumed] = await resumeCommits(w.pool, w.gateway, RECONCILE_ACTOR);
    expect(resumed!.state).toBe('COMMITTED');
    expect((await checksById(w)).R5).toBe(1);
  });

  // Twin: the pre-0032 stage TTL (no cap) outlives the slot's start, which R5 catches.
  it('twin: an uncapped stage TTL is caught by R5', async () => {
    const w = await world();
    await installPatched(w.pool, 'reservation_set_stage(reservations, text, text, text)', [['p_res.starts_at)', "p_res.starts_at + interval '1 day')"]]);
    const { reservation } = await openReservation(w, { startInMinutes: 5 });
    await vendorConfirmReservation(w.pool, reservation.id, VENDOR);
    expect((await checksById(w)).R5).toBe(1);
  });
});

/** The requester's side as `authorize` runs it, without the owed calls that follow: the decision is committed, the cancel not yet sent. */
async function declineRequesterWithoutSending(w: World, reservationId: string) {
  const begun = await w.pool.query(`SELECT reservation_begin_authorization($1, 'requester', 'partner', 'partner-12', 'api') AS p`, [reservationId]);
  const created = await settlePayment(w.pool, w.gateway, toPayment(begun.rows[0].p).id, PARTNER);
  const intentId = created.payment.providerIntentId!;
  await payAsCustomer(w.gateway, intentId, 'pm_card_chargeDeclined');
  await applyIntent(w.pool, created.payment, await w.gateway.retrieveIntent(intentId), { actor: PARTNER });
  await w.pool.query(`SELECT reservation_apply_authorization($1, 'requester', 'partner', 'partner-12', 'api')`, [reservationId]);
  return { payment: created.payment, intentId };
}

describe('defect 5: a late authorization on a failed reservation', () => {
  // Proves decline → retry on the same intent, landing before the owed cancel is sent, leaves the money owed back (R3), and reconcile releases it.
  it('owes back an authorization that arrives after the reservation failed', async () => {
    const w = await world();
    const { reservation } = await vendorAuthorized(w);
    const { payment, intentId } = await declineRequesterWithoutSending(w, reservation.id);
    expect(await reservationState(w, reservation.id)).toBe('FAILED_REQUESTER_AUTH');
    expect((await payAsCustomer(w.gateway, intentId, 'pm_card_visa')).status).toBe('requires_capture');
    await applyIntent(w.pool, payment, await w.gateway.retrieveIntent(intentId), { actor: CUSTOMER_ACTOR });
    const late = await paymentsByRole(w, reservation.id);
    expect([late.requester.status, late.requester.pending_action]).toEqual(['authorized', 'cancel']);
    expect(failing(await checksById(w))).toEqual([]);
    await reconcile(w.pool, w.gateway, { dryRun: false, actor: RECONCILE_ACTOR });
    expect(w.sandbox.paymentIntents().find((pi) => pi.id === intentId)!.status).toBe('canceled');
    expect(await reservationState(w, reservation.id)).toBe('FAILED_REQUESTER_AUTH');
    expect(failing(await checksById(w))).toEqual([]);
  });

  // Proves the same for an expired reservation: 3-D Secure finished after the stage's TTL released the slot.
  // (The server confirms off-session, where 3-D Secure is a decline; the challenge comes from the
  // customer's own browser confirming the intent while the server's confirm was lost to an outage.)
  it('owes back an authorization that arrives after the reservation expired', async () => {
    const w = await world();
    const { reservation } = await vendorAuthorized(w);
    const { authorizeRequester } = await import('../../src/reservations/index.js');
    w.sandbox.setFaults({ apiErrorRate: 1, apiErrorPaths: ['POST /v1/payment_intents/*/confirm'] });
    expect(await codeOf(authorizeRequester(w.pool, w.gateway, reservation.id, { paymentMethod: 'pm_card_visa' }, PARTNER))).toBe('DEPENDENCY_UNAVAILABLE');
    w.sandbox.setFaults({});
    expect(await reservationState(w, reservation.id)).toBe('AWAITING_REQUESTER_AUTH');
    const { requester } = await paymentsByRole(w, reservation.id);
    expect((await payAsCustomer(w.gateway, requester.provider_intent_id, 'pm_card_threeDSecureRequired')).status).toBe('requires_action');
    await advanceClock(w.pool, 1_801_000);
    await expireHolds(w.pool, { dryRun: false, actor: TEST_ACTOR });
    expect(await reservationState(w, reservation.id)).toBe('EXPIRED');
    w.sandbox.completeAction(requester.provider_intent_id, 'succeed');
    await reconcile(w.pool, w.gateway, { dryRun: false, actor: RECONCILE_ACTOR });
    expect(w.sandbox.paymentIntents().find((pi) => pi.id === requester.provider_intent_id)!.status).toBe('canceled');
    expect(failing(await checksById(w))).toEqual([]);
  });

  // Twin: without 0033's rule the late authorization is kept with nothing owed: R3 and the widened P3 catch it.
  it('twin: the old rule keeps the money and R3 and P3 catch it', async () => {
    const w = await world();
    await w.pool.query('ALTER TABLE payments DISABLE TRIGGER payments_reservation_money_owed_back');
    const { reservation } = await vendorAuthorized(w);
    const { payment, intentId } = await declineRequesterWithoutSending(w, reservation.id);
    await payAsCustomer(w.gateway, intentId, 'pm_card_visa');
    await applyIntent(w.pool, payment, await w.gateway.retrieveIntent(intentId), { actor: CUSTOMER_ACTOR });
    const checks = await checksById(w);
    expect([checks.R3, checks.P3]).toEqual([1, 1]);
  });
});

describe('defect 7: the same key racing with another request', () => {
  // Proves create_reservation's unique-violation path compares requests: a concurrent same-key request with other metadata is IDEMPOTENCY_MISMATCH, not a replay.
  it('refuses the loser of a same-key race with a different request', async () => {
    const w = await world();
    const vendor = await makeVendor(w.pool);
    const slot = await makeSlot(w.pool, vendor, { priceCents: 5000 });
    const requester = await makeCustomer(w.pool);
    const args = (ref: string) => [
      vendor.id,
      slot.startsAt,
      slot.endsAt,
      requester.id,
      PARTNER.id,
      JSON.stringify({ ref }),
      'race-key',
      'partner',
      PARTNER.id,
      'api',
    ];
    const first = await w.pool.connect();
    try {
      await first.query('BEGIN');
      await first.query('SELECT * FROM create_reservation($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)', args('first'));
      const input = {
        vendorId: vendor.id,
        slotStartTime: slot.startsAt,
        slotEndTime: slot.endsAt,
        requesterId: requester.id,
        partnerId: PARTNER.id!,
        metadata: { ref: 'second' },
        idempotencyKey: 'race-key',
      };
      const second = codeOf(createReservation(w.pool, input, PARTNER));
      // The second request waits on the first's slot lock: it has passed its own idempotency lookup.
      await waitUntilBlocked(w, (await first.query('SELECT pg_backend_pid() AS pid')).rows[0].pid);
      await first.query('COMMIT');
      expect(await second).toBe('IDEMPOTENCY_MISMATCH');
    } finally {
      first.release();
    }
    expect((await w.pool.query(`SELECT metadata->>'ref' AS ref FROM reservations WHERE idempotency_key = 'race-key'`)).rows).toEqual([{ ref: 'first' }]);
    expect(failing(await checksById(w))).toEqual([]);
  });
});

/** Polls until some session waits on a lock held by `blockerPid` (bounded; an unreachable state fails the test). */
async function waitUntilBlocked(w: World, blockerPid: number): Promise<void> {
  for (let attempt = 0; attempt < 500; attempt++) {
    const waiting = await w.pool.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE $1 = ANY (pg_blocking_pids(pid))`, [blockerPid]);
    if (waiting.rows[0].n > 0) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error('the second request never waited on the first: the race was not set up');
}
