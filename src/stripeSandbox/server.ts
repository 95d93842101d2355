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

type Handler = (ctx: { params: Params; id: string; op: OpContext; fault: ApiFault }) => unknown;

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

/** Everything one sandbox's requests share: its store, plans, logs and the answers held back. */
interface SandboxState {
  apiKeys: string[];
  defaultApiVersion: string;
  holdMs: number;
  plan: FaultPlan;
  idempotency: IdempotencyStore;
  dispatcher: WebhookDispatcher;
  store: Store;
  intentOptions: IntentOptions;
  routes: Route[];
  requestLog: RequestLogEntry[];
  holds: Set<{ timer: NodeJS.Timeout; res: http.ServerResponse }>;
}

/** One request as the pipeline sees it, before its body is read. */
interface Incoming {
  requestId: string;
  method: string;
  url: URL;
  path: string;
  idempotencyKey: string | null;
  apiVersion: string;
  versionError: ApiError | undefined;
  baseHeaders: Record<string, string>;
  log: (status: number, routeTemplate: string | null, fault: ApiFault, replayed?: boolean) => void;
}

function routeTable(store: Store, intentOptions: IntentOptions): Route[] {
  return [
    route('POST', '/v1/payment_intents', ({ params, op }) => createIntent(store, params, intentOptions, op)),
    route('GET', '/v1/payment_intents', ({ params }) => listIntents(store, params)),
    route('GET', '/v1/payment_intents/:id', ({ params, id }) => retrieveIntent(store, id, params)),
    route('POST', '/v1/payment_intents/:id', ({ params, id }) => updateIntent(store, id, params)),
    route('POST', '/v1/payment_intents/:id/confirm', ({ params, id, op }) => confirmIntent(store, id, params, intentOptions, op)),
    route('POST', '/v1/payment_intents/:id/capture', ({ params, id, op, fault }) => captureIntent(store, id, params, op, fault === 'capture_expired')),
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
}

function validateOptions(options: StripeSandboxOptions): string[] {
  const apiKeys = (Array.isArray(options.apiKey) ? options.apiKey : [options.apiKey]).filter((k) => k);
  if (apiKeys.length === 0) throw validationError('apiKey', 'at least one API key is required');
  if (!options.webhookSecret?.startsWith('whsec_')) {
    throw validationError('webhookSecret', 'must start with whsec_');
  }
  if (typeof options.seed !== 'string') throw validationError('seed', 'a string seed is required');
  return apiKeys;
}

function createState(options: StripeSandboxOptions, apiKeys: string[]): SandboxState {
  const defaultApiVersion = options.apiVersion ?? Stripe.API_VERSION;
  const plan = new FaultPlan(options.seed, options.faults);
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
    options.now ?? Date.now,
    (record) => {
      const decision = plan.decideEvent(record.event.id, record.event.type);
      dispatcher.enqueue(record, decision);
    },
    defaultApiVersion,
  );
  const intentOptions: IntentOptions = { baseUrl: '' };
  return {
    apiKeys,
    defaultApiVersion,
    holdMs: options.apiTimeoutHoldMs ?? 5000,
    plan,
    idempotency: new IdempotencyStore(Date.now),
    dispatcher,
    store,
    intentOptions,
    routes: routeTable(store, intentOptions),
    requestLog: [],
    holds: new Set(),
  };
}

function send(res: http.ServerResponse, response: StoredResponse, extra: Record<string, string>): void {
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

function incoming(state: SandboxState, req: http.IncomingMessage): Incoming {
  const at = Date.now();
  const requestId = `req_${newId('x').slice(2, 16)}`;
  const method = (req.method ?? 'GET').toUpperCase();
  const url = new URL(req.url ?? '/', 'http://sandbox.invalid');
  const path = url.pathname;
  const idempotencyKey = method === 'POST' ? (header(req, 'idempotency-key') ?? null) : null;
  let apiVersion = state.defaultApiVersion;
  let versionError: ApiError | undefined;
  try {
    apiVersion = requestApiVersion(header(req, 'stripe-version'), state.defaultApiVersion);
  } catch (e) {
    versionError = e as ApiError;
  }
  const baseHeaders: Record<string, string> = { 'Request-Id': requestId, 'Stripe-Version': apiVersion };
  if (idempotencyKey) baseHeaders['Idempotency-Key'] = idempotencyKey;
  const log = (status: number, routeTemplate: string | null, fault: ApiFault, replayed = false) =>
    state.requestLog.push({ requestId, method, path, route: routeTemplate, status, idempotencyKey, replayed, fault, at });
  return { requestId, method, url, path, idempotencyKey, apiVersion, versionError, baseHeaders, log };
}

// The customer's side of 3-D Secure (the `next_action` link): no API key,
// as a browser has none. POST with `outcome=succeed|fail`.
function handleThreeDs(state: SandboxState, request: Incoming, intentId: string, body: string, res: http.ServerResponse): void {
  const outcome = new URLSearchParams(body).get('outcome');
  let response: StoredResponse;
  if (outcome !== 'succeed' && outcome !== 'fail') {
    response = errorResponse(errors.parameterInvalid('outcome', 'outcome must be succeed or fail'), request.requestId);
  } else {
    try {
      const pi = completeAction(state.store, intentId, outcome);
      response = { status: 200, body: JSON.stringify(pi, null, 2), requestId: request.requestId };
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      response = errorResponse(errors.parameterInvalid('payment_intent', message), request.requestId);
    }
  }
  send(res, response, request.baseHeaders);
  request.log(response.status, '/sandbox/three_d_secure/:id', 'none');
}

function matchRoute(routes: Route[], method: string, path: string): { route: Route; id: string } | undefined {
  for (const r of routes) {
    if (r.method !== method) continue;
    const m = r.regex.exec(path);
    if (m) return { route: r, id: decodeURIComponent(m[1] ?? '') };
  }
  return undefined;
}

/** Steps 1–3: authentication, version, route, fault and form; an error answer ends the request here. */
function admit(
  state: SandboxState,
  request: Incoming,
  req: http.IncomingMessage,
  body: string,
  res: http.ServerResponse,
): { key: string; match: { route: Route; id: string }; fault: ApiFault; raw: FormObject } | undefined {
  const { requestId, method, path, baseHeaders } = request;
  const refuse = (e: ApiError, routeTemplate: string | null, fault: ApiFault, headers = baseHeaders): undefined => {
    send(res, errorResponse(e, requestId), headers);
    request.log(e.status, routeTemplate, fault);
    return undefined;
  };
  const key = apiKeyOf(req);
  if (!key || !state.apiKeys.includes(key)) {
    return refuse(key ? errors.invalidApiKey(key) : errors.missingApiKey(), null, 'none', { ...baseHeaders, 'WWW-Authenticate': 'Bearer realm="Stripe"' });
  }
  if (request.versionError) return refuse(request.versionError, null, 'none');
  const match = matchRoute(state.routes, method, path);
  if (!match) return refuse(errors.unrecognizedUrl(method, path), null, 'none');
  const decision = state.plan.decideApi(method, path, match.route.template);
  if (decision.fault === 'api_error') return refuse(errors.apiError(), match.route.template, decision.fault);
  try {
    return { key, match, fault: decision.fault, raw: parseForm(method === 'GET' ? request.url.search.slice(1) : body) };
  } catch {
    return refuse(errors.invalidForm(), match.route.template, decision.fault);
  }
}

/** Steps 5: run the route's operation; the answer and whether Stripe would keep it for the idempotency key. */
function execute(request: Incoming, match: { route: Route; id: string }, fault: ApiFault, raw: FormObject): { response: StoredResponse; stored: boolean } {
  const { requestId, idempotencyKey, apiVersion } = request;
  const op: OpContext = { requestId, idempotencyKey, apiVersion };
  try {
    const result = match.route.handler({ params: new Params(raw), id: match.id, op, fault });
    return { response: { status: 200, body: JSON.stringify(result, null, 2), requestId }, stored: true };
  } catch (e) {
    if (e instanceof ApiError) return { response: errorResponse(e, requestId), stored: e.stored };
    // A sandbox bug: answer like Stripe's internal error, keep nothing.
    console.error('[stripe-sandbox] internal error', e);
    const internal = new ApiError(500, { type: 'api_error', message: `Stripe sandbox internal error: ${(e as Error).message}` });
    return { response: errorResponse(internal, requestId), stored: false };
  }
}

/** Steps 4–5: a replay or a refused reuse of the idempotency key, otherwise the operation's answer. */
function answer(state: SandboxState, request: Incoming, key: string, match: { route: Route; id: string }, fault: ApiFault, raw: FormObject) {
  const { method, path, idempotencyKey, requestId } = request;
  const extra: Record<string, string> = { ...request.baseHeaders };
  const fingerprint = IdempotencyStore.fingerprint(method, path, raw);
  if (idempotencyKey) {
    const found = state.idempotency.lookup(key, idempotencyKey, fingerprint);
    if (found.kind === 'replay') {
      extra['Idempotent-Replayed'] = 'true';
      extra['Original-Request'] = found.response.requestId;
      return { response: found.response, replayed: true, extra };
    }
    if (found.kind === 'mismatch') return { response: errorResponse(errors.idempotencyMismatch(idempotencyKey), requestId), replayed: false, extra };
  }
  const { response, stored } = execute(request, match, fault, raw);
  if (idempotencyKey && stored) state.idempotency.store(key, idempotencyKey, fingerprint, response);
  return { response, replayed: false, extra };
}

/** Step 6: an api_timeout holds the answer back until the client gave up (or `holdMs` passed). */
function holdBack(state: SandboxState, res: http.ServerResponse, response: StoredResponse, extra: Record<string, string>): void {
  const hold = {
    res,
    timer: setTimeout(() => {
      state.holds.delete(hold);
      send(res, response, extra);
    }, state.holdMs),
  };
  state.holds.add(hold);
  res.on('close', () => {
    clearTimeout(hold.timer);
    state.holds.delete(hold);
  });
}

async function handle(state: SandboxState, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const request = incoming(state, req);
  let body: string;
  try {
    body = await readBody(req);
  } catch {
    return;
  }
  const threeDs = /^\/sandbox\/three_d_secure\/([^/]+)$/.exec(request.path);
  if (threeDs && request.method === 'POST') {
    handleThreeDs(state, request, decodeURIComponent(threeDs[1]!), body, res);
    return;
  }
  const accepted = admit(state, request, req, body, res);
  if (!accepted) return;
  const { key, match, fault, raw } = accepted;
  const { response, replayed, extra } = answer(state, request, key, match, fault, raw);
  request.log(response.status, match.route.template, fault, replayed);
  if (fault === 'api_timeout') holdBack(state, res, response, extra);
  else send(res, response, extra);
}

async function listen(server: http.Server, port: number, host: string): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return (server.address() as AddressInfo).port;
}

export async function startStripeSandbox(options: StripeSandboxOptions): Promise<StripeSandbox> {
  const apiKeys = validateOptions(options);
  const host = options.host ?? '127.0.0.1';
  const state = createState(options, apiKeys);
  const server = http.createServer((req, res) => {
    handle(state, req, res).catch((e: unknown) => {
      console.error('[stripe-sandbox] request failed', e);
      if (!res.headersSent) {
        res.writeHead(500, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ error: { type: 'api_error', message: 'Stripe sandbox failure' } }));
      }
    });
  });
  server.keepAliveTimeout = 5000;
  const port = await listen(server, options.port ?? 0, host);
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  state.intentOptions.baseUrl = url;
  return sandboxHandle(state, server, { url, port, host, webhookSecret: options.webhookSecret, seed: options.seed });
}

function closeSandbox(state: SandboxState, server: http.Server): Promise<void> {
  return (async () => {
    for (const h of state.holds) {
      clearTimeout(h.timer);
      h.res.destroy();
    }
    state.holds.clear();
    await state.dispatcher.close();
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  })();
}

function sandboxHandle(
  state: SandboxState,
  server: http.Server,
  at: { url: string; port: number; host: string; webhookSecret: string; seed: string },
): StripeSandbox {
  const { store, dispatcher, plan } = state;
  let closed: Promise<void> | undefined;
  return {
    ...at,
    apiKey: state.apiKeys[0]!,
    close() {
      closed ??= closeSandbox(state, server);
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
      return state.requestLog.map((r) => ({ ...r }));
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
}
