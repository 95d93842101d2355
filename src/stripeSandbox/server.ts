// The Stripe sandbox: a local HTTP server that the real `stripe` SDK talks to
// unmodified (`new Stripe(key, { host, port, protocol: 'http' })`), speaking
// the subset of Stripe's REST API Bookiji uses, with Stripe's objects, errors,
// idempotency and signed webhooks, and a seeded fault plan on top.
//
// Request pipeline, in order:
//   0. `POST /sandbox/three_d_secure/:id` (outcome=succeed|fail) is the
//      customer finishing 3-D Secure: no API key, no faults, like completeAction
//   1. read the body; authenticate `Authorization: Bearer <key>` (or Basic,
//      key as user name) → 401 otherwise
//   2. route → 404 "Unrecognized request URL" otherwise
//   3. fault plan decision for this request (drawn for every routed request)
//      api_error → 500 now, before anything runs, nothing stored
//   4. POST with `Idempotency-Key`: replay the stored answer
//      (`Idempotent-Replayed: true`) or refuse a reuse with other parameters
//   5. execute synchronously; store the answer for the key when Stripe would
//   6. api_timeout → hold the (already stored) answer for `apiTimeoutHoldMs`,
//      so the client times out; otherwise answer.
//
// Events are created by the operations and handed to the webhook dispatcher,
// usually before the API answer is written — as with Stripe, a webhook may
// arrive before the response to the call that caused it.

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Stripe from 'stripe';
import { validationError } from '../errors.js';
import { requestApiVersion } from './apiVersions.js';
import { listCharges, retrieveCharge } from './charges.js';
import { completeAction, type IntentOptions } from './confirmation.js';
import { ApiError, errors } from './stripeErrors.js';
import { listEvents, retrieveEvent } from './events.js';
import { FaultPlan, type FaultDecision, type FaultOptions, type ApiFault } from './faultPlan.js';
import { IdempotencyStore, type StoredResponse } from './idempotency.js';
import { newId } from './ids.js';
import { Params, parseForm, type FormObject } from './params.js';
import {
  cancelIntent,
  captureIntent,
  confirmIntent,
  createIntent,
  incrementAuthorization,
  listIntents,
  retrieveIntent,
  updateIntent,
} from './paymentIntents.js';
import { retrievePaymentMethod } from './paymentMethods.js';
import { createRefund, listRefunds, retrieveRefund, updateRefund } from './refunds.js';
import { Store, type OpContext } from './store.js';
import { WebhookDispatcher, type DeliveryAttempt } from './webhookDelivery.js';

export interface StripeSandboxOptions {
  /** TCP port; 0 (the default) picks a free one. */
  port?: number;
  /** Interface to listen on; default 127.0.0.1. */
  host?: string;
  /** Secret key(s) accepted in `Authorization: Bearer …`. Idempotency keys are scoped per API key. */
  apiKey: string | string[];
  /** Webhook signing secret (`whsec_…`). */
  webhookSecret: string;
  /** Where events are POSTed; may be set later with `setWebhookUrl`. */
  webhookUrl?: string;
  /** Seed of the fault plan. */
  seed: string;
  faults?: FaultOptions;
  /** Delivery attempts per event (first try included); default 4. */
  deliveryAttemptMax?: number;
  /** A webhook attempt without an answer within this many ms counts as failed; default 1000. */
  deliveryTimeoutMs?: number;
  /** Wait before the first retry; doubles each retry; default 25 ms. */
  deliveryBackoffMs?: number;
  /** Cap of the retry wait; default 1000 ms. */
  deliveryBackoffMaxMs?: number;
  /** Deliver events as they happen (default true); if false, only on `flushWebhooks()`. */
  autoDeliver?: boolean;
  /**
   * How long an `api_timeout` fault holds the answer back; default 5000 ms.
   * Give the SDK client a shorter `timeout` to see the timeout (stripeClient(sandbox, { timeout })).
   * If the client is still waiting after this, it gets the answer, late.
   */
  apiTimeoutHoldMs?: number;
  /**
   * The account's default API version: requests without `Stripe-Version` use
   * it, and every event is rendered in it (as Stripe does, whatever version
   * the causing request named). Default: the SDK's pinned version.
   */
  apiVersion?: string;
  /** Clock for objects' `created` (ms since the epoch); default Date.now. Signatures always use real time. */
  now?: () => number;
}

export interface RequestLogEntry {
  requestId: string;
  method: string;
  path: string;
  /** Route template, e.g. `/v1/payment_intents/:id/capture`; null when no route matched. */
  route: string | null;
  status: number;
  idempotencyKey: string | null;
  replayed: boolean;
  fault: ApiFault;
  /** Wall-clock ms when the request arrived. */
  at: number;
}

export interface StripeSandbox {
  /** `http://host:port` */
  readonly url: string;
  readonly port: number;
  readonly host: string;
  /** The first (primary) API key. */
  readonly apiKey: string;
  readonly webhookSecret: string;
  readonly seed: string;
  close(): Promise<void>;
  setWebhookUrl(url: string | undefined): void;
  /** Replaces the fault rates; decisions already made are kept, indexes continue. */
  setFaults(faults: FaultOptions): void;
  /** Delivers everything queued (respecting the plan) and waits for every delivery, retries included. */
  flushWebhooks(): Promise<void>;
  /** All events created, oldest first, including those whose delivery was dropped. */
  events(): Stripe.Event[];
  paymentIntents(): Stripe.PaymentIntent[];
  charges(): Stripe.Charge[];
  refunds(): Stripe.Refund[];
  deliveryLog(): DeliveryAttempt[];
  faultLog(): FaultDecision[];
  /** SHA-256 over the fault decisions (without ids): equal for equal seeds and call sequences. */
  faultDigest(): string;
  requestLog(): RequestLogEntry[];
  /** Redelivers a stored event now (outside the fault plan, with retries) and returns the last attempt. */
  triggerWebhook(eventId: string): Promise<DeliveryAttempt>;
  /** The customer finishes 3-D Secure on a requires_action intent: 'succeed' or 'fail'. */
  completeAction(paymentIntentId: string, outcome: 'succeed' | 'fail'): Stripe.PaymentIntent;
}

type Handler = (ctx: {
  params: Params;
  id: string;
  op: OpContext;
  fault: ApiFault;
}) => unknown;

interface Route {
  method: 'GET' | 'POST';
  template: string;
  regex: RegExp;
  handler: Handler;
}

function route(method: 'GET' | 'POST', template: string, handler: Handler): Route {
  const regex = new RegExp(`^${template.replace(/:id/g, '([^/]+)')}$`);
  return { method, template, regex, handler };
}

// Stripe's own request size limit is far above anything this subset sends.
const requestBodyMaxBytes = 1024 * 1024;

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let size = 0;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > requestBodyMaxBytes) {
        reject(new Error('request body too large'));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function apiKeyOf(req: http.IncomingMessage): string | undefined {
  const auth = req.headers.authorization;
  if (!auth) return undefined;
  const [scheme, value] = auth.split(/\s+/, 2);
  if (!scheme || !value) return undefined;
  if (scheme.toLowerCase() === 'bearer') return value;
  if (scheme.toLowerCase() === 'basic') {
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    return decoded.split(':')[0] || undefined;
  }
  return undefined;
}

function header(req: http.IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

export async function startStripeSandbox(options: StripeSandboxOptions): Promise<StripeSandbox> {
  const apiKeys = (Array.isArray(options.apiKey) ? options.apiKey : [options.apiKey]).filter((k) => k);
  if (apiKeys.length === 0) throw validationError('apiKey', 'at least one API key is required');
  if (!options.webhookSecret?.startsWith('whsec_')) {
    throw validationError('webhookSecret', 'must start with whsec_');
  }
  if (typeof options.seed !== 'string') throw validationError('seed', 'a string seed is required');
  const host = options.host ?? '127.0.0.1';
  const clock = options.now ?? Date.now;
  const defaultApiVersion = options.apiVersion ?? Stripe.API_VERSION;
  const holdMs = options.apiTimeoutHoldMs ?? 5000;

  const plan = new FaultPlan(options.seed, options.faults);
  const idempotency = new IdempotencyStore(Date.now);
  const dispatcher = new WebhookDispatcher({
    secret: options.webhookSecret,
    ...(options.webhookUrl ? { url: options.webhookUrl } : {}),
    autoDeliver: options.autoDeliver ?? true,
    attemptMax: Math.max(1, options.deliveryAttemptMax ?? 4),
    timeoutMs: options.deliveryTimeoutMs ?? 1000,
    backoffMs: options.deliveryBackoffMs ?? 25,
    backoffMaxMs: options.deliveryBackoffMaxMs ?? 1000,
    onDelivered: (eventId) => store.markDelivered(eventId),
  });
  const store: Store = new Store(
    clock,
    (record) => {
      const decision = plan.decideEvent(record.event.id, record.event.type);
      dispatcher.enqueue(record, decision);
    },
    defaultApiVersion,
  );
  const intentOptions: IntentOptions = { baseUrl: '' };
  const requestLog: RequestLogEntry[] = [];
  const holds = new Set<{ timer: NodeJS.Timeout; res: http.ServerResponse }>();

  const routes: Route[] = [
    route('POST', '/v1/payment_intents', ({ params, op }) => createIntent(store, params, intentOptions, op)),
    route('GET', '/v1/payment_intents', ({ params }) => listIntents(store, params)),
    route('GET', '/v1/payment_intents/:id', ({ params, id }) => retrieveIntent(store, id, params)),
    route('POST', '/v1/payment_intents/:id', ({ params, id }) => updateIntent(store, id, params)),
    route('POST', '/v1/payment_intents/:id/confirm', ({ params, id, op }) => confirmIntent(store, id, params, intentOptions, op)),
    route('POST', '/v1/payment_intents/:id/capture', ({ params, id, op, fault }) =>
      captureIntent(store, id, params, op, fault === 'capture_expired'),
    ),
    route('POST', '/v1/payment_intents/:id/cancel', ({ params, id, op }) => cancelIntent(store, id, params, op)),
    route('POST', '/v1/payment_intents/:id/increment_authorization', ({ params, id, op }) => incrementAuthorization(store, id, params, op)),
    route('GET', '/v1/payment_methods/:id', ({ params, id }) => retrievePaymentMethod(store, id, params)),
    route('POST', '/v1/refunds', ({ params, op }) => createRefund(store, params, op)),
    route('GET', '/v1/refunds', ({ params }) => listRefunds(store, params)),
    route('GET', '/v1/refunds/:id', ({ params, id }) => retrieveRefund(store, id, params)),
    route('POST', '/v1/refunds/:id', ({ params, id, op }) => updateRefund(store, id, params, op)),
    route('GET', '/v1/charges', ({ params }) => listCharges(store, params)),
    route('GET', '/v1/charges/:id', ({ params, id }) => retrieveCharge(store, id, params)),
    route('GET', '/v1/events', ({ params }) => listEvents(store, params)),
    route('GET', '/v1/events/:id', ({ params, id }) => retrieveEvent(store, id, params)),
  ];

  function send(
    res: http.ServerResponse,
    response: StoredResponse,
    extra: Record<string, string>,
  ): void {
    if (res.destroyed || res.writableEnded) return;
    res.writeHead(response.status, {
      'Content-Type': 'application/json',
      'Content-Length': Buffer.byteLength(response.body),
      'Cache-Control': 'no-cache, no-store',
      'Request-Id': extra['Request-Id'] ?? response.requestId,
      ...extra,
    });
    res.end(response.body);
  }

  // Stripe links every card error to the request in the Dashboard's log.
  function errorResponse(e: ApiError, requestId: string): StoredResponse {
    const body = e.body();
    if (body.error.type === 'card_error') {
      body.error = { ...body.error, request_log_url: `https://dashboard.stripe.com/test/logs/${requestId}?t=${Math.floor(Date.now() / 1000)}` };
    }
    return { status: e.status, body: JSON.stringify(body, null, 2), requestId };
  }

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const at = Date.now();
    const requestId = `req_${newId('x').slice(2, 16)}`;
    const method = (req.method ?? 'GET').toUpperCase();
    const url = new URL(req.url ?? '/', 'http://sandbox.invalid');
    const path = url.pathname;
    const idempotencyKey = method === 'POST' ? (header(req, 'idempotency-key') ?? null) : null;
    const versionHeader = header(req, 'stripe-version');
    let apiVersion = defaultApiVersion;
    let versionError: ApiError | undefined;
    try {
      apiVersion = requestApiVersion(versionHeader, defaultApiVersion);
    } catch (e) {
      versionError = e as ApiError;
    }
    const baseHeaders: Record<string, string> = { 'Request-Id': requestId, 'Stripe-Version': apiVersion };
    if (idempotencyKey) baseHeaders['Idempotency-Key'] = idempotencyKey;
    const log = (status: number, routeTemplate: string | null, fault: ApiFault, replayed = false) =>
      requestLog.push({ requestId, method, path, route: routeTemplate, status, idempotencyKey, replayed, fault, at });

    let body: string;
    try {
      body = await readBody(req);
    } catch {
      return;
    }

    // The customer's side of 3-D Secure (the `next_action` link): no API key,
    // as a browser has none. POST with `outcome=succeed|fail`.
    const threeDs = /^\/sandbox\/three_d_secure\/([^/]+)$/.exec(path);
    if (threeDs && method === 'POST') {
      const outcome = new URLSearchParams(body).get('outcome');
      let response: StoredResponse;
      if (outcome !== 'succeed' && outcome !== 'fail') {
        response = errorResponse(errors.parameterInvalid('outcome', 'outcome must be succeed or fail'), requestId);
      } else {
        try {
          const pi = completeAction(store, decodeURIComponent(threeDs[1]!), outcome);
          response = { status: 200, body: JSON.stringify(pi, null, 2), requestId };
        } catch (e) {
          const message = e instanceof Error ? e.message : String(e);
          response = errorResponse(errors.parameterInvalid('payment_intent', message), requestId);
        }
      }
      send(res, response, baseHeaders);
      log(response.status, '/sandbox/three_d_secure/:id', 'none');
      return;
    }

    const key = apiKeyOf(req);
    if (!key || !apiKeys.includes(key)) {
      const e = key ? errors.invalidApiKey(key) : errors.missingApiKey();
      send(res, errorResponse(e, requestId), { ...baseHeaders, 'WWW-Authenticate': 'Bearer realm="Stripe"' });
      log(e.status, null, 'none');
      return;
    }

    if (versionError) {
      send(res, errorResponse(versionError, requestId), baseHeaders);
      log(versionError.status, null, 'none');
      return;
    }

    let match: { route: Route; id: string } | undefined;
    for (const r of routes) {
      if (r.method !== method) continue;
      const m = r.regex.exec(path);
      if (m) {
        match = { route: r, id: decodeURIComponent(m[1] ?? '') };
        break;
      }
    }
    if (!match) {
      const e = errors.unrecognizedUrl(method, path);
      send(res, errorResponse(e, requestId), baseHeaders);
      log(e.status, null, 'none');
      return;
    }

    const decision = plan.decideApi(method, path, match.route.template);
    if (decision.fault === 'api_error') {
      const e = errors.apiError();
      send(res, errorResponse(e, requestId), baseHeaders);
      log(e.status, match.route.template, decision.fault);
      return;
    }

    let raw: FormObject;
    try {
      raw = parseForm(method === 'GET' ? url.search.slice(1) : body);
    } catch {
      const e = errors.invalidForm();
      send(res, errorResponse(e, requestId), baseHeaders);
      log(e.status, match.route.template, decision.fault);
      return;
    }

    let response: StoredResponse | undefined;
    let replayed = false;
    const fingerprint = IdempotencyStore.fingerprint(method, path, raw);
    const extra: Record<string, string> = { ...baseHeaders };
    if (idempotencyKey) {
      const found = idempotency.lookup(key, idempotencyKey, fingerprint);
      if (found.kind === 'replay') {
        response = found.response;
        replayed = true;
        extra['Idempotent-Replayed'] = 'true';
        extra['Original-Request'] = found.response.requestId;
      } else if (found.kind === 'mismatch') {
        response = errorResponse(errors.idempotencyMismatch(idempotencyKey), requestId);
      }
    }

    if (!response) {
      const op: OpContext = { requestId, idempotencyKey, apiVersion };
      let stored = false;
      try {
        const result = match.route.handler({ params: new Params(raw), id: match.id, op, fault: decision.fault });
        response = { status: 200, body: JSON.stringify(result, null, 2), requestId };
        stored = true;
      } catch (e) {
        if (e instanceof ApiError) {
          response = errorResponse(e, requestId);
          stored = e.stored;
        } else {
          // A sandbox bug: answer like Stripe's internal error, keep nothing.
          console.error('[stripe-sandbox] internal error', e);
          response = errorResponse(
            new ApiError(500, { type: 'api_error', message: `Stripe sandbox internal error: ${(e as Error).message}` }),
            requestId,
          );
        }
      }
      if (idempotencyKey && stored) idempotency.store(key, idempotencyKey, fingerprint, response);
    }

    log(response.status, match.route.template, decision.fault, replayed);
    if (decision.fault === 'api_timeout') {
      const final = response;
      const hold = {
        res,
        timer: setTimeout(() => {
          holds.delete(hold);
          send(res, final, extra);
        }, holdMs),
      };
      holds.add(hold);
      res.on('close', () => {
        clearTimeout(hold.timer);
        holds.delete(hold);
      });
      return;
    }
    send(res, response, extra);
  }

  const server = http.createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      console.error('[stripe-sandbox] request failed', e);
      if (!res.headersSent) {
        res.writeHead(500, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ error: { type: 'api_error', message: 'Stripe sandbox failure' } }));
      }
    });
  });
  server.keepAliveTimeout = 5000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  intentOptions.baseUrl = url;
  let closed: Promise<void> | undefined;

  const sandbox: StripeSandbox = {
    url,
    port,
    host,
    apiKey: apiKeys[0]!,
    webhookSecret: options.webhookSecret,
    seed: options.seed,
    close() {
      closed ??= (async () => {
        for (const h of holds) {
          clearTimeout(h.timer);
          h.res.destroy();
        }
        holds.clear();
        await dispatcher.close();
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
      })();
      return closed;
    },
    setWebhookUrl(webhookUrl) {
      dispatcher.setUrl(webhookUrl);
    },
    setFaults(faults) {
      plan.setFaults(faults);
    },
    flushWebhooks() {
      return dispatcher.flush();
    },
    events() {
      return store.events.map((r) => structuredClone(r.event));
    },
    paymentIntents() {
      return [...store.intents.values()].sort((a, b) => a.seq - b.seq).map((r) => structuredClone(r.pi));
    },
    charges() {
      return [...store.charges.values()].sort((a, b) => a.seq - b.seq).map((r) => structuredClone(r.charge));
    },
    refunds() {
      return [...store.refunds.values()].sort((a, b) => a.seq - b.seq).map((r) => structuredClone(r.refund));
    },
    deliveryLog() {
      return dispatcher.log();
    },
    faultLog() {
      return plan.log();
    },
    faultDigest() {
      return plan.digest();
    },
    requestLog() {
      return requestLog.map((r) => ({ ...r }));
    },
    triggerWebhook(eventId) {
      const record = store.eventsById.get(eventId);
      if (!record) return Promise.reject(validationError('eventId', `no such event: '${eventId}'`));
      return dispatcher.trigger(record);
    },
    completeAction(paymentIntentId, outcome) {
      return completeAction(store, paymentIntentId, outcome);
    },
  };
  return sandbox;
}
