// The privacy probe: a partner never reaches another partner's bookings, nor any customer's name or email.

import { describe, expect, it } from 'vitest';
import { makeCustomer, makeSlot, makeVendor } from '../helpers/fixtures.js';
import { linkBookingToWrongPartner } from './fixtures/misattribute.js';
import { call, makePartner, useTestApi } from './helpers.js';

const harness = useTestApi();

/** Everything a prying partner can try against another partner's booking; returns what leaked. */
async function probe(probingKey: string, victimBookingId: string, secrets: string[]): Promise<string[]> {
  const leaks: string[] = [];
  const attempts = [
    call(harness.url, 'GET', `/v1/bookings/${victimBookingId}`, { key: probingKey }),
    call(harness.url, 'GET', `/v1/bookings/${victimBookingId.toUpperCase()}`, { key: probingKey }),
    call(harness.url, 'POST', `/v1/bookings/${victimBookingId}/cancel`, { key: probingKey, body: { reason: 'probe' } }),
    call(harness.url, 'POST', `/v1/bookings/${victimBookingId}/confirm`, { key: probingKey, body: {} }),
  ];
  for (const response of await Promise.all(attempts)) {
    if (response.status !== 404 || response.body?.error?.code !== 'BOOKING_NOT_FOUND')
      leaks.push(`answered ${response.status}: ${response.text.slice(0, 200)}`);
    for (const secret of secrets) if (response.text.includes(secret)) leaks.push(`response contains ${secret}`);
  }
  return leaks;
}

describe('privacy', () => {
  it("answers another partner's booking exactly like a missing one, and never shows names or emails", async () => {
    // Proves partner isolation (no read, no action, no id probing) and that no personal data crosses the API.
    const vendor = await makeVendor(harness.db.pool);
    const slot = await makeSlot(harness.db.pool, vendor, { capacity: 2 });
    const customer = await makeCustomer(harness.db.pool);
    const a = await makePartner(harness.db.pool, 'alpha', 'http://127.0.0.1:9/hooks');
    const b = await makePartner(harness.db.pool, 'beta');
    const created = await call(harness.url, 'POST', '/v1/bookings', {
      key: a.key,
      body: { slotId: slot.id, customerId: customer.id, idempotencyKey: 'shared-key', hold: true },
    });
    expect(created.status).toBe(201);
    const bookingId = created.body.booking.id as string;
    const secrets = [customer.email, customer.name];

    expect(await probe(b.key, bookingId, secrets)).toEqual([]);
    const missing = await call(harness.url, 'GET', '/v1/bookings/00000000-0000-4000-8000-000000000000', { key: b.key });
    const foreign = await call(harness.url, 'GET', `/v1/bookings/${bookingId}`, { key: b.key });
    expect(foreign.body.error.message.replace(bookingId, 'X')).toBe(missing.body.error.message.replace('00000000-0000-4000-8000-000000000000', 'X'));

    // The same idempotency key from another partner is another request, never a replay of A's booking.
    const replayByB = await call(harness.url, 'POST', '/v1/bookings', {
      key: b.key,
      body: { slotId: slot.id, customerId: customer.id, idempotencyKey: 'shared-key', hold: true },
    });
    expect(replayByB.status).toBe(201);
    expect(replayByB.body.replayed).toBe(false);
    expect(replayByB.body.booking.id).not.toBe(bookingId);

    // The owner sees its booking, still without personal data; so do its webhook events and the availability.
    const own = await call(harness.url, 'GET', `/v1/bookings/${bookingId}`, { key: a.key });
    expect(own.status).toBe(200);
    const availability = await call(harness.url, 'GET', `/v1/vendors/${vendor.id}/availability?startTime=2000-01-01T00:00:00Z&endTime=2000-02-01T00:00:00Z`, {
      key: b.key,
    });
    const events = await harness.db.pool.query(`SELECT payload::text AS p FROM webhook_outbox WHERE partner_id = $1`, [a.partnerId]);
    expect(events.rows.length).toBeGreaterThan(0);
    for (const text of [own.text, created.text, availability.text, ...events.rows.map((r) => r.p as string)]) {
      for (const secret of secrets) expect(text).not.toContain(secret);
    }
    expect(await harness.db.pool.query(`SELECT 1 FROM webhook_outbox WHERE partner_id = $1`, [b.partnerId]).then((r) => r.rowCount)).toBe(0);
  });

  it('twin: the probe reports a leak when a booking is linked to the wrong partner', async () => {
    // Proves the probe is not vacuous: a broken ownership link (test fixture) is caught.
    const vendor = await makeVendor(harness.db.pool);
    const slot = await makeSlot(harness.db.pool, vendor);
    const customer = await makeCustomer(harness.db.pool);
    const a = await makePartner(harness.db.pool, 'gamma');
    const b = await makePartner(harness.db.pool, 'delta');
    const created = await call(harness.url, 'POST', '/v1/bookings', {
      key: a.key,
      body: { slotId: slot.id, customerId: customer.id, idempotencyKey: 'k', hold: true },
    });
    await linkBookingToWrongPartner(harness.db.pool, created.body.booking.id, b.partnerId);
    expect((await probe(b.key, created.body.booking.id, [customer.email])).length).toBeGreaterThan(0);
  });
});
