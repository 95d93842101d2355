// Shared pieces of the sandbox tests: a sandbox with an SDK client pointed at
// it, and a tiny webhook receiver on 127.0.0.1 that records the raw bodies and
// signature headers it gets and answers as each test scripts it.

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type Stripe from 'stripe';
import { startStripeSandbox, stripeClient, type StripeSandbox, type StripeSandboxOptions } from '../../src/stripeSandbox/index.js';

export const API_KEY = 'sk_test_bookiji_sandbox_0001';
export const WEBHOOK_SECRET = 'whsec_bookiji_sandbox_test_secret';

export interface Harness {
  sandbox: StripeSandbox;
  stripe: Stripe;
  close(): Promise<void>;
}

export async function openSandbox(options: Partial<StripeSandboxOptions> = {}, client: Stripe.StripeConfig = {}): Promise<Harness> {
  const sandbox = await startStripeSandbox({
    apiKey: API_KEY,
    webhookSecret: WEBHOOK_SECRET,
    seed: 'bookiji-sandbox-tests',
    ...options,
  });
  return { sandbox, stripe: stripeClient(sandbox, client), close: () => sandbox.close() };
}

export interface ReceivedWebhook {
  /** The raw body, exactly as sent: what constructEvent must be given. */
  body: string;
  signature: string | undefined;
  headers: http.IncomingHttpHeaders;
  eventId: string;
  eventType: string;
}

/** What the receiver answers to its n-th request (from 0): a status, or 'hang' to never answer. */
export type Answer = (n: number, hook: ReceivedWebhook) => number | 'hang';

export interface Receiver {
  url: string;
  received: ReceivedWebhook[];
  close(): Promise<void>;
}

export async function startReceiver(answer: Answer = () => 200): Promise<Receiver> {
  const received: ReceivedWebhook[] = [];
  const hanging = new Set<http.ServerResponse>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const parsed = JSON.parse(body) as { id: string; type: string };
      const hook: ReceivedWebhook = {
        body,
        signature: req.headers['stripe-signature'] as string | undefined,
        headers: req.headers,
        eventId: parsed.id,
        eventType: parsed.type,
      };
      const n = received.length;
      received.push(hook);
      const status = answer(n, hook);
      if (status === 'hang') {
        hanging.add(res);
        res.on('close', () => hanging.delete(res));
        return;
      }
      res.writeHead(status, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ received: status < 300 }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/webhooks/stripe`,
    received,
    close: async () => {
      for (const res of hanging) res.destroy();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

/** Raw HTTP call to the sandbox, for checking wire-level JSON and headers the SDK hides. */
export async function rawCall(
  sandbox: StripeSandbox,
  method: 'GET' | 'POST',
  path: string,
  form: Record<string, string> = {},
  headers: Record<string, string> = { Authorization: `Bearer ${API_KEY}` },
): Promise<{ status: number; headers: Headers; json: unknown }> {
  const body = method === 'POST' ? new URLSearchParams(form).toString() : undefined;
  const res = await fetch(`${sandbox.url}${path}`, {
    method,
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...headers },
    ...(body !== undefined ? { body } : {}),
  });
  return { status: res.status, headers: res.headers, json: await res.json() };
}

/** Settles a promise that is expected to reject, returning the error for inspection. */
export async function failure(promise: Promise<unknown>): Promise<Stripe.errors.StripeError> {
  try {
    await promise;
  } catch (e) {
    return e as Stripe.errors.StripeError;
  }
  throw new Error('expected the call to fail, but it succeeded');
}

/**
 * A PaymentIntent's create params for a card payment with no redirects, as
 * every test here asks for one; in USD unless `params` names a currency.
 */
export function cardIntent(params: Omit<Stripe.PaymentIntentCreateParams, 'currency'> & { currency?: string }): Stripe.PaymentIntentCreateParams {
  return { automatic_payment_methods: { enabled: true, allow_redirects: 'never' }, currency: 'usd', ...params };
}
