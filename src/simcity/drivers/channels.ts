// The paths a client request can take. The engine path calls the engine's
// TypeScript layer on a pooled connection; the HTTP path sends the same
// request to the partner API: `bookiji serve` started in-process by the
// runtime on 127.0.0.1, or, in target mode (--target-url, --api-key), a
// server running elsewhere on the same database. A driver sees the same
// HttpChannel either way, so every scenario with an HTTP path gets target
// mode for free. Which path an action takes is part of the seeded plan;
// what the path does is this one small adapter.

import { BookijiError, type ErrorCode } from '../../errors.js';
import type { Pool } from '../../db/pool.js';
import type { Random } from '../random.js';
import type { ScenarioParameters } from '../types.js';

export interface HttpChannel {
  url: string;
  apiKey: string;
  partnerId: string;
  /** Sent as X-Request-Id (with a counter), so the server's log lines name SimCity's requests. */
  requestIdPrefix?: string;
  /** The signing secret POST /webhooks/stripe verifies deliveries with (SC-5 signs stale and fresh events); unknown for a remote target. */
  stripeWebhookSecret?: string;
}

let requestSerial = 0;

/** The headers of one partner API request: the key, JSON, and a request id the server logs. */
export function apiHeaders(http: HttpChannel): Record<string, string> {
  requestSerial += 1;
  const headers: Record<string, string> = { authorization: `Bearer ${http.apiKey}`, 'content-type': 'application/json' };
  if (http.requestIdPrefix) headers['x-request-id'] = `${http.requestIdPrefix}-${requestSerial}`;
  return headers;
}

/** What one simulated client has: its connection pool, the API when it runs, and the signal a restart fires. */
export interface ClientSession {
  pool: Pool;
  signal: AbortSignal;
  http?: HttpChannel;
}

export function requestChannel(random: Random, parameters: ScenarioParameters): string {
  return random.weighted(parameters.paths);
}

/**
 * The partner API namespaces idempotency keys by partner. The engine path
 * stores the same namespaced key, so one intent is one key in the database
 * whichever path carried it.
 */
export function intentKey(http: HttpChannel | undefined, key: string): string {
  return http ? `partner:${http.partnerId}:${key}` : key;
}

/** POST /v1/bookings. A refusal becomes its BookijiError (fail); no answer becomes DEPENDENCY_UNAVAILABLE (unknown). */
export async function httpClaim(
  session: ClientSession,
  body: { slotId: string; customerId: string; idempotencyKey: string },
): Promise<{ booking: { id: string; state: string }; replayed: boolean }> {
  const http = session.http;
  if (!http) throw new BookijiError('INTERNAL_ERROR', 'the HTTP path was planned but no API server runs');
  let response: Response;
  try {
    response = await fetch(`${http.url}/v1/bookings`, {
      method: 'POST',
      headers: apiHeaders(http),
      body: JSON.stringify(body),
      signal: session.signal,
    });
  } catch (error) {
    throw new BookijiError('DEPENDENCY_UNAVAILABLE', `no answer from the API: ${(error as Error).message}`, { cause: error });
  }
  const text = await response.text().catch((error: Error) => {
    throw new BookijiError('DEPENDENCY_UNAVAILABLE', `the API's answer was cut off: ${error.message}`, { cause: error });
  });
  const parsed = JSON.parse(text) as { booking?: { id: string; state: string }; replayed?: boolean; error?: { code: ErrorCode; message: string } };
  if (response.status >= 400 || !parsed.booking) {
    const code = parsed.error?.code ?? 'INTERNAL_ERROR';
    throw new BookijiError(code, parsed.error?.message ?? `HTTP ${response.status}`);
  }
  return { booking: parsed.booking, replayed: Boolean(parsed.replayed) };
}
