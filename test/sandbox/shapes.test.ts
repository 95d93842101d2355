// Every object the sandbox returns carries every required field of the
// matching `stripe` type (lists compile-checked in shapes.ts), over the API,
// in error bodies and in webhook payloads.

import type Stripe from 'stripe';
import { afterEach, describe, expect, it } from 'vitest';
import { CHARGE_FIELDS, EVENT_FIELDS, LIST_FIELDS, missingFields, PAYMENT_INTENT_FIELDS, REFUND_FIELDS } from './shapes.js';
import { cardIntent, failure, type Harness, openSandbox, type Receiver, startReceiver, WEBHOOK_SECRET } from './helpers.js';

let h: Harness | undefined;
let receiver: Receiver | undefined;
afterEach(async () => {
  await h?.close();
  await receiver?.close();
  h = undefined;
  receiver = undefined;
});

describe('response shapes', () => {
  it('returns complete PaymentIntents, Charges, Refunds, Events and lists', async () => {
    // Proves field completeness of every kind of object, in every status the sandbox produces.
    receiver = await startReceiver();
    h = await openSandbox({ webhookUrl: receiver.url });
    const { stripe } = h;
    const intents: Stripe.PaymentIntent[] = [];
    intents.push(await stripe.paymentIntents.create({ automatic_payment_methods: { enabled: true, allow_redirects: 'never' }, amount: 1000, currency: 'usd' }));
    intents.push(
      await stripe.paymentIntents.create(
        cardIntent({
          amount: 1000,
          payment_method: 'pm_card_visa',
        }),
      ),
    );
    intents.push(
      await stripe.paymentIntents.create(
        cardIntent({
          amount: 1000,
          payment_method: 'pm_card_authenticationRequired',
          confirm: true,
        }),
      ),
    );
    const manual = await stripe.paymentIntents.create(
      cardIntent({
        amount: 1000,
        capture_method: 'manual',
        payment_method: 'pm_card_visa',
        confirm: true,
      }),
    );
    intents.push(manual, await stripe.paymentIntents.capture(manual.id));
    intents.push(await stripe.paymentIntents.cancel(intents[0]!.id));
    const declined = await failure(
      stripe.paymentIntents.create(
        cardIntent({
          amount: 1000,
          payment_method: 'pm_card_chargeDeclined',
          confirm: true,
        }),
      ),
    );
    intents.push(declined.payment_intent!);
    intents.push(await stripe.paymentIntents.retrieve(manual.id, { expand: ['latest_charge'] }));
    for (const pi of intents) expect(missingFields(pi, PAYMENT_INTENT_FIELDS), pi.status).toEqual([]);
    expect(typeof intents.at(-1)!.latest_charge).toBe('object');

    const charge: Stripe.Charge = await stripe.charges.retrieve(manual.latest_charge as string);
    expect(missingFields(charge, CHARGE_FIELDS)).toEqual([]);
    const refund: Stripe.Refund = await stripe.refunds.create({ payment_intent: manual.id, amount: 100 });
    expect(missingFields(refund, REFUND_FIELDS)).toEqual([]);

    const lists = [await stripe.paymentIntents.list(), await stripe.refunds.list(), await stripe.events.list()];
    for (const list of lists) expect(missingFields(list, LIST_FIELDS)).toEqual([]);

    await h.sandbox.flushWebhooks();
    const delivered = receiver.received.map((r) => h!.stripe.webhooks.constructEvent(r.body, r.signature!, WEBHOOK_SECRET));
    expect(delivered.length).toBe(h.sandbox.events().length);
    for (const event of delivered) {
      expect(missingFields(event, EVENT_FIELDS)).toEqual([]);
      const fields = event.type.startsWith('payment_intent.') ? PAYMENT_INTENT_FIELDS : event.type === 'refund.created' ? REFUND_FIELDS : CHARGE_FIELDS;
      expect(missingFields(event.data.object, fields), event.type).toEqual([]);
    }
    expect(new Set(delivered.map((e) => e.type))).toEqual(
      new Set([
        'payment_intent.created',
        'payment_intent.requires_action',
        'payment_intent.amount_capturable_updated',
        'payment_intent.succeeded',
        'payment_intent.canceled',
        'payment_intent.payment_failed',
        'refund.created',
        'charge.refunded',
        'charge.succeeded',
        'charge.captured',
        'charge.failed',
      ]),
    );
  });

  it('flags an object with a field removed', async () => {
    // Twin: the completeness check is not vacuous; a PaymentIntent stripped of client_secret and status is caught.
    h = await openSandbox();
    const pi = await h.stripe.paymentIntents.create({ automatic_payment_methods: { enabled: true, allow_redirects: 'never' }, amount: 1000, currency: 'usd' });
    const { client_secret: _secret, status: _status, ...broken } = pi;
    expect(missingFields(broken, PAYMENT_INTENT_FIELDS)).toEqual(['client_secret', 'status']);
  });
});
