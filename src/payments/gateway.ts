// The payment gateway: the real `stripe` SDK, pointed at Stripe or at our
// local Stripe-compatible server by configuration alone.
//
// Every write carries a Stripe idempotency key derived from our own ids
// (`bookiji:<bookingId>:create`, `…:capture`, …), so repeating a call after a
// timeout, a crash or a 5xx is always safe: the provider answers the first
// outcome. The SDK retries network failures itself (`maxNetworkRetries`);
// on top we retry a bounded number of times with jittered backoff, then give
// up with DEPENDENCY_UNAVAILABLE (retryable) and leave the recovery point for
// reconcile. A decline is PAYMENT_FAILED.

import Stripe from 'stripe';
import { BookijiError, validationError } from '../errors.js';

export interface GatewayConfig {
  secretKey: string;
  /** e.g. http://127.0.0.1:12111 for the local server; default Stripe's own API. */
  apiBase?: string | null;
  /** Webhook signing secrets: the current one first, the previous one during rotation. */
  webhookSecrets: string[];
  /** Per-request timeout. */
  timeoutMs?: number;
  /** The SDK's own retries of network failures and 5xx (same idempotency key). */
  maxNetworkRetries?: number;
  /** Our retries on top of the SDK's, each a fresh request with the same key. */
  attemptMax?: number;
  backoffBaseMs?: number;
}

export const GATEWAY_TIMEOUT_MS_DEFAULT = 10_000;
export const GATEWAY_NETWORK_RETRIES_DEFAULT = 2;
export const GATEWAY_ATTEMPT_MAX_DEFAULT = 3;

/** Reads STRIPE_SECRET_KEY, STRIPE_WEBHOOK_SECRET, STRIPE_WEBHOOK_SECRET_PREVIOUS and STRIPE_API_BASE. */
export function gatewayConfigFromEnv(env: NodeJS.ProcessEnv = process.env): GatewayConfig {
  const secretKey = env.STRIPE_SECRET_KEY;
  if (!secretKey) throw providerNotConfigured();
  const webhookSecrets = [env.STRIPE_WEBHOOK_SECRET, env.STRIPE_WEBHOOK_SECRET_PREVIOUS].filter((s): s is string => Boolean(s));
  return { secretKey, apiBase: env.STRIPE_API_BASE ?? null, webhookSecrets };
}

/** The failure of a command that needs the payment provider when none is configured. */
export function providerNotConfigured(): BookijiError {
  return new BookijiError('DEPENDENCY_UNAVAILABLE', 'STRIPE_SECRET_KEY is not set: no payment provider is configured', {
    hint: 'Set STRIPE_SECRET_KEY (and STRIPE_API_BASE for the local server started by `bookiji stripe-sandbox`).',
  });
}

/** Splits an API base URL into the SDK's host/port/protocol options. */
export function sdkConnectionOptions(apiBase: string | null | undefined): Pick<Stripe.StripeConfig, 'host' | 'port' | 'protocol'> {
  if (!apiBase) return {};
  let url: URL;
  try {
    url = new URL(apiBase);
  } catch {
    throw validationError('STRIPE_API_BASE', `not a URL: ${apiBase}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw validationError('STRIPE_API_BASE', 'must be http:// or https://');
  const protocol = url.protocol === 'http:' ? 'http' : 'https';
  return { host: url.hostname, port: url.port ? Number(url.port) : protocol === 'http' ? 80 : 443, protocol };
}

export interface CreateIntentInput {
  amountCents: number;
  currency: string;
  idempotencyKey: string;
  metadata: Record<string, string>;
  description?: string;
}

export class PaymentGateway {
  readonly stripe: Stripe;
  readonly config: GatewayConfig;

  constructor(config: GatewayConfig) {
    this.config = config;
    this.stripe = new Stripe(config.secretKey, {
      ...sdkConnectionOptions(config.apiBase),
      timeout: config.timeoutMs ?? GATEWAY_TIMEOUT_MS_DEFAULT,
      maxNetworkRetries: config.maxNetworkRetries ?? GATEWAY_NETWORK_RETRIES_DEFAULT,
      appInfo: { name: 'bookiji' },
    });
  }

  createIntent(input: CreateIntentInput): Promise<Stripe.PaymentIntent> {
    return this.call('create payment intent', () =>
      this.stripe.paymentIntents.create(
        {
          amount: input.amountCents,
          currency: input.currency.toLowerCase(),
          capture_method: 'manual',
          automatic_payment_methods: { enabled: true, allow_redirects: 'never' },
          metadata: input.metadata,
          ...(input.description ? { description: input.description } : {}),
        },
        { idempotencyKey: input.idempotencyKey },
      ),
    );
  }

  /** The intent with its latest charge expanded (refunded amounts live on the charge). */
  retrieveIntent(intentId: string): Promise<Stripe.PaymentIntent> {
    return this.call('retrieve payment intent', () => this.stripe.paymentIntents.retrieve(intentId, { expand: ['latest_charge'] }));
  }

  /**
   * Confirms an intent with a party's saved payment method while that party
   * is not present (off-session). A card that would need 3-D Secure is then a
   * 402 `authentication_required` decline (PAYMENT_FAILED) instead of an
   * intent left in requires_action with no customer to finish it.
   */
  confirmIntentOffSession(intentId: string, paymentMethod: string): Promise<Stripe.PaymentIntent> {
    return this.call('confirm payment intent off-session', () =>
      this.stripe.paymentIntents.confirm(intentId, { payment_method: paymentMethod, off_session: true }),
    );
  }

  captureIntent(intentId: string, idempotencyKey: string): Promise<Stripe.PaymentIntent> {
    return this.call('capture payment intent', () => this.stripe.paymentIntents.capture(intentId, {}, { idempotencyKey }));
  }

  cancelIntent(intentId: string, idempotencyKey: string): Promise<Stripe.PaymentIntent> {
    return this.call('cancel payment intent', () => this.stripe.paymentIntents.cancel(intentId, { cancellation_reason: 'abandoned' }, { idempotencyKey }));
  }

  refundIntent(intentId: string, amountCents: number, idempotencyKey: string): Promise<Stripe.Refund> {
    return this.call('refund payment intent', () =>
      this.stripe.refunds.create({ payment_intent: intentId, amount: amountCents, reason: 'requested_by_customer' }, { idempotencyKey }),
    );
  }

  /** Events of the given types created at or after `createdGte` (unix seconds), oldest first. */
  async listEvents(types: string[], createdGte: number, limitMax = 1000): Promise<Stripe.Event[]> {
    const events: Stripe.Event[] = [];
    let startingAfter: string | undefined;
    for (;;) {
      const page = await this.call('list events', () =>
        this.stripe.events.list({ types, created: { gte: createdGte }, limit: 100, ...(startingAfter ? { starting_after: startingAfter } : {}) }),
      );
      events.push(...page.data);
      if (!page.has_more || page.data.length === 0 || events.length >= limitMax) break;
      startingAfter = page.data[page.data.length - 1]!.id;
    }
    return events.sort((a, b) => a.created - b.created);
  }

  /** Runs one provider call with bounded retries; maps the final failure to our taxonomy. */
  async call<T>(what: string, request: () => Promise<T>): Promise<T> {
    const attemptMax = this.config.attemptMax ?? GATEWAY_ATTEMPT_MAX_DEFAULT;
    for (let attempt = 1; ; attempt++) {
      try {
        return await request();
      } catch (error) {
        if (isTransient(error) && attempt < attemptMax) {
          await sleep(backoffMs(this.config.backoffBaseMs ?? 50, attempt));
          continue;
        }
        throw providerError(what, error);
      }
    }
  }
}

/** Network failures, timeouts, 5xx, rate limits and a concurrent use of the same key are worth repeating. */
export function isTransient(error: unknown): boolean {
  if (error instanceof Stripe.errors.StripeConnectionError) return true;
  if (error instanceof Stripe.errors.StripeAPIError) return true;
  if (error instanceof Stripe.errors.StripeRateLimitError) return true;
  if (error instanceof Stripe.errors.StripeError) {
    return (error.statusCode ?? 0) >= 500 || (error.statusCode === 409 && error.code === 'idempotency_key_in_use');
  }
  return false;
}

/** The provider's failure in our taxonomy; the Stripe error stays as `cause`, its code in details. */
export function providerError(what: string, error: unknown): BookijiError {
  if (error instanceof BookijiError) return error;
  if (error instanceof Stripe.errors.StripeError) {
    const details: Record<string, unknown> = {
      provider: 'stripe',
      stripeType: error.type,
      stripeCode: error.code ?? null,
      statusCode: error.statusCode ?? null,
    };
    if (error.decline_code) details.declineCode = error.decline_code;
    if (isTransient(error)) {
      return new BookijiError('DEPENDENCY_UNAVAILABLE', `payment provider unavailable (${what}): ${error.message}`, { cause: error, details });
    }
    if (error instanceof Stripe.errors.StripeCardError) {
      return new BookijiError('PAYMENT_FAILED', `payment declined (${what}): ${error.message}`, { cause: error, details });
    }
    if (error instanceof Stripe.errors.StripeAuthenticationError || error instanceof Stripe.errors.StripePermissionError) {
      return new BookijiError('DEPENDENCY_UNAVAILABLE', `payment provider refused our credentials (${what}): ${error.message}`, {
        cause: error,
        details,
        hint: 'Check STRIPE_SECRET_KEY.',
      });
    }
    return new BookijiError('PAYMENT_FAILED', `payment provider refused the request (${what}): ${error.message}`, { cause: error, details });
  }
  return new BookijiError('DEPENDENCY_UNAVAILABLE', `payment provider call failed (${what}): ${(error as Error)?.message ?? String(error)}`, { cause: error });
}

function backoffMs(baseMs: number, attempt: number): number {
  const ceiling = baseMs * 2 ** attempt;
  return ceiling / 2 + Math.random() * (ceiling / 2);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
