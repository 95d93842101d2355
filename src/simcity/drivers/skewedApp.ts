// SC-3's skewed application hosts: two `bookiji serve` processes whose
// clocks run minutes ahead of and behind the database's (a preloaded clock offset, see
// servedProcess.ts), and `bookiji reconcile` run under the same skews. What
// the skew may and may not change:
// - a hold's TTL is the database's: the expiry a client is shown over HTTP
//   is created_at + TTL on the database's clock, whatever the host's says;
// - reconcile judges "expired" by the database's clock: a host running ahead
//   releases nothing early, a host running behind still releases what is due;
// - a provider webhook is judged against the documented tolerance (300 s
//   old, 60 s ahead) on the receiving host's clock: inside it the event is
//   stored, outside it the request is refused and nothing is written.

import { randomBytes } from 'node:crypto';
import type { Pool } from '../../db/pool.js';
import { BookijiError } from '../../errors.js';
import { WEBHOOK_FUTURE_TOLERANCE_SECONDS_DEFAULT, WEBHOOK_TOLERANCE_SECONDS_DEFAULT } from '../../api/stripeWebhook.js';
import { startStripeSandbox } from '../../stripeSandbox/index.js';
import { signatureHeader } from '../../stripeSandbox/signature.js';
import { runBookijiCommand, ServedProcess } from '../servedProcess.js';
import type { Services } from './driver.js';

export const APP_WEBHOOK_SECRET = 'whsec_bookiji_sc3_skew';
/** Reconcile asks the provider for events it missed: the local Stripe-compatible server answers (SC-3 makes no payments). */
const PROVIDER_KEY = 'sk_test_bookiji_sc3';

export type SkewSide = 'ahead' | 'behind';

export interface SkewedHost {
  side: SkewSide;
  offsetSeconds: number;
  serve: ServedProcess;
}

export interface SkewServices extends Services {
  hosts: Record<SkewSide, SkewedHost>;
  connectionString: string;
  apiKey: string;
  /** The environment reconcile runs with: the local provider's address and key. */
  reconcileEnv: Record<string, string>;
}

export async function openSkewServices(observer: Pool, offsets: Record<SkewSide, number>): Promise<SkewServices> {
  const connectionString = observer.options.connectionString as string;
  const { createApiKey } = await import('../../api/apiKeys.js');
  const key = await createApiKey(observer, { partner: `SimCity SC-3 ${randomBytes(3).toString('hex')}` });
  const hosts = {} as Record<SkewSide, SkewedHost>;
  const sandbox = await startStripeSandbox({ apiKey: PROVIDER_KEY, webhookSecret: APP_WEBHOOK_SECRET, seed: 'SC-3', autoDeliver: false });
  try {
    for (const side of ['ahead', 'behind'] as const) {
      const serve = new ServedProcess({ connectionString, clockOffsetSeconds: offsets[side], env: { STRIPE_WEBHOOK_SECRET: APP_WEBHOOK_SECRET } });
      hosts[side] = { side, offsetSeconds: offsets[side], serve };
      await serve.start();
    }
  } catch (error) {
    await Promise.all(Object.values(hosts).map((host) => host.serve.close()));
    await sandbox.close();
    throw error;
  }
  return {
    hosts,
    connectionString,
    apiKey: key.key,
    // No provider key: SC-3 makes no payments, and reconcile's local work (expired holds) is what the
    // skew may not change. With a key it would also judge payments other scenarios left on a shared
    // database (certify runs them one after another on it), which are no concern of this host's clock.
    reconcileEnv: { STRIPE_SECRET_KEY: '', STRIPE_API_BASE: sandbox.url },
    async close() {
      await Promise.all(Object.values(hosts).map((host) => host.serve.close()));
      await sandbox.close();
    },
  };
}

/** A hold placed over HTTP through the skewed host: what the client is shown. */
export async function holdThroughHost(
  host: SkewedHost,
  apiKey: string,
  body: Record<string, unknown>,
): Promise<{ bookingId: string; holdExpiresAt: string; createdAt: string }> {
  const response = await fetch(`${host.serve.url}/v1/bookings`, {
    method: 'POST',
    headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ ...body, hold: true }),
  });
  const parsed = (await response.json()) as { booking?: { id: string; holdExpiresAt: string; createdAt: string }; error?: { code: string; message: string } };
  if (!parsed.booking) throw new BookijiError((parsed.error?.code ?? 'INTERNAL_ERROR') as 'INTERNAL_ERROR', parsed.error?.message ?? `HTTP ${response.status}`);
  return { bookingId: parsed.booking.id, holdExpiresAt: parsed.booking.holdExpiresAt, createdAt: parsed.booking.createdAt };
}

/** `bookiji reconcile --yes --json` on the skewed host's clock; the expired holds it released. */
export async function reconcileOnHost(services: SkewServices, side: SkewSide): Promise<string[]> {
  const result = await runBookijiCommand(['reconcile', '--yes', '--json'], {
    connectionString: services.connectionString,
    clockOffsetSeconds: services.hosts[side].offsetSeconds,
    env: services.reconcileEnv,
  });
  if (result.code !== 0)
    throw new BookijiError('INTERNAL_ERROR', `reconcile on the host running ${side} exited ${result.code}: ${result.stderr.slice(0, 500)}`);
  const report = JSON.parse(result.stdout) as { expiredHolds: Array<{ bookingId: string }> };
  return report.expiredHolds.map((hold) => hold.bookingId);
}

/** Whether the documented tolerance accepts a fresh event on a host whose clock is off by `offsetSeconds`. */
export function webhookWithinTolerance(offsetSeconds: number): boolean {
  // The event is signed now (real time); the host reads now + offset.
  return offsetSeconds <= WEBHOOK_TOLERANCE_SECONDS_DEFAULT && -offsetSeconds <= WEBHOOK_FUTURE_TOLERANCE_SECONDS_DEFAULT;
}

/** A provider event for an intent no booking has, signed on the provider's (real) clock, posted to the skewed host. */
export async function postWebhook(host: SkewedHost, eventId: string): Promise<number> {
  const created = Math.floor(Date.now() / 1000);
  const payload = JSON.stringify({
    id: eventId,
    object: 'event',
    type: 'payment_intent.canceled',
    created,
    livemode: false,
    api_version: '2024-06-20',
    data: { object: { id: `pi_${eventId}`, object: 'payment_intent', status: 'canceled', amount: 100, amount_received: 0, currency: 'eur', metadata: {} } },
  });
  const response = await fetch(`${host.serve.url}/webhooks/stripe`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'stripe-signature': signatureHeader(payload, APP_WEBHOOK_SECRET, created) },
    body: payload,
  });
  await response.text();
  return response.status;
}
