// Proves the card checkout end to end through the real SDK and the local Stripe server: happy path, decline, abandoned hold, and the client's word never confirming.
import { describe, expect, it } from 'vitest';
import { startCardCheckout, payAsCustomer, verifyBookingPayment } from '../../src/payments/checkout.js';
import { confirmBooking } from '../../src/engine/bookings.js';
import { advanceClock } from '../../src/engine/clock.js';
import { reconcile } from '../../src/reconcile/index.js';
import { getPayment } from '../../src/payments/store.js';
import { TEST_ACTOR } from '../helpers/fixtures.js';
import { bookingRow, cardHold, CUSTOMER_ACTOR, ledgerSums, noViolations, RECONCILE_ACTOR, slotCount, useWorlds, verifyAll, type World } from './harness.js';
import { installApplyThatKeepsFailedBookings, installApplyWithWrongLedger, installReleaseTriggerThatDoesNothing } from './fixtures/broken.js';

const world = useWorlds();

/** Hold → intent → customer pays → webhooks → confirmed and captured; returns what a checker needs. */
async function happyPath(w: World) {
  const hold = await cardHold(w.pool, { priceCents: 4200 });
  const { payment } = await startCardCheckout(w.pool, w.gateway, hold.booking.id, CUSTOMER_ACTOR);
  await payAsCustomer(w.gateway, payment.providerIntentId!, 'pm_card_visa');
  await w.sandbox.flushWebhooks();
  return { hold, payment: await getPayment(w.pool, payment.id) };
}

describe('card checkout', () => {
  // Proves the happy path: the provider's events confirm the booking, our capture takes the money, the ledger shows exactly the price, every check passes.
  it("confirms a paid hold from the provider's events and captures exactly the price", async () => {
    const w = await world();
    const { hold, payment } = await happyPath(w);
    expect(await bookingRow(w.pool, hold.booking.id)).toEqual({ state: 'confirmed', payment_status: 'captured' });
    expect(payment).toMatchObject({ status: 'captured', pendingAction: 'none', amountCapturedCents: 4200 });
    expect(await ledgerSums(w.pool, payment.id)).toEqual({ authorization: 4200, capture: 4200 });
    const intent = w.sandbox.paymentIntents().find((pi) => pi.id === payment.providerIntentId)!;
    expect(intent.status).toBe('succeeded');
    expect(intent.amount_received).toBe(4200);
    expect(intent.capture_method).toBe('manual');
    expect(noViolations(await verifyAll(w.pool))).toBe(true);
  });

  // Twin: with a ledger that records captures wrongly, the same path is caught by verify_payments (P4).
  it('twin: a wrong ledger is caught by verify_payments', async () => {
    const w = await world();
    await installApplyWithWrongLedger(w.pool);
    await happyPath(w);
    const report = await verifyAll(w.pool);
    expect(report.P4).toBeGreaterThan(0);
  });

  // Proves nothing the client says confirms a card booking: confirm is PAYMENT_REQUIRED, and "I paid" asks the provider, which says no.
  it("never confirms on the client's word", async () => {
    const w = await world();
    const hold = await cardHold(w.pool);
    await expect(confirmBooking(w.pool, { booking: hold.booking.id }, CUSTOMER_ACTOR)).rejects.toMatchObject({ code: 'PAYMENT_REQUIRED' });
    await startCardCheckout(w.pool, w.gateway, hold.booking.id, CUSTOMER_ACTOR);
    await expect(verifyBookingPayment(w.pool, w.gateway, hold.booking.id, CUSTOMER_ACTOR)).rejects.toMatchObject({ code: 'PAYMENT_REQUIRED' });
    expect(await bookingRow(w.pool, hold.booking.id)).toEqual({ state: 'held', payment_status: 'requires_payment' });
  });

  // Twin: with the card check, the I4 CHECK and the payment trigger all removed, the client's word would confirm the hold — which the test above would catch.
  it("twin: without I4's guards the client's word confirms", async () => {
    const w = await world();
    const { installPatched } = await import('./fixtures/broken.js');
    await installPatched(w.pool, 'confirm_booking(uuid, integer, text, text, text, text)', [["IF v_booking.payment_method = 'card' AND", 'IF false AND']]);
    await w.pool.query('ALTER TABLE bookings DROP CONSTRAINT bookings_confirmed_is_paid');
    await w.pool.query('ALTER TABLE bookings DISABLE TRIGGER bookings_payment_verified');
    const hold = await cardHold(w.pool);
    const confirmed = await confirmBooking(w.pool, { booking: hold.booking.id }, CUSTOMER_ACTOR);
    expect(confirmed.state).toBe('confirmed');
    expect((await verifyAll(w.pool)).P1).toBeGreaterThan(0);
  });

  // Proves the server-side retrieve path alone (no webhooks at all) confirms a paid booking, and converges with the webhook path later.
  it('confirms by server-side retrieve when no webhook arrives, and later webhooks change nothing', async () => {
    const w = await world({ sandbox: { autoDeliver: false } });
    const hold = await cardHold(w.pool);
    const { payment } = await startCardCheckout(w.pool, w.gateway, hold.booking.id, CUSTOMER_ACTOR);
    await payAsCustomer(w.gateway, payment.providerIntentId!, 'pm_card_visa');
    const verified = await verifyBookingPayment(w.pool, w.gateway, hold.booking.id, CUSTOMER_ACTOR);
    expect(verified.booking.state).toBe('confirmed');
    expect(verified.payment.status).toBe('captured');
    await w.sandbox.flushWebhooks();
    expect(await ledgerSums(w.pool, payment.id)).toEqual({ authorization: 4200, capture: 4200 });
    expect(noViolations(await verifyAll(w.pool))).toBe(true);
  });

  /** Hold → intent → declined card → webhooks. */
  async function declinePath(w: World) {
    const hold = await cardHold(w.pool);
    const { payment } = await startCardCheckout(w.pool, w.gateway, hold.booking.id, CUSTOMER_ACTOR);
    const paid = await payAsCustomer(w.gateway, payment.providerIntentId!, 'pm_card_chargeDeclined');
    expect(paid.declined).toBe(true);
    await w.sandbox.flushWebhooks();
    return { hold, payment: await getPayment(w.pool, payment.id) };
  }

  // Proves a decline cancels the hold, frees the slot, cancels the intent so no money can arrive later, and records it.
  it('cancels a declined checkout and frees the slot', async () => {
    const w = await world();
    const { hold, payment } = await declinePath(w);
    expect((await bookingRow(w.pool, hold.booking.id)).state).toBe('cancelled');
    expect(await slotCount(w.pool, hold.slot.id)).toBe(0);
    expect(payment).toMatchObject({ status: 'canceled', pendingAction: 'none', failureCode: 'generic_decline' });
    expect(w.sandbox.paymentIntents().find((pi) => pi.id === payment.providerIntentId)!.status).toBe('canceled');
    expect(noViolations(await verifyAll(w.pool))).toBe(true);
  });

  // Twin: an apply function that keeps failed bookings leaves the slot taken, which the decline check catches.
  it('twin: keeping a declined booking is caught', async () => {
    const w = await world();
    await installApplyThatKeepsFailedBookings(w.pool);
    const { hold } = await declinePath(w);
    expect((await bookingRow(w.pool, hold.booking.id)).state).not.toBe('cancelled');
    expect(await slotCount(w.pool, hold.slot.id)).toBe(1);
  });

  /** Hold → intent → the customer walks away → the TTL passes → reconcile. */
  async function abandonPath(w: World) {
    const hold = await cardHold(w.pool, { holdTtlSeconds: 60 });
    const { payment } = await startCardCheckout(w.pool, w.gateway, hold.booking.id, CUSTOMER_ACTOR);
    await advanceClock(w.pool, 61_000);
    const report = await reconcile(w.pool, w.gateway, { dryRun: false, actor: RECONCILE_ACTOR });
    return { hold, payment: await getPayment(w.pool, payment.id), report };
  }

  // Proves an abandoned checkout expires: slot freed, intent canceled at the provider, and a new booking must pay again.
  it('expires an abandoned checkout, cancels its intent, and makes the next booking pay again', async () => {
    const w = await world({ simulation: true });
    const { hold, payment, report } = await abandonPath(w);
    expect(report.expiredHolds.map((h) => h.bookingId)).toEqual([hold.booking.id]);
    expect((await bookingRow(w.pool, hold.booking.id)).state).toBe('expired');
    expect(await slotCount(w.pool, hold.slot.id)).toBe(0);
    expect(payment.status).toBe('canceled');
    expect(w.sandbox.paymentIntents().find((pi) => pi.id === payment.providerIntentId)!.status).toBe('canceled');
    // Booking again: a new hold with no money behind it, and a new intent.
    const { claimSlot } = await import('../../src/engine/bookings.js');
    const again = await claimSlot(w.pool, { slot: hold.slot.id, customer: hold.customerId, hold: true, paymentMethod: 'card' }, TEST_ACTOR);
    expect(again.booking.paymentStatus).toBe('requires_payment');
    const second = await startCardCheckout(w.pool, w.gateway, again.booking.id, CUSTOMER_ACTOR);
    expect(second.payment.providerIntentId).not.toBe(payment.providerIntentId);
    expect(noViolations(await verifyAll(w.pool))).toBe(true);
  });

  // Twin: without the release trigger the abandoned intent stays open at the provider, which the abandon check catches.
  it('twin: an abandoned intent left open is caught', async () => {
    const w = await world({ simulation: true });
    await installReleaseTriggerThatDoesNothing(w.pool);
    const { payment } = await abandonPath(w);
    expect(w.sandbox.paymentIntents().find((pi) => pi.id === payment.providerIntentId)!.status).not.toBe('canceled');
  });
});
