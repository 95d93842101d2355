// `bookiji serve`: Partner API v1 over node:http (no framework: six routes
// and strict edges are less code than a framework's configuration).
//
// Every request: a request id (the caller's X-Request-Id when it is sane, a
// new one otherwise) that is echoed back, written to the JSON log line and
// passed to the database as the actor's request id, so it lands in the audit
// rows the request wrote. /v1 requests are authenticated by API key, then
// counted by the shared rate limiter (fail closed), then routed.

import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BookijiError, fromDatabaseError } from '../errors.js';
import type { Pool } from '../db/pool.js';
import type { WebhookConfig } from '../payments/webhookHandler.js';
import { authenticateApiKey, type AuthenticatedPartner } from './apiKeys.js';
import { queryAvailability } from './availability.js';
import { readJsonObject, readRawBody, sendError, sendJson, sendText, statusOf, BODY_BYTES_MAX } from './http.js';
import { RequestMetrics, renderMetrics } from './metrics.js';
import { OPENAPI_DOCUMENT } from './openapi.js';
import { cancelPartnerReservation, confirmPartnerReservation, createPartnerReservation, getPartnerReservation } from './partnerReservations.js';
import { cancelPartnerBooking, confirmPartnerBooking, createPartnerBooking, getPartnerBooking, partnerActor } from './partnerBookings.js';
import { postgresRateLimiter, pruneRateWindows, RATE_LIMIT_DEFAULTS, type RateLimiter, type RateLimitSettings } from './rateLimit.js';
import { startOutboxDispatcher, type OutboxDispatcher, type OutboxSettings } from './webhookOutbox.js';

export interface LogLine {
  time: string;
  level: 'info' | 'error';
  msg: string;
  requestId?: string;
  [key: string]: unknown;
}

export interface ApiServerOptions {
  pool: Pool;
  /** 0 picks a free port. */
  port?: number;
  /** Loopback by default; the API is put behind a proxy to be public. */
  host?: string;
  rateLimit?: RateLimitSettings;
  /** The limiter to consult; by default one on `pool` with `rateLimit`. */
  rateLimiter?: RateLimiter;
  /** Delivery of partner webhooks from this process; false to leave it to another process. */
  outbox?: Partial<OutboxSettings> | false;
  bodyBytesMax?: number;
  /** The payment provider's webhook settings for POST /webhooks/stripe (signing secrets, gateway). */
  stripeWebhook?: WebhookConfig;
  /** Where JSON log lines go (default: stdout, one per line). */
  log?: (line: LogLine) => void;
}

export interface ApiServer {
  url: string;
  port: number;
  metrics: RequestMetrics;
  dispatcher: OutboxDispatcher | null;
  close(): Promise<void>;
}

interface Context {
  request: IncomingMessage;
  response: ServerResponse;
  requestId: string;
  url: URL;
  partner?: AuthenticatedPartner;
}

type Handler = (context: Context, params: Record<string, string>) => Promise<void>;

interface Route {
  method: string;
  template: string;
  pattern: RegExp;
  names: string[];
  authenticated: boolean;
  handler: Handler;
}

const REQUEST_ID_PATTERN = /^[A-Za-z0-9._:-]{1,100}$/;
const PATH_SEGMENT = '([^/]+)';

function decodedSegment(segment: string): string | null {
  try {
    return decodeURIComponent(segment);
  } catch {
    return null;
  }
}

function route(method: string, template: string, authenticated: boolean, handler: Handler): Route {
  const names: string[] = [];
  const source = template.replace(/\{(\w+)\}/g, (_, name: string) => {
    names.push(name);
    return PATH_SEGMENT;
  });
  return { method, template, pattern: new RegExp(`^${source}$`), names, authenticated, handler };
}

function requireNoQuery(url: URL): void {
  const first = [...url.searchParams.keys()][0];
  if (first !== undefined) throw new BookijiError('VALIDATION_ERROR', `${first}: unknown query parameter`, { details: { field: first } });
}

function queryParams(url: URL, allowed: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of url.searchParams) {
    if (!allowed.includes(name)) throw new BookijiError('VALIDATION_ERROR', `${name}: unknown query parameter (allowed: ${allowed.join(', ')})`, { details: { field: name } });
    if (name in out) throw new BookijiError('VALIDATION_ERROR', `${name}: given more than once`, { details: { field: name } });
    out[name] = value;
  }
  return out;
}

function requireBooleanParam(name: string, value: string | undefined): boolean {
  if (value === undefined || value === 'false') return false;
  if (value === 'true') return true;
  throw new BookijiError('VALIDATION_ERROR', `${name}: expected true or false, got ${JSON.stringify(value)}`, { details: { field: name } });
}

export async function startApiServer(options: ApiServerOptions): Promise<ApiServer> {
  const { pool } = options;
  const rateSettings = options.rateLimit ?? RATE_LIMIT_DEFAULTS;
  const limiter = options.rateLimiter ?? postgresRateLimiter(pool, rateSettings);
  const bodyBytesMax = options.bodyBytesMax ?? BODY_BYTES_MAX;
  const log = options.log ?? ((line: LogLine) => process.stdout.write(`${JSON.stringify(line)}\n`));
  const metrics = new RequestMetrics();
  const dispatcher =
    options.outbox === false
      ? null
      : startOutboxDispatcher(pool, options.outbox ?? {}, {
          onError: (error) => log({ time: new Date().toISOString(), level: 'error', msg: 'outbox delivery round failed', error: (error as Error).message }),
        });
  let pruneCounter = 0;

  const routes: Route[] = [
    route('GET', '/healthz', false, async ({ response, url }) => {
      requireNoQuery(url);
      const ok = await pool.query('SELECT 1').then(
        () => true,
        () => false,
      );
      sendJson(response, ok ? 200 : 503, { status: ok ? 'ok' : 'degraded', database: ok ? 'ok' : 'unreachable' });
    }),
    route('GET', '/metrics', false, async ({ response }) => {
      try {
        sendText(response, 200, await renderMetrics(pool, metrics, dispatcher?.counters ?? null), 'text/plain; version=0.0.4; charset=utf-8');
      } catch (error) {
        throw fromDatabaseError(error);
      }
    }),
    route('GET', '/v1/openapi.json', false, async ({ response, url }) => {
      requireNoQuery(url);
      sendJson(response, 200, OPENAPI_DOCUMENT);
    }),
    route('GET', '/v1/vendors/{vendorId}/availability', true, async ({ response, url }, params) => {
      const query = queryParams(url, ['startTime', 'endTime', 'slotDuration', 'includeConfidence']);
      const availability = await queryAvailability(pool, {
        vendorId: params.vendorId,
        startTime: query.startTime,
        endTime: query.endTime,
        slotDuration: query.slotDuration,
        includeConfidence: requireBooleanParam('includeConfidence', query.includeConfidence),
      });
      sendJson(response, 200, availability);
    }),
    route('POST', '/v1/bookings', true, async ({ request, response, url, partner, requestId }) => {
      requireNoQuery(url);
      const body = await readJsonObject(request, bodyBytesMax);
      const created = await createPartnerBooking(pool, partner!, body, partnerActor(partner!, requestId));
      sendJson(response, created.replayed ? 200 : 201, created);
    }),
    route('GET', '/v1/bookings/{id}', true, async ({ response, url, partner }, params) => {
      requireNoQuery(url);
      sendJson(response, 200, await getPartnerBooking(pool, partner!, params.id));
    }),
    route('POST', '/v1/bookings/{id}/confirm', true, async ({ request, response, url, partner, requestId }, params) => {
      requireNoQuery(url);
      const body = await readJsonObject(request, bodyBytesMax);
      sendJson(response, 200, await confirmPartnerBooking(pool, partner!, params.id, body, partnerActor(partner!, requestId)));
    }),
    route('POST', '/v1/bookings/{id}/cancel', true, async ({ request, response, url, partner, requestId }, params) => {
      requireNoQuery(url);
      const body = await readJsonObject(request, bodyBytesMax);
      sendJson(response, 200, await cancelPartnerBooking(pool, partner!, params.id, body, partnerActor(partner!, requestId)));
    }),
    route('POST', '/v1/reservations', true, async ({ request, response, url, partner, requestId }) => {
      requireNoQuery(url);
      const body = await readJsonObject(request, bodyBytesMax);
      const created = await createPartnerReservation(pool, partner!, body, partnerActor(partner!, requestId));
      sendJson(response, created.replayed ? 200 : 201, created);
    }),
    route('GET', '/v1/reservations/{id}', true, async ({ response, url, partner }, params) => {
      requireNoQuery(url);
      sendJson(response, 200, await getPartnerReservation(pool, partner!, params.id));
    }),
    route('POST', '/v1/reservations/{id}/confirm', true, async ({ request, response, url, partner, requestId }, params) => {
      requireNoQuery(url);
      const body = await readJsonObject(request, bodyBytesMax);
      sendJson(response, 200, await confirmPartnerReservation(pool, partner!, params.id, body, partnerActor(partner!, requestId)));
    }),
    route('POST', '/v1/reservations/{id}/cancel', true, async ({ request, response, url, partner, requestId }, params) => {
      requireNoQuery(url);
      const body = await readJsonObject(request, bodyBytesMax);
      sendJson(response, 200, await cancelPartnerReservation(pool, partner!, params.id, body, partnerActor(partner!, requestId)));
    }),
    // The payment provider authenticates with its signature, not an API key,
    // and the signature covers the exact bytes: no JSON parsing before it.
    route('POST', '/webhooks/stripe', false, async ({ request, response, url }) => {
      requireNoQuery(url);
      const raw = await readRawBody(request, bodyBytesMax);
      const { handleStripeWebhook } = await import('../payments/webhookHandler.js');
      const answer = await handleStripeWebhook(pool, raw, request.headers, options.stripeWebhook ?? { secrets: [] });
      metrics.webhookReceived(answer.status >= 200 && answer.status < 300 ? 'accepted' : 'rejected');
      sendJson(response, answer.status, answer.body);
    }),
  ];

  function match(method: string, path: string): { route: Route; params: Record<string, string> } | { template: string; status: 404 | 405 } {
    let pathMatched: Route | undefined;
    for (const candidate of routes) {
      const found = candidate.pattern.exec(path);
      if (!found) continue;
      pathMatched = candidate;
      if (candidate.method !== method) continue;
      // A percent-escape that decodes to no text (%ZZ, %C0%AF) names no resource: no match, not a crash.
      const values = candidate.names.map((_, index) => decodedSegment(found[index + 1]!));
      if (values.includes(null)) continue;
      const params: Record<string, string> = Object.fromEntries(candidate.names.map((name, index) => [name, values[index]!]));
      return { route: candidate, params };
    }
    return pathMatched ? { template: pathMatched.template, status: 405 } : { template: 'unmatched', status: 404 };
  }

  async function handle(request: IncomingMessage, response: ServerResponse, context: Context): Promise<string> {
    const method = request.method ?? 'GET';
    const found = match(method, context.url.pathname);
    if (!('route' in found)) {
      const message = found.status === 404 ? `no endpoint ${context.url.pathname}` : `${method} is not allowed on ${context.url.pathname}`;
      throw new BookijiError('USAGE_ERROR', message, { details: { httpStatus: found.status }, hint: 'See /v1/openapi.json for the endpoints.' });
    }
    const { route: matched, params } = found;
    if (matched.authenticated) {
      const header = request.headers.authorization;
      const presented = typeof header === 'string' && header.startsWith('Bearer ') ? header.slice('Bearer '.length).trim() : undefined;
      context.partner = await authenticateApiKey(pool, presented);
      const decision = await limiter.take(context.partner.keyId);
      response.setHeader('RateLimit-Limit', String(decision.limit));
      response.setHeader('RateLimit-Remaining', String(decision.remaining));
      if (!decision.allowed) {
        throw new BookijiError('RATE_LIMITED', `this API key made more than ${decision.limit} requests in ${rateSettings.windowSeconds} s`, {
          details: { retryAfterSeconds: decision.retryAfterSeconds },
        });
      }
      pruneCounter += 1;
      if (pruneCounter % 1000 === 0) void pruneRateWindows(pool, rateSettings.windowSeconds).catch(() => undefined);
    }
    await matched.handler(context, params);
    return matched.template;
  }

  const server = createServer((request, response) => {
    const started = process.hrtime.bigint();
    const given = request.headers['x-request-id'];
    const requestId = typeof given === 'string' && REQUEST_ID_PATTERN.test(given) ? given : randomUUID();
    response.setHeader('X-Request-Id', requestId);
    let url: URL;
    try {
      url = new URL(request.url ?? '/', 'http://localhost');
    } catch {
      url = new URL('http://localhost/unparseable');
    }
    const context: Context = { request, response, requestId, url };
    let template = 'unmatched';
    handle(request, response, context)
      .then((matched) => {
        template = matched;
      })
      .catch((caught: unknown) => {
        const error = caught instanceof BookijiError ? caught : fromDatabaseError(caught);
        const found = match(request.method ?? 'GET', url.pathname);
        template = 'route' in found ? found.route.template : found.template;
        const headers: Record<string, string> = {};
        if (error.code === 'RATE_LIMITED') headers['Retry-After'] = String(error.details.retryAfterSeconds ?? 1);
        if (error.code === 'DEPENDENCY_UNAVAILABLE') headers['Retry-After'] = '1';
        if (statusOf(error) >= 500 && error.code !== 'DEPENDENCY_UNAVAILABLE') {
          log({ time: new Date().toISOString(), level: 'error', msg: error.message, requestId, stack: (error.cause as Error | undefined)?.stack ?? error.stack });
        }
        if (!response.headersSent) sendError(response, error, headers);
        else response.destroy();
        // A body we refused to read would keep the socket busy; drop it.
        if (!request.complete) request.resume();
      })
      .finally(() => {
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        metrics.observe(request.method ?? 'GET', template, response.statusCode, seconds);
        log({
          time: new Date().toISOString(),
          level: 'info',
          msg: 'request',
          requestId,
          method: request.method,
          route: template,
          status: response.statusCode,
          durationMs: Math.round(seconds * 1e6) / 1e3,
          ...(context.partner ? { partnerId: context.partner.partnerId } : {}),
        });
      });
  });
  server.requestTimeout = 30_000;
  server.headersTimeout = 10_000;

  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
    });
  } catch (error) {
    await dispatcher?.stop();
    throw new BookijiError('USAGE_ERROR', `cannot listen on ${options.host ?? '127.0.0.1'}:${options.port ?? 0}: ${(error as Error).message}`, { cause: error });
  }
  const address = server.address() as AddressInfo;
  const host = address.address.includes(':') ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}`,
    port: address.port,
    metrics,
    dispatcher,
    async close() {
      await dispatcher?.stop();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
