// POST /webhooks/stripe, framework-free: `bookiji serve` mounts it, tests call
// it through a plain node:http server. Every refusal is a BookijiError of the
// taxonomy (src/errors.ts decides its status and body), with the original
// failure kept as its `cause`.
//
// Order of work, and why:
//   1. verify the signature with the SDK's constructEvent against the current
//      secret, then the previous one (rotation); the SDK rejects timestamps
//      older than the tolerance but lets future ones through, so a timestamp
//      too far ahead is refused here (a replay window must not open forward).
//      We read the header's timestamp exactly as the SDK does and refuse a
//      header with more than one: the SDK keeps the last t, so reading the
//      first would judge a different timestamp from the one it verifies
//   2. check the verified event's shape (strict JSON, the fields we store):
//      a malformed event is a coded 400, never a database error
//   3. store the event once by id and commit: only then may we answer 2xx,
//      since a 2xx tells the provider never to send it again
//   4. apply it (idempotent, never backwards); if applying fails the answer is
//      an error, the provider redelivers, and reconcile also re-applies stored
//      events that were never processed
//   5. perform what the payment now owes (capture, cancel, refund) on a best
//      effort basis: the recovery point is already committed, so a failure
//      here is reconcile's to finish and does not change the answer.

import Stripe from 'stripe';
import { BookijiError, httpErrorOf } from '../errors.js';
import type { Pool } from '../db/pool.js';
import type { Actor } from '../engine/types.js';
import { parseStrictJson } from './strictJson.js';
import { documentChecker } from './validation.js';
import { settlePayment } from '../payments/actions.js';
import { processEvent, recordEvent } from '../payments/events.js';
import type { PaymentGateway } from '../payments/gateway.js';

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
  /** The refusal behind a non-2xx answer, with its cause (for the server's log). */
  error?: BookijiError;
}

export const WEBHOOK_TOLERANCE_SECONDS_DEFAULT = 300;
export const WEBHOOK_FUTURE_TOLERANCE_SECONDS_DEFAULT = 60;

const WEBHOOK_ACTOR: Actor = { kind: 'system', id: 'stripe-webhook', source: 'webhook' };
const SIGNATURE_HINT =
  'Deliveries must be signed by the payment provider with the current or previous endpoint secret (STRIPE_WEBHOOK_SECRET, STRIPE_WEBHOOK_SECRET_PREVIOUS), within the time window.';

// constructEvent needs no API key; one verifier instance serves every call.
const verifier = new Stripe('sk_webhook_verifier_only');

// What we store of an event (stripe_events: id, type, object id, livemode,
// created, payload) and read to apply it; the rest is the provider's.
const checkEventShape = documentChecker(
  {
    type: 'object',
    required: ['id', 'type', 'created', 'livemode', 'data'],
    properties: {
      id: { type: 'string', minLength: 1, maxLength: 255 },
      type: { type: 'string', minLength: 1, maxLength: 255 },
      created: { type: 'integer', minimum: 0, maximum: 2_147_483_647 },
      livemode: { type: 'boolean' },
      data: {
        type: 'object',
        required: ['object'],
        properties: { object: { type: 'object', properties: { id: { type: 'string', maxLength: 255 } } } },
      },
    },
  },
  'event',
);

type Headers = Record<string, string | string[] | undefined>;

function headerValue(headers: Headers, name: string): string | undefined {
  const found = Object.entries(headers).find(([key]) => key.toLowerCase() === name)?.[1];
  return Array.isArray(found) ? found[0] : found;
}

function unauthorized(message: string, cause?: unknown): BookijiError {
  return new BookijiError('UNAUTHORIZED', message, { hint: SIGNATURE_HINT, ...(cause === undefined ? {} : { cause }) });
}

/**
 * The header's one timestamp, split exactly as the SDK splits it (items on
 * ",", key and value on "="). Any item whose key is t counts, spaces or not,
 * so that no second t can hide from this check and reach the SDK.
 */
export function signatureTimestamp(header: string): number {
  const stamps = header
    .split(',')
    .map((item) => item.split('='))
    .filter(([key]) => key?.trim() === 't');
  if (stamps.length === 0) throw unauthorized('Stripe-Signature has no timestamp (t=)');
  if (stamps.length > 1) throw unauthorized('Stripe-Signature has more than one timestamp (t=); a signature carries exactly one');
  const [key, value, ...rest] = stamps[0]!;
  if (key !== 't' || rest.length > 0 || !value || !/^\d{1,12}$/.test(value)) throw unauthorized('Stripe-Signature timestamp is not a whole number of seconds');
  return Number(value);
}

function verifiedEvent(rawBody: Buffer, signature: string, config: WebhookConfig, toleranceSeconds: number, nowSeconds: number): Stripe.Event {
  let lastFailure: unknown;
  for (const secret of config.secrets) {
    try {
      return verifier.webhooks.constructEvent(rawBody, signature, secret, toleranceSeconds, undefined, nowSeconds);
    } catch (error) {
      // The SDK parses only after the signature matched: a signed body that is not JSON is bad input, not a forgery.
      if (error instanceof SyntaxError) throw new BookijiError('VALIDATION_ERROR', 'event: not valid JSON', { details: { field: 'event' }, cause: error });
      // Try the next secret; none matching is a forgery (or a secret we retired).
      lastFailure = error;
    }
  }
  throw unauthorized('signature does not match any webhook secret', lastFailure);
}

/** The verified, well-formed event of a delivery; throws the refusal otherwise. */
function acceptedEvent(rawBody: Buffer, headers: Headers, config: WebhookConfig): Stripe.Event {
  const signature = headerValue(headers, 'stripe-signature');
  if (!signature) throw unauthorized('missing Stripe-Signature header');
  const timestamp = signatureTimestamp(signature);
  if (config.secrets.length === 0) {
    throw new BookijiError('INTERNAL_ERROR', 'no webhook signing secret is configured', {
      hint: 'Set STRIPE_WEBHOOK_SECRET (and STRIPE_WEBHOOK_SECRET_PREVIOUS during a rotation) for `bookiji serve`.',
    });
  }
  const now = config.nowSeconds?.() ?? Math.floor(Date.now() / 1000);
  const tolerance = config.toleranceSeconds ?? WEBHOOK_TOLERANCE_SECONDS_DEFAULT;
  if (timestamp - now > (config.futureToleranceSeconds ?? WEBHOOK_FUTURE_TOLERANCE_SECONDS_DEFAULT))
    throw unauthorized('signature timestamp is too far in the future');
  if (now - timestamp > tolerance) throw unauthorized('signature timestamp is too old');
  const event = verifiedEvent(rawBody, signature, config, tolerance, now);
  checkEventShape(parseStrictJson(rawBody, 'event'));
  return event;
}

async function receive(pool: Pool, rawBody: Buffer, headers: Headers, config: WebhookConfig): Promise<Record<string, unknown>> {
  const event = acceptedEvent(rawBody, headers, config);
  const recorded = await recordEvent(pool, event, 'webhook');
  if (recorded.processed) return { received: true, duplicate: true };
  const processed = await processEvent(pool, event, WEBHOOK_ACTOR);
  if (config.gateway && processed.payment && processed.payment.pendingAction !== 'none') {
    // Best effort: the event is stored and applied; what it owes is reconcile's to finish.
    await settlePayment(pool, config.gateway, processed.payment.id, WEBHOOK_ACTOR).catch(() => undefined);
  }
  return { received: true, duplicate: !recorded.inserted, outcome: processed.outcome };
}

export async function handleStripeWebhook(pool: Pool, rawBody: Buffer, headers: Headers, config: WebhookConfig): Promise<WebhookResponse> {
  try {
    return { status: 200, body: await receive(pool, rawBody, headers, config) };
  } catch (caught) {
    const { error, status, body } = httpErrorOf(caught);
    return { status, body: { ...body }, error };
  }
}
