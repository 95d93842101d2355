// Proves money stays consistent with bookings through provider 5xx and timeouts, a crash on either side of a provider call, and a payment that arrives after its hold expired.
import { describe, expect, it } from 'vitest';
import { claimSlot } from '../../src/engine/bookings.js';
import { advanceClock } from '../../src/engine/clock.js';
import { startCardCheckout, payAsCustomer, verifyBookingPayment } from '../../src/payments/checkout.js';
import { PaymentGateway, type CreateIntentInput } from '../../src/payments/gateway.js';
import { reconcile } from '../../src/reconcile/index.js';
import { getPayment, paymentForBooking } from '../../src/payments/store.js';
import { toPayment } from '../../src/payments/rows.js';
import { makeCustomer, TEST_ACTOR } from '../helpers/fixtures.js';
import {
  bookingRow,
  cardHold,
  CUSTOMER_ACTOR,
  ledgerSums,
  noViolations,
  RECONCILE_ACTOR,
  slotCount,
  useWorlds,
  verifyAll,
  verifyPayments,
  type World,
} from './harness.js';
import { installApplyThatForgetsCapture, installApplyThatKeepsOrphanMoney, installPatched } from './fixtures/broken.js';
import { cancelBooking } from '../../src/engine/bookings.js';

const world = useWorlds();

const reconcileNow = (w: World) => reconcile(w.pool, w.gateway, { dryRun: false, actor: RECONCILE_ACTOR });

function intentsFor(w: World, paymentId: string) {
  return w.sandbox.paymentIntents().filter((pi) => pi.metadata.bookiji_payment_id === paymentId);
}

describe('provider failures', () => {
  // Proves a create answered 5xx every time leaves the hold unconfirmed and the recovery point in place; reconcile later creates exactly one intent.
  it('survives 5xx on create: DEPENDENCY_UNAVAILABLE, then reconcile creates exactly one intent', async () => {
    const w = await world({ sandbox: { faults: { apiErrorRate: 1, apiErrorPaths: ['POST /v1/payment_intents'] } } });
    const hold = await cardHold(w.pool);
    await expect(startCardCheckout(w.pool, w.gateway, hold.booking.id, CUSTOMER_ACTOR)).rejects.toMatchObject({
      code: 'DEPENDENCY_UNAVAILABLE',
      retryable: true,
    });
    const payment = (await paymentForBooking(w.pool, hold.booking.id))!;
    expect(payment).toMatchObject({ pendingAction: 'create', providerIntentId: null, status: 'requires_payment' });
    expect(await bookingRow(w.pool, hold.booking.id)).toEqual({ state: 'held', payment_status: 'requires_payment' });
    expect(noViolations(await verifyAll(w.pool))).toBe(true);
    w.sandbox.setFaults({});
    await reconcileNow(w);
    expect(intentsFor(w, payment.id).length).toBe(1);
    expect((await getPayment(w.pool, payment.id)).providerIntentId).toBe(intentsFor(w, payment.id)[0]!.id);
  });

  // Proves a create that times out after the provider made the intent is finished by a retry with the same key: one intent, not two (the random-key twin is under crash recovery).
  it("survives timeouts on create: the provider's intent is found again, never duplicated", async () => {
    const w = await world({
      gateway: { timeoutMs: 150, attemptMax: 2 },
      sandbox: { apiTimeoutHoldMs: 400, faults: { apiTimeoutRate: 1, apiErrorPaths: ['POST /v1/payment_intents'] } },
    });
    const hold = await cardHold(w.pool);
    await expect(startCardCheckout(w.pool, w.gateway, hold.booking.id, CUSTOMER_ACTOR)).rejects.toMatchObject({ code: 'DEPENDENCY_UNAVAILABLE' });
    const payment = (await paymentForBooking(w.pool, hold.booking.id))!;
    expect(intentsFor(w, payment.id).length).toBe(1);
    expect((await bookingRow(w.pool, hold.booking.id)).state).toBe('held');
    w.sandbox.setFaults({});
    const again = await startCardCheckout(w.pool, w.gateway, hold.booking.id, CUSTOMER_ACTOR);
    expect(again.payment.providerIntentId).toBe(intentsFor(w, payment.id)[0]!.id);
    expect(intentsFor(w, payment.id).length).toBe(1);
  });

  /** Webhooks lost and capture timing out (the provider did capture); the customer asks us to check; then faults stop and reconcile runs. */
  async function captureTimesOut(w: World) {
    const hold = await cardHold(w.pool, { priceCents: 5000 });
    const { payment } = await startCardCheckout(w.pool, w.gateway, hold.booking.id, CUSTOMER_ACTOR);
    w.sandbox.setFaults({ dropRate: 1, apiTimeoutRate: 1, apiErrorPaths: ['POST /v1/payment_intents/*/capture'] });
    await payAsCustomer(w.gateway, payment.providerIntentId!, 'pm_card_visa');
    await verifyBookingPayment(w.pool, w.gateway, hold.booking.id, CUSTOMER_ACTOR).catch(() => undefined);
    const during = { payment: await getPayment(w.pool, payment.id), booking: await bookingRow(w.pool, hold.booking.id), checks: await verifyAll(w.pool) };
    w.sandbox.setFaults({});
    const report = await reconcileNow(w);
    await w.sandbox.flushWebhooks();
    return { hold, during, report, payment: await getPayment(w.pool, payment.id) };
  }

  // Proves a capture that times out (it happened at the provider) keeps the booking confirmed on authorized money, and reconcile records the one capture to the cent.
  it('survives timeouts on capture: confirmed on authorized money, then captured once', async () => {
    const w = await world({ gateway: { timeoutMs: 150, attemptMax: 2 }, sandbox: { apiTimeoutHoldMs: 400 } });
    const { hold, during, report, payment } = await captureTimesOut(w);
    expect(during.payment).toMatchObject({ status: 'authorized', pendingAction: 'capture' });
    expect(during.booking).toEqual({ state: 'confirmed', payment_status: 'authorized' });
    expect(noViolations(during.checks)).toBe(true);
    expect(payment).toMatchObject({ status: 'captured', pendingAction: 'none', amountCapturedCents: 5000 });
    expect(await bookingRow(w.pool, hold.booking.id)).toEqual({ state: 'confirmed', payment_status: 'captured' });
    expect(await ledgerSums(w.pool, payment.id)).toEqual({ authorization: 5000, capture: 5000 });
    expect(report.totals).toMatchObject({ driftCount: 0, providerNetCents: 5000 });
    expect(noViolations(await verifyAll(w.pool))).toBe(true);
  });

  // Twin: an apply function that never records the owed capture leaves the authorization uncaptured after reconcile.
  it('twin: forgetting the capture recovery point leaves money uncaptured', async () => {
    const w = await world({ gateway: { timeoutMs: 150, attemptMax: 2 }, sandbox: { apiTimeoutHoldMs: 400 } });
    await installApplyThatForgetsCapture(w.pool);
    const { payment } = await captureTimesOut(w);
    expect(payment.status).not.toBe('captured');
  });
});

// A gateway whose idempotency keys are not derived from our ids, on a provider
// view without events (where the created event could not name the intent):
// only a stable key can stop a retry after a crash from making a second intent.
class GatewayWithRandomKeys extends PaymentGateway {
  override createIntent(input: CreateIntentInput) {
    return super.createIntent({ ...input, idempotencyKey: `${input.idempotencyKey}:${Math.random()}` });
  }
  override async listEvents() {
    return [];
  }
}

/** Crash after our commit, before the provider call; and after the provider call, before our commit. */
async function crashes(w: World, gateway: PaymentGateway) {
  const beforeCall = await cardHold(w.pool);
  const afterCall = await cardHold(w.pool);
  const begin = async (bookingId: string) =>
    toPayment((await w.pool.query(`SELECT begin_card_payment($1, 'customer', 'c', 'test') AS p`, [bookingId])).rows[0].p);
  const p1 = await begin(beforeCall.booking.id);
  const p2 = await begin(afterCall.booking.id);
  await gateway.createIntent({
    amountCents: p2.amountCents,
    currency: p2.currency,
    idempotencyKey: `${p2.idempotencyPrefix}:create`,
    metadata: { bookiji_payment_id: p2.id, bookiji_vendor_id: p2.vendorId },
  });
  await reconcile(w.pool, gateway, { dryRun: false, actor: RECONCILE_ACTOR });
  return { p1: await getPayment(w.pool, p1.id), p2: await getPayment(w.pool, p2.id) };
}

describe('crash recovery', () => {
  // Proves reconcile repairs both crash points of intent creation: each payment ends with exactly one intent at the provider, recorded by us.
  it('repairs a crash before and after the provider call', async () => {
    const w = await world({ sandbox: { autoDeliver: false } });
    const { p1, p2 } = await crashes(w, w.gateway);
    for (const p of [p1, p2]) {
      expect(intentsFor(w, p.id).length).toBe(1);
      expect(p).toMatchObject({ pendingAction: 'none', providerIntentId: intentsFor(w, p.id)[0]!.id });
    }
  });

  // Twin: without stable idempotency keys the crash after the provider call leaves a second, orphan intent.
  it('twin: random idempotency keys make a second intent', async () => {
    const w = await world({ sandbox: { autoDeliver: false } });
    const broken = new GatewayWithRandomKeys(w.gateway.config);
    const { p2 } = await crashes(w, broken);
    expect(intentsFor(w, p2.id).length).toBe(2);
  });

  // Proves a crash between the provider's capture and our commit is repaired: reconcile repeats the capture with the same key, the provider replays it, the ledger records one capture.
  it('repairs a crash between a capture and our commit', async () => {
    const w = await world({ sandbox: { autoDeliver: false } });
    const hold = await cardHold(w.pool, { priceCents: 6100 });
    const { payment } = await startCardCheckout(w.pool, w.gateway, hold.booking.id, CUSTOMER_ACTOR);
    await payAsCustomer(w.gateway, payment.providerIntentId!, 'pm_card_visa');
    const intent = await w.gateway.retrieveIntent(payment.providerIntentId!);
    const { applyIntent } = await import('../../src/payments/store.js');
    await applyIntent(w.pool, payment, intent, { actor: RECONCILE_ACTOR });
    expect((await getPayment(w.pool, payment.id)).pendingAction).toBe('capture');
    await w.gateway.captureIntent(payment.providerIntentId!, `${payment.idempotencyPrefix}:capture`);
    // The process dies here: our database never heard of the capture.
    const report = await reconcileNow(w);
    expect(await getPayment(w.pool, payment.id)).toMatchObject({ status: 'captured', amountCapturedCents: 6100, pendingAction: 'none' });
    expect(await ledgerSums(w.pool, payment.id)).toEqual({ authorization: 6100, capture: 6100 });
    expect(report.totals).toMatchObject({ driftCount: 0, providerNetCents: 6100, ledgerNetCents: 6100 });
    expect(w.sandbox.charges().filter((c) => c.payment_intent === payment.providerIntentId).length).toBe(1);
  });
});

/** Hold expires, another customer takes the slot, then the first customer's payment arrives (captured at the provider). */
async function lateCapturedPayment(w: World) {
  const hold = await cardHold(w.pool, { priceCents: 3300, holdTtlSeconds: 60 });
  const { payment } = await startCardCheckout(w.pool, w.gateway, hold.booking.id, CUSTOMER_ACTOR);
  await advanceClock(w.pool, 61_000);
  const other = await makeCustomer(w.pool);
  await claimSlot(w.pool, { slot: hold.slot.id, customer: other.id, hold: false, paymentMethod: 'pay_on_arrival' }, TEST_ACTOR);
  await payAsCustomer(w.gateway, payment.providerIntentId!, 'pm_card_visa');
  // Captured before we heard of it (say, from the provider's dashboard).
  await w.gateway.captureIntent(payment.providerIntentId!, 'dashboard-capture');
  await w.sandbox.flushWebhooks();
  await reconcileNow(w);
  return { hold, payment: await getPayment(w.pool, payment.id) };
}

describe('late payments', () => {
  // Proves a payment that succeeds after its hold expired and the slot was taken is refunded automatically, recorded, and the ledger balances.
  it('refunds captured money whose slot was taken after the hold expired', async () => {
    const w = await world({ simulation: true });
    const { hold, payment } = await lateCapturedPayment(w);
    expect((await bookingRow(w.pool, hold.booking.id)).state).toBe('expired');
    expect(payment).toMatchObject({ status: 'refunded', amountCapturedCents: 3300, amountRefundedCents: 3300, pendingAction: 'none' });
    expect(await ledgerSums(w.pool, payment.id)).toEqual({ authorization: 3300, capture: 3300, refund: 3300 });
    expect(
      w.sandbox
        .refunds()
        .filter((r) => r.payment_intent === payment.providerIntentId)
        .map((r) => r.amount),
    ).toEqual([3300]);
    expect(await slotCount(w.pool, hold.slot.id)).toBe(1);
    expect(noViolations(await verifyAll(w.pool))).toBe(true);
  });

  // Twin: an apply function that keeps money without a booking leaves captured money unrefunded, which verify_payments (P2) catches.
  it('twin: keeping orphan money is caught by verify_payments', async () => {
    const w = await world({ simulation: true });
    await installApplyThatKeepsOrphanMoney(w.pool);
    await lateCapturedPayment(w);
    expect((await verifyPayments(w.pool)).P2).toBeGreaterThan(0);
  });

  // Proves a payment authorized after its hold expired confirms the booking when the slot is still free.
  it('confirms a late payment when the slot is still free', async () => {
    const w = await world({ simulation: true });
    const hold = await cardHold(w.pool, { priceCents: 2200, holdTtlSeconds: 60 });
    const { payment } = await startCardCheckout(w.pool, w.gateway, hold.booking.id, CUSTOMER_ACTOR);
    await advanceClock(w.pool, 61_000);
    await payAsCustomer(w.gateway, payment.providerIntentId!, 'pm_card_visa');
    await w.sandbox.flushWebhooks();
    expect(await bookingRow(w.pool, hold.booking.id)).toEqual({ state: 'confirmed', payment_status: 'captured' });
    const outcomes = await w.pool.query(`SELECT outcome FROM payment_applications WHERE payment_id = $1 ORDER BY id`, [payment.id]);
    expect(outcomes.rows.map((r) => r.outcome)).toContain('confirmed_after_ttl');
    expect(noViolations(await verifyAll(w.pool))).toBe(true);
  });

  /** The customer pays, then cancels with a reason that reads like ours, before we hear of the payment; reconcile runs. */
  async function paidThenCancelledByCustomer(w: World) {
    const hold = await cardHold(w.pool, { priceCents: 2900 });
    const { payment } = await startCardCheckout(w.pool, w.gateway, hold.booking.id, CUSTOMER_ACTOR);
    await payAsCustomer(w.gateway, payment.providerIntentId!, 'pm_card_visa');
    await cancelBooking(w.pool, { booking: hold.booking.id, reason: 'payment no longer wanted' }, CUSTOMER_ACTOR);
    await reconcileNow(w);
    return { hold, payment: await getPayment(w.pool, payment.id) };
  }

  // Proves a booking the customer cancelled is never brought back by its late payment: the authorization is released instead.
  it('releases a late payment of a booking the customer cancelled', async () => {
    const w = await world({ sandbox: { autoDeliver: false } });
    const { hold, payment } = await paidThenCancelledByCustomer(w);
    expect((await bookingRow(w.pool, hold.booking.id)).state).toBe('cancelled');
    expect(payment).toMatchObject({ bookingId: hold.booking.id, status: 'canceled', pendingAction: 'none' });
    expect(await slotCount(w.pool, hold.slot.id)).toBe(0);
    expect(noViolations(await verifyAll(w.pool))).toBe(true);
  });

  // Twin: the first version's rule (a cancel reason starting with "payment") resurrects the customer's cancelled booking.
  it("twin: judging by the cancel reason's text brings a cancelled booking back", async () => {
    const w = await world({ sandbox: { autoDeliver: false } });
    await installPatched(w.pool, 'apply_payment_state(uuid, uuid, text, integer, integer, integer, text, text, text, text, text, text, text)', [
      ["(v_booking.state = 'cancelled' AND v_payment.status = 'failed')", "v_booking.cancel_reason LIKE 'payment %'"],
    ]);
    const { payment } = await paidThenCancelledByCustomer(w);
    expect(payment.bookingId).not.toBe(payment.firstBookingId);
    expect((await bookingRow(w.pool, payment.bookingId)).state).toBe('confirmed');
  });
});
