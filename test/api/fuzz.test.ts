// Malformed input at every layer of the HTTP edge: the path and its
// percent-escapes, the query, headers, content types, bodies, sizes, deep
// nesting, NUL and invalid Unicode, and HTTP framing itself. Every request
// must be refused with a coded 4xx in the taxonomy's shape, the server must
// stay up, and nothing may be written. A fixed list of known attacks, then
// seeded random mutations (fast-check, fixed seed, few runs).

import net from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { makeCustomer, makeSlot, makeVendor } from '../helpers/fixtures.js';
import { makePartner, startTestApi, type TestApi } from './helpers.js';

let db: TestDatabase;
let api: TestApi;
let key: string;
let ids: { slot: string; customer: string; vendor: string; booking: string };

const TAXONOMY_CODES = new Set([
  'VALIDATION_ERROR',
  'USAGE_ERROR',
  'UNAUTHORIZED',
  'BOOKING_NOT_FOUND',
  'RESERVATION_NOT_FOUND',
  'VENDOR_NOT_FOUND',
  'SLOT_NOT_FOUND',
  'CUSTOMER_NOT_FOUND',
]);

interface Answer {
  status: number;
  text: string;
}

/** What is wrong with an answer to malformed input; empty when it is a coded 4xx refusal. */
function refusalProblems(answer: Answer): string[] {
  if (answer.status < 400 || answer.status > 499) return [`status ${answer.status}`];
  let body: { error?: Record<string, unknown> };
  try {
    body = JSON.parse(answer.text) as typeof body;
  } catch {
    return [`not JSON: ${answer.text.slice(0, 80)}`];
  }
  const error = body.error ?? {};
  const problems: string[] = [];
  if (!TAXONOMY_CODES.has(String(error.code))) problems.push(`code ${String(error.code)}`);
  for (const field of ['message', 'hint']) if (typeof error[field] !== 'string' || error[field] === '') problems.push(`no ${field}`);
  if (error.retryable !== false) problems.push('retryable is not false');
  if (/violates|null value|stack size|Unicode escape|SQLSTATE|at [\w.]+ \(/.test(answer.text)) problems.push(`leaks internals: ${answer.text.slice(0, 120)}`);
  return problems;
}

/** Sends bytes as they are over a new connection and reads the answer until the server closes it. */
function raw(request: string | Buffer): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(api.server.port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);
      resolve({ status, text: text.slice(text.indexOf('\r\n\r\n') + 4) });
    });
    socket.end(request);
  });
}

interface Attempt {
  method?: string;
  path: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Leave out the API key. */
  anonymous?: boolean;
}

async function send(attempt: Attempt): Promise<Answer> {
  const headers: Record<string, string> = { ...(attempt.anonymous ? {} : { authorization: `Bearer ${key}` }), ...attempt.headers };
  const response = await fetch(`${api.server.url}${attempt.path}`, {
    method: attempt.method ?? (attempt.body === undefined ? 'GET' : 'POST'),
    headers,
    ...(attempt.body === undefined ? {} : { body: typeof attempt.body === 'string' ? attempt.body : new Uint8Array(attempt.body) }),
  });
  return { status: response.status, text: await response.text() };
}

/** Row counts of everything a request could write (the rate limiter's counters excepted: counting requests is their job). */
async function fingerprint(): Promise<Record<string, number>> {
  const tables = [
    'bookings',
    'partner_bookings',
    'slots',
    'customers',
    'vendors',
    'reservations',
    'payments',
    'stripe_events',
    'webhook_outbox',
    'audit_log',
    'booking_transitions',
  ];
  const row = (await db.pool.query(`SELECT ${tables.map((t) => `(SELECT count(*)::int FROM ${t}) AS ${t}`).join(', ')}`)).rows[0];
  return row as Record<string, number>;
}

beforeAll(async () => {
  db = await createTestDatabase();
  api = await startTestApi(db.pool, { rateLimit: { requestsPerWindowMax: 100_000, windowSeconds: 3600 }, stripeWebhook: { secrets: ['whsec_fuzz'] } });
  const partner = await makePartner(db.pool, 'fuzz');
  key = partner.key;
  const vendor = await makeVendor(db.pool);
  const slot = await makeSlot(db.pool, vendor);
  const customer = await makeCustomer(db.pool);
  const booked = await send({
    path: '/v1/bookings',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      slotId: (await makeSlot(db.pool, vendor, { startInMinutes: 3000 })).id,
      customerId: customer.id,
      idempotencyKey: 'fuzz-0',
      hold: true,
    }),
  });
  ids = { slot: slot.id, customer: customer.id, vendor: vendor.id, booking: (JSON.parse(booked.text) as { booking: { id: string } }).booking.id };
});

afterAll(async () => {
  await api.server.close();
  await db.drop();
});

const JSON_TYPE = { 'content-type': 'application/json' };

function knownAttacks(): Attempt[] {
  const good = { slotId: ids.slot, customerId: ids.customer, idempotencyKey: 'fuzz-1' };
  const withBody = (body: string | Buffer, headers: Record<string, string> = JSON_TYPE): Attempt => ({ path: '/v1/bookings', headers, body });
  const deep = (n: number) => `${'['.repeat(n)}${']'.repeat(n)}`;
  return [
    // path and percent-escapes
    { path: '/v1/bookings/%ZZ' },
    { path: '/v1/bookings/%E0' },
    { path: '/v1/bookings/%' },
    { path: '/v1/bookings/%00' },
    { path: '/v1/vendors/%C0%AF/availability?startTime=2030-01-01T00:00:00Z&endTime=2030-01-02T00:00:00Z' },
    { path: `/v1/bookings/${'a'.repeat(300)}` },
    { path: '/v1/bookings/..%2F..%2Fetc%2Fpasswd' },
    { path: `/v1/bookings/urn:uuid:${ids.booking}` },
    { path: `/v1/bookings/${ids.booking}%20` },
    { path: '/v1/bookings/%F0%9F%92%A9' },
    { path: '/v1//bookings' },
    { path: '/v1/bookings/%ZZ', anonymous: true },
    { method: 'DELETE', path: `/v1/bookings/${ids.booking}` },
    { method: 'PUT', path: '/v1/bookings', headers: JSON_TYPE, body: '{}' },
    { method: 'DELETE', path: '/v1/bookings', headers: JSON_TYPE, body: '' },
    // query
    { path: `/v1/bookings/${ids.booking}?x=1` },
    { path: `/v1/bookings/${ids.booking}?__proto__=1` },
    { path: `/v1/bookings/${ids.booking}?constructor[prototype]=1` },
    { path: `/v1/vendors/${ids.vendor}/availability?startTime=%ZZ&endTime=2030-01-02T00:00:00Z` },
    { path: `/v1/vendors/${ids.vendor}/availability?startTime=2030-01-01T00:00:00Z%00&endTime=2030-01-02T00:00:00Z` },
    { path: `/v1/vendors/${ids.vendor}/availability?startTime=2030-01-01T00:00:00Z&endTime=2030-01-02T00:00:00Z&slotDuration=1e3` },
    { path: `/v1/vendors/${ids.vendor}/availability?startTime=2030-01-01T00:00:00Z&endTime=2030-01-02T00:00:00Z&includeConfidence=yes` },
    { path: `/v1/vendors/${ids.vendor}/availability?startTime=${'9'.repeat(5000)}&endTime=2030-01-02T00:00:00Z` },
    { path: '/healthz?verbose=1', anonymous: true },
    // headers
    { path: `/v1/bookings/${ids.booking}`, headers: { authorization: `Basic ${key}` } },
    { path: `/v1/bookings/${ids.booking}`, headers: { authorization: 'Bearer ' + 'x'.repeat(4000) } },
    { path: `/v1/bookings/${ids.booking}`, anonymous: true, headers: { authorization: 'Bearer bk_%ZZ' } },
    { path: '/webhooks/stripe', anonymous: true, headers: { ...JSON_TYPE, 'stripe-signature': 'x'.repeat(3000) }, body: '{}' },
    { path: '/webhooks/stripe', anonymous: true, headers: { ...JSON_TYPE, 'stripe-signature': 't=1,t=2,v1=00' }, body: '{}' },
    { path: '/webhooks/stripe', anonymous: true, headers: { ...JSON_TYPE, 'stripe-signature': 't=abc,v1=00' }, body: Buffer.from([0xff, 0xfe, 0x00]) },
    // content types
    withBody(JSON.stringify(good), { 'content-type': 'text/plain' }),
    withBody(JSON.stringify(good), { 'content-type': 'application/x-www-form-urlencoded' }),
    withBody(JSON.stringify(good), { 'content-type': 'multipart/form-data; boundary=x' }),
    withBody(JSON.stringify(good), { 'content-type': 'garbage' }),
    withBody(JSON.stringify(good), {}),
    // bodies
    withBody(''),
    withBody('{'),
    withBody('[]'),
    withBody('"text"'),
    withBody('42'),
    withBody('null'),
    withBody('true'),
    withBody(JSON.stringify({ ...good, extra: 1 })),
    withBody(JSON.stringify({ ...good, slotId: 42 })),
    withBody(JSON.stringify({ ...good, hold: 'true' })),
    withBody(JSON.stringify({ ...good, holdTtlSeconds: '60', hold: true })),
    withBody('{"__proto__": {"admin": true}, "slotId": "x"}'),
    withBody(JSON.stringify({ ...good, metadata: { ['\u0000']: 1 } })),
    withBody(JSON.stringify({ ...good, metadata: { v: 'x\u0000' } })),
    withBody(`{"slotId":"${ids.slot}","customerId":"${ids.customer}","idempotencyKey":"fuzz-1","metadata":{"v":"\\ud800"}}`),
    withBody(`{"slotId":"${ids.slot}","customerId":"${ids.customer}","idempotencyKey":"fuzz-1","metadata":{"v":"\\udc00x"}}`),
    withBody(
      Buffer.concat([
        Buffer.from(`{"slotId":"${ids.slot}","customerId":"${ids.customer}","idempotencyKey":"fuzz-1","metadata":{"v":"`),
        Buffer.from([0xc3, 0x28]),
        Buffer.from('"}}'),
      ]),
    ),
    withBody(JSON.stringify({ ...good, idempotencyKey: 'k'.repeat(156) })),
    withBody(JSON.stringify({ ...good, idempotencyKey: 'has space' })),
    withBody(JSON.stringify({ ...good, metadata: { big: 'x'.repeat(5000) } })),
    // sizes and nesting
    withBody(JSON.stringify({ ...good, metadata: { pad: 'x'.repeat(70_000) } })),
    withBody(`{"metadata":${deep(33)}}`),
    withBody(`{"metadata":${deep(100_000)}}`),
    { method: 'POST', path: `/v1/bookings/${ids.booking}/cancel`, headers: JSON_TYPE, body: JSON.stringify({ reason: 'r'.repeat(501) }) },
    { method: 'POST', path: `/v1/bookings/${ids.booking}/confirm` },
    {
      method: 'POST',
      path: '/v1/reservations',
      headers: JSON_TYPE,
      body: JSON.stringify({
        vendorId: ids.vendor,
        slotStartTime: '2030-02-30T00:00:00Z',
        slotEndTime: '2030-03-01T00:00:00Z',
        requesterId: ids.customer,
        idempotencyKey: 'r',
        metadata: { a: 1 },
      }),
    },
  ];
}

function framingAttacks(): Array<string | Buffer> {
  const auth = `Authorization: Bearer ${key}\r\n`;
  return [
    `POST /v1/bookings HTTP/1.1\r\nHost: x\r\n${auth}Content-Type: application/json\r\nContent-Length: 1000000000\r\nConnection: close\r\n\r\n{}`,
    `POST /v1/bookings HTTP/1.1\r\nHost: x\r\n${auth}Content-Type: application/json\r\nContent-Length: 5\r\nContent-Length: 7\r\nConnection: close\r\n\r\n{}`,
    `POST /v1/bookings HTTP/1.1\r\nHost: x\r\n${auth}Content-Type: application/json\r\nContent-Length: abc\r\nConnection: close\r\n\r\n{}`,
    `GET /v1/bookings/${ids.booking} HTTP/1.1\r\nHost: x\r\nX-Bad\u0001Header: 1\r\nConnection: close\r\n\r\n`,
    `GET /v1/bookings/${ids.booking} HTTP/1.1\r\nHost: x\r\nX-Big: ${'x'.repeat(20_000)}\r\nConnection: close\r\n\r\n`,
    'GARBAGE\r\n\r\n',
    Buffer.concat([Buffer.from('GET /v1/bookings/'), Buffer.from([0xff, 0x00]), Buffer.from(' HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')]),
  ];
}

describe('malformed input at every layer', () => {
  it('refuses each known attack with a coded 4xx, stays up and writes nothing', async () => {
    // Proves no malformed request reaches the database or ends the server, and each refusal is in the taxonomy's shape.
    const before = await fingerprint();
    const problems: string[] = [];
    for (const attempt of knownAttacks()) {
      const found = refusalProblems(await send(attempt));
      if (found.length) problems.push(`${attempt.method ?? ''} ${attempt.path.slice(0, 80)} ${String(attempt.body ?? '').slice(0, 60)}: ${found.join('; ')}`);
    }
    for (const request of framingAttacks()) {
      const found = refusalProblems(await raw(request));
      if (found.length) problems.push(`raw ${String(request).slice(0, 60)}: ${found.join('; ')}`);
    }
    expect(problems).toEqual([]);
    expect((await send({ path: '/healthz', anonymous: true })).status).toBe(200);
    expect(await fingerprint()).toEqual(before);
  });

  it('refuses seeded random paths, query strings and bodies the same way', async () => {
    // Proves the refusals hold beyond the hand-picked list: random bytes in a path segment, a query and a body (seed fixed).
    const before = await fingerprint();
    const problems: string[] = [];
    const bytes = fc.uint8Array({ minLength: 0, maxLength: 40 });
    const escapes = fc
      .array(fc.oneof(fc.constantFrom('%', '%0', '%ZZ', '%E0', '%C0%80', '%ED%A0%80', '%00', '/', '..', '?', '#', '&', '='), fc.string({ maxLength: 4 })), {
        maxLength: 6,
      })
      .map((parts) => parts.join(''));
    await fc.assert(
      fc.asyncProperty(escapes, bytes, escapes, async (segment, body, query) => {
        const path = `/v1/bookings/${encodeURI(segment).replace(/%25/g, '%')}`;
        for (const attempt of [
          { path: path.includes('#') ? path.split('#')[0]! : path },
          { path: `/v1/bookings/${ids.booking}?${encodeURI(query).replace(/%25/g, '%').replace(/#/g, '')}x=1` },
          { path: '/v1/bookings', headers: JSON_TYPE, body: Buffer.from(body) },
        ]) {
          const found = refusalProblems(await send(attempt));
          if (found.length) problems.push(`${attempt.path} ${Buffer.from(body).toString('hex')}: ${found.join('; ')}`);
        }
      }),
      { seed: 20261201, numRuns: 40 },
    );
    expect(problems).toEqual([]);
    expect((await send({ path: '/healthz', anonymous: true })).status).toBe(200);
    expect(await fingerprint()).toEqual(before);
  });

  it('twin: the refusal check reports a 500, raw text, a success and a leaked database message', () => {
    // Proves refusalProblems is not vacuous: each way the old edge answered bad input is caught.
    expect(
      refusalProblems({ status: 500, text: '{"error":{"code":"INTERNAL_ERROR","message":"unsupported Unicode escape sequence","hint":"h","retryable":false}}' })
        .length,
    ).toBeGreaterThan(0);
    expect(refusalProblems({ status: 400, text: 'Bad Request' })).toEqual(['not JSON: Bad Request']);
    expect(refusalProblems({ status: 200, text: '{}' })).toEqual(['status 200']);
    expect(
      refusalProblems({
        status: 400,
        text: '{"error":{"code":"VALIDATION_ERROR","message":"new row violates check constraint","hint":"h","retryable":false}}',
      }),
    ).toHaveLength(1);
    expect(refusalProblems({ status: 400, text: '{"error":"Bad Request","message":"Client Error","statusCode":400}' }).length).toBeGreaterThan(0);
  });
});
