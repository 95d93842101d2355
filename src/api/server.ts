// `bookiji serve`: Partner API v1 and the payment provider's webhook, on
// Fastify. The routes and their schemas are in routes.ts and schemas.ts; the
// OpenAPI document at /v1/openapi.json is generated from them.
//
// Every request: a request id (the caller's X-Request-Id when it is sane, a
// new one otherwise) that is echoed back, written to the JSON log line and
// passed to the database as the actor's request id, so it lands in the audit
// rows the request wrote. /v1 requests are authenticated by API key, then
// counted by the shared rate limiter (fail closed), then validated and routed.
// Every failure, the framework's own included (malformed URL, bad JSON, wrong
// content type, body too large, unknown field), leaves through one error map
// (httpErrorOf in src/errors.ts) in the shape {"error": {code, message, hint, retryable}}.

import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import Fastify, { LogController, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import fastifySwagger from '@fastify/swagger';
import { BookijiError, httpErrorOf } from '../errors.js';
import type { Pool } from '../db/pool.js';
import type { WebhookConfig } from './stripeWebhook.js';
import { authenticateApiKey } from './apiKeys.js';
import { answerClientError, parseQueryString, registerBodyParsers, toEdgeError, unmatchedRouteError } from './edge.js';
import { RequestMetrics, registerSystemMetrics } from './metrics.js';
import { OPENAPI_INFO } from './openapiInfo.js';
import { postgresRateLimiter, pruneRateWindows, RATE_LIMIT_DEFAULTS, type RateLimiter, type RateLimitSettings } from './rateLimit.js';
import { apiRoutes, type RouteSpec } from './routes.js';
import { SHARED_SCHEMAS } from './schemas.js';
import { compileValidator } from './validation.js';
import { startOutboxDispatcher, type OutboxDispatcher, type OutboxSettings } from './webhookOutbox.js';

export const BODY_BYTES_MAX = 64 * 1024;

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
  /** The OpenAPI document generated from the routes' schemas (what /v1/openapi.json serves). */
  openapi(): Record<string, unknown>;
  close(): Promise<void>;
}

const REQUEST_ID_PATTERN = /^[A-Za-z0-9._:-]{1,100}$/;

function requestIdOf(request: IncomingMessage): string {
  const given = request.headers['x-request-id'];
  return typeof given === 'string' && REQUEST_ID_PATTERN.test(given) ? given : randomUUID();
}

/** Fastify's pino, writing the API's JSON lines: ISO time, level by name, the request id as requestId. */
function loggerOptions(log: ((line: LogLine) => void) | undefined): Record<string, unknown> {
  return {
    level: 'info',
    base: null,
    messageKey: 'msg',
    timestamp: () => `,"time":"${new Date().toISOString()}"`,
    formatters: { level: (label: string) => ({ level: label }) },
    ...(log ? { stream: { write: (line: string) => log(JSON.parse(line) as LogLine) } } : {}),
  };
}

/** /openapi paths use {name}; Fastify's router uses :name. */
function fastifyPath(template: string): string {
  return template.replace(/\{(\w+)\}/g, ':$1');
}

function withoutUndefined(schema: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(schema).filter(([, value]) => value !== undefined));
}

function sendError(reply: FastifyReply, caught: unknown): FastifyReply {
  const { error, status, body } = httpErrorOf(caught);
  if (error.code === 'RATE_LIMITED') reply.header('Retry-After', String(error.details.retryAfterSeconds ?? 1));
  if (error.code === 'DEPENDENCY_UNAVAILABLE') reply.header('Retry-After', '1');
  if (status >= 500 && error.code !== 'DEPENDENCY_UNAVAILABLE') {
    reply.log.error({ stack: (error.cause as Error | undefined)?.stack ?? error.stack }, error.message);
  }
  return reply.code(status).type('application/json; charset=utf-8').send(body);
}

/** The request's metrics and its one log line. */
function recordRequest(metrics: RequestMetrics, request: FastifyRequest, reply: FastifyReply): void {
  const template = request.routeOptions?.config?.template ?? 'unmatched';
  const seconds = reply.elapsedTime / 1000;
  metrics.observe(request.method, template, reply.statusCode, seconds);
  const partner = request.partner ? { partnerId: request.partner.partnerId } : {};
  request.log.info({ method: request.method, route: template, status: reply.statusCode, durationMs: Math.round(seconds * 1e6) / 1e3, ...partner }, 'request');
}

type Authenticator = (request: FastifyRequest, reply: FastifyReply) => Promise<void>;

/** The onRequest hook of /v1 routes: a known, unrevoked key, then one request counted against its budget. */
function apiKeyAuthenticator(pool: Pool, limiter: RateLimiter, rateSettings: RateLimitSettings): Authenticator {
  let pruneCounter = 0;
  return async (request, reply) => {
    const header = request.headers.authorization;
    const presented = typeof header === 'string' && header.startsWith('Bearer ') ? header.slice('Bearer '.length).trim() : undefined;
    request.partner = await authenticateApiKey(pool, presented);
    const decision = await limiter.take(request.partner.keyId);
    reply.header('RateLimit-Limit', String(decision.limit));
    reply.header('RateLimit-Remaining', String(decision.remaining));
    if (!decision.allowed) {
      throw new BookijiError('RATE_LIMITED', `this API key made more than ${decision.limit} requests in ${rateSettings.windowSeconds} s`, {
        details: { retryAfterSeconds: decision.retryAfterSeconds },
      });
    }
    pruneCounter += 1;
    if (pruneCounter % 1000 === 0) void pruneRateWindows(pool, rateSettings.windowSeconds).catch(() => undefined);
  };
}

export async function startApiServer(options: ApiServerOptions): Promise<ApiServer> {
  const { pool } = options;
  const rateSettings = options.rateLimit ?? RATE_LIMIT_DEFAULTS;
  const limiter = options.rateLimiter ?? postgresRateLimiter(pool, rateSettings);
  const bodyBytesMax = options.bodyBytesMax ?? BODY_BYTES_MAX;
  const metrics = new RequestMetrics();
  const app = Fastify({
    logger: loggerOptions(options.log),
    // One line per request, written by the onResponse hook below (route template, status, duration).
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'requestId' }),
    genReqId: requestIdOf,
    bodyLimit: bodyBytesMax,
    requestTimeout: 30_000,
    forceCloseConnections: true,
    routerOptions: { querystringParser: parseQueryString, maxParamLength: 200 },
    clientErrorHandler: answerClientError,
    // Failures before a route is found (a malformed percent-escape in the path) go through the same map.
    frameworkErrors: (error, request, reply) => {
      reply.raw.once('finish', () => recordRequest(metrics, request, reply));
      sendError(reply, toEdgeError(error));
    },
  });
  app.server.headersTimeout = 10_000;
  const dispatcher =
    options.outbox === false
      ? null
      : startOutboxDispatcher(pool, options.outbox ?? {}, {
          onError: (error) => app.log.error({ error: (error as Error).message }, 'outbox delivery round failed'),
        });
  registerSystemMetrics(metrics, pool, dispatcher?.counters ?? null);
  const authenticate = apiKeyAuthenticator(pool, limiter, rateSettings);

  await app.register(fastifySwagger, {
    openapi: OPENAPI_INFO,
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, index) => String(json.$id ?? `def-${index}`) },
  });
  for (const schema of SHARED_SCHEMAS) app.addSchema(schema);
  app.setValidatorCompiler(compileValidator);
  // Responses are written as they are (JSON.stringify), never filtered by a
  // serializer: the schemas document them and the tests hold them to it.
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));
  app.setErrorHandler((error, _request, reply) => sendError(reply, toEdgeError(error)));
  const routes = apiRoutes({
    pool,
    metrics,
    stripeWebhook: options.stripeWebhook ?? { secrets: [] },
    renderMetrics: async () => ({ text: await metrics.registry.metrics(), contentType: metrics.registry.contentType }),
    openApiDocument: () => app.swagger(),
  });
  // A request no route takes is answered 404 or 405 whatever its body; the body is read (within the limit) and ignored.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, _body, done) => done(null, undefined));
  app.setNotFoundHandler((request, reply) => sendError(reply, unmatchedRouteError(routes, request.method, request.url)));
  app.addHook('onRequest', async (request, reply) => {
    reply.header('X-Request-Id', request.id);
  });
  app.addHook('onResponse', async (request, reply) => recordRequest(metrics, request, reply));
  // Content-type parsers belong to a scope: one for JSON routes, one for raw-body routes.
  for (const raw of [false, true]) {
    // biome-ignore lint/nursery/noMisusedPromises: Fastify's register takes an async plugin and awaits it.
    await app.register(async (scope) => {
      registerBodyParsers(scope, raw);
      for (const spec of routes.filter((route) => Boolean(route.rawBody) === raw)) registerRoute(scope, spec, authenticate);
    });
  }
  return listen(app, options, metrics, dispatcher);
}

function registerRoute(scope: FastifyInstance, spec: RouteSpec, authenticate: Authenticator): void {
  scope.route({
    method: spec.method,
    url: fastifyPath(spec.template),
    schema: withoutUndefined(spec.schema),
    config: { template: spec.template },
    ...(spec.authenticated ? { onRequest: authenticate } : {}),
    handler: async (request, reply) => {
      const answer = await spec.handle({
        params: request.params as Record<string, string>,
        query: request.query as Record<string, unknown>,
        body: request.body,
        headers: request.headers,
        rawBody: request.rawBody,
        requestId: request.id,
        partner: request.partner,
      });
      reply.code(answer.status).type(answer.contentType ?? 'application/json; charset=utf-8');
      return typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body);
    },
  });
}

async function listen(app: FastifyInstance, options: ApiServerOptions, metrics: RequestMetrics, dispatcher: OutboxDispatcher | null): Promise<ApiServer> {
  const host = options.host ?? '127.0.0.1';
  try {
    await app.listen({ port: options.port ?? 0, host });
  } catch (error) {
    await dispatcher?.stop();
    await app.close().catch(() => undefined);
    throw new BookijiError('USAGE_ERROR', `cannot listen on ${host}:${options.port ?? 0}: ${(error as Error).message}`, { cause: error });
  }
  const address = app.server.address();
  if (!address || typeof address === 'string') throw new BookijiError('INTERNAL_ERROR', 'the server has no TCP address');
  const shownHost = address.address.includes(':') ? `[${address.address}]` : address.address;
  return {
    url: `http://${shownHost}:${address.port}`,
    port: address.port,
    metrics,
    dispatcher,
    openapi: () => app.swagger() as unknown as Record<string, unknown>,
    async close() {
      await dispatcher?.stop();
      await app.close();
    },
  };
}
