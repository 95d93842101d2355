// SC-5's stale-webhook opening: a replay of a correctly signed Stripe event
// whose signature is an hour old must be refused with a coded 401 and store
// nothing (stripe_events unchanged), while the same kind of event signed now
// is accepted and stored once (the control: the refusal is about the age of
// the signature, not a broken secret or a dead endpoint).

import { randomBytes } from 'node:crypto';
import type { Pool } from '../../db/pool.js';
import { signatureHeader } from '../../stripeSandbox/signature.js';
import type { HistoryEvent } from '../types.js';
import type { Finding } from './driver.js';

/** Twelve times Stripe's 300-second tolerance: no clock drift explains it. */
const STALE_SIGNATURE_AGE_SECONDS = 3_600;

/** The error code of a coded error body, or null for any other answer. */
export function errorCodeOf(text: string): string | null {
  try {
    return (JSON.parse(text) as { error?: { code?: string } }).error?.code ?? null;
  } catch {
    return null;
  }
}

interface WebhookAnswer {
  status: number;
  code: string | null;
  storedBefore: number;
  storedAfter: number;
}

/** All of stripe_events, not only this event's row: the stale delivery must store nothing at all. */
const storedEvents = async (pool: Pool): Promise<number> => Number((await pool.query('SELECT count(*)::int AS n FROM stripe_events')).rows[0].n);

async function deliver(pool: Pool, url: string, secret: string, signedAtSeconds: number): Promise<WebhookAnswer> {
  const eventId = `evt_sc5_${randomBytes(8).toString('hex')}`;
  // A payment intent Bookiji never made: applying it is a no-op, storing it is the observable effect.
  const body = JSON.stringify({
    id: eventId,
    object: 'event',
    type: 'payment_intent.created',
    created: signedAtSeconds,
    livemode: false,
    data: { object: { id: `pi_sc5_${randomBytes(6).toString('hex')}`, object: 'payment_intent', metadata: {} } },
  });
  const storedBefore = await storedEvents(pool);
  const response = await fetch(`${url}/webhooks/stripe`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'stripe-signature': signatureHeader(body, secret, signedAtSeconds) },
    body,
  });
  const code = errorCodeOf(await response.text());
  return { status: response.status, code, storedBefore, storedAfter: await storedEvents(pool) };
}

/** The stale replay, then the fresh control, against the served endpoint and its secret. */
export async function staleWebhook(pool: Pool, url: string, secret: string): Promise<Record<string, unknown>> {
  const nowSeconds = Math.floor(Date.now() / 1000);
  const stale = await deliver(pool, url, secret, nowSeconds - STALE_SIGNATURE_AGE_SECONDS);
  const fresh = await deliver(pool, url, secret, nowSeconds);
  return { stale, fresh, staleAgeSeconds: STALE_SIGNATURE_AGE_SECONDS };
}

export function staleWebhookChecks(event: HistoryEvent): Finding[] {
  const stale = event.value?.stale as WebhookAnswer | undefined;
  const fresh = event.value?.fresh as WebhookAnswer | undefined;
  if (!stale || !fresh) return [];
  const findings: Finding[] = [];
  if (stale.status !== 401 || stale.code !== 'UNAUTHORIZED' || stale.storedAfter !== stale.storedBefore) {
    findings.push({
      oracle: 'webhook-replay-window',
      message: `a correctly signed event ${STALE_SIGNATURE_AGE_SECONDS} s old answered ${stale.status} ${stale.code ?? 'without a code'} and stored ${stale.storedAfter - stale.storedBefore} event(s) (needs 401 UNAUTHORIZED, nothing stored)`,
      evidence: stale,
    });
  }
  if (fresh.status !== 200 || fresh.storedAfter !== fresh.storedBefore + 1) {
    findings.push({
      oracle: 'webhook-replay-window',
      message: `the control, the same event signed now, answered ${fresh.status} ${fresh.code ?? ''} and stored ${fresh.storedAfter - fresh.storedBefore} event(s) (needs 200, stored once)`,
      evidence: fresh,
    });
  }
  return findings;
}
