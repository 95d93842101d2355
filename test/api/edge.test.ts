// Regressions of issue 12 at the HTTP edge: malformed URLs, unstorable
// metadata, idempotency keys too long for the column once namespaced, and
// a retry that changes the metadata. Each case failed on the node:http server.

import { describe, expect, it } from 'vitest';
import { makeCustomer, makeSlot, makeVendor } from '../helpers/fixtures.js';
import { type ApiResponse, call, makePartner, useTestApi } from './helpers.js';

const harness = useTestApi();

async function bookingRows(): Promise<number> {
  return Number((await harness.db.pool.query('SELECT (SELECT count(*) FROM bookings) + (SELECT count(*) FROM partner_bookings) AS n')).rows[0].n);
}

function expectValidationError(response: ApiResponse, field: string, status = 400): void {
  expect(response.status, response.text).toBe(status);
  expect(response.body.error).toMatchObject({ code: 'VALIDATION_ERROR', field, retryable: false });
  expect(typeof response.body.error.hint).toBe('string');
}

describe('malformed URLs (issue 12 item 1)', () => {
  it('answers a bad percent-escape in a path with a coded 400, and the server goes on serving', async () => {
    // Proves decoding the path cannot throw past the error handler: the old router's decodeURIComponent did, and the process exited.
    for (const path of ['/v1/bookings/%ZZ', '/v1/vendors/%E0/availability', '/v1/bookings/%E0%A4%A', '/v1/reservations/%C0%AF/cancel']) {
      const response = await call(harness.url, path.endsWith('cancel') ? 'POST' : 'GET', path);
      expectValidationError(response, 'path');
    }
    expect((await call(harness.url, 'GET', '/healthz')).status).toBe(200);
    expect(harness.api.logs.some((line) => line.status === 400 && line.route === 'unmatched')).toBe(true);
  });
});

describe('metadata the database cannot store (issue 12 item 9)', () => {
  it('refuses a NUL character and deep nesting with a coded 400 naming the place, and writes nothing', async () => {
    // Proves unstorable JSON is refused at the edge: these answered 500 with the database's or the stack's message.
    const partner = await makePartner(harness.db.pool, 'nul');
    const slot = await makeSlot(harness.db.pool, await makeVendor(harness.db.pool));
    const customer = await makeCustomer(harness.db.pool);
    const base = { slotId: slot.id, customerId: customer.id, idempotencyKey: 'meta-1' };
    const before = await bookingRows();
    expectValidationError(
      await call(harness.url, 'POST', '/v1/bookings', { key: partner.key, body: { ...base, metadata: { note: 'a\u0000b' } } }),
      'metadata.note',
    );
    expectValidationError(await call(harness.url, 'POST', '/v1/bookings', { key: partner.key, body: { ...base, metadata: { ['k\u0000']: 1 } } }), 'metadata');
    const deep = `${'{"a":'.repeat(9000)}1${'}'.repeat(9000)}`;
    const nested = await call(harness.url, 'POST', '/v1/bookings', {
      key: partner.key,
      rawBody: `{"slotId":"${slot.id}","customerId":"${customer.id}","idempotencyKey":"meta-1","metadata":${deep}}`,
      headers: { 'content-type': 'application/json' },
    });
    expectValidationError(nested, 'body');
    expect(nested.body.error.message).toMatch(/nested deeper than 32/);
    expect(await bookingRows()).toBe(before);
    expect((await call(harness.url, 'POST', '/v1/bookings', { key: partner.key, body: { ...base, metadata: { note: 'fine' } } })).status).toBe(201);
  });
});

describe('idempotency keys (issue 12 items 9 and 7)', () => {
  it('takes keys up to the length the column holds after the partner prefix, and names the field past it', async () => {
    // Proves the schema's limit is computed with the server's prefix: 156-200 characters passed and overflowed the column with a raw constraint message.
    const partner = await makePartner(harness.db.pool, 'longkey');
    const vendor = await makeVendor(harness.db.pool);
    const customer = await makeCustomer(harness.db.pool);
    const before = await bookingRows();
    for (const length of [156, 200]) {
      const refused = await call(harness.url, 'POST', '/v1/bookings', {
        key: partner.key,
        body: { slotId: (await makeSlot(harness.db.pool, vendor)).id, customerId: customer.id, idempotencyKey: 'k'.repeat(length) },
      });
      expectValidationError(refused, 'idempotencyKey');
      expect(refused.body.error.message).toMatch(/at most 155 characters/);
    }
    expect(await bookingRows()).toBe(before);
    const longest = await call(harness.url, 'POST', '/v1/bookings', {
      key: partner.key,
      body: { slotId: (await makeSlot(harness.db.pool, vendor)).id, customerId: customer.id, idempotencyKey: 'k'.repeat(155) },
    });
    expect(longest.status, longest.text).toBe(201);
  });

  it('refuses a retry with the same key and other metadata as IDEMPOTENCY_MISMATCH, and replays one with the same metadata', async () => {
    // Proves metadata is part of the request an idempotency key stands for: the old code kept the first metadata and answered 200.
    const partner = await makePartner(harness.db.pool, 'metamismatch');
    const slot = await makeSlot(harness.db.pool, await makeVendor(harness.db.pool));
    const body = { slotId: slot.id, customerId: (await makeCustomer(harness.db.pool)).id, idempotencyKey: 'order-7', metadata: { ref: 'A', seats: 2 } };
    expect((await call(harness.url, 'POST', '/v1/bookings', { key: partner.key, body })).status).toBe(201);
    const changed = await call(harness.url, 'POST', '/v1/bookings', { key: partner.key, body: { ...body, metadata: { ref: 'B', seats: 2 } } });
    expect(changed.status, changed.text).toBe(422);
    expect(changed.body.error).toMatchObject({ code: 'IDEMPOTENCY_MISMATCH', retryable: false });
    const dropped = await call(harness.url, 'POST', '/v1/bookings', { key: partner.key, body: { ...body, metadata: undefined } });
    expect(dropped.status).toBe(422);
    const reordered = await call(harness.url, 'POST', '/v1/bookings', { key: partner.key, body: { ...body, metadata: { seats: 2, ref: 'A' } } });
    expect(reordered.status).toBe(200);
    expect(reordered.body).toMatchObject({ replayed: true, booking: { metadata: { ref: 'A', seats: 2 } } });
    const stored = await harness.db.pool.query('SELECT metadata FROM partner_bookings WHERE booking_id = $1', [reordered.body.booking.id]);
    expect(stored.rows).toEqual([{ metadata: { ref: 'A', seats: 2 } }]);
  });
});

describe('query strings', () => {
  it('refuses a parameter given twice, naming it', async () => {
    // Proves a repeated parameter is not silently resolved to one of its values.
    const partner = await makePartner(harness.db.pool, 'dupquery');
    const vendor = await makeVendor(harness.db.pool);
    const response = await call(
      harness.url,
      'GET',
      `/v1/vendors/${vendor.id}/availability?startTime=2030-01-01T00:00:00Z&endTime=2030-01-02T00:00:00Z&endTime=2030-01-03T00:00:00Z`,
      { key: partner.key },
    );
    expectValidationError(response, 'endTime');
    expect(response.body.error.message).toMatch(/more than once/);
  });
});
