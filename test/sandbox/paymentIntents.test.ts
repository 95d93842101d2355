// The PaymentIntent state machine through the real `stripe` SDK: every path
// Bookiji uses, Stripe's error shapes for the illegal ones, and listing.

import Stripe from 'stripe';
import { afterEach, describe, expect, it } from 'vitest';
import { BookijiError } from '../../src/errors.js';
import { API_KEY, cardIntent, failure, type Harness, openSandbox, rawCall } from './helpers.js';

let h: Harness;
afterEach(async () => {
  await h?.close();
});

const types = (h: Harness) => h.sandbox.events().map((e) => e.type);

describe('manual capture', () => {
  it('authorizes on confirm and takes the money on capture', async () => {
    // Proves the manual-capture path: requires_capture holding the full amount, then succeeded with it received.
    h = await openSandbox();
    const created: Stripe.PaymentIntent = await h.stripe.paymentIntents.create(
      cardIntent({
        amount: 2500,
        capture_method: 'manual',
        payment_method: 'pm_card_visa',
        confirm: true,
        metadata: { booking_id: 'bk_1' },
      }),
    );
    expect(created).toMatchObject({
      object: 'payment_intent',
      status: 'requires_capture',
      amount: 2500,
      amount_capturable: 2500,
      amount_received: 0,
      capture_method: 'manual',
      metadata: { booking_id: 'bk_1' },
      livemode: false,
    });
    expect(created.id).toMatch(/^pi_[A-Za-z0-9]{24}$/);
    // As in Stripe test mode, the test token becomes a freshly minted PaymentMethod.
    expect(created.payment_method).toMatch(/^pm_[A-Za-z0-9]{24}$/);
    expect(created.latest_charge).toMatch(/^ch_/);

    const captured = await h.stripe.paymentIntents.capture(created.id);
    expect(captured).toMatchObject({ status: 'succeeded', amount_received: 2500, amount_capturable: 0 });
    expect(types(h)).toEqual([
      'payment_intent.created',
      'charge.succeeded',
      'payment_intent.amount_capturable_updated',
      'charge.captured',
      'payment_intent.succeeded',
    ]);
    const charge = h.sandbox.charges()[0]!;
    expect(charge).toMatchObject({ captured: true, amount_captured: 2500, status: 'succeeded', payment_intent: created.id });
  });

  it('captures part of the authorization and refuses to capture more than is capturable', async () => {
    // Proves amount_to_capture: a partial capture succeeds; asking for more than authorized is Stripe's 400.
    h = await openSandbox();
    const a = await h.stripe.paymentIntents.create(
      cardIntent({
        amount: 1000,
        capture_method: 'manual',
        payment_method: 'pm_card_visa',
        confirm: true,
      }),
    );
    const tooMuch = await failure(h.stripe.paymentIntents.capture(a.id, { amount_to_capture: 1001 }));
    expect(tooMuch).toMatchObject({ statusCode: 400, code: 'amount_too_large', param: 'amount_to_capture' });
    const partial = await h.stripe.paymentIntents.capture(a.id, { amount_to_capture: 600 });
    expect(partial).toMatchObject({ status: 'succeeded', amount_received: 600 });
    expect(h.sandbox.charges()[0]).toMatchObject({ amount_captured: 600, amount_refunded: 400 });
  });

  it('releases the authorization when a requires_capture intent is canceled', async () => {
    // Proves cancel from requires_capture: canceled with the reason, nothing capturable, the charge released.
    h = await openSandbox();
    const a = await h.stripe.paymentIntents.create(
      cardIntent({
        amount: 1000,
        capture_method: 'manual',
        payment_method: 'pm_card_visa',
        confirm: true,
      }),
    );
    const canceled = await h.stripe.paymentIntents.cancel(a.id, { cancellation_reason: 'requested_by_customer' });
    expect(canceled).toMatchObject({ status: 'canceled', cancellation_reason: 'requested_by_customer', amount_capturable: 0 });
    expect(canceled.canceled_at).toEqual(expect.any(Number));
    expect(h.sandbox.charges()[0]).toMatchObject({ refunded: true, amount_refunded: 1000 });
    expect(types(h).at(-1)).toBe('payment_intent.canceled');
  });
});

describe('automatic capture', () => {
  it('succeeds on confirm, with Stripe’s default capture method', async () => {
    // Proves automatic capture: one confirm, succeeded, amount received; the default capture_method is Stripe's automatic_async.
    h = await openSandbox();
    const pi = await h.stripe.paymentIntents.create(
      cardIntent({
        amount: 1800,
        currency: 'eur',
        payment_method: 'pm_card_mastercard',
        confirm: true,
      }),
    );
    expect(pi).toMatchObject({ status: 'succeeded', amount_received: 1800, capture_method: 'automatic_async', currency: 'eur' });
    // automatic_async: the balance transaction arrives after the capture, announced by charge.updated.
    expect(types(h)).toEqual(['payment_intent.created', 'charge.succeeded', 'payment_intent.succeeded', 'charge.updated']);
  });

  it('goes through requires_payment_method and requires_confirmation when built step by step', async () => {
    // Proves the two-step path: create bare, attach a method with update, then confirm.
    h = await openSandbox();
    const bare = await h.stripe.paymentIntents.create(
      cardIntent({
        amount: 900,
        capture_method: 'automatic',
      }),
    );
    expect(bare.status).toBe('requires_payment_method');
    const withMethod = await h.stripe.paymentIntents.update(bare.id, { payment_method: 'pm_card_visa' });
    expect(withMethod.status).toBe('requires_confirmation');
    const confirmed = await h.stripe.paymentIntents.confirm(bare.id);
    expect(confirmed).toMatchObject({ status: 'succeeded', amount_received: 900 });
  });
});

describe('declines', () => {
  it('answers 402 card_declined and sends the intent back to requires_payment_method', async () => {
    // Proves a decline: StripeCardError with Stripe's fields, the intent reusable, payment_failed emitted.
    h = await openSandbox();
    const pi = await h.stripe.paymentIntents.create(
      cardIntent({
        amount: 1200,
        capture_method: 'manual',
      }),
    );
    const err = await failure(h.stripe.paymentIntents.confirm(pi.id, { payment_method: 'pm_card_chargeDeclined' }));
    expect(err).toBeInstanceOf(Stripe.errors.StripeCardError);
    expect(err).toMatchObject({ statusCode: 402, rawType: 'card_error', code: 'card_declined', decline_code: 'generic_decline' });
    expect(err.payment_intent?.id).toBe(pi.id);
    expect(err.charge).toMatch(/^ch_/);

    const after = await h.stripe.paymentIntents.retrieve(pi.id);
    expect(after.status).toBe('requires_payment_method');
    expect(after.payment_method).toBeNull();
    expect(after.last_payment_error).toMatchObject({ type: 'card_error', code: 'card_declined', decline_code: 'generic_decline' });
    expect(types(h)).toEqual(['payment_intent.created', 'charge.failed', 'payment_intent.payment_failed']);
    expect(h.sandbox.charges()[0]).toMatchObject({ status: 'failed', paid: false, failure_code: 'card_declined' });
  });

  it('lets the customer retry a declined intent with a good card', async () => {
    // Twin of the decline: the same intent confirmed again with pm_card_visa authorizes, and last_payment_error clears.
    h = await openSandbox();
    const pi = await h.stripe.paymentIntents.create(
      cardIntent({
        amount: 1200,
        capture_method: 'manual',
      }),
    );
    await failure(h.stripe.paymentIntents.confirm(pi.id, { payment_method: 'pm_card_visa_chargeDeclined' }));
    const retried = await h.stripe.paymentIntents.confirm(pi.id, { payment_method: 'pm_card_visa' });
    expect(retried).toMatchObject({ status: 'requires_capture', last_payment_error: null, amount_capturable: 1200 });
  });

  it('reports the specific decline reason of the insufficient-funds card', async () => {
    // Proves declines carry the card's own decline_code and message, as Stripe's test cards do.
    h = await openSandbox();
    const err = await failure(
      h.stripe.paymentIntents.create(
        cardIntent({
          amount: 700,
          payment_method: 'pm_card_chargeDeclinedInsufficientFunds',
          confirm: true,
        }),
      ),
    );
    expect(err).toMatchObject({ statusCode: 402, code: 'card_declined', decline_code: 'insufficient_funds', message: 'Your card has insufficient funds.' });
  });
});

describe('3-D Secure (requires_action)', () => {
  it('waits in requires_action until the customer completes authentication', async () => {
    // Proves requires_action: next_action set, then completeAction('succeed') authorizes with an automatic (request-less) event.
    h = await openSandbox();
    const pi = await h.stripe.paymentIntents.create(
      cardIntent({
        amount: 3000,
        capture_method: 'manual',
        payment_method: 'pm_card_authenticationRequired',
        confirm: true,
      }),
    );
    expect(pi.status).toBe('requires_action');
    expect(pi.next_action?.type).toBe('use_stripe_sdk');
    const done = h.sandbox.completeAction(pi.id, 'succeed');
    expect(done).toMatchObject({ status: 'requires_capture', amount_capturable: 3000, next_action: null });
    const events = h.sandbox.events();
    expect(events.map((e) => e.type)).toEqual([
      'payment_intent.created',
      'payment_intent.requires_action',
      'charge.succeeded',
      'payment_intent.amount_capturable_updated',
    ]);
    expect(events[1]!.request?.id).toMatch(/^req_/);
    expect(events[3]!.request).toEqual({ id: null, idempotency_key: null });
    expect((await h.stripe.paymentIntents.capture(pi.id)).status).toBe('succeeded');
  });

  it('returns to requires_payment_method when authentication fails', async () => {
    // Twin of the 3DS success: a failed authentication leaves no charge and reports payment_intent_authentication_failure.
    h = await openSandbox();
    const pi = await h.stripe.paymentIntents.create(
      cardIntent({
        amount: 3000,
        payment_method: 'pm_card_threeDSecure2Required',
        confirm: true,
      }),
    );
    const failed = h.sandbox.completeAction(pi.id, 'fail');
    expect(failed).toMatchObject({ status: 'requires_payment_method', payment_method: null });
    expect(failed.last_payment_error?.code).toBe('payment_intent_authentication_failure');
    expect(h.sandbox.events().at(-1)!.type).toBe('payment_intent.payment_failed');
    expect(h.sandbox.charges()).toEqual([]);
  });

  it('lets the customer finish 3-D Secure over HTTP at the next_action link', async () => {
    // Proves the next_action URL is live: POSTing outcome=succeed there (no API key) authorizes; a second POST is refused.
    h = await openSandbox();
    const pi = await h.stripe.paymentIntents.create(
      cardIntent({
        amount: 3000,
        payment_method: 'pm_card_authenticationRequired',
        confirm: true,
      }),
    );
    const link = (pi.next_action!.use_stripe_sdk as { stripe_js: string }).stripe_js;
    expect(link.startsWith(h.sandbox.url)).toBe(true);
    const post = (outcome: string) =>
      fetch(link, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: `outcome=${outcome}` });
    const done = await post('succeed');
    expect(done.status).toBe(200);
    expect(((await done.json()) as Stripe.PaymentIntent).status).toBe('succeeded');
    const again = await post('succeed');
    expect(again.status).toBe(400);
    expect(((await again.json()) as { error: { message: string } }).error.message).toContain('not requires_action');
  });

  it('refuses to complete an action on an intent that is not waiting for one', async () => {
    // Proves completeAction guards its precondition with Bookiji's INVALID_TRANSITION error.
    h = await openSandbox();
    const pi = await h.stripe.paymentIntents.create(
      cardIntent({
        amount: 3000,
        payment_method: 'pm_card_visa',
        confirm: true,
      }),
    );
    let thrown: unknown;
    try {
      h.sandbox.completeAction(pi.id, 'succeed');
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(BookijiError);
    expect((thrown as BookijiError).code).toBe('INVALID_TRANSITION');
  });
});

describe('capture that fails after authorization (fault plan: captureExpired…)', () => {
  it('fails the capture of a named intent with charge_expired_for_capture and cancels it', async () => {
    // Proves the plan's capture fault: requires_capture first, then a 400 at capture and a canceled intent.
    h = await openSandbox();
    const pi = await h.stripe.paymentIntents.create(
      cardIntent({
        amount: 5000,
        capture_method: 'manual',
        payment_method: 'pm_card_visa',
        confirm: true,
      }),
    );
    expect(pi.status).toBe('requires_capture');
    h.sandbox.setFaults({ captureExpiredIntents: [pi.id] });
    const err = await failure(h.stripe.paymentIntents.capture(pi.id));
    expect(err).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect(err).toMatchObject({ statusCode: 400, code: 'charge_expired_for_capture' });
    const after = await h.stripe.paymentIntents.retrieve(pi.id);
    expect(after).toMatchObject({ status: 'canceled', cancellation_reason: 'expired', amount_received: 0 });
    expect(types(h).at(-1)).toBe('payment_intent.canceled');
    expect(h.sandbox.faultLog().filter((d) => d.domain === 'api' && d.fault === 'capture_expired')).toHaveLength(1);
  });

  it('captures every other intent normally, and fails captures at captureExpiredRate 1', async () => {
    // Twin: an intent the plan does not name captures; with rate 1 every capture fails.
    h = await openSandbox({ faults: { captureExpiredIntents: ['pi_someoneelse'] } });
    const create = () =>
      h.stripe.paymentIntents.create(
        cardIntent({
          amount: 5000,
          capture_method: 'manual',
          payment_method: 'pm_card_visa',
          confirm: true,
        }),
      );
    const fine = await create();
    expect((await h.stripe.paymentIntents.capture(fine.id)).status).toBe('succeeded');
    h.sandbox.setFaults({ captureExpiredRate: 1 });
    const doomed = await create();
    expect(await failure(h.stripe.paymentIntents.capture(doomed.id))).toMatchObject({ code: 'charge_expired_for_capture' });
  });

  it('has no Bookiji-only card token: pm_card_bookiji_captureFails is refused as Stripe would', async () => {
    // Proves the fake token is gone: Stripe answers an unknown PaymentMethod with resource_missing.
    h = await openSandbox();
    const err = await failure(
      h.stripe.paymentIntents.create(
        cardIntent({
          amount: 5000,
          payment_method: 'pm_card_bookiji_captureFails',
          confirm: true,
        }),
      ),
    );
    expect(err).toMatchObject({ statusCode: 400, code: 'resource_missing', param: 'payment_method' });
  });
});

describe('illegal moves and bad requests', () => {
  it('answers an illegal transition with Stripe’s payment_intent_unexpected_state JSON', async () => {
    // Proves the wire shape of a state error: HTTP 400, {"error":{"type","code","message","payment_intent"}}.
    h = await openSandbox();
    const pi = await h.stripe.paymentIntents.create({ automatic_payment_methods: { enabled: true, allow_redirects: 'never' }, amount: 1000, currency: 'usd' });
    const res = await rawCall(h.sandbox, 'POST', `/v1/payment_intents/${pi.id}/capture`);
    expect(res.status).toBe(400);
    const body = res.json as { error: Record<string, unknown> };
    expect(Object.keys(body)).toEqual(['error']);
    expect(body.error).toMatchObject({
      type: 'invalid_request_error',
      code: 'payment_intent_unexpected_state',
      message: expect.stringContaining('status of requires_payment_method'),
      payment_intent: { id: pi.id, status: 'requires_payment_method' },
    });
    expect(res.headers.get('request-id')).toMatch(/^req_/);
  });

  it('rejects capture, cancel and confirm from states Stripe does not allow them in', async () => {
    // Proves the transition table: each illegal move is a StripeInvalidRequestError and changes nothing.
    h = await openSandbox();
    const succeeded = await h.stripe.paymentIntents.create(
      cardIntent({
        amount: 1000,
        payment_method: 'pm_card_visa',
        confirm: true,
      }),
    );
    for (const attempt of [
      h.stripe.paymentIntents.capture(succeeded.id),
      h.stripe.paymentIntents.cancel(succeeded.id),
      h.stripe.paymentIntents.confirm(succeeded.id),
    ]) {
      const err = await failure(attempt);
      expect(err).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
      expect(err).toMatchObject({ statusCode: 400, code: 'payment_intent_unexpected_state' });
    }
    const canceled = await h.stripe.paymentIntents.create(
      cardIntent({
        amount: 1000,
      }),
    );
    await h.stripe.paymentIntents.cancel(canceled.id);
    const err = await failure(h.stripe.paymentIntents.confirm(canceled.id, { payment_method: 'pm_card_visa' }));
    expect(err.code).toBe('payment_intent_unexpected_state');
    expect((await h.stripe.paymentIntents.retrieve(succeeded.id)).status).toBe('succeeded');
    expect((await h.stripe.paymentIntents.retrieve(canceled.id)).status).toBe('canceled');
  });

  it('answers an unknown id with 404 resource_missing', async () => {
    // Proves unknown objects are Stripe's 404 with code resource_missing.
    h = await openSandbox();
    const err = await failure(h.stripe.paymentIntents.retrieve('pi_doesnotexist000000000000'));
    // Stripe names the path parameter `intent` (openapi/spec3.json /v1/payment_intents/{intent}).
    expect(err).toMatchObject({ statusCode: 404, code: 'resource_missing', param: 'intent' });
  });

  it('rejects a wrong API key with 401 and accepts the right one', async () => {
    // Proves authentication: a wrong key is StripeAuthenticationError (401), the configured key works.
    h = await openSandbox();
    const wrong = new Stripe('sk_test_wrong_key_123456789', { host: h.sandbox.host, port: h.sandbox.port, protocol: 'http', maxNetworkRetries: 0 });
    const err = await failure(wrong.paymentIntents.list());
    expect(err).toBeInstanceOf(Stripe.errors.StripeAuthenticationError);
    expect(err).toMatchObject({ statusCode: 401, rawType: 'invalid_request_error' });
    const none = await rawCall(h.sandbox, 'GET', '/v1/payment_intents', {}, {});
    expect(none.status).toBe(401);
    expect((none.json as { error: { message: string } }).error.message).toContain('You did not provide an API key');
    expect((await h.stripe.paymentIntents.list()).object).toBe('list');
    expect(h.sandbox.apiKey).toBe(API_KEY);
  });

  it('names missing, malformed and unknown parameters the way Stripe does', async () => {
    // Proves parameter validation: parameter_missing, parameter_invalid_integer, parameter_unknown, amount_too_small.
    h = await openSandbox();
    const missing = await failure(
      h.stripe.paymentIntents.create({
        automatic_payment_methods: { enabled: true, allow_redirects: 'never' },
        currency: 'usd',
      } as Stripe.PaymentIntentCreateParams),
    );
    expect(missing).toMatchObject({ statusCode: 400, code: 'parameter_missing', param: 'amount' });
    const malformed = await rawCall(h.sandbox, 'POST', '/v1/payment_intents', { amount: '12.5', currency: 'usd' });
    expect(malformed.json).toMatchObject({ error: { code: 'parameter_invalid_integer', param: 'amount' } });
    const unknown = await rawCall(h.sandbox, 'POST', '/v1/payment_intents', { amount: '1000', currency: 'usd', colour: 'blue' });
    expect(unknown.json).toMatchObject({ error: { code: 'parameter_unknown', message: 'Received unknown parameter: colour' } });
    const small = await failure(
      h.stripe.paymentIntents.create({ automatic_payment_methods: { enabled: true, allow_redirects: 'never' }, amount: 10, currency: 'usd' }),
    );
    expect(small).toMatchObject({ code: 'amount_too_small' });
    expect(h.sandbox.paymentIntents()).toEqual([]);
  });

  it('requires return_url when automatic payment methods may redirect, as Stripe does', async () => {
    // Proves the return_url rule for automatic_payment_methods, and its twin: allow_redirects=never confirms without one.
    h = await openSandbox();
    const redirecting = await failure(
      h.stripe.paymentIntents.create({
        amount: 1000,
        currency: 'usd',
        payment_method: 'pm_card_visa',
        confirm: true,
        automatic_payment_methods: { enabled: true },
      }),
    );
    expect(redirecting).toMatchObject({ statusCode: 400, param: 'return_url' });
    // Stripe's default since 2023-08-16: no payment_method_types means automatic payment methods, redirects allowed.
    const byDefault = await failure(h.stripe.paymentIntents.create({ amount: 1000, currency: 'usd', payment_method: 'pm_card_visa', confirm: true }));
    expect(byDefault).toMatchObject({ statusCode: 400, param: 'return_url' });
    const noRedirects = await h.stripe.paymentIntents.create({
      amount: 1000,
      currency: 'usd',
      payment_method: 'pm_card_visa',
      confirm: true,
      automatic_payment_methods: { enabled: true, allow_redirects: 'never' },
    });
    expect(noRedirects.status).toBe('succeeded');
  });
});

describe('update and list', () => {
  it('merges metadata on update and deletes keys sent empty', async () => {
    // Proves Stripe's metadata semantics on POST /v1/payment_intents/:id.
    h = await openSandbox();
    const pi = await h.stripe.paymentIntents.create(
      cardIntent({
        amount: 1000,
        metadata: { a: '1', b: '2' },
      }),
    );
    const updated = await h.stripe.paymentIntents.update(pi.id, { metadata: { b: '', c: '3' }, description: 'Haircut' });
    expect(updated.metadata).toEqual({ a: '1', c: '3' });
    expect(updated.description).toBe('Haircut');
  });

  it('lists newest first with limit, starting_after, created[gte] and auto-pagination', async () => {
    // Proves Stripe's list shape and cursor pagination, walked by the SDK's auto-pagination.
    let nowMs = Date.UTC(2030, 0, 1);
    h = await openSandbox({ now: () => nowMs });
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      ids.push(
        (await h.stripe.paymentIntents.create({ automatic_payment_methods: { enabled: true, allow_redirects: 'never' }, amount: 1000 + i, currency: 'usd' }))
          .id,
      );
      nowMs += 60_000;
    }
    const newestFirst = [...ids].reverse();
    const page1 = await h.stripe.paymentIntents.list({ limit: 2 });
    expect(page1).toMatchObject({ object: 'list', has_more: true, url: '/v1/payment_intents' });
    expect(page1.data.map((p) => p.id)).toEqual(newestFirst.slice(0, 2));
    const page2 = await h.stripe.paymentIntents.list({ limit: 2, starting_after: page1.data[1]!.id });
    expect(page2.data.map((p) => p.id)).toEqual(newestFirst.slice(2, 4));
    const all: string[] = [];
    for await (const p of h.stripe.paymentIntents.list({ limit: 2 })) all.push(p.id);
    expect(all).toEqual(newestFirst);
    const recent = await h.stripe.paymentIntents.list({ created: { gte: Date.UTC(2030, 0, 1) / 1000 + 180 } });
    expect(recent.data.map((p) => p.id)).toEqual(newestFirst.slice(0, 2));
    expect(recent.has_more).toBe(false);
  });
});
