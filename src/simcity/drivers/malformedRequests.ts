// SC-5's malformed input, one HTTP layer at a time, drawn by fast-check from
// a seed the plan carries (so a seed replays the same bytes). Each request
// is aimed at a real endpoint with real ids around the one broken part, so
// what refuses it is the layer under attack, not a missing id.

import fc from 'fast-check';
import { HOLD_TTL_SECONDS_MAX } from '../../engine/limits.js';

export const MALFORMED_LAYERS = ['path', 'percent', 'query', 'headers', 'content_type', 'body', 'size', 'nesting', 'nul', 'unicode', 'fields'] as const;
export type MalformedLayer = (typeof MALFORMED_LAYERS)[number];

export interface RawRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string | Buffer;
}

export interface Targets {
  slotId: string;
  customerId: string;
  vendorId: string;
  bookingId: string;
  apiKey: string;
  key: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function one<T>(arbitrary: fc.Arbitrary<T>, seed: number): T {
  return fc.sample(arbitrary, { seed, numRuns: 1 })[0]!;
}

/** Anything that is not a well-formed id. */
function notAnId(): fc.Arbitrary<unknown> {
  return fc
    .oneof(
      fc.string({ maxLength: 60 }),
      fc.integer(),
      fc.double(),
      fc.constant(null),
      fc.boolean(),
      fc.array(fc.integer(), { maxLength: 3 }),
      fc.dictionary(fc.string({ maxLength: 6 }), fc.string({ maxLength: 6 }), { maxKeys: 2 }),
      fc.uuid().map((u) => `${u}'; DROP TABLE bookings; --`),
      fc.uuid().map((u) => ` ${u}x`),
    )
    .filter((v) => typeof v !== 'string' || !UUID.test(v));
}

const json = (apiKey: string): Record<string, string> => ({ authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' });

function deep(levels: number, leaf: string): string {
  return `${'{"a":'.repeat(levels)}${leaf}${'}'.repeat(levels)}`;
}

/** One malformed request against the partner API for `layer`, from `seed`. */
// biome-ignore lint/complexity/noExcessiveLinesPerFunction: stays long: one short case per layer (eleven), each drawing its bytes from `seed`; the switch is the catalogue of attacks.
export function malformedRequest(layer: MalformedLayer, seed: number, t: Targets): RawRequest {
  const claim = { slotId: t.slotId, customerId: t.customerId, idempotencyKey: `${t.key}-${seed}`, hold: true };
  switch (layer) {
    case 'path': {
      const segment = one(
        fc.oneof(
          fc.string({ minLength: 1, maxLength: 40 }).map(encodeURIComponent),
          fc.constant('..%2F..%2Fetc%2Fpasswd'),
          fc.constant('%00'),
          fc.constant('a'.repeat(3000)),
        ),
        seed,
      );
      return { method: 'GET', path: `/v1/bookings/${segment}`, headers: json(t.apiKey) };
    }
    case 'percent': {
      const percentEscape = one(fc.constantFrom('%', '%Z', '%ZZ', '%C0%AF', '%E0%80%80', '%ED%A0%80', '%FF%FE', '%25%', '%u0041', '%0a%0d'), seed);
      return {
        method: 'POST',
        path: `/v1/bookings/${t.bookingId.slice(0, 8)}${percentEscape}/cancel`,
        headers: json(t.apiKey),
        body: JSON.stringify({ reason: 'probe' }),
      };
    }
    case 'query': {
      const value = one(
        fc.oneof(
          fc.string({ maxLength: 40 }).map(encodeURIComponent),
          fc.constant('2030-02-30T09:00:00Z'),
          fc.constant('%ZZ'),
          fc.constant('9'.repeat(400)),
          fc.constant('2030-01-01T00:00:00Z&startTime=x'),
        ),
        seed,
      );
      return { method: 'GET', path: `/v1/vendors/${t.vendorId}/availability?startTime=${value}&endTime=2030-01-08T00:00:00Z`, headers: json(t.apiKey) };
    }
    case 'headers': {
      const authorization = one(
        fc.oneof(
          fc.constant(''),
          fc.constant('Bearer'),
          fc.constant('Basic dXNlcjpwYXNz'),
          fc.constant(`Bearer ${t.apiKey}x`),
          fc.constant(`bearer ${t.apiKey.toUpperCase()}`),
          fc.string({ maxLength: 40 }).map((s) => `Bearer ${s.replace(/[^\x21-\x7e]/g, '')}`),
          fc.constant(`Bearer ${'k'.repeat(4000)}`),
        ),
        seed,
      );
      return { method: 'POST', path: '/v1/bookings', headers: { authorization, 'content-type': 'application/json' }, body: JSON.stringify(claim) };
    }
    case 'content_type': {
      const type = one(
        fc.constantFrom(
          'text/plain',
          'application/x-www-form-urlencoded',
          'multipart/form-data; boundary=x',
          'application/xml',
          '',
          'application/jsonx',
          'json',
        ),
        seed,
      );
      return { method: 'POST', path: '/v1/bookings', headers: { authorization: `Bearer ${t.apiKey}`, 'content-type': type }, body: JSON.stringify(claim) };
    }
    case 'body': {
      const body = one(
        fc.oneof(
          fc.constant(''),
          fc.constant('{'),
          fc.constant('[]'),
          fc.constant('null'),
          fc.constant('"text"'),
          fc.constant('{"slotId":'),
          fc.string({ maxLength: 80 }),
          fc.constant('{"slotId":"a","slotId":"b"}'),
        ),
        seed,
      );
      return { method: 'POST', path: '/v1/bookings', headers: json(t.apiKey), body };
    }
    case 'size': {
      const bytes = one(fc.integer({ min: 70 * 1024, max: 2 * 1024 * 1024 }), seed);
      return { method: 'POST', path: '/v1/bookings', headers: json(t.apiKey), body: JSON.stringify({ ...claim, metadata: { blob: 'x'.repeat(bytes) } }) };
    }
    case 'nesting': {
      // Deeper than any metadata may be (4 KiB of JSON), up to past the body limit: refused either way, never parsed into a crash.
      const levels = one(fc.integer({ min: 1_000, max: 20_000 }), seed);
      return {
        method: 'POST',
        path: '/v1/bookings',
        headers: json(t.apiKey),
        body: `{"slotId":"${t.slotId}","customerId":"${t.customerId}","idempotencyKey":"${t.key}-${seed}","hold":true,"metadata":${deep(levels, '1')}}`,
      };
    }
    case 'nul': {
      const field = one(fc.constantFrom('slotId', 'customerId', 'idempotencyKey', 'paymentMethod'), seed);
      return {
        method: 'POST',
        path: '/v1/bookings',
        headers: json(t.apiKey),
        body: JSON.stringify({ ...claim, [field]: `${String((claim as Record<string, unknown>)[field] ?? 'card')}\u0000` }),
      };
    }
    case 'unicode': {
      // Lone surrogates in JSON escapes, and raw bytes that are not UTF-8.
      const variant = one(fc.integer({ min: 0, max: 2 }), seed);
      if (variant === 0)
        return {
          method: 'POST',
          path: '/v1/bookings',
          headers: json(t.apiKey),
          body: `{"slotId":"${t.slotId}","customerId":"${t.customerId}","idempotencyKey":"k\\ud800${seed}","hold":true}`,
        };
      if (variant === 1)
        return {
          method: 'POST',
          path: '/v1/bookings',
          headers: json(t.apiKey),
          body: Buffer.concat([
            Buffer.from(`{"slotId":"${t.slotId}","customerId":"${t.customerId}","idempotencyKey":"k`),
            Buffer.from([0xc3, 0x28, 0xff, 0xfe]),
            Buffer.from('","hold":true}'),
          ]),
        };
      return { method: 'POST', path: '/v1/bookings', headers: json(t.apiKey), body: JSON.stringify({ ...claim, paymentMethod: 'card\u202e\ufeff' }) };
    }
    case 'fields': {
      const broken = one(
        fc.oneof(
          fc.record({ slotId: notAnId() }),
          fc.record({ customerId: notAnId() }),
          fc.record({
            holdTtlSeconds: fc.oneof(
              fc.integer({ max: 0 }),
              fc.integer({ min: HOLD_TTL_SECONDS_MAX + 1 }),
              fc.double({ noInteger: true }),
              fc.string({ maxLength: 8 }),
            ),
          }),
          fc.record({ hold: fc.oneof(fc.string({ maxLength: 5 }), fc.integer()) }),
          fc.record({
            paymentMethod: fc.oneof(
              fc.constant('FREE'),
              fc.constant('free '),
              fc.integer(),
              fc.string({ maxLength: 10 }).filter((s) => !['free', 'pay_on_arrival', 'card'].includes(s)),
            ),
          }),
          fc.record({ idempotencyKey: fc.oneof(fc.constant(''), fc.constant('a b'), fc.constant('k'.repeat(300)), fc.integer()) }),
          fc.record({ unexpected: fc.string({ maxLength: 5 }) }),
          fc.record({ metadata: fc.oneof(fc.constant([]), fc.string({ maxLength: 5 }), fc.integer()) }),
        ),
        seed,
      );
      return { method: 'POST', path: '/v1/bookings', headers: json(t.apiKey), body: JSON.stringify({ ...claim, ...(broken as Record<string, unknown>) }) };
    }
  }
}
