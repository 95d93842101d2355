// The seeded fault plan: same seed and calls ⇒ same decisions; each fault
// (API error, API timeout, drop, duplicate, reorder, delay) does what it says;
// dropped events are recoverable through GET /v1/events.

import Stripe from 'stripe';
import { afterEach, describe, expect, it } from 'vitest';
import { BookijiError } from '../../src/errors.js';
import { FaultPlan, type FaultDecision, type FaultOptions } from '../../src/stripeSandbox/faultPlan.js';
import { startStripeSandbox } from '../../src/stripeSandbox/index.js';
import { UnseededFaultPlan } from './fixtures/unseededFaultPlan.js';
import { API_KEY, cardIntent, failure, type Harness, openSandbox, type Receiver, startReceiver, WEBHOOK_SECRET } from './helpers.js';

let harnesses: Harness[] = [];
let receiver: Receiver | undefined;
afterEach(async () => {
  await Promise.all(harnesses.map((x) => x.close()));
  await receiver?.close();
  harnesses = [];
  receiver = undefined;
});

async function open(...args: Parameters<typeof openSandbox>): Promise<Harness> {
  const x = await openSandbox(...args);
  harnesses.push(x);
  return x;
}

const noisy: FaultOptions = {
  apiErrorRate: 0.3,
  dropRate: 0.3,
  duplicateRate: 0.3,
  reorderRate: 0.3,
  delayRate: 0.3,
  delayMs: [1, 5],
};

/** Decisions without ids or concrete paths, which are random per run. */
function shape(log: FaultDecision[]): string[] {
  return log.map((d) =>
    d.domain === 'api'
      ? `api#${d.index} ${d.method} ${d.route} → ${d.fault}`
      : `event#${d.index} ${d.eventType} drop=${d.drop} dup=${d.duplicate} reorder=${d.reorder} delay=${d.delayMs}`,
  );
}

/** A fixed booking workload that retries injected 500s with the same idempotency key. */
async function workload(x: Harness): Promise<void> {
  const retrying = async <T>(call: () => Promise<T>): Promise<T> => {
    for (let attempt = 0; attempt < 50; attempt++) {
      try {
        return await call();
      } catch (e) {
        if (!(e instanceof Stripe.errors.StripeAPIError)) throw e;
      }
    }
    throw new Error('still failing after 50 attempts');
  };
  for (let i = 0; i < 6; i++) {
    const pi = await retrying(() =>
      x.stripe.paymentIntents.create(
        {
          amount: 1000 + i,
          currency: 'usd',
          capture_method: 'manual',
          automatic_payment_methods: { enabled: true, allow_redirects: 'never' },
          payment_method: 'pm_card_visa',
          confirm: true,
        },
        { idempotencyKey: `booking-${i}-authorize` },
      ),
    );
    await retrying(() => x.stripe.paymentIntents.capture(pi.id, {}, { idempotencyKey: `booking-${i}-capture` }));
  }
}

describe('determinism', () => {
  it('gives the same decisions for the same seed and a different digest for a different seed', async () => {
    // Proves the plan is a function of the seed and the call sequence, through the real server and SDK.
    const runs: Record<string, { shape: string[]; digest: string; log: FaultDecision[] }> = {};
    for (const [name, seed] of [
      ['a1', 'seed-A'],
      ['a2', 'seed-A'],
      ['b', 'seed-B'],
    ] as const) {
      const x = await open({ seed, faults: noisy, autoDeliver: false });
      await workload(x);
      runs[name] = { shape: shape(x.sandbox.faultLog()), digest: x.sandbox.faultDigest(), log: x.sandbox.faultLog() };
    }
    expect(runs['a1']!.shape).toEqual(runs['a2']!.shape);
    expect(runs['a1']!.digest).toBe(runs['a2']!.digest);
    expect(runs['b']!.digest).not.toBe(runs['a1']!.digest);
    // The workload really met faults of several kinds, so the comparison is not between empty plans.
    const log = runs['a1']!.log;
    expect(log.some((d) => d.domain === 'api' && d.fault === 'api_error')).toBe(true);
    expect(log.some((d) => d.domain === 'webhook' && (d.drop || d.duplicate || d.reorder || d.delayMs > 0))).toBe(true);
  });

  it('does not depend on how API calls and events interleave', () => {
    // Proves each decision depends only on the seed and its own index, whatever the order of the other domain's draws.
    const a = new FaultPlan('interleave', noisy);
    const b = new FaultPlan('interleave', noisy);
    for (let i = 0; i < 20; i++) {
      a.decideApi('POST', '/v1/payment_intents', '/v1/payment_intents');
      a.decideEvent(`evt_a${i}`, 'payment_intent.created');
    }
    for (let i = 0; i < 20; i++) b.decideEvent(`evt_b${i}`, 'payment_intent.created');
    for (let i = 0; i < 20; i++) b.decideApi('POST', '/v1/payment_intents', '/v1/payment_intents');
    const byDomain = (log: FaultDecision[], domain: string) => shape(log.filter((d) => d.domain === domain)).sort();
    expect(byDomain(b.log(), 'api')).toEqual(byDomain(a.log(), 'api'));
    expect(byDomain(b.log(), 'webhook')).toEqual(byDomain(a.log(), 'webhook'));
  });

  it('catches a plan that ignores its seed', () => {
    // Twin: the same comparison flags the deliberately unseeded fixture plan.
    const decide = (plan: FaultPlan) => {
      for (let i = 0; i < 40; i++) {
        plan.decideApi('POST', '/v1/payment_intents', '/v1/payment_intents');
        plan.decideEvent(`evt_${i}`, 'payment_intent.created');
      }
      return plan.digest();
    };
    expect(decide(new FaultPlan('same', noisy))).toBe(decide(new FaultPlan('same', noisy)));
    expect(decide(new UnseededFaultPlan('same', noisy))).not.toBe(decide(new UnseededFaultPlan('same', noisy)));
  });

  it('refuses rates outside [0, 1] with a Bookiji validation error', async () => {
    // Proves the plan's options are validated before the sandbox starts.
    let thrown: unknown;
    try {
      await startStripeSandbox({ apiKey: API_KEY, webhookSecret: WEBHOOK_SECRET, seed: 's', faults: { dropRate: 1.5 } });
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(BookijiError);
    expect((thrown as BookijiError).code).toBe('VALIDATION_ERROR');
  });
});

describe('event faults', () => {
  it('drops deliveries, yet every event is recoverable with stripe.events.list', async () => {
    // Proves a dropped event never reaches the receiver but is listed as undelivered and retrievable by id.
    receiver = await startReceiver();
    const x = await open({ webhookUrl: receiver.url, faults: { dropRate: 1 } });
    const pi = await x.stripe.paymentIntents.create(
      cardIntent({
        amount: 1500,
        payment_method: 'pm_card_visa',
        confirm: true,
      }),
    );
    await x.sandbox.flushWebhooks();

    // A reconciler that trusts webhooks alone misses both events (the deliberately naive view).
    expect(receiver.received).toEqual([]);
    const missed = await x.stripe.events.list({ delivery_success: false, type: 'payment_intent.*' });
    expect(missed.data.map((e) => e.type)).toEqual(['payment_intent.succeeded', 'payment_intent.created']);
    expect(missed.data.map((e) => e.id).sort()).toEqual(
      x.sandbox
        .events()
        .filter((e) => e.type.startsWith('payment_intent.'))
        .map((e) => e.id)
        .sort(),
    );
    const succeeded = await x.stripe.events.retrieve(missed.data[0]!.id);
    expect(succeeded.type).toBe('payment_intent.succeeded');
    expect((succeeded.data.object as Stripe.PaymentIntent).id).toBe(pi.id);
    expect(
      x.sandbox
        .faultLog()
        .filter((d) => d.domain === 'webhook')
        .every((d) => d.domain === 'webhook' && d.drop),
    ).toBe(true);

    // Redelivering the recovered event works and acknowledges it.
    await x.sandbox.triggerWebhook(succeeded.id);
    expect(receiver.received.map((r) => r.eventId)).toEqual([succeeded.id]);
    expect((await x.stripe.events.list({ delivery_success: false })).data.map((e) => e.id)).not.toContain(succeeded.id);
  });

  it('delivers every event twice under duplicateRate 1', async () => {
    // Proves duplicates: the same event id arrives twice, the copy logged as a duplicate delivery.
    receiver = await startReceiver();
    const x = await open({ webhookUrl: receiver.url, faults: { duplicateRate: 1 } });
    await x.stripe.paymentIntents.create({ automatic_payment_methods: { enabled: true, allow_redirects: 'never' }, amount: 1500, currency: 'usd' });
    await x.sandbox.flushWebhooks();
    const id = x.sandbox.events()[0]!.id;
    expect(receiver.received.map((r) => r.eventId)).toEqual([id, id]);
    expect(x.sandbox.deliveryLog().map((a) => a.kind)).toEqual(['automatic', 'duplicate']);
  });

  it('holds a reordered event back until the next one has been delivered', async () => {
    // Proves reorder: the first event, marked reordered, reaches the receiver after the second.
    receiver = await startReceiver();
    const x = await open({ webhookUrl: receiver.url, autoDeliver: false });
    x.sandbox.setFaults({ reorderRate: 1 });
    const first = await x.stripe.paymentIntents.create(
      cardIntent({
        amount: 1500,
      }),
    );
    x.sandbox.setFaults({});
    const second = await x.stripe.paymentIntents.create(
      cardIntent({
        amount: 1600,
      }),
    );
    await x.sandbox.flushWebhooks();
    const [eFirst, eSecond] = x.sandbox.events();
    expect((eFirst!.data.object as Stripe.PaymentIntent).id).toBe(first.id);
    expect((eSecond!.data.object as Stripe.PaymentIntent).id).toBe(second.id);
    expect(receiver.received.map((r) => r.eventId)).toEqual([eSecond!.id, eFirst!.id]);
  });

  it('delays delivery by the drawn amount and still delivers', async () => {
    // Proves delay decisions are drawn within delayMs and the delayed event is delivered.
    receiver = await startReceiver();
    const x = await open({ webhookUrl: receiver.url, faults: { delayRate: 1, delayMs: [30, 40] } });
    await x.stripe.paymentIntents.create({ automatic_payment_methods: { enabled: true, allow_redirects: 'never' }, amount: 1500, currency: 'usd' });
    await x.sandbox.flushWebhooks();
    const decision = x.sandbox.faultLog().find((d) => d.domain === 'webhook');
    expect(decision?.domain === 'webhook' && decision.delayMs >= 30 && decision.delayMs <= 40).toBe(true);
    expect(receiver.received).toHaveLength(1);
  });
});

describe('API faults', () => {
  it('limits API faults to apiErrorPaths, failing the capture before it takes effect', async () => {
    // Proves a path-scoped 500: create and retrieve are untouched, the capture fails and leaves the intent uncaptured.
    const x = await open({ faults: { apiErrorRate: 1, apiErrorPaths: ['POST /v1/payment_intents/*/capture'] } });
    const pi = await x.stripe.paymentIntents.create(
      cardIntent({
        amount: 1500,
        capture_method: 'manual',
        payment_method: 'pm_card_visa',
        confirm: true,
      }),
    );
    const err = await failure(x.stripe.paymentIntents.capture(pi.id));
    expect(err).toMatchObject({ statusCode: 500, rawType: 'api_error' });
    expect((await x.stripe.paymentIntents.retrieve(pi.id)).status).toBe('requires_capture');
    x.sandbox.setFaults({});
    expect((await x.stripe.paymentIntents.capture(pi.id)).status).toBe('succeeded');
  });

  it('leaves requests outside apiErrorPaths alone', async () => {
    // Twin of the path scope: with the pattern naming refunds only, the capture goes through.
    const x = await open({ faults: { apiErrorRate: 1, apiErrorPaths: ['/v1/refunds'] } });
    const pi = await x.stripe.paymentIntents.create(
      cardIntent({
        amount: 1500,
        capture_method: 'manual',
        payment_method: 'pm_card_visa',
        confirm: true,
      }),
    );
    expect((await x.stripe.paymentIntents.capture(pi.id)).status).toBe('succeeded');
    expect(await failure(x.stripe.refunds.create({ payment_intent: pi.id }))).toMatchObject({ statusCode: 500 });
  });

  it('applies a timed-out capture even though the client never saw the answer', async () => {
    // Proves api_timeout happens after the effect: the client times out, the intent is captured anyway.
    const x = await open({ faults: { apiTimeoutRate: 1, apiErrorPaths: ['/v1/payment_intents/:id/capture'] }, apiTimeoutHoldMs: 5_000 }, { timeout: 300 });
    const pi = await x.stripe.paymentIntents.create(
      cardIntent({
        amount: 1500,
        capture_method: 'manual',
        payment_method: 'pm_card_visa',
        confirm: true,
      }),
    );
    const err = await failure(x.stripe.paymentIntents.capture(pi.id));
    expect(err).toBeInstanceOf(Stripe.errors.StripeConnectionError);
    expect((await x.stripe.paymentIntents.retrieve(pi.id)).status).toBe('succeeded');
    expect(x.sandbox.requestLog().map((r) => r.fault)).toEqual(['none', 'api_timeout', 'none']);
  });
});
