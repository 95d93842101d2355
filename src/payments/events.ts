// Provider events: stored once by event id, then applied. The webhook and
// reconcile (which lists events the webhook never delivered) share this path.

import type Stripe from 'stripe';
import { BookijiError } from '../errors.js';
import { queryWithRetry, type Pool } from '../db/pool.js';
import type { Actor } from '../engine/types.js';
import { applyFacts, applyIntent, paymentByIntent, recordIntent } from './store.js';
import type { ApplyOutcome, Payment } from './types.js';
import { getPayment } from './store.js';

/** The event types that carry a payment's state. */
export const PAYMENT_EVENT_TYPES = [
  'payment_intent.created',
  'payment_intent.requires_action',
  'payment_intent.amount_capturable_updated',
  'payment_intent.succeeded',
  'payment_intent.payment_failed',
  'payment_intent.canceled',
  'charge.refunded',
];

export interface RecordedEvent {
  /** True when this delivery stored the event; false for a redelivery. */
  inserted: boolean;
  /** Already applied by an earlier delivery. */
  processed: boolean;
}

/** Stores the event once (committed before this returns); a redelivery only counts. */
export async function recordEvent(pool: Pool, event: Stripe.Event, via: 'webhook' | 'reconcile'): Promise<RecordedEvent> {
  const object = event.data.object as { id?: string };
  const result = await queryWithRetry(
    pool,
    `INSERT INTO stripe_events (event_id, type, object_id, livemode, created, payload, received_via)
     VALUES ($1, $2, $3, $4, $5, $6, $7)
     ON CONFLICT (event_id) DO UPDATE SET deliveries = stripe_events.deliveries + 1
     RETURNING (xmax = 0) AS inserted, processed_at IS NOT NULL AS processed`,
    [event.id, event.type, object.id ?? null, event.livemode, event.created, JSON.stringify(event), via],
  );
  return { inserted: Boolean(result.rows[0]!.inserted), processed: Boolean(result.rows[0]!.processed) };
}

export interface ProcessedEvent {
  outcome: ApplyOutcome | 'ignored';
  payment: Payment | null;
}

/** Applies a stored event to its payment and marks it processed. */
export async function processEvent(pool: Pool, event: Stripe.Event, actor: Actor): Promise<ProcessedEvent> {
  const processed = await applyEvent(pool, event, actor);
  await queryWithRetry(pool, 'UPDATE stripe_events SET processed_at = clock_timestamp(), outcome = $2 WHERE event_id = $1', [
    event.id,
    processed.payment ? processed.outcome : `${processed.outcome}: not a Bookiji payment`,
  ]);
  return processed;
}

async function applyEvent(pool: Pool, event: Stripe.Event, actor: Actor): Promise<ProcessedEvent> {
  if (event.type.startsWith('payment_intent.')) {
    const intent = event.data.object as Stripe.PaymentIntent;
    const payment = await findPayment(pool, intent.id, intent.metadata ?? {}, actor);
    if (!payment) return { outcome: 'ignored', payment: null };
    const applied = await applyIntent(pool, payment, intent, { eventId: event.id, actor });
    return { outcome: applied.outcome, payment: applied.payment };
  }
  if (event.type === 'charge.refunded') {
    const charge = event.data.object as Stripe.Charge;
    const intentId = typeof charge.payment_intent === 'string' ? charge.payment_intent : charge.payment_intent?.id;
    const payment = intentId ? await paymentByIntent(pool, intentId) : null;
    if (!payment) return { outcome: 'ignored', payment: null };
    const applied = await applyFacts(
      pool,
      payment,
      {
        status: 'succeeded',
        amountCapturable: 0,
        amountReceived: charge.amount_captured,
        amountRefunded: charge.amount_refunded,
        failureCode: null,
        failureMessage: null,
      },
      { eventId: event.id, actor, providerRef: charge.refunds?.data?.[0]?.id ?? null },
    );
    return { outcome: applied.outcome, payment: applied.payment };
  }
  return { outcome: 'ignored', payment: null };
}

// An event can arrive before the answer to the call that created its intent
// (the provider sends webhooks as it works): the signed metadata names our
// payment, so the intent id is recorded from the event itself.
async function findPayment(pool: Pool, intentId: string, metadata: Record<string, string>, actor: Actor): Promise<Payment | null> {
  const known = await paymentByIntent(pool, intentId);
  if (known) return known;
  const paymentId = metadata.bookiji_payment_id;
  if (!paymentId || !/^[0-9a-f-]{36}$/i.test(paymentId)) return null;
  // Only "no such payment" means the event is not ours; a database failure
  // must surface (the webhook answers 503 and the provider redelivers).
  const payment = await getPayment(pool, paymentId).catch((error: unknown) => {
    if (error instanceof BookijiError && error.code === 'PAYMENT_NOT_FOUND') return null;
    throw error;
  });
  if (!payment || payment.vendorId !== metadata.bookiji_vendor_id) return null;
  if (payment.providerIntentId && payment.providerIntentId !== intentId) return null;
  return payment.providerIntentId ? payment : recordIntent(pool, payment, intentId, actor);
}
