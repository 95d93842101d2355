// Webhook delivery to a real local receiver: Stripe's signature accepted by
// the SDK's constructEvent (and forgeries refused), at-least-once retries with
// every attempt logged, manual redelivery, and queuing until a URL exists.

import Stripe from 'stripe';
import { afterEach, describe, expect, it } from 'vitest';
import { signatureHeader, verifyStripeSignature } from '../../src/stripeSandbox/index.js';
import { signInBase64, signWithoutTimestamp, signWithStrippedSecret } from './fixtures/brokenSigners.js';
import { cardIntent, type Harness, openSandbox, type Receiver, startReceiver, WEBHOOK_SECRET } from './helpers.js';

let h: Harness | undefined;
let receiver: Receiver | undefined;
afterEach(async () => {
  await h?.close();
  await receiver?.close();
  h = undefined;
  receiver = undefined;
});

// The SDK's verifier, used exactly as a Bookiji webhook endpoint would use it.
const verifier = new Stripe('sk_test_verifier_only');

function rejects(fn: () => unknown): Stripe.errors.StripeError | undefined {
  try {
    fn();
  } catch (e) {
    return e as Stripe.errors.StripeError;
  }
  return undefined;
}

async function authorizeAndCapture(h: Harness): Promise<string> {
  const pi = await h.stripe.paymentIntents.create(
    cardIntent({
      amount: 2000,
      capture_method: 'manual',
      payment_method: 'pm_card_visa',
      confirm: true,
    }),
  );
  await h.stripe.paymentIntents.capture(pi.id);
  return pi.id;
}

describe('signed delivery', () => {
  it('delivers every event to the receiver, and constructEvent accepts each one', async () => {
    // Proves delivery and signing: every event arrives once, verifies with the SDK, and is acknowledged (pending_webhooks 0).
    receiver = await startReceiver();
    h = await openSandbox({ webhookUrl: receiver.url });
    await authorizeAndCapture(h);
    await h.sandbox.flushWebhooks();

    const created = h.sandbox.events();
    expect(created.map((e) => e.type)).toEqual([
      'payment_intent.created',
      'charge.succeeded',
      'payment_intent.amount_capturable_updated',
      'charge.captured',
      'payment_intent.succeeded',
    ]);
    expect(receiver.received.map((r) => r.eventId).sort()).toEqual(created.map((e) => e.id).sort());
    for (const hook of receiver.received) {
      const event: Stripe.Event = verifier.webhooks.constructEvent(hook.body, hook.signature!, WEBHOOK_SECRET);
      expect(event.id).toBe(hook.eventId);
      expect(event.object).toBe('event');
      expect(hook.signature).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
      expect(hook.headers['content-type']).toBe('application/json; charset=utf-8');
      expect(hook.headers['user-agent']).toContain('Stripe/1.0');
    }
    const acknowledged = await h.stripe.events.list({ delivery_success: true });
    expect(acknowledged.data).toHaveLength(5);
    expect(acknowledged.data.every((e) => e.pending_webhooks === 0)).toBe(true);
  });

  it('is refused by constructEvent when the payload is tampered with or the secret is wrong', async () => {
    // Twin of the signing check: a changed byte, a wrong secret or a stale timestamp each fail verification.
    receiver = await startReceiver();
    h = await openSandbox({ webhookUrl: receiver.url });
    await h.stripe.paymentIntents.create({ automatic_payment_methods: { enabled: true, allow_redirects: 'never' }, amount: 2000, currency: 'usd' });
    await h.sandbox.flushWebhooks();
    const hook = receiver.received[0]!;

    const tampered = hook.body.replace('"amount": 2000', '"amount": 1');
    expect(tampered).not.toBe(hook.body);
    expect(rejects(() => verifier.webhooks.constructEvent(tampered, hook.signature!, WEBHOOK_SECRET))).toBeInstanceOf(
      Stripe.errors.StripeSignatureVerificationError,
    );
    expect(rejects(() => verifier.webhooks.constructEvent(hook.body, hook.signature!, 'whsec_someone_else'))).toBeInstanceOf(
      Stripe.errors.StripeSignatureVerificationError,
    );
    const tenMinutesLaterMs = Date.now() + 600_000;
    const stale = rejects(() => verifier.webhooks.constructEvent(hook.body, hook.signature!, WEBHOOK_SECRET, 300, undefined, tenMinutesLaterMs));
    expect(stale?.message).toContain('Timestamp outside the tolerance zone');
    expect(rejects(() => verifier.webhooks.constructEvent(hook.body, hook.signature!, WEBHOOK_SECRET))).toBeUndefined();
  });

  it('shows that plausible home-made signing schemes are rejected by constructEvent', async () => {
    // Twin: signatures made the wrong way (no timestamp, stripped secret, base64) fail, the sandbox's own succeeds.
    const payload = JSON.stringify({ id: 'evt_fixture', object: 'event', type: 'payment_intent.created' }, null, 2);
    const t = Math.floor(Date.now() / 1000);
    for (const sign of [signWithoutTimestamp, signWithStrippedSecret, signInBase64]) {
      const error = rejects(() => verifier.webhooks.constructEvent(payload, sign(payload, WEBHOOK_SECRET, t), WEBHOOK_SECRET));
      expect(error, sign.name).toBeInstanceOf(Stripe.errors.StripeSignatureVerificationError);
    }
    expect(verifier.webhooks.constructEvent(payload, signatureHeader(payload, WEBHOOK_SECRET, t), WEBHOOK_SECRET).id).toBe('evt_fixture');
  });

  it('agrees with the SDK in verifyStripeSignature, for receivers without the SDK', () => {
    // Proves the exported verifier accepts what the SDK accepts and refuses what it refuses.
    const payload = '{"id":"evt_1"}';
    const header = signatureHeader(payload, WEBHOOK_SECRET);
    expect(verifyStripeSignature(payload, header, WEBHOOK_SECRET)).toBe(true);
    expect(verifyStripeSignature(payload.replace('1', '2'), header, WEBHOOK_SECRET)).toBe(false);
    expect(verifyStripeSignature(payload, header, 'whsec_other')).toBe(false);
    expect(verifyStripeSignature(payload, signWithoutTimestamp(payload, WEBHOOK_SECRET, 1), WEBHOOK_SECRET)).toBe(false);
  });
});

describe('retries', () => {
  it('retries after a 500 and logs both attempts', async () => {
    // Proves at-least-once delivery: a receiver answering 500 then 200 gets the same event twice, both signed correctly.
    receiver = await startReceiver((n) => (n === 0 ? 500 : 200));
    h = await openSandbox({ webhookUrl: receiver.url, deliveryBackoffMs: 20 });
    await h.stripe.paymentIntents.create({ automatic_payment_methods: { enabled: true, allow_redirects: 'never' }, amount: 2000, currency: 'usd' });
    await h.sandbox.flushWebhooks();

    const [event] = h.sandbox.events();
    expect(receiver.received.map((r) => r.eventId)).toEqual([event!.id, event!.id]);
    for (const hook of receiver.received) {
      expect(verifier.webhooks.constructEvent(hook.body, hook.signature!, WEBHOOK_SECRET).id).toBe(event!.id);
    }
    const log = h.sandbox.deliveryLog();
    expect(log.map(({ attempt, status, outcome, retryInMs, kind }) => ({ attempt, status, outcome, retryInMs, kind }))).toEqual([
      { attempt: 1, status: 500, outcome: 'http_error', retryInMs: 20, kind: 'automatic' },
      { attempt: 2, status: 200, outcome: 'delivered', retryInMs: undefined, kind: 'automatic' },
    ]);
    expect(log[0]!.deliveryId).toBe(log[1]!.deliveryId);
    expect((await h.stripe.events.retrieve(event!.id)).pending_webhooks).toBe(0);
  });

  it('retries when the receiver does not answer in time', async () => {
    // Proves a timeout counts as a failed attempt and is retried.
    receiver = await startReceiver((n) => (n === 0 ? 'hang' : 204));
    h = await openSandbox({ webhookUrl: receiver.url, deliveryTimeoutMs: 150, deliveryBackoffMs: 10 });
    await h.stripe.paymentIntents.create({ automatic_payment_methods: { enabled: true, allow_redirects: 'never' }, amount: 2000, currency: 'usd' });
    await h.sandbox.flushWebhooks();
    expect(h.sandbox.deliveryLog().map((a) => a.outcome)).toEqual(['timeout', 'delivered']);
    expect(h.sandbox.deliveryLog()[1]!.status).toBe(204);
  });

  it('gives up after deliveryAttemptMax attempts and leaves the event pending for reconciliation', async () => {
    // Twin of the retry: a receiver that never recovers gets exactly the maximum attempts, and the event stays listed as undelivered.
    receiver = await startReceiver(() => 500);
    h = await openSandbox({ webhookUrl: receiver.url, deliveryAttemptMax: 3, deliveryBackoffMs: 5 });
    await h.stripe.paymentIntents.create({ automatic_payment_methods: { enabled: true, allow_redirects: 'never' }, amount: 2000, currency: 'usd' });
    await h.sandbox.flushWebhooks();
    expect(h.sandbox.deliveryLog().map((a) => a.attempt)).toEqual([1, 2, 3]);
    expect(receiver.received).toHaveLength(3);
    const pending = await h.stripe.events.list({ delivery_success: false });
    expect(pending.data.map((e) => e.id)).toEqual([h.sandbox.events()[0]!.id]);
    expect(pending.data[0]!.pending_webhooks).toBe(1);
  });
});

describe('manual delivery and queuing', () => {
  it('redelivers a stored event on triggerWebhook', async () => {
    // Proves triggerWebhook: the same event, freshly signed, delivered again and logged as manual.
    receiver = await startReceiver();
    h = await openSandbox({ webhookUrl: receiver.url });
    await h.stripe.paymentIntents.create({ automatic_payment_methods: { enabled: true, allow_redirects: 'never' }, amount: 2000, currency: 'usd' });
    await h.sandbox.flushWebhooks();
    const eventId = h.sandbox.events()[0]!.id;
    const attempt = await h.sandbox.triggerWebhook(eventId);
    expect(attempt).toMatchObject({ eventId, kind: 'manual', outcome: 'delivered', status: 200 });
    expect(receiver.received.map((r) => r.eventId)).toEqual([eventId, eventId]);
    const again = receiver.received[1]!;
    expect(verifier.webhooks.constructEvent(again.body, again.signature!, WEBHOOK_SECRET).id).toBe(eventId);
  });

  it('queues events until a webhook URL is set', async () => {
    // Proves events created before setWebhookUrl are kept and delivered once there is somewhere to send them.
    h = await openSandbox();
    await authorizeAndCapture(h);
    await h.sandbox.flushWebhooks();
    expect(h.sandbox.deliveryLog()).toEqual([]);
    receiver = await startReceiver();
    h.sandbox.setWebhookUrl(receiver.url);
    await h.sandbox.flushWebhooks();
    expect(receiver.received).toHaveLength(5);
  });

  it('delivers only on flushWebhooks when autoDeliver is off, in event order', async () => {
    // Proves manual-flush mode: nothing is sent while calls run; the flush sends everything.
    receiver = await startReceiver();
    h = await openSandbox({ webhookUrl: receiver.url, autoDeliver: false });
    await authorizeAndCapture(h);
    expect(receiver.received).toEqual([]);
    await h.sandbox.flushWebhooks();
    expect(receiver.received.map((r) => r.eventType).sort()).toEqual([
      'charge.captured',
      'charge.succeeded',
      'payment_intent.amount_capturable_updated',
      'payment_intent.created',
      'payment_intent.succeeded',
    ]);
  });
});
