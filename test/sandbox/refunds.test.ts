// Refunds through the real SDK: full and partial, the limits Stripe enforces,
// and the refund.created / charge.refunded events.

import Stripe from 'stripe';
import { afterEach, describe, expect, it } from 'vitest';
import { cardIntent, failure, type Harness, openSandbox } from './helpers.js';

let h: Harness;
afterEach(async () => {
  await h?.close();
});

async function paid(h: Harness, amount = 5000): Promise<Stripe.PaymentIntent> {
  return h.stripe.paymentIntents.create(
    cardIntent({
      amount,
      payment_method: 'pm_card_visa',
      confirm: true,
    }),
  );
}

describe('refunds', () => {
  it('refunds a succeeded payment in full', async () => {
    // Proves a full refund: Stripe's refund object, the charge marked refunded, and both events.
    h = await openSandbox();
    const pi = await paid(h);
    const refund: Stripe.Refund = await h.stripe.refunds.create({ payment_intent: pi.id, reason: 'requested_by_customer' });
    expect(refund).toMatchObject({
      object: 'refund',
      amount: 5000,
      currency: 'usd',
      status: 'succeeded',
      payment_intent: pi.id,
      charge: pi.latest_charge,
      reason: 'requested_by_customer',
    });
    expect(refund.id).toMatch(/^re_/);
    expect(await h.stripe.refunds.retrieve(refund.id)).toMatchObject({ id: refund.id, amount: 5000 });
    expect(h.sandbox.charges()[0]).toMatchObject({ refunded: true, amount_refunded: 5000 });
    const events = h.sandbox.events().slice(-2);
    expect(events.map((e) => e.type)).toEqual(['refund.created', 'charge.refunded']);
    expect(events[1]!.data.object).toMatchObject({ object: 'charge', refunded: true, amount_refunded: 5000 });
    // A refund leaves the intent succeeded, as in Stripe.
    expect((await h.stripe.paymentIntents.retrieve(pi.id)).status).toBe('succeeded');
  });

  it('allows partial refunds up to the captured amount and no further', async () => {
    // Proves the refundable balance: two partials, then amount_too_large, then charge_already_refunded.
    h = await openSandbox();
    const pi = await paid(h);
    await h.stripe.refunds.create({ payment_intent: pi.id, amount: 2000 });
    const over = await failure(h.stripe.refunds.create({ payment_intent: pi.id, amount: 3001 }));
    expect(over).toMatchObject({ statusCode: 400, code: 'amount_too_large', param: 'amount' });
    await h.stripe.refunds.create({ payment_intent: pi.id, amount: 3000 });
    const done = await failure(h.stripe.refunds.create({ payment_intent: pi.id }));
    expect(done).toMatchObject({ statusCode: 400, code: 'charge_already_refunded' });
    const listed = await h.stripe.refunds.list({ payment_intent: pi.id });
    expect(listed.data.map((r) => r.amount)).toEqual([3000, 2000]);
  });

  it('only refunds what a partial capture actually took', async () => {
    // Proves a partially captured charge can be refunded up to the captured amount only.
    h = await openSandbox();
    const pi = await h.stripe.paymentIntents.create(
      cardIntent({
        amount: 5000,
        capture_method: 'manual',
        payment_method: 'pm_card_visa',
        confirm: true,
      }),
    );
    await h.stripe.paymentIntents.capture(pi.id, { amount_to_capture: 3000 });
    const refund = await h.stripe.refunds.create({ payment_intent: pi.id });
    expect(refund.amount).toBe(3000);
    expect(h.sandbox.charges()[0]).toMatchObject({ refunded: true, amount_refunded: 5000, amount_captured: 3000 });
  });

  it('refuses to refund a payment that has not succeeded', async () => {
    // Twin of the full refund: an uncaptured authorization has nothing to refund (cancel it instead).
    h = await openSandbox();
    const pi = await h.stripe.paymentIntents.create(
      cardIntent({
        amount: 5000,
        capture_method: 'manual',
        payment_method: 'pm_card_visa',
        confirm: true,
      }),
    );
    const err = await failure(h.stripe.refunds.create({ payment_intent: pi.id }));
    expect(err).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect(err).toMatchObject({ statusCode: 400, code: 'payment_intent_unexpected_state' });
    expect(h.sandbox.refunds()).toEqual([]);
  });

  it('answers an unknown refund or payment intent with resource_missing', async () => {
    // Proves missing objects on the refund endpoints are Stripe's resource_missing.
    h = await openSandbox();
    expect(await failure(h.stripe.refunds.retrieve('re_missing00000000000000000'))).toMatchObject({ statusCode: 404, code: 'resource_missing' });
    expect(await failure(h.stripe.refunds.create({ payment_intent: 'pi_missing00000000000000000' }))).toMatchObject({
      statusCode: 404,
      code: 'resource_missing',
      param: 'payment_intent',
    });
  });
});
