// Proves an owed cancel never voids money that confirmed a booking: decline → immediate retry on the same intent → the cancel decided before the retry, driven step by step.
import { describe, expect, it } from 'vitest';
import type { Actor } from '../../src/engine/types.js';
import { settlePayment } from '../../src/payments/actions.js';
import { payAsCustomer, startCardCheckout } from '../../src/payments/checkout.js';
import { PaymentGateway } from '../../src/payments/gateway.js';
import { reconcile } from '../../src/reconcile/index.js';
import { applyIntent, getPayment } from '../../src/payments/store.js';
import type { Payment } from '../../src/payments/types.js';
import type Stripe from 'stripe';
import { installApplyBeforeCancelFence } from './fixtures/preFence.js';
import { bookingRow, cardHold, CUSTOMER_ACTOR, ledgerSums, noViolations, RECONCILE_ACTOR, slotCount, useWorlds, verifyAll, type World } from './harness.js';

const WEBHOOK_ACTOR: Actor = { kind: 'system', id: 'stripe-webhook', source: 'webhook' };

// No automatic webhook delivery: every provider fact is applied by the test, at the step it names.
const world = useWorlds({ sandbox: { autoDeliver: false } });

/**
 * The real gateway, with one step slotted in at the exact point SimCity found:
 * after the worker decided to send its owed cancel and right before the
 * provider receives it. The slotted step and the cancel are both real calls.
 */
class GatewayWithStepBeforeCancel extends PaymentGateway {
  constructor(
    base: PaymentGateway,
    private readonly beforeCancel: () => Promise<void>,
    private readonly afterCancel: () => Promise<void>,
  ) {
    super(base.config);
  }

  override async cancelIntent(intentId: string, idempotencyKey: string): Promise<Stripe.PaymentIntent> {
    await this.beforeCancel();
    const intent = await super.cancelIntent(intentId, idempotencyKey);
    await this.afterCancel();
    return intent;
  }
}

/** Card bookings confirmed in our database whose intent holds no money at the provider (I4 against the provider's word). */
async function confirmedWithoutProviderMoney(w: World): Promise<string[]> {
  const rows = await w.pool.query(
    `SELECT b.id, p.provider_intent_id FROM bookings b JOIN payments p ON p.vendor_id = b.vendor_id AND p.booking_id = b.id
     WHERE b.state = 'confirmed' AND b.payment_method = 'card'`,
  );
  const intents = new Map(w.sandbox.paymentIntents().map((pi) => [pi.id, pi.status]));
  return rows.rows.filter((r) => !['requires_capture', 'succeeded'].includes(intents.get(String(r.provider_intent_id)) ?? 'missing')).map((r) => String(r.id));
}

/** As the webhook would: the provider's current intent, applied to our payment. */
async function applyProviderState(w: World, payment: Payment) {
  return applyIntent(w.pool, payment, await w.gateway.retrieveIntent(payment.providerIntentId!), { actor: WEBHOOK_ACTOR });
}

interface Interleaving {
  payment: Payment;
  slotId: string;
  /** Confirmed bookings without provider money, seen right after the provider canceled and before its answer was applied. */
  unbackedAtCancel: string[];
  /** What applying the retry's authorization did, while the cancel was in flight. */
  retryOutcome: string | null;
  settle: Promise<unknown>;
}

/**
 * 1. hold, intent; 2. the card is declined and the decline applied (the booking
 * is cancelled, the intent owed a cancel); 3. a worker starts settling the owed
 * cancel; 4. between its decision and the provider call the customer pays again
 * on the same intent and that authorization is applied, as its webhook would;
 * 5. the cancel reaches the provider; 6. its answer is applied.
 */
async function declineRetryOwedCancel(w: World): Promise<Interleaving> {
  const hold = await cardHold(w.pool);
  const { payment: started } = await startCardCheckout(w.pool, w.gateway, hold.booking.id, CUSTOMER_ACTOR);
  const intentId = started.providerIntentId!;
  expect((await payAsCustomer(w.gateway, intentId, 'pm_card_chargeDeclined')).declined).toBe(true);
  const declined = await applyProviderState(w, started);
  expect(declined.payment).toMatchObject({ status: 'failed', pendingAction: 'cancel' });
  expect((await bookingRow(w.pool, hold.booking.id)).state).toBe('cancelled');

  const seen: Pick<Interleaving, 'unbackedAtCancel' | 'retryOutcome'> = { unbackedAtCancel: [], retryOutcome: null };
  const gateway = new GatewayWithStepBeforeCancel(
    w.gateway,
    async () => {
      expect(await payAsCustomer(w.gateway, intentId, 'pm_card_visa')).toEqual({ status: 'requires_capture', declined: false });
      seen.retryOutcome = (await applyProviderState(w, started)).outcome;
    },
    async () => {
      seen.unbackedAtCancel = await confirmedWithoutProviderMoney(w);
    },
  );
  const settle = settlePayment(w.pool, gateway, started.id, WEBHOOK_ACTOR);
  await settle.catch(() => undefined);
  return { payment: started, slotId: hold.slot.id, ...seen, settle };
}

describe('an owed cancel against a customer retrying on the same intent', () => {
  // Proves the retry's authorization, arriving after the cancel was claimed, is owed back instead of confirming a booking, and everything ends released and balanced.
  it('never confirms a booking on money its in-flight cancel is voiding; ledger equals the provider', async () => {
    const w = await world();
    const run = await declineRetryOwedCancel(w);
    await expect(run.settle).resolves.toBeDefined();
    expect(run.retryOutcome).toBe('release_owed');
    expect(run.unbackedAtCancel).toEqual([]);

    const payment = await getPayment(w.pool, run.payment.id);
    expect(payment).toMatchObject({ status: 'canceled', pendingAction: 'none', bookingId: run.payment.firstBookingId, amountCapturedCents: 0 });
    expect(w.sandbox.paymentIntents().find((pi) => pi.id === payment.providerIntentId)!.status).toBe('canceled');
    expect(await bookingRow(w.pool, payment.bookingId)).toEqual({ state: 'cancelled', payment_status: 'canceled' });
    expect(await slotCount(w.pool, run.slotId)).toBe(0);
    expect(await confirmedWithoutProviderMoney(w)).toEqual([]);
    // The authorization the retry made is in the ledger and so is its release, to the cent.
    expect(await ledgerSums(w.pool, payment.id)).toEqual({ authorization: 4200, cancellation: 4200 });

    const report = await reconcile(w.pool, w.gateway, { dryRun: false, actor: RECONCILE_ACTOR });
    expect(report.repairs.filter((r) => r.error !== null)).toEqual([]);
    expect(report.totals).toMatchObject({ driftCount: 0, oursNetCents: 0, providerNetCents: 0, ledgerNetCents: 0 });
    expect(noViolations(await verifyAll(w.pool))).toBe(true);
  });

  // Twin: with 0013's apply_payment_state re-installed, the same steps leave a confirmed booking whose intent we canceled, and the cancel's answer fails with BK009.
  it('twin: before the fence, the retry confirms a booking and the stale cancel voids its money', async () => {
    const w = await world();
    await installApplyBeforeCancelFence(w.pool);
    const run = await declineRetryOwedCancel(w);
    expect(run.retryOutcome).toBe('reclaimed');
    expect(run.unbackedAtCancel.length).toBe(1);
    await expect(run.settle).rejects.toMatchObject({ code: 'PAYMENT_REQUIRED', message: expect.stringContaining('is not backed by a verified payment') });
    const payment = await getPayment(w.pool, run.payment.id);
    expect(payment).toMatchObject({ status: 'authorized', pendingAction: 'capture' });
    expect(await bookingRow(w.pool, payment.bookingId)).toEqual({ state: 'confirmed', payment_status: 'authorized' });
    expect(w.sandbox.paymentIntents().find((pi) => pi.id === payment.providerIntentId)!.status).toBe('canceled');
    expect(await confirmedWithoutProviderMoney(w)).toEqual([payment.bookingId]);
  });
});

describe('a retry that went through before the owed cancel was sent', () => {
  // Proves the owed cancel is withdrawn when the provider already holds the retry's money: the slot is re-claimed, the money captured, nothing canceled.
  it('keeps the retry: re-claims the slot and captures instead of canceling', async () => {
    const w = await world();
    const hold = await cardHold(w.pool);
    const { payment: started } = await startCardCheckout(w.pool, w.gateway, hold.booking.id, CUSTOMER_ACTOR);
    await payAsCustomer(w.gateway, started.providerIntentId!, 'pm_card_chargeDeclined');
    expect((await applyProviderState(w, started)).payment.pendingAction).toBe('cancel');
    // The retry is authorized at the provider; its webhook has not arrived when the worker settles.
    await payAsCustomer(w.gateway, started.providerIntentId!, 'pm_card_visa');
    const settled = await settlePayment(w.pool, w.gateway, started.id, WEBHOOK_ACTOR);
    expect(settled.steps.map((s) => s.action)).not.toContain('cancel');
    expect(settled.payment).toMatchObject({ status: 'captured', pendingAction: 'none', amountCapturedCents: 4200 });
    expect(settled.payment.bookingId).not.toBe(hold.booking.id);
    expect(await bookingRow(w.pool, settled.payment.bookingId)).toEqual({ state: 'confirmed', payment_status: 'captured' });
    expect(w.sandbox.paymentIntents().find((pi) => pi.id === started.providerIntentId)!.status).toBe('succeeded');
    expect(await ledgerSums(w.pool, started.id)).toEqual({ authorization: 4200, capture: 4200 });
    expect(noViolations(await verifyAll(w.pool))).toBe(true);
  });
});

describe('the provider takes the money away from a confirmed booking', () => {
  /** A confirmed booking with an authorization, which the provider then cancels (an expired or voided authorization). */
  async function authorizationCanceledAtProvider(w: World) {
    const hold = await cardHold(w.pool);
    const { payment } = await startCardCheckout(w.pool, w.gateway, hold.booking.id, CUSTOMER_ACTOR);
    await payAsCustomer(w.gateway, payment.providerIntentId!, 'pm_card_visa');
    expect((await applyProviderState(w, payment)).outcome).toBe('confirmed');
    await w.gateway.cancelIntent(payment.providerIntentId!, `test:${payment.id}:provider-void`);
    return { hold, payment, applied: applyProviderState(w, payment) };
  }

  // Proves an authorization canceled at the provider cancels its confirmed booking and frees the slot, instead of failing with BK009.
  it('cancels the booking and frees the slot', async () => {
    const w = await world();
    const { hold, payment, applied } = await authorizationCanceledAtProvider(w);
    expect((await applied).outcome).toBe('cancelled');
    expect(await bookingRow(w.pool, hold.booking.id)).toEqual({ state: 'cancelled', payment_status: 'canceled' });
    expect(await getPayment(w.pool, payment.id)).toMatchObject({ status: 'canceled', pendingAction: 'none' });
    expect(await slotCount(w.pool, hold.slot.id)).toBe(0);
    expect(await confirmedWithoutProviderMoney(w)).toEqual([]);
    expect(noViolations(await verifyAll(w.pool))).toBe(true);
  });

  // Twin: 0013's apply_payment_state cannot apply that fact (BK009), leaving the booking confirmed with no money at the provider.
  it('twin: before 0014 the fact is refused and the booking stays confirmed without money', async () => {
    const w = await world();
    await installApplyBeforeCancelFence(w.pool);
    const { hold, applied } = await authorizationCanceledAtProvider(w);
    await expect(applied).rejects.toMatchObject({ code: 'PAYMENT_REQUIRED' });
    expect(await bookingRow(w.pool, hold.booking.id)).toEqual({ state: 'confirmed', payment_status: 'authorized' });
    expect(await confirmedWithoutProviderMoney(w)).toEqual([hold.booking.id]);
  });
});
