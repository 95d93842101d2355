// The edge of the HTTP API: reading bodies with a size limit, strict JSON
// objects (unknown fields refused), and writing answers and errors in the
// one shape of SPEC §2: {"error": {code, message, hint, retryable}}.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { BookijiError, validationError } from '../errors.js';

export const BODY_BYTES_MAX = 64 * 1024;

/** Reads the raw body, refusing (413) past `bytesMax` without buffering the rest. */
export async function readRawBody(request: IncomingMessage, bytesMax: number = BODY_BYTES_MAX): Promise<Buffer> {
  const declared = Number(request.headers['content-length'] ?? '0');
  if (declared > bytesMax) throw tooLarge(bytesMax);
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of request) {
    const buffer = chunk as Buffer;
    total += buffer.length;
    if (total > bytesMax) throw tooLarge(bytesMax);
    chunks.push(buffer);
  }
  return Buffer.concat(chunks);
}

function tooLarge(bytesMax: number): BookijiError {
  return new BookijiError('VALIDATION_ERROR', `body: larger than ${bytesMax} bytes`, { details: { field: 'body', httpStatus: 413 } });
}

/** A JSON object body; anything else (no body, bad JSON, an array, a wrong content type) is a VALIDATION_ERROR on 'body'. */
export async function readJsonObject(request: IncomingMessage, bytesMax: number = BODY_BYTES_MAX): Promise<Record<string, unknown>> {
  const type = String(request.headers['content-type'] ?? '');
  if (!/^application\/json\b/i.test(type)) throw validationError('body', 'send Content-Type: application/json');
  const raw = await readRawBody(request, bytesMax);
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw.toString('utf8'));
  } catch {
    throw validationError('body', 'not valid JSON');
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw validationError('body', 'must be a JSON object');
  return parsed as Record<string, unknown>;
}

/** Refuses fields the endpoint does not know: a misspelt field silently ignored would change what the caller meant. */
export function refuseUnknownFields(record: Record<string, unknown>, allowed: readonly string[], where: string): void {
  for (const field of Object.keys(record)) {
    if (!allowed.includes(field)) throw validationError(where ? `${where}.${field}` : field, `unknown field (allowed: ${allowed.join(', ')})`);
  }
}

export function requireField(record: Record<string, unknown>, field: string): unknown {
  const value = record[field];
  if (value === undefined || value === null) throw validationError(field, 'is required');
  return value;
}

export function sendJson(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), ...headers });
  response.end(text);
}

export function sendText(response: ServerResponse, status: number, text: string, contentType: string): void {
  response.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(text) });
  response.end(text);
}

// Statuses the edge may use instead of the taxonomy's, for failures that are
// about HTTP itself: an oversized body, an unknown path, a wrong method.
const EDGE_STATUSES = new Set([404, 405, 413]);

/** The HTTP status of an error: its taxonomy status, except the edge's own. */
export function statusOf(error: BookijiError): number {
  const edge = error.details.httpStatus;
  return typeof edge === 'number' && EDGE_STATUSES.has(edge) ? edge : error.httpStatus;
}

export function sendError(response: ServerResponse, error: BookijiError, headers: Record<string, string> = {}): void {
  const { details: _details, ...body } = error.toJSON();
  const field = typeof error.details.field === 'string' ? { field: error.details.field } : {};
  sendJson(response, statusOf(error), { error: { ...body, ...field } }, headers);
}
