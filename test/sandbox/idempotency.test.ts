// Stripe idempotency through the real SDK: replays, mismatches, per-key
// scoping, and the two API faults around it (500 before the operation, a
// timeout after it).

import Stripe from 'stripe';
import { afterEach, describe, expect, it } from 'vitest';
import { IdempotencyStore } from '../../src/stripeSandbox/idempotency.js';
import { stripeClient } from '../../src/stripeSandbox/index.js';
import { ForgetfulIdempotencyStore } from './fixtures/forgetfulIdempotencyStore.js';
import { failure, openSandbox, type Harness } from './helpers.js';

let h: Harness;
afterEach(async () => {
  await h?.close();
});

const params: Stripe.PaymentIntentCreateParams = {
  amount: 4200,
  currency: 'usd',
  capture_method: 'manual',
  automatic_payment_methods: { enabled: true, allow_redirects: 'never' },
  payment_method: 'pm_card_visa',
  confirm: true,
  metadata: { booking_id: 'bk_42' },
};

describe('replay', () => {
  it('returns the stored response for the same key and parameters, marked Idempotent-Replayed', async () => {
    // Proves a replay: same id and body, the replay header, and exactly one intent and one set of events.
    h = await openSandbox();
    const first = await h.stripe.paymentIntents.create(params, { idempotencyKey: 'booking-42-authorize' });
    const second = await h.stripe.paymentIntents.create(params, { idempotencyKey: 'booking-42-authorize' });
    expect(second.id).toBe(first.id);
    expect({ ...second }).toEqual({ ...first });
    expect(first.lastResponse.headers['idempotent-replayed']).toBeUndefined();
    expect(second.lastResponse.headers['idempotent-replayed']).toBe('true');
    expect(second.lastResponse.headers['original-request']).toBe(first.lastResponse.requestId);
    expect(h.sandbox.paymentIntents()).toHaveLength(1);
    expect(h.sandbox.events().map((e) => e.type)).toEqual(['payment_intent.created', 'charge.succeeded', 'payment_intent.amount_capturable_updated']);
    expect(h.sandbox.events()[0]!.request).toMatchObject({ idempotency_key: 'booking-42-authorize' });
  });

  it('creates a second intent when the key differs', async () => {
    // Twin of the replay: without the same key the sandbox executes again, as Stripe would.
    h = await openSandbox();
    const a = await h.stripe.paymentIntents.create(params, { idempotencyKey: 'booking-42-a' });
    const b = await h.stripe.paymentIntents.create(params, { idempotencyKey: 'booking-42-b' });
    expect(b.id).not.toBe(a.id);
    expect(h.sandbox.paymentIntents()).toHaveLength(2);
  });

  it('replays a stored decline instead of charging the card again', async () => {
    // Proves declines are stored: the retry gets the same 402 and no second charge is attempted.
    h = await openSandbox();
    const declined = { ...params, payment_method: 'pm_card_chargeDeclined' };
    const first = await failure(h.stripe.paymentIntents.create(declined, { idempotencyKey: 'decline-1' }));
    const again = await failure(h.stripe.paymentIntents.create(declined, { idempotencyKey: 'decline-1' }));
    expect(again).toMatchObject({ statusCode: 402, code: 'card_declined', charge: first.charge });
    expect(again.headers?.['idempotent-replayed']).toBe('true');
    expect(h.sandbox.charges()).toHaveLength(1);
  });

  it('does not store a request that failed validation', async () => {
    // Proves a 400 parameter error is not kept: the corrected request with the same key executes.
    h = await openSandbox();
    const bad = await failure(
      h.stripe.paymentIntents.create(
        { automatic_payment_methods: { enabled: true, allow_redirects: 'never' }, ...params, amount: 5 },
        { idempotencyKey: 'fix-me' },
      ),
    );
    expect(bad.code).toBe('amount_too_small');
    const good = await h.stripe.paymentIntents.create(params, { idempotencyKey: 'fix-me' });
    expect(good.status).toBe('requires_capture');
    expect(good.lastResponse.headers['idempotent-replayed']).toBeUndefined();
  });
});

describe('mismatch and scope', () => {
  it('refuses the same key with different parameters with 400 idempotency_error', async () => {
    // Proves key reuse with other parameters is StripeIdempotencyError and changes nothing.
    h = await openSandbox();
    await h.stripe.paymentIntents.create(params, { idempotencyKey: 'booking-7' });
    const err = await failure(
      h.stripe.paymentIntents.create(
        { automatic_payment_methods: { enabled: true, allow_redirects: 'never' }, ...params, amount: 9999 },
        { idempotencyKey: 'booking-7' },
      ),
    );
    expect(err).toBeInstanceOf(Stripe.errors.StripeIdempotencyError);
    expect(err).toMatchObject({ statusCode: 400, rawType: 'idempotency_error' });
    expect(err.message).toContain("Try using a key other than 'booking-7'");
    const otherEndpoint = await failure(h.stripe.refunds.create({ payment_intent: h.sandbox.paymentIntents()[0]!.id }, { idempotencyKey: 'booking-7' }));
    expect(otherEndpoint.rawType).toBe('idempotency_error');
    expect(h.sandbox.paymentIntents()).toHaveLength(1);
  });

  it('scopes keys per API key', async () => {
    // Proves two API keys using one idempotency key get two executions, not each other's answers.
    h = await openSandbox({ apiKey: ['sk_test_bookiji_primary_0001', 'sk_test_bookiji_second_0002'] });
    const other = stripeClient(h.sandbox, { apiKey: 'sk_test_bookiji_second_0002' });
    const a = await h.stripe.paymentIntents.create(params, { idempotencyKey: 'shared-key' });
    const b = await other.paymentIntents.create(params, { idempotencyKey: 'shared-key' });
    expect(b.id).not.toBe(a.id);
    expect(b.lastResponse.headers['idempotent-replayed']).toBeUndefined();
  });
});

describe('the idempotency store contract', () => {
  const response = { status: 200, body: '{"id":"pi_1"}', requestId: 'req_1' };
  const fp = (amount: number) => IdempotencyStore.fingerprint('POST', '/v1/payment_intents', { amount: String(amount), currency: 'usd' });

  /** Returns the contract violations of a store: empty when it behaves as Stripe's does. */
  function violations(store: IdempotencyStore): string[] {
    const found: string[] = [];
    store.store('sk_a', 'k', fp(100), response);
    if (store.lookup('sk_a', 'k', fp(100)).kind !== 'replay') found.push('same request is not replayed');
    if (store.lookup('sk_a', 'k', fp(200)).kind !== 'mismatch') found.push('different parameters are replayed');
    if (store.lookup('sk_b', 'k', fp(100)).kind !== 'miss') found.push('key leaks across API keys');
    return found;
  }

  it('holds for the sandbox’s store', () => {
    // Proves the real store replays equal requests, refuses different ones and scopes keys per API key.
    expect(violations(new IdempotencyStore(Date.now))).toEqual([]);
  });

  it('catches a store that forgets parameters and scope', () => {
    // Twin: the same contract check flags the deliberately broken fixture on both counts.
    expect(violations(new ForgetfulIdempotencyStore(Date.now))).toEqual(['different parameters are replayed', 'key leaks across API keys']);
  });
});

describe('API faults around idempotency', () => {
  it('fails with 500 before the operation runs, so a retry with the same key executes it once', async () => {
    // Proves api_error happens before the effect: nothing created, nothing stored, the retry creates exactly one intent.
    h = await openSandbox({ faults: { apiErrorRate: 1 } });
    const err = await failure(h.stripe.paymentIntents.create(params, { idempotencyKey: 'retry-after-500' }));
    expect(err).toBeInstanceOf(Stripe.errors.StripeAPIError);
    expect(err).toMatchObject({ statusCode: 500, rawType: 'api_error' });
    expect(h.sandbox.paymentIntents()).toEqual([]);
    expect(h.sandbox.events()).toEqual([]);
    h.sandbox.setFaults({});
    const retried = await h.stripe.paymentIntents.create(params, { idempotencyKey: 'retry-after-500' });
    expect(retried.lastResponse.headers['idempotent-replayed']).toBeUndefined();
    expect(h.sandbox.paymentIntents().map((p) => p.id)).toEqual([retried.id]);
  });

  it('times out after the operation ran; a retry with the same key gets the stored result', async () => {
    // Proves the hard case: the client saw a timeout, yet the intent exists, and the keyed retry replays it instead of duplicating it.
    h = await openSandbox({ faults: { apiTimeoutRate: 1 }, apiTimeoutHoldMs: 5_000 }, { timeout: 300 });
    const err = await failure(h.stripe.paymentIntents.create(params, { idempotencyKey: 'retry-after-timeout' }));
    expect(err).toBeInstanceOf(Stripe.errors.StripeConnectionError);
    expect(err.message).toContain('timeout');
    expect(h.sandbox.paymentIntents()).toHaveLength(1);
    h.sandbox.setFaults({});
    const retried = await h.stripe.paymentIntents.create(params, { idempotencyKey: 'retry-after-timeout' });
    expect(retried.lastResponse.headers['idempotent-replayed']).toBe('true');
    expect(h.sandbox.paymentIntents().map((p) => p.id)).toEqual([retried.id]);
  });

  it('duplicates the payment when the client retries a timeout with a new key', async () => {
    // Twin of the timeout case: the broken client (fresh key on retry) ends up with two authorizations.
    h = await openSandbox({ faults: { apiTimeoutRate: 1 }, apiTimeoutHoldMs: 5_000 }, { timeout: 300 });
    await failure(h.stripe.paymentIntents.create(params, { idempotencyKey: 'attempt-1' }));
    h.sandbox.setFaults({});
    await h.stripe.paymentIntents.create(params, { idempotencyKey: 'attempt-2' });
    expect(h.sandbox.paymentIntents().filter((p) => p.status === 'requires_capture')).toHaveLength(2);
  });
});
