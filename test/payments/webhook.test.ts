// Proves the webhook endpoint: signatures (forged, stale, future, rotated secret), one storage per event id, duplicates, every delivery order, and lost webhooks recovered by reconcile.
import { describe, expect, it } from 'vitest';
import Stripe from 'stripe';
import { startCardCheckout, payAsCustomer } from '../../src/payments/checkout.js';
import { reconcile } from '../../src/reconcile/index.js';
import { getPayment } from '../../src/payments/store.js';
import { handleStripeWebhook } from '../../src/api/stripeWebhook.js';
import { processEvent, recordEvent } from '../../src/payments/events.js';
import type { Pool } from '../../src/db/pool.js';
import {
  bookingRow,
  cardHold,
  CUSTOMER_ACTOR,
  deliver,
  eventsOf,
  type Handler,
  ledgerSums,
  noViolations,
  RECONCILE_ACTOR,
  useWorlds,
  verifyAll,
  WEBHOOK_SECRET,
  WEBHOOK_SECRET_PREVIOUS,
  type World,
} from './harness.js';
import { installApplyWithoutIdempotency, installApplyWithoutOrdering, installApplyWithWrongLedger } from './fixtures/broken.js';

const world = useWorlds();

// Broken handlers, for twins only: one that trusts the SDK's own time check
// (which lets future timestamps through), one that verifies nothing.
const handlerWithoutFutureCheck: Handler = async (pool, rawBody, headers, config) => {
  const signature = String(headers['stripe-signature']);
  try {
    const event = new Stripe('sk_unused').webhooks.constructEvent(rawBody, signature, config.secrets[0]!, 300);
    await recordEvent(pool, event, 'webhook');
    return { status: 200, body: { received: true } };
  } catch {
    return { status: 401, body: {} };
  }
};
const handlerWithoutVerification: Handler = async (pool, rawBody) => {
  const event = JSON.parse(rawBody.toString('utf8')) as Stripe.Event;
  await recordEvent(pool, event, 'webhook');
  return { status: 200, body: { received: true } };
};

/** A paid, captured checkout whose events were not delivered: the intent's events, oldest first. */
async function paidWithoutWebhooks(w: World) {
  const hold = await cardHold(w.pool, { priceCents: 3100 });
  const { payment } = await startCardCheckout(w.pool, w.gateway, hold.booking.id, CUSTOMER_ACTOR);
  await payAsCustomer(w.gateway, payment.providerIntentId!, 'pm_card_visa');
  // Our own capture, as the flow makes it once the authorization is verified.
  await w.gateway.captureIntent(payment.providerIntentId!, `${payment.idempotencyPrefix}:capture`);
  return { hold, payment, events: eventsOf(w.sandbox, payment.providerIntentId!) };
}

function signatureCases(event: Stripe.Event) {
  const now = Math.floor(Date.now() / 1000);
  return {
    forged: { secret: 'whsec_attacker' },
    stale: { timestamp: now - 600 },
    future: { timestamp: now + 600 },
    tampered: { signatureOverride: undefined as string | undefined, body: JSON.stringify({ ...event, id: 'evt_tampered' }) },
  };
}

describe('webhook signatures', () => {
  // Proves forged, stale, future-dated and tampered deliveries are refused with 401 and store nothing; the rotated-out secret still works.
  it('rejects forged, stale, future and tampered signatures and accepts both rotation secrets', async () => {
    const w = await world({ sandbox: { autoDeliver: false } });
    const { events } = await paidWithoutWebhooks(w);
    const event = events[0]!;
    const cases = signatureCases(event);
    expect((await deliver(w.pool, handleStripeWebhook, event, cases.forged)).status).toBe(401);
    expect((await deliver(w.pool, handleStripeWebhook, event, cases.stale)).status).toBe(401);
    expect((await deliver(w.pool, handleStripeWebhook, event, cases.future)).status).toBe(401);
    const goodSignature = (await import('../../src/stripeSandbox/index.js')).signatureHeader(JSON.stringify(event), WEBHOOK_SECRET);
    expect((await deliver(w.pool, handleStripeWebhook, cases.tampered.body, { signatureOverride: goodSignature })).status).toBe(401);
    expect((await handleStripeWebhook(w.pool, Buffer.from(JSON.stringify(event)), {}, { secrets: [WEBHOOK_SECRET] })).status).toBe(401);
    expect((await w.pool.query('SELECT count(*)::int AS n FROM stripe_events')).rows[0].n).toBe(0);
    expect((await deliver(w.pool, handleStripeWebhook, event, { secret: WEBHOOK_SECRET_PREVIOUS })).status).toBe(200);
    expect((await deliver(w.pool, handleStripeWebhook, events[1]!, { secret: WEBHOOK_SECRET })).status).toBe(200);
  });

  // Twin: a handler relying on the SDK's time check alone accepts a future-dated signature; one without verification accepts a forgery.
  it('twin: broken handlers accept future-dated and forged deliveries', async () => {
    const w = await world({ sandbox: { autoDeliver: false } });
    const { events } = await paidWithoutWebhooks(w);
    const cases = signatureCases(events[0]!);
    expect((await deliver(w.pool, handlerWithoutFutureCheck, events[0]!, cases.future)).status).toBe(200);
    expect((await deliver(w.pool, handlerWithoutVerification, events[1]!, cases.forged)).status).toBe(200);
  });
});

/** Signs `body` as the provider would, at `timestamp`, with the current secret. */
async function signed(body: string, timestamp = Math.floor(Date.now() / 1000)): Promise<string> {
  return (await import('../../src/stripeSandbox/index.js')).signatureHeader(body, WEBHOOK_SECRET, timestamp);
}

async function storedEvents(pool: Pool): Promise<number> {
  return (await pool.query('SELECT count(*)::int AS n FROM stripe_events')).rows[0].n;
}

describe('webhook refusals (issue 12 items 8 and 9, issue 15)', () => {
  // Proves a second t= cannot carry a future timestamp past our window check: we read the first t, the SDK verified the last, and the delivery was accepted.
  it('refuses a signature header with more than one timestamp', async () => {
    const w = await world({ sandbox: { autoDeliver: false } });
    const { events } = await paidWithoutWebhooks(w);
    const body = JSON.stringify(events[0]!);
    const now = Math.floor(Date.now() / 1000);
    const smuggled = `t=${now},${await signed(body, now + 600)}`;
    const answer = await deliver(w.pool, handleStripeWebhook, body, { signatureOverride: smuggled });
    expect(answer.status).toBe(401);
    expect(answer.body.error).toMatchObject({ code: 'UNAUTHORIZED', retryable: false });
    expect((answer.body.error as { message: string }).message).toMatch(/more than one timestamp/);
    // Spaces do not hide a second t from us either (the SDK would skip " t" and keep the first).
    const spaced = `${await signed(body, now)}, t=${now + 600}`;
    expect((await deliver(w.pool, handleStripeWebhook, body, { signatureOverride: spaced })).status).toBe(401);
    expect(await storedEvents(w.pool)).toBe(0);
    expect((await deliver(w.pool, handleStripeWebhook, body)).status).toBe(200);
  });

  // Proves every malformed signed event is a coded 400 naming the field, with no database text, and stores nothing: a missing livemode answered 503 with the not-null message.
  it('refuses malformed signed events with a coded 400 before storing anything', async () => {
    const w = await world({ sandbox: { autoDeliver: false } });
    const { events } = await paidWithoutWebhooks(w);
    const event = events[0]! as unknown as Record<string, unknown>;
    const { livemode: _livemode, ...withoutLivemode } = event;
    const deep = `${'{"a":'.repeat(9000)}1${'}'.repeat(9000)}`;
    const cases: Array<{ body: string; field: string }> = [
      { body: JSON.stringify(withoutLivemode), field: 'event.livemode' },
      { body: JSON.stringify({ ...event, livemode: 'no' }), field: 'event.livemode' },
      {
        body: JSON.stringify({ ...event, data: { object: { ...(event.data as { object: object }).object, metadata: { note: 'a\u0000b' } } } }),
        field: 'event.data.object.metadata.note',
      },
      { body: JSON.stringify(event).replace(/}$/, `,"extra":${deep}}`), field: 'event' },
      { body: '[]', field: 'event' },
      { body: '{"id": ', field: 'event' },
    ];
    for (const testCase of cases) {
      const answer = await deliver(w.pool, handleStripeWebhook, testCase.body);
      const error = answer.body.error as Record<string, unknown>;
      expect(answer.status, `${testCase.field}: ${JSON.stringify(answer.body)}`).toBe(400);
      expect(error).toMatchObject({ code: 'VALIDATION_ERROR', field: testCase.field, retryable: false });
      expect(JSON.stringify(answer.body)).not.toMatch(/null value|violates|column|relation|stack size|Unicode escape/i);
    }
    expect(await storedEvents(w.pool)).toBe(0);
  });

  // Proves refusals come from the error map with their cause: a hint on 401s, the database's failure kept as cause, and a status that follows the cause (the handler answered 503 whatever happened).
  it('answers every failure as a BookijiError of the taxonomy with its cause', async () => {
    const w = await world({ sandbox: { autoDeliver: false } });
    const { events } = await paidWithoutWebhooks(w);
    const unsigned = await handleStripeWebhook(w.pool, Buffer.from('{}'), {}, { secrets: [WEBHOOK_SECRET] });
    expect(unsigned.status).toBe(401);
    expect((unsigned.body.error as { hint: string }).hint).toMatch(/STRIPE_WEBHOOK_SECRET/);
    const forged = await deliver(w.pool, handleStripeWebhook, events[0]!, { secret: 'whsec_attacker' });
    expect(forged.status).toBe(401);
    expect(forged.error?.cause).toBeInstanceOf(Error);
    // A broken schema is no outage: INTERNAL_ERROR (500), not a retryable 503, with the database's error as cause.
    await w.pool.query('ALTER TABLE stripe_events RENAME TO stripe_events_gone');
    const broken = await deliver(w.pool, handleStripeWebhook, events[0]!);
    expect(broken.status).toBe(500);
    expect(broken.body.error).toMatchObject({ code: 'INTERNAL_ERROR', retryable: false });
    expect((broken.error?.cause as { code?: string } | undefined)?.code).toBe('42P01');
    await w.pool.query('ALTER TABLE stripe_events_gone RENAME TO stripe_events');
  });
});

/** Delivers each event of a captured payment three times; returns what a checker needs. */
async function deliverThrice(w: World) {
  const { hold, payment, events } = await paidWithoutWebhooks(w);
  for (const event of events) {
    for (let i = 0; i < 3; i++) expect((await deliver(w.pool, handleStripeWebhook, event)).status).toBe(200);
  }
  return { hold, payment: await getPayment(w.pool, payment.id), events };
}

describe('webhook delivery', () => {
  // Proves each event delivered three times is stored once, counted three times, and moves money and booking once.
  it('applies the same webhook delivered three times exactly once', async () => {
    const w = await world({ sandbox: { autoDeliver: false } });
    const { hold, payment, events } = await deliverThrice(w);
    const stored = await w.pool.query('SELECT event_id, deliveries FROM stripe_events ORDER BY created, event_id');
    expect(stored.rows.length).toBe(events.length);
    expect(stored.rows.every((r) => r.deliveries === 3)).toBe(true);
    expect(await ledgerSums(w.pool, payment.id)).toEqual({ authorization: 3100, capture: 3100 });
    const confirms = await w.pool.query(`SELECT count(*)::int AS n FROM booking_transitions WHERE booking_id = $1 AND to_state = 'confirmed'`, [
      hold.booking.id,
    ]);
    expect(confirms.rows[0].n).toBe(1);
    expect(noViolations(await verifyAll(w.pool))).toBe(true);
  });

  // Twin: an apply function without idempotency writes the ledger once per delivery, which the ledger check catches.
  it('twin: applying duplicates twice is caught by the ledger check', async () => {
    const w = await world({ sandbox: { autoDeliver: false } });
    await installApplyWithoutIdempotency(w.pool);
    // The broken function is reached on every delivery: store each copy as a new event.
    const { payment, events } = await paidWithoutWebhooks(w);
    for (const event of events) {
      for (let i = 0; i < 3; i++) await processEvent(w.pool, { ...event, id: `${event.id}_copy${i}` }, RECONCILE_ACTOR);
    }
    const sums = await ledgerSums(w.pool, payment.id);
    expect(sums.capture).not.toBe(3100);
  });
});

function permutations<T>(items: T[]): T[][] {
  if (items.length <= 1) return [items];
  return items.flatMap((item, i) => permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [item, ...rest]));
}

/** One payment per order: declined first, then paid, then captured; its events delivered in `order`. */
async function paymentInOrder(w: World, order: number[], options: { settle: boolean } = { settle: true }) {
  const hold = await cardHold(w.pool, { priceCents: 2700, vendor: undefined });
  const { payment } = await startCardCheckout(w.pool, w.gateway, hold.booking.id, CUSTOMER_ACTOR);
  await payAsCustomer(w.gateway, payment.providerIntentId!, 'pm_card_chargeDeclined');
  await payAsCustomer(w.gateway, payment.providerIntentId!, 'pm_card_visa');
  await w.gateway.captureIntent(payment.providerIntentId!, `${payment.idempotencyPrefix}:capture`);
  const events = eventsOf(w.sandbox, payment.providerIntentId!);
  expect(events.map((e) => e.type)).toEqual([
    'payment_intent.created',
    'payment_intent.payment_failed',
    'payment_intent.amount_capturable_updated',
    'payment_intent.succeeded',
  ]);
  for (const index of order) {
    const answer = await deliver(w.pool, handleStripeWebhook, events[index]!, options.settle ? { gateway: w.gateway } : {});
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
  }
  const current = await getPayment(w.pool, payment.id);
  return { hold, payment: current, booking: await bookingRow(w.pool, current.bookingId) };
}

describe('event order', () => {
  // Proves that in all 24 orders (applying each event alone, without the follow-up provider read that would heal a wrong step) of one payment's four events (decline, then paid and captured) the end is the same: captured money, one confirmed booking, a balanced ledger.
  it('converges to captured and confirmed in every order', async () => {
    const w = await world({ sandbox: { autoDeliver: false } });
    const orders = permutations([0, 1, 2, 3]);
    expect(orders.length).toBe(24);
    for (const order of orders) {
      const { payment, booking } = await paymentInOrder(w, order, { settle: false });
      expect({ order, status: payment.status, booking }).toEqual({ order, status: 'captured', booking: { state: 'confirmed', payment_status: 'captured' } });
      expect(await ledgerSums(w.pool, payment.id)).toEqual({ authorization: 2700, capture: 2700 });
    }
    // A payment_failed after succeeded was logged, not applied.
    const stale = await w.pool.query(
      `SELECT count(*)::int AS n FROM payment_applications WHERE outcome = 'stale' AND provider_status = 'requires_payment_method'`,
    );
    expect(stale.rows[0].n).toBeGreaterThan(0);
    expect(noViolations(await verifyAll(w.pool))).toBe(true);
  });

  // Twin: an apply function that lets late events move a payment backwards ends some orders without a confirmed booking.
  it('twin: applying late events backwards breaks convergence', async () => {
    const w = await world({ sandbox: { autoDeliver: false } });
    await installApplyWithoutOrdering(w.pool);
    // Without the follow-up provider calls, which would read the intent again and heal it.
    const { booking } = await paymentInOrder(w, [0, 2, 3, 1], { settle: false });
    expect(booking.state).not.toBe('confirmed');
  });
});

/** Every webhook is dropped; then reconcile runs (the given one). */
async function lostWebhooks(w: World, run: (pool: Pool) => Promise<unknown>) {
  const hold = await cardHold(w.pool, { priceCents: 1900 });
  const { payment } = await startCardCheckout(w.pool, w.gateway, hold.booking.id, CUSTOMER_ACTOR);
  await payAsCustomer(w.gateway, payment.providerIntentId!, 'pm_card_visa');
  await w.sandbox.flushWebhooks();
  expect((await bookingRow(w.pool, hold.booking.id)).state).toBe('held');
  const report = await run(w.pool);
  return { hold, payment: await getPayment(w.pool, payment.id), report };
}

describe('lost webhooks', () => {
  // Proves reconcile finds events the provider never delivered, applies them, captures, and the drift report agrees to the cent.
  it('recovers a lost webhook with reconcile', async () => {
    const w = await world({ sandbox: { faults: { dropRate: 1 } } });
    const { hold, payment, report } = await lostWebhooks(w, (pool) => reconcile(pool, w.gateway, { dryRun: false, actor: RECONCILE_ACTOR }));
    const r = report as Awaited<ReturnType<typeof reconcile>>;
    expect(r.eventsRecovered.length).toBeGreaterThanOrEqual(2);
    expect(await bookingRow(w.pool, hold.booking.id)).toEqual({ state: 'confirmed', payment_status: 'captured' });
    expect(payment.status).toBe('captured');
    expect(r.totals).toMatchObject({ driftCount: 0, providerNetCents: 1900, oursNetCents: 1900, ledgerNetCents: 1900 });
    expect(noViolations(await verifyAll(w.pool))).toBe(true);
  });

  // Twin: a reconcile that only expires holds leaves the paid booking unconfirmed.
  it('twin: a reconcile without event recovery leaves the paid booking held', async () => {
    const w = await world({ sandbox: { faults: { dropRate: 1 } } });
    const { expireHolds } = await import('../../src/engine/holds.js');
    const { hold } = await lostWebhooks(w, (pool) => expireHolds(pool, { dryRun: false, actor: RECONCILE_ACTOR }));
    expect((await bookingRow(w.pool, hold.booking.id)).state).toBe('held');
  });
});

describe('a noisy provider', () => {
  // Proves that with every webhook duplicated and many reordered and delayed (seeded), eight concurrent checkouts (one declined) end consistent after reconcile: ledger equals the provider to the cent, every check passes.
  it('converges under duplicated, reordered and delayed webhooks', async () => {
    const w = await world({ sandbox: { seed: 'noisy-1', faults: { duplicateRate: 1, reorderRate: 0.5, delayRate: 0.5, delayMs: [0, 40] } } });
    const holds = await Promise.all(Array.from({ length: 8 }, (_, i) => cardHold(w.pool, { priceCents: 1000 + i })));
    await Promise.all(
      holds.map(async (hold, i) => {
        const { payment } = await startCardCheckout(w.pool, w.gateway, hold.booking.id, CUSTOMER_ACTOR);
        await payAsCustomer(w.gateway, payment.providerIntentId!, i === 3 ? 'pm_card_chargeDeclined' : 'pm_card_visa');
      }),
    );
    await w.sandbox.flushWebhooks();
    const report = await reconcile(w.pool, w.gateway, { dryRun: false, actor: RECONCILE_ACTOR });
    const states = await Promise.all(holds.map((hold) => bookingRow(w.pool, hold.booking.id)));
    expect(states.map((b) => b.state)).toEqual(holds.map((_, i) => (i === 3 ? 'cancelled' : 'confirmed')));
    const expectedCents = holds.reduce((sum, _, i) => sum + (i === 3 ? 0 : 1000 + i), 0);
    expect(report.totals).toMatchObject({ driftCount: 0, providerNetCents: expectedCents, ledgerNetCents: expectedCents, oursNetCents: expectedCents });
    expect(noViolations(await verifyAll(w.pool))).toBe(true);
  });

  // Twin: with a ledger that records captures wrongly, the same noisy run is caught by reconcile's drift report.
  it('twin: a wrong ledger under the same noise shows as drift', async () => {
    const w = await world({ sandbox: { seed: 'noisy-1', faults: { duplicateRate: 1, reorderRate: 0.5, delayRate: 0.5, delayMs: [0, 40] } } });
    await installApplyWithWrongLedger(w.pool);
    const hold = await cardHold(w.pool, { priceCents: 1000 });
    const { payment } = await startCardCheckout(w.pool, w.gateway, hold.booking.id, CUSTOMER_ACTOR);
    await payAsCustomer(w.gateway, payment.providerIntentId!, 'pm_card_visa');
    await w.sandbox.flushWebhooks();
    const report = await reconcile(w.pool, w.gateway, { dryRun: false, actor: RECONCILE_ACTOR });
    expect(report.totals.driftCount).toBeGreaterThan(0);
  });
});
