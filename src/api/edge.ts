// What the HTTP edge does before a handler runs, and the refusals it makes
// in the taxonomy's words: the framework's failures (malformed URL, body too
// large, wrong content type, bad JSON) become VALIDATION_ERROR naming "path"
// or "body"; an unknown path is 404 and a wrong method 405 (USAGE_ERROR).

import type { Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { BookijiError, toBookijiError, httpErrorOf } from '../errors.js';
import type { AuthenticatedPartner } from './apiKeys.js';
import type { RouteSpec } from './routes.js';
import { parseStrictJson } from './strictJson.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by authentication on /v1 routes. */
    partner?: AuthenticatedPartner;
    /** The body's exact bytes, as received. */
    rawBody?: Buffer;
  }
  interface FastifyContextConfig {
    /** The route's OpenAPI-style path, its label in logs and metrics. */
    template?: string;
  }
}

interface FrameworkError {
  code?: string;
  statusCode?: number;
  message?: string;
}

const BODY_PROBLEMS: Record<string, string> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'send Content-Type: application/json',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'Content-Length does not match the body sent',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'empty: send a JSON object',
  FST_ERR_CTP_INVALID_JSON_BODY: 'not valid JSON',
};

/** Any error raised while serving a request, as a BookijiError (the original kept as cause). */
export function toEdgeError(caught: unknown): BookijiError {
  if (caught instanceof BookijiError) return caught;
  const error = (caught ?? {}) as FrameworkError;
  const code = error.code ?? '';
  const refused = (field: string, problem: string, httpStatus?: number) =>
    new BookijiError('VALIDATION_ERROR', `${field}: ${problem}`, { cause: caught, details: { field, ...(httpStatus ? { httpStatus } : {}) } });
  if (code === 'FST_ERR_BAD_URL') return refused('path', 'not a valid URL: a percent-escape that is not UTF-8 (like %ZZ or %E0)');
  if (code === 'FST_ERR_MAX_PARAM_LENGTH') return refused('path', 'a path segment is too long');
  if (code === 'FST_ERR_CTP_BODY_TOO_LARGE') return refused('body', `larger than the server accepts (${error.message ?? 'body too large'})`, 413);
  const bodyProblem = BODY_PROBLEMS[code];
  if (bodyProblem) return refused('body', bodyProblem);
  // Any other refusal by the framework of the request itself (4xx) is bad input, not a server fault.
  if (code.startsWith('FST_ERR_CTP_') || (code.startsWith('FST_') && typeof error.statusCode === 'number' && error.statusCode < 500)) {
    return refused('request', error.message ?? code);
  }
  return toBookijiError(caught);
}

/** Query strings as URLSearchParams reads them (lenient on escapes); a name given twice becomes an array, which the schema refuses. */
export function parseQueryString(text: string): Record<string, unknown> {
  const out: Record<string, unknown> = Object.create(null);
  for (const [name, value] of new URLSearchParams(text)) {
    const seen = out[name];
    out[name] = seen === undefined ? value : [...(Array.isArray(seen) ? seen : [seen]), value];
  }
  return out;
}

/**
 * Bodies: partner routes take strict JSON only (strictJson.ts); routes that
 * verify a signature over the exact bytes get them unparsed, whatever their
 * type. Both keep the raw bytes on the request.
 */
export function registerBodyParsers(scope: FastifyInstance, raw: boolean): void {
  scope.removeAllContentTypeParsers();
  scope.addContentTypeParser(raw ? '*' : 'application/json', { parseAs: 'buffer' }, (request, body, done) => {
    const bytes = body as Buffer;
    request.rawBody = bytes;
    if (raw) return done(null, undefined);
    try {
      done(null, parseStrictJson(bytes));
    } catch (error) {
      done(error as Error, undefined);
    }
  });
}

function templatePattern(template: string): RegExp {
  return new RegExp(`^${template.replace(/\{\w+\}/g, '[^/]+')}$`);
}

/** The answer for a request no route took: 405 when the path exists with other methods, 404 otherwise. */
export function unmatchedRouteError(routes: readonly RouteSpec[], method: string, url: string): BookijiError {
  const path = url.split('?', 1)[0] ?? url;
  const known = routes.some((route) => templatePattern(route.template).test(path));
  const status = known ? 405 : 404;
  const message = known ? `${method} is not allowed on ${path}` : `no endpoint ${path}`;
  return new BookijiError('USAGE_ERROR', message, { details: { httpStatus: status }, hint: 'See /v1/openapi.json for the endpoints.' });
}

/**
 * A request Node's HTTP parser refused (a malformed request line or header,
 * headers too large, a body that does not match its framing) never reaches
 * the router; it is answered here, in the same coded shape, and the
 * connection closed, as HTTP/1.1 requires after a framing error.
 */
export function answerClientError(error: Error & { code?: string }, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed || !socket.writable) return void socket.destroy();
  const problem =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? 'headers larger than the server accepts'
      : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? 'not received in time'
        : 'not valid HTTP/1.1';
  const { status, body } = httpErrorOf(new BookijiError('VALIDATION_ERROR', `request: ${problem}`, { details: { field: 'request' }, cause: error }));
  const text = JSON.stringify(body);
  socket.end(
    `HTTP/1.1 ${status} Bad Request\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`,
  );
}
