// The sandbox's strictness beyond the conformance cases (test/conformance):
// API-version-dependent parameters and defaults, parameters Stripe accepts
// only with confirm=true, error_on_requires_action, and the refusals that
// keep the new endpoints honest.

import Stripe from 'stripe';
import { afterEach, describe, expect, it } from 'vitest';
import { failure, openSandbox, rawCall, API_KEY, type Harness } from './helpers.js';

let h: Harness;
afterEach(async () => {
  await h?.close();
});

const NO_REDIRECTS = { enabled: true, allow_redirects: 'never' } as const;

describe('API versions', () => {
  it('refuses payment_method_types since 2026-09-30 and accepts it on an older version', async () => {
    // Proves the version gate: the SDK's pinned version refuses the removed parameter; 2024-06-20 still takes it.
    h = await openSandbox();
    const current = await rawCall(h.sandbox, 'POST', '/v1/payment_intents', { amount: '1000', currency: 'usd', 'payment_method_types[0]': 'card' });
    expect(current).toMatchObject({ status: 400, json: { error: { code: 'parameter_unknown', param: 'payment_method_types' } } });
    const older = await rawCall(
      h.sandbox,
      'POST',
      '/v1/payment_intents',
      { amount: '1000', currency: 'usd', 'payment_method_types[0]': 'card', payment_method: 'pm_card_visa', confirm: 'true' },
      { Authorization: `Bearer ${API_KEY}`, 'Stripe-Version': '2024-06-20' },
    );
    expect(older).toMatchObject({ status: 200, json: { status: 'succeeded', payment_method_types: ['card'] } });
    expect(older.headers.get('stripe-version')).toBe('2024-06-20');
  });

  it('defaults to card only before 2023-08-16, so no return_url is needed there', async () => {
    // Proves the default of automatic_payment_methods follows the request's version; the twin is the return_url case in conformance.
    h = await openSandbox();
    const pi = await h.stripe.paymentIntents.create(
      { amount: 1000, currency: 'usd', payment_method: 'pm_card_visa', confirm: true },
      { apiVersion: '2022-11-15' },
    );
    expect(pi).toMatchObject({ status: 'succeeded', automatic_payment_methods: null });
  });

  it('accepts allowed_payment_method_types as the fixed list, without automatic payment methods', async () => {
    // Proves the parameter that replaced payment_method_types is taken and shown on the intent.
    h = await openSandbox();
    const pi = await h.stripe.paymentIntents.create({
      amount: 1000,
      currency: 'usd',
      allowed_payment_method_types: ['card'],
      payment_method: 'pm_card_visa',
      confirm: true,
    });
    expect(pi).toMatchObject({ status: 'succeeded', allowed_payment_method_types: ['card'], automatic_payment_methods: null });
  });
});

describe('confirmation parameters', () => {
  it('declines a card that needs authentication when error_on_requires_action is set', async () => {
    // Proves error_on_requires_action behaves like off-session: no requires_action, a 402 authentication_required.
    h = await openSandbox();
    const err = await failure(
      h.stripe.paymentIntents.create({
        amount: 1000,
        currency: 'usd',
        automatic_payment_methods: NO_REDIRECTS,
        payment_method: 'pm_card_authenticationRequired',
        confirm: true,
        error_on_requires_action: true,
      }),
    );
    expect(err).toBeInstanceOf(Stripe.errors.StripeCardError);
    expect(err).toMatchObject({ code: 'authentication_required', payment_intent: { status: 'requires_payment_method' } });
  });

  it('accepts mandate_data with confirm and refuses it, like return_url and off_session, without', async () => {
    // Proves the confirm-only rule for each of those parameters and that mandate_data itself is accepted.
    h = await openSandbox();
    const mandate = { customer_acceptance: { type: 'online', online: { ip_address: '127.0.0.1', user_agent: 'test' } } } as const;
    const ok = await h.stripe.paymentIntents.create({
      amount: 1000,
      currency: 'usd',
      automatic_payment_methods: NO_REDIRECTS,
      payment_method: 'pm_card_visa',
      confirm: true,
      mandate_data: mandate,
    });
    expect(ok.status).toBe('succeeded');
    for (const extra of [{ mandate_data: mandate }, { off_session: true }, { return_url: 'https://example.com' }, { error_on_requires_action: true }]) {
      const err = await failure(h.stripe.paymentIntents.create({ amount: 1000, currency: 'usd', automatic_payment_methods: NO_REDIRECTS, ...extra }));
      expect(err).toMatchObject({ statusCode: 400, param: Object.keys(extra)[0] });
    }
  });

  it('captures a per-card manual capture_method from payment_method_options', async () => {
    // Proves payment_method_options[card][capture_method]=manual overrides the intent's automatic capture.
    h = await openSandbox();
    const pi = await h.stripe.paymentIntents.create({
      amount: 1000,
      currency: 'usd',
      automatic_payment_methods: NO_REDIRECTS,
      payment_method: 'pm_card_visa',
      confirm: true,
      payment_method_options: { card: { capture_method: 'manual' } },
    });
    expect(pi).toMatchObject({ status: 'requires_capture', capture_method: 'automatic_async', payment_method_options: { card: { capture_method: 'manual' } } });
  });
});

describe('new endpoints refuse what Stripe refuses', () => {
  it('increments an authorization that asked for it, and nothing else', async () => {
    // Proves increment_authorization: the amount and capturable amount rise, the charge follows; the twins below are refused.
    h = await openSandbox();
    const asked = await h.stripe.paymentIntents.create({
      amount: 1000,
      currency: 'usd',
      automatic_payment_methods: NO_REDIRECTS,
      capture_method: 'manual',
      payment_method: 'pm_card_visa',
      confirm: true,
      payment_method_options: { card: { request_incremental_authorization: 'if_available' } },
    });
    const raised = await h.stripe.paymentIntents.incrementAuthorization(asked.id, { amount: 1500 });
    expect(raised).toMatchObject({ status: 'requires_capture', amount: 1500, amount_capturable: 1500 });
    expect(h.sandbox.charges()[0]).toMatchObject({ amount: 1500 });
    expect((await h.stripe.paymentIntents.capture(asked.id)).amount_received).toBe(1500);
    expect(await failure(h.stripe.paymentIntents.incrementAuthorization(asked.id, { amount: 2000 }))).toMatchObject({
      code: 'payment_intent_unexpected_state',
    });
  });

  it('refuses increment_authorization without request_incremental_authorization, and outside requires_capture', async () => {
    // Proves the incremental-authorization preconditions.
    h = await openSandbox();
    const plain = await h.stripe.paymentIntents.create({
      amount: 1000,
      currency: 'usd',
      automatic_payment_methods: NO_REDIRECTS,
      capture_method: 'manual',
      payment_method: 'pm_card_visa',
      confirm: true,
    });
    expect(await failure(h.stripe.paymentIntents.incrementAuthorization(plain.id, { amount: 1500 }))).toMatchObject({ statusCode: 400 });
    const done = await h.stripe.paymentIntents.create({
      amount: 1000,
      currency: 'usd',
      automatic_payment_methods: NO_REDIRECTS,
      payment_method: 'pm_card_visa',
      confirm: true,
    });
    expect(await failure(h.stripe.paymentIntents.incrementAuthorization(done.id, { amount: 1500 }))).toMatchObject({ code: 'payment_intent_unexpected_state' });
    expect(h.sandbox.paymentIntents().map((pi) => pi.amount)).toEqual([1000, 1000]);
  });

  it('answers an unknown PaymentMethod, refund and expand on lists as Stripe does', async () => {
    // Proves 404 resource_missing for unknown ids on the new endpoints and list expansion needing data.*.
    h = await openSandbox();
    expect(await failure(h.stripe.paymentMethods.retrieve('pm_unknown000000000000000'))).toMatchObject({ statusCode: 404, code: 'resource_missing' });
    expect(await failure(h.stripe.refunds.update('re_unknown000000000000000', { metadata: { a: 'b' } }))).toMatchObject({
      statusCode: 404,
      code: 'resource_missing',
    });
    expect(await failure(h.stripe.paymentIntents.list({ expand: ['latest_charge'] }))).toMatchObject({ statusCode: 400 });
    const listed = await h.stripe.paymentIntents.list({ expand: ['data.latest_charge'] });
    expect(listed.object).toBe('list');
  });

  it('lists events of up to 20 types, as Stripe does', async () => {
    // Proves the types[] cap: 20 types are listed, 21 are Stripe's 400 on types.
    h = await openSandbox();
    const types = Array.from({ length: 21 }, (_, i) => `payment_intent.type_${i}`);
    expect((await h.stripe.events.list({ types: types.slice(0, 20) })).data).toEqual([]);
    expect(await failure(h.stripe.events.list({ types }))).toMatchObject({ statusCode: 400, param: 'types' });
  });
});
