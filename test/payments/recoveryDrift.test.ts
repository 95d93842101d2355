// Proves reconcile's drift step takes each payment on its own (an intent the
// provider cannot return is reported on its row, the others go on) and that
// refunds made at the provider, partial ones included, reach our payment and
// ledger to the cent (issue 12, defect 10).
import { afterEach, describe, expect, it } from 'vitest';
import { startStripeSandbox, type StripeSandbox } from '../../src/stripeSandbox/index.js';
import { payAsCustomer, startCardCheckout, verifyBookingPayment } from '../../src/payments/checkout.js';
import { PaymentGateway } from '../../src/payments/gateway.js';
import { getPayment } from '../../src/payments/store.js';
import { reconcile, reconcileFailureCount } from '../../src/reconcile/index.js';
import { API_KEY, bookingRow, cardHold, CUSTOMER_ACTOR, ledgerSums, noViolations, RECONCILE_ACTOR, useWorlds, verifyAll, type World } from './harness.js';
import { installApplyThatIgnoresPartialRefunds } from './fixtures/broken.js';

const world = useWorlds();
const sandboxes: StripeSandbox[] = [];
afterEach(async () => {
  await Promise.all(sandboxes.splice(0).map((s) => s.close()));
});

/** A hold paid and captured through `gateway`, webhooks settled. */
async function capturedBooking(w: World, gateway: PaymentGateway, priceCents: number) {
  const hold = await cardHold(w.pool, { priceCents });
  const { payment } = await startCardCheckout(w.pool, gateway, hold.booking.id, CUSTOMER_ACTOR);
  await payAsCustomer(gateway, payment.providerIntentId!, 'pm_card_visa');
  await verifyBookingPayment(w.pool, gateway, hold.booking.id, CUSTOMER_ACTOR);
  await w.sandbox.flushWebhooks();
  return { hold, payment: await getPayment(w.pool, payment.id) };
}

const reconcileNow = (w: World) => reconcile(w.pool, w.gateway, { dryRun: false, actor: RECONCILE_ACTOR });

async function refundAtProvider(w: World, intentId: string, amountCents: number): Promise<void> {
  await w.gateway.stripe.refunds.create({ payment_intent: intentId, amount: amountCents });
}

describe('reconcile drift, per payment', () => {
  // Proves an intent the provider cannot return (made under another account) is reported on its own row, and the other payment is still measured.
  it('reports an intent the provider cannot return and goes on with the others', async () => {
    const w = await world();
    const elsewhere = await startStripeSandbox({ apiKey: API_KEY, webhookSecret: 'whsec_elsewhere', seed: 'elsewhere' });
    sandboxes.push(elsewhere);
    const otherAccount = new PaymentGateway({ secretKey: API_KEY, apiBase: elsewhere.url, webhookSecrets: [], maxNetworkRetries: 0, attemptMax: 1 });
    const lost = await capturedBooking(w, otherAccount, 3100);
    const kept = await capturedBooking(w, w.gateway, 4200);
    const report = await reconcileNow(w);
    const rows = Object.fromEntries(report.drift.map((d) => [d.paymentId, d]));
    expect(rows[lost.payment.id]).toMatchObject({ agrees: false, error: { code: 'PAYMENT_FAILED' } });
    expect(rows[lost.payment.id]!.error!.message).toMatch(/No such payment_intent/);
    expect(rows[kept.payment.id]).toMatchObject({ agrees: true, error: null, providerCapturedCents: 4200, oursCapturedCents: 4200 });
    expect(report.totals).toMatchObject({ unreadCount: 1, driftCount: 0 });
    expect(reconcileFailureCount(report)).toBe(1);
  });
});

describe('reconcile drift, refunds made at the provider', () => {
  // Proves two partial refunds and then the rest, made at the provider with their webhooks lost, are synced to the cent: payment, ledger and provider agree after each.
  it('syncs partial refunds to the cent, then the full refund', async () => {
    const w = await world();
    const { hold, payment } = await capturedBooking(w, w.gateway, 5000);
    w.sandbox.setFaults({ dropRate: 1 });
    for (const [refundCents, refundedTotal] of [
      [1200, 1200],
      [800, 2000],
    ] as const) {
      await refundAtProvider(w, payment.providerIntentId!, refundCents);
      const report = await reconcileNow(w);
      expect(report.totals.driftCount).toBe(0);
      expect(report.drift.find((d) => d.paymentId === payment.id)).toMatchObject({
        agrees: true,
        oursRefundedCents: refundedTotal,
        providerRefundedCents: refundedTotal,
      });
      expect(await getPayment(w.pool, payment.id)).toMatchObject({ status: 'captured', amountRefundedCents: refundedTotal, amountCapturedCents: 5000 });
      expect(await ledgerSums(w.pool, payment.id)).toMatchObject({ capture: 5000, refund: refundedTotal });
      expect((await bookingRow(w.pool, hold.booking.id)).state).toBe('confirmed');
    }
    await refundAtProvider(w, payment.providerIntentId!, 3000);
    const last = await reconcileNow(w);
    expect(last.totals.driftCount).toBe(0);
    expect(await getPayment(w.pool, payment.id)).toMatchObject({ status: 'refunded', amountRefundedCents: 5000 });
    expect(await ledgerSums(w.pool, payment.id)).toMatchObject({ capture: 5000, refund: 5000 });
    expect(noViolations(await verifyAll(w.pool))).toBe(true);
  });

  // Proves a partial refund delivered by webhook is applied there too, once, however often it is delivered.
  it('applies a partial refund from its webhook once, even when redelivered', async () => {
    const w = await world();
    const { payment } = await capturedBooking(w, w.gateway, 5000);
    await refundAtProvider(w, payment.providerIntentId!, 700);
    await w.sandbox.flushWebhooks();
    const refunded = w.sandbox.events().filter((e) => e.type === 'charge.refunded');
    for (const event of refunded) await w.sandbox.triggerWebhook(event.id);
    expect(await getPayment(w.pool, payment.id)).toMatchObject({ status: 'captured', amountRefundedCents: 700 });
    expect(await ledgerSums(w.pool, payment.id)).toMatchObject({ capture: 5000, refund: 700 });
    expect((await reconcileNow(w)).totals.driftCount).toBe(0);
  });

  // Twin: an apply that ignores partial refunds (as before 0050) is caught by the drift report, which then fails the run.
  it('twin: ignoring a partial refund is reported as drift', async () => {
    const w = await world();
    const { payment } = await capturedBooking(w, w.gateway, 5000);
    await installApplyThatIgnoresPartialRefunds(w.pool);
    await refundAtProvider(w, payment.providerIntentId!, 1200);
    await w.sandbox.flushWebhooks();
    const report = await reconcileNow(w);
    expect(report.drift.find((d) => d.paymentId === payment.id)).toMatchObject({ agrees: false, oursRefundedCents: 0, providerRefundedCents: 1200 });
    expect(report.totals.driftCount).toBe(1);
    expect(reconcileFailureCount(report)).toBe(1);
  });
});
