// Partner API v1 over real HTTP: authentication, bookings, actions, edge validation, request ids.

import { describe, expect, it } from 'vitest';
import { revokeApiKey, rotateApiKey } from '../../src/api/apiKeys.js';
import { makeCustomer, makeSlot, makeVendor } from '../helpers/fixtures.js';
import { call, makePartner, useTestApi } from './helpers.js';

const harness = useTestApi();

describe('authentication', () => {
  it('refuses a request without a key, with a malformed key and with an unknown key (401, taxonomy body)', async () => {
    // Proves every /v1 route needs a known key and answers in the SPEC §2 shape.
    const vendor = await makeVendor(harness.db.pool);
    const path = `/v1/vendors/${vendor.id}/availability?startTime=2030-01-01T00:00:00Z&endTime=2030-01-02T00:00:00Z`;
    for (const key of [undefined, 'not-a-key', `bk_000000000000_${'A'.repeat(43)}`]) {
      const response = await call(harness.url, 'GET', path, key ? { key } : {});
      expect(response.status).toBe(401);
      expect(response.body.error).toMatchObject({ code: 'UNAUTHORIZED', retryable: false });
      expect(typeof response.body.error.hint).toBe('string');
    }
  });

  it('accepts a key until it is revoked, and a rotated key replaces the old one at once', async () => {
    // Proves revoke and rotate take effect on the next request.
    const vendor = await makeVendor(harness.db.pool);
    const path = `/v1/vendors/${vendor.id}/availability?startTime=2030-01-01T00:00:00Z&endTime=2030-01-02T00:00:00Z`;
    const partner = await makePartner(harness.db.pool, 'revoke');
    expect((await call(harness.url, 'GET', path, { key: partner.key })).status).toBe(200);
    const rotated = await rotateApiKey(harness.db.pool, partner.prefix);
    const old = await call(harness.url, 'GET', path, { key: partner.key });
    expect(old.status).toBe(401);
    expect(old.body.error.message).toMatch(/revoked/);
    expect((await call(harness.url, 'GET', path, { key: rotated.key })).status).toBe(200);
    await revokeApiKey(harness.db.pool, rotated.id);
    expect((await call(harness.url, 'GET', path, { key: rotated.key })).status).toBe(401);
  });

  it('stores only a hash of each key', async () => {
    // Proves the plaintext key is nowhere in the database.
    const partner = await makePartner(harness.db.pool, 'hash');
    const dump = await harness.db.pool.query(`SELECT to_jsonb(k)::text AS row FROM api_keys k WHERE id = $1`, [partner.id]);
    expect(dump.rows[0].row).not.toContain(partner.key);
    // The secret is everything after bk_<prefix>_; base64url may itself contain '_'.
    expect(dump.rows[0].row).not.toContain(partner.key.split('_').slice(2).join('_'));
  });
});

describe('bookings', () => {
  it('books, replays with the same idempotency key, reads with history, and cancels', async () => {
    // Proves the whole booking path over HTTP, including I6 replay and the state history.
    const vendor = await makeVendor(harness.db.pool);
    const customer = await makeCustomer(harness.db.pool);
    const slot = await makeSlot(harness.db.pool, vendor);
    const partner = await makePartner(harness.db.pool, 'book');
    const body = { slotId: slot.id, customerId: customer.id, idempotencyKey: 'order-1', metadata: { ref: 'A-1' } };
    const created = await call(harness.url, 'POST', '/v1/bookings', { key: partner.key, body });
    expect(created.status).toBe(201);
    expect(created.body.replayed).toBe(false);
    expect(created.body.booking).toMatchObject({ slotId: slot.id, state: 'confirmed', metadata: { ref: 'A-1' } });
    const replay = await call(harness.url, 'POST', '/v1/bookings', { key: partner.key, body });
    expect(replay.status).toBe(200);
    expect(replay.body).toMatchObject({ replayed: true, booking: { id: created.body.booking.id } });
    const mismatch = await call(harness.url, 'POST', '/v1/bookings', {
      key: partner.key,
      body: { ...body, customerId: (await makeCustomer(harness.db.pool)).id },
    });
    expect(mismatch.status).toBe(422);
    expect(mismatch.body.error.code).toBe('IDEMPOTENCY_MISMATCH');
    const id = created.body.booking.id as string;
    const cancelled = await call(harness.url, 'POST', `/v1/bookings/${id}/cancel`, { key: partner.key, body: { reason: 'customer changed plans' } });
    expect(cancelled.status).toBe(200);
    expect(cancelled.body.state).toBe('cancelled');
    const read = await call(harness.url, 'GET', `/v1/bookings/${id}`, { key: partner.key });
    expect(read.status).toBe(200);
    expect(read.body.history.map((h: { to: string }) => h.to)).toEqual(['confirmed', 'cancelled']);
    const again = await call(harness.url, 'POST', `/v1/bookings/${id}/cancel`, { key: partner.key, body: { reason: 'twice' } });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('INVALID_TRANSITION');
  });

  it('holds a slot and confirms the hold (the vendor confirmation action)', async () => {
    // Proves the hold → confirmed transition over HTTP.
    const vendor = await makeVendor(harness.db.pool);
    const slot = await makeSlot(harness.db.pool, vendor);
    const partner = await makePartner(harness.db.pool, 'hold');
    const held = await call(harness.url, 'POST', '/v1/bookings', {
      key: partner.key,
      body: { slotId: slot.id, customerId: (await makeCustomer(harness.db.pool)).id, idempotencyKey: 'h-1', hold: true, holdTtlSeconds: 300 },
    });
    expect(held.status).toBe(201);
    expect(held.body.booking.state).toBe('held');
    expect(held.body.booking.holdExpiresAt).not.toBeNull();
    const confirmed = await call(harness.url, 'POST', `/v1/bookings/${held.body.booking.id}/confirm`, { key: partner.key, body: {} });
    expect(confirmed.status).toBe(200);
    expect(confirmed.body.state).toBe('confirmed');
  });

  it('answers a taken slot with 409 BOOKING_CONFLICT and a missing slot with 404', async () => {
    // Proves engine errors keep their SPEC §2 statuses over HTTP.
    const vendor = await makeVendor(harness.db.pool);
    const slot = await makeSlot(harness.db.pool, vendor);
    const partner = await makePartner(harness.db.pool, 'conflict');
    const first = await call(harness.url, 'POST', '/v1/bookings', {
      key: partner.key,
      body: { slotId: slot.id, customerId: (await makeCustomer(harness.db.pool)).id, idempotencyKey: 'c-1' },
    });
    expect(first.status).toBe(201);
    const second = await call(harness.url, 'POST', '/v1/bookings', {
      key: partner.key,
      body: { slotId: slot.id, customerId: (await makeCustomer(harness.db.pool)).id, idempotencyKey: 'c-2' },
    });
    expect(second.status).toBe(409);
    expect(second.body.error).toMatchObject({ code: 'BOOKING_CONFLICT', retryable: false });
    const missing = await call(harness.url, 'POST', '/v1/bookings', {
      key: partner.key,
      body: { slotId: '00000000-0000-4000-8000-000000000000', customerId: (await makeCustomer(harness.db.pool)).id, idempotencyKey: 'c-3' },
    });
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('SLOT_NOT_FOUND');
  });
});

describe('validation at the edge', () => {
  it('refuses malformed JSON, non-objects, a wrong content type, unknown fields, bad ids and bad dates, naming the field', async () => {
    // Proves nothing malformed reaches the engine and each refusal names what is wrong.
    const partner = await makePartner(harness.db.pool, 'edge');
    const vendor = await makeVendor(harness.db.pool);
    const cases: Array<{ options: Parameters<typeof call>[3]; method?: string; path?: string; field: string }> = [
      { options: { rawBody: '{"slotId": ', headers: { 'content-type': 'application/json' } }, field: 'body' },
      { options: { rawBody: '[1,2]', headers: { 'content-type': 'application/json' } }, field: 'body' },
      { options: { rawBody: '{}', headers: { 'content-type': 'text/plain' } }, field: 'body' },
      { options: { body: { slotId: vendor.id, customerId: vendor.id, idempotencyKey: 'k', slotid: 'typo' } }, field: 'slotid' },
      { options: { body: { slotId: 'nope', customerId: vendor.id, idempotencyKey: 'k' } }, field: 'slotId' },
      { options: { body: { customerId: vendor.id, idempotencyKey: 'k' } }, field: 'slotId' },
      { options: { body: { slotId: vendor.id, customerId: vendor.id, idempotencyKey: 'k', hold: 'yes' } }, field: 'hold' },
      { method: 'GET', path: `/v1/vendors/${vendor.id}/availability?startTime=tomorrow&endTime=2030-01-02T00:00:00Z`, options: {}, field: 'startTime' },
      {
        method: 'GET',
        path: `/v1/vendors/${vendor.id}/availability?startTime=2030-02-30T00:00:00Z&endTime=2030-03-02T00:00:00Z`,
        options: {},
        field: 'startTime',
      },
      {
        method: 'GET',
        path: `/v1/vendors/${vendor.id}/availability?startTime=2030-01-02T00:00:00Z&endTime=2030-01-01T00:00:00Z`,
        options: {},
        field: 'endTime',
      },
      {
        method: 'GET',
        path: `/v1/vendors/${vendor.id}/availability?startTime=2030-01-01T00:00:00Z&endTime=2030-01-02T00:00:00Z&limit=5`,
        options: {},
        field: 'limit',
      },
    ];
    for (const testCase of cases) {
      const response = await call(harness.url, testCase.method ?? 'POST', testCase.path ?? '/v1/bookings', { ...testCase.options, key: partner.key });
      expect(response.status, JSON.stringify(testCase)).toBe(400);
      expect(response.body.error.code).toBe('VALIDATION_ERROR');
      expect(response.body.error.field, JSON.stringify(response.body)).toBe(testCase.field);
    }
  });

  it('refuses an oversized body with 413 and writes nothing', async () => {
    // Proves the body limit holds before any parsing and a rejected request changes nothing.
    const partner = await makePartner(harness.db.pool, 'big');
    const before = (await harness.db.pool.query('SELECT count(*) AS n FROM bookings')).rows[0].n;
    const response = await call(harness.url, 'POST', '/v1/bookings', {
      key: partner.key,
      rawBody: JSON.stringify({ metadata: 'x'.repeat(200_000) }),
      headers: { 'content-type': 'application/json' },
    });
    expect(response.status).toBe(413);
    expect(response.body.error).toMatchObject({ code: 'VALIDATION_ERROR', field: 'body' });
    expect((await harness.db.pool.query('SELECT count(*) AS n FROM bookings')).rows[0].n).toBe(before);
  });

  it('answers unknown paths with 404 and wrong methods with 405', async () => {
    // Proves the router does not fall through to a handler.
    expect((await call(harness.url, 'GET', '/v2/anything')).status).toBe(404);
    expect((await call(harness.url, 'DELETE', '/v1/bookings')).status).toBe(405);
  });
});

describe('operations', () => {
  it('serves /healthz without a key', async () => {
    // Proves the health check reports the database.
    const response = await call(harness.url, 'GET', '/healthz');
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ status: 'ok', database: 'ok' });
  });

  it('puts the request id in the response, the JSON log line and the audit rows the request wrote', async () => {
    // Proves one request id follows a request from the edge into the hash-chained audit log.
    const vendor = await makeVendor(harness.db.pool);
    const slot = await makeSlot(harness.db.pool, vendor);
    const partner = await makePartner(harness.db.pool, 'rid');
    const requestId = `req-${Date.now()}`;
    const response = await call(harness.url, 'POST', '/v1/bookings', {
      key: partner.key,
      headers: { 'x-request-id': requestId },
      body: { slotId: slot.id, customerId: (await makeCustomer(harness.db.pool)).id, idempotencyKey: 'rid-1' },
    });
    expect(response.status).toBe(201);
    expect(response.headers.get('x-request-id')).toBe(requestId);
    expect(harness.api.logs.some((line) => line.requestId === requestId && line.status === 201 && line.route === '/v1/bookings')).toBe(true);
    const audit = await harness.db.pool.query(`SELECT entity, actor_kind, actor_id, source FROM audit_log WHERE request_id = $1 ORDER BY seq`, [requestId]);
    expect(audit.rows.map((row) => row.entity)).toContain('bookings');
    expect(audit.rows.every((row) => row.actor_kind === 'partner' && row.actor_id === partner.partnerId && row.source === 'api')).toBe(true);
  });

  it("mounts the payment provider's webhook at POST /webhooks/stripe: an unsigned event is refused and counted", async () => {
    // Proves the Stripe endpoint is reachable without an API key, checks signatures on the raw body, and feeds /metrics.
    const response = await call(harness.url, 'POST', '/webhooks/stripe', {
      rawBody: '{"id":"evt_1","type":"payment_intent.succeeded"}',
      headers: { 'content-type': 'application/json' },
    });
    expect(response.status).toBe(401);
    expect(response.body.error.code).toBe('UNAUTHORIZED');
    const forged = await call(harness.url, 'POST', '/webhooks/stripe', {
      rawBody: '{"id":"evt_2"}',
      headers: { 'content-type': 'application/json', 'stripe-signature': `t=${Math.floor(Date.now() / 1000)},v1=${'0'.repeat(64)}` },
    });
    expect(forged.status).toBeGreaterThanOrEqual(400);
    const text = await (await fetch(`${harness.url}/metrics`)).text();
    expect(text).toMatch(/^bookiji_webhooks_received_total\{outcome="rejected"\} 2$/m);
  });

  it('serves Prometheus metrics: requests by route and status, bookings by state, holds, outbox depth and lag', async () => {
    // Proves /metrics exposes the gauges operations need, in the text format.
    await call(harness.url, 'GET', '/healthz');
    const response = await fetch(`${harness.url}/metrics`);
    const text = await response.text();
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0.0.4/);
    expect(text).toMatch(/^bookiji_http_requests_total\{method="GET",route="\/healthz",status="200"\} \d+$/m);
    expect(text).toMatch(/^bookiji_http_request_duration_seconds_count\{method="GET",route="\/healthz"\} \d+$/m);
    expect(text).toMatch(/^bookiji_bookings\{state="confirmed"\} \d+$/m);
    expect(text).toMatch(/^bookiji_holds_pending \d+$/m);
    expect(text).toMatch(/^bookiji_reservations_pending \d+$/m);
    expect(text).toMatch(/^bookiji_outbox_depth \d+$/m);
    expect(text).toMatch(/^bookiji_outbox_lag_seconds [\d.]+$/m);
    expect(text).toMatch(/^bookiji_webhooks_received_total\{outcome="rejected"\} \d+$/m);
  });
});
