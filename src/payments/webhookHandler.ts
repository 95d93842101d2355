// POST /webhooks/stripe, framework-free: `bookiji serve` mounts it, tests call
// it through a plain node:http server.
//
// Order of work, and why:
//   1. verify the signature with the SDK's constructEvent against the current
//      secret, then the previous one (rotation); the SDK rejects timestamps
//      older than the tolerance but lets future ones through, so a timestamp
//      too far ahead is refused here (a replay window must not open forward)
//   2. store the event once by id and commit: only then may we answer 2xx,
//      since a 2xx tells the provider never to send it again
//   3. apply it (idempotent, never backwards); if applying fails the answer is
//      500, the provider redelivers, and reconcile also re-applies stored
//      events that were never processed
//   4. perform what the payment now owes (capture, cancel, refund) on a best
//      effort basis: the recovery point is already committed, so a failure
//      here is reconcile's to finish and does not change the answer.

import Stripe from 'stripe';
import { BookijiError } from '../errors.js';
import type { Pool } from '../db/pool.js';
import type { Actor } from '../engine/types.js';
import { settlePayment } from './actions.js';
import { processEvent, recordEvent } from './events.js';
import type { PaymentGateway } from './gateway.js';

export interface WebhookConfig {
  /** Signing secrets: current first, then the previous one during rotation. */
  secrets: string[];
  /** Oldest accepted signature timestamp, seconds; Stripe's default is 300. */
  toleranceSeconds?: number;
  /** Newest accepted signature timestamp ahead of our clock, seconds. */
  futureToleranceSeconds?: number;
  /** When given, the calls a payment owes after the event are made at once. */
  gateway?: PaymentGateway;
  /** Wall clock in unix seconds (signatures use real time, not the simulated clock). */
  nowSeconds?: () => number;
}

export interface WebhookResponse {
  status: number;
  body: Record<string, unknown>;
}

export const WEBHOOK_TOLERANCE_SECONDS_DEFAULT = 300;
export const WEBHOOK_FUTURE_TOLERANCE_SECONDS_DEFAULT = 60;

const WEBHOOK_ACTOR: Actor = { kind: 'system', id: 'stripe-webhook', source: 'webhook' };

// constructEvent needs no API key; one verifier instance serves every call.
const verifier = new Stripe('sk_webhook_verifier_only');

type Headers = Record<string, string | string[] | undefined>;

function headerValue(headers: Headers, name: string): string | undefined {
  const found = Object.entries(headers).find(([key]) => key.toLowerCase() === name)?.[1];
  return Array.isArray(found) ? found[0] : found;
}

function signatureTimestamp(header: string): number | null {
  for (const part of header.split(',')) {
    const [key, value] = part.split('=', 2);
    if (key?.trim() === 't' && value && /^\d+$/.test(value.trim())) return Number(value.trim());
  }
  return null;
}

export async function handleStripeWebhook(pool: Pool, rawBody: Buffer, headers: Headers, config: WebhookConfig): Promise<WebhookResponse> {
  const signature = headerValue(headers, 'stripe-signature');
  if (!signature) return { status: 401, body: { error: { code: 'UNAUTHORIZED', message: 'missing Stripe-Signature header' } } };
  if (config.secrets.length === 0) {
    return { status: 500, body: { error: { code: 'INTERNAL_ERROR', message: 'no webhook signing secret is configured (STRIPE_WEBHOOK_SECRET)' } } };
  }
  const now = config.nowSeconds?.() ?? Math.floor(Date.now() / 1000);
  const tolerance = config.toleranceSeconds ?? WEBHOOK_TOLERANCE_SECONDS_DEFAULT;
  const timestamp = signatureTimestamp(signature);
  if (timestamp === null) return { status: 401, body: { error: { code: 'UNAUTHORIZED', message: 'Stripe-Signature has no timestamp' } } };
  if (timestamp - now > (config.futureToleranceSeconds ?? WEBHOOK_FUTURE_TOLERANCE_SECONDS_DEFAULT)) {
    return { status: 401, body: { error: { code: 'UNAUTHORIZED', message: 'signature timestamp is too far in the future' } } };
  }
  if (now - timestamp > tolerance) {
    return { status: 401, body: { error: { code: 'UNAUTHORIZED', message: 'signature timestamp is too old' } } };
  }

  let event: Stripe.Event | undefined;
  for (const secret of config.secrets) {
    try {
      event = verifier.webhooks.constructEvent(rawBody, signature, secret, tolerance, undefined, now);
      break;
    } catch {
      // Try the next secret; none matching is a forgery (or a secret we retired).
    }
  }
  if (!event) return { status: 401, body: { error: { code: 'UNAUTHORIZED', message: 'signature does not match any webhook secret' } } };

  let recorded;
  try {
    recorded = await recordEvent(pool, event, 'webhook');
  } catch (error) {
    const mapped = error instanceof BookijiError ? error : new BookijiError('INTERNAL_ERROR', String(error));
    return { status: 503, body: { error: mapped.toJSON() } };
  }
  if (recorded.processed) return { status: 200, body: { received: true, duplicate: true } };

  let processed;
  try {
    processed = await processEvent(pool, event, WEBHOOK_ACTOR);
  } catch (error) {
    const mapped = error instanceof BookijiError ? error : new BookijiError('INTERNAL_ERROR', String(error));
    return { status: 500, body: { received: true, applied: false, error: mapped.toJSON() } };
  }
  if (config.gateway && processed.payment && processed.payment.pendingAction !== 'none') {
    await settlePayment(pool, config.gateway, processed.payment.id, WEBHOOK_ACTOR).catch(() => undefined);
  }
  return { status: 200, body: { received: true, duplicate: !recorded.inserted, outcome: processed.outcome } };
}
