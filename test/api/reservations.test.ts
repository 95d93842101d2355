// Reservations over real HTTP: create (201, replay 200), read with history, vendor confirmation, cancel, privacy, edge validation, webhook events.

import { describe, expect, it } from 'vitest';
import { makeCustomer, makeSlot, makeVendor } from '../helpers/fixtures.js';
import { call, makePartner, useTestApi } from './helpers.js';

const harness = useTestApi();

async function pricedSlot() {
  const vendor = await makeVendor(harness.db.pool);
  const slot = await makeSlot(harness.db.pool, vendor, { priceCents: 8000 });
  return { vendor, slot };
}

describe('reservations', () => {
  it('creates a reservation (201 with id, state, expiry), replays it (200), reads its history, confirms and cancels it', async () => {
    // Proves the reservation endpoints drive the reservation machine end to end.
    const { vendor, slot } = await pricedSlot();
    const requester = await makeCustomer(harness.db.pool);
    const partner = await makePartner(harness.db.pool, 'res', 'http://127.0.0.1:9/hooks');
    const body = {
      vendorId: vendor.id,
      slotStartTime: slot.startsAt.toISOString(),
      slotEndTime: slot.endsAt.toISOString(),
      requesterId: requester.id,
      metadata: { order: 'R-1' },
      idempotencyKey: 'res-1',
    };
    const created = await call(harness.url, 'POST', '/v1/reservations', { key: partner.key, body });
    expect(created.status, created.text).toBe(201);
    expect(created.body.replayed).toBe(false);
    expect(created.body.reservation).toMatchObject({ state: 'AWAITING_VENDOR_CONFIRMATION', slotId: slot.id, amountCents: 8000, metadata: { order: 'R-1' } });
    expect(Date.parse(created.body.reservation.expiresAt)).toBeGreaterThan(Date.now() - 60_000);
    const id = created.body.reservation.id as string;
    const replay = await call(harness.url, 'POST', '/v1/reservations', { key: partner.key, body });
    expect(replay.status).toBe(200);
    expect(replay.body).toMatchObject({ replayed: true, reservation: { id } });
    const confirmed = await call(harness.url, 'POST', `/v1/reservations/${id}/confirm`, { key: partner.key, body: {} });
    expect(confirmed.status, confirmed.text).toBe(200);
    expect(confirmed.body.state).toBe('CONFIRMED_BY_VENDOR');
    const cancelled = await call(harness.url, 'POST', `/v1/reservations/${id}/cancel`, { key: partner.key, body: { reason: 'requester changed plans' } });
    expect(cancelled.status, cancelled.text).toBe(200);
    expect(cancelled.body.state).toBe('CANCELLED');
    const read = await call(harness.url, 'GET', `/v1/reservations/${id}`, { key: partner.key });
    expect(read.status).toBe(200);
    expect(read.body.history.map((h: { to: string }) => h.to)).toEqual([
      'INTENT_CREATED',
      'HELD',
      'AWAITING_VENDOR_CONFIRMATION',
      'CONFIRMED_BY_VENDOR',
      'CANCELLED',
    ]);
    expect(JSON.stringify(read.body.history)).not.toMatch(/actorId/);
    // Every transition became an outbox event for the partner, in order.
    const events = await harness.db.pool.query(`SELECT event_type FROM webhook_outbox WHERE partner_id = $1 ORDER BY id`, [partner.partnerId]);
    expect(events.rows.map((r) => r.event_type)).toEqual([
      'reservation.intent_created',
      'reservation.held',
      'reservation.awaiting_vendor_confirmation',
      'reservation.confirmed_by_vendor',
      'reservation.cancelled',
    ]);
    // The slot is free again.
    const again = await call(harness.url, 'POST', '/v1/reservations', { key: partner.key, body: { ...body, idempotencyKey: 'res-2' } });
    expect(again.status).toBe(201);
  });

  it("answers another partner's reservation like a missing one, for reading and for every action", async () => {
    // Proves partners never see or act on each other's reservations, and ids cannot be probed.
    const { vendor, slot } = await pricedSlot();
    const owner = await makePartner(harness.db.pool, 'res-owner');
    const prying = await makePartner(harness.db.pool, 'res-prying');
    const requester = await makeCustomer(harness.db.pool);
    const created = await call(harness.url, 'POST', '/v1/reservations', {
      key: owner.key,
      body: {
        vendorId: vendor.id,
        slotStartTime: slot.startsAt.toISOString(),
        slotEndTime: slot.endsAt.toISOString(),
        requesterId: requester.id,
        idempotencyKey: 'p-1',
      },
    });
    const id = created.body.reservation.id as string;
    const attempts = await Promise.all([
      call(harness.url, 'GET', `/v1/reservations/${id}`, { key: prying.key }),
      call(harness.url, 'POST', `/v1/reservations/${id}/confirm`, { key: prying.key, body: {} }),
      call(harness.url, 'POST', `/v1/reservations/${id}/cancel`, { key: prying.key, body: { reason: 'probe' } }),
    ]);
    for (const response of attempts) {
      expect(response.status).toBe(404);
      expect(response.body.error.code).toBe('RESERVATION_NOT_FOUND');
      expect(response.text).not.toContain(requester.email);
    }
    const state = await call(harness.url, 'GET', `/v1/reservations/${id}`, { key: owner.key });
    expect(state.body.state).toBe('AWAITING_VENDOR_CONFIRMATION');
    expect(state.text).not.toContain(requester.email);
    expect(state.text).not.toContain(requester.name);
  });

  it('refuses unknown fields, impossible dates and non-string metadata, naming the field; a slot that does not exist is 404', async () => {
    // Proves reservation input is validated at the edge.
    const { vendor, slot } = await pricedSlot();
    const partner = await makePartner(harness.db.pool, 'res-edge');
    const requester = await makeCustomer(harness.db.pool);
    const good = {
      vendorId: vendor.id,
      slotStartTime: slot.startsAt.toISOString(),
      slotEndTime: slot.endsAt.toISOString(),
      requesterId: requester.id,
      idempotencyKey: 'e-1',
    };
    for (const [body, field] of [
      [{ ...good, slotStart: 'x' }, 'slotStart'],
      [{ ...good, slotStartTime: '2030-02-30T10:00:00Z' }, 'slotStartTime'],
      [{ ...good, slotEndTime: '2030-01-01T10:00:00' }, 'slotEndTime'],
      [{ ...good, metadata: { n: 1 } }, 'metadata.n'],
      [{ ...good, requesterId: undefined }, 'requesterId'],
    ] as const) {
      const response = await call(harness.url, 'POST', '/v1/reservations', { key: partner.key, body });
      expect(response.status, JSON.stringify(body)).toBe(400);
      expect(response.body.error).toMatchObject({ code: 'VALIDATION_ERROR', field });
    }
    const shifted = new Date(slot.startsAt.getTime() + 60_000).toISOString();
    const missing = await call(harness.url, 'POST', '/v1/reservations', { key: partner.key, body: { ...good, slotStartTime: shifted } });
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('SLOT_NOT_FOUND');
  });
});
