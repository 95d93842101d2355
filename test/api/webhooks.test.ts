// Outgoing partner webhooks: outbox in the change's transaction, signed, retried with backoff, and nothing lost across a killed `serve`.

import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backoffMs, signWebhook, verifyWebhookSignature } from '../../src/api/webhookOutbox.js';
import { cancelBooking } from '../../src/engine/bookings.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { makeCustomer, makeSlot, makeVendor, TEST_ACTOR } from '../helpers/fixtures.js';
import { buildDist } from './build.js';
import { markBatchDeliveredThenCrash } from './fixtures/markBeforeSend.js';
import { call, makePartner, startTestApi } from './helpers.js';
import { startReceiver, waitFor } from './receiver.js';

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
});

afterAll(async () => {
  await db.drop();
});

async function outboxIds(partnerId: string): Promise<string[]> {
  return (await db.pool.query('SELECT event_id FROM webhook_outbox WHERE partner_id = $1 ORDER BY id', [partnerId])).rows.map((r) => r.event_id as string);
}

async function pendingCount(partnerId: string): Promise<number> {
  return Number((await db.pool.query('SELECT count(*) AS n FROM webhook_outbox WHERE partner_id = $1 AND delivered_at IS NULL', [partnerId])).rows[0].n);
}

/** Event ids the outbox holds that the partner never acknowledged: must be empty once the outbox is drained. */
function lostEvents(stored: string[], acknowledged: Set<string>): string[] {
  return stored.filter((id) => !acknowledged.has(id));
}

describe('signatures and backoff', () => {
  it('signs with HMAC-SHA256 over timestamp and body; a changed body or secret fails', () => {
    // Proves partners can tell our webhooks from forgeries.
    const header = signWebhook('secret-1', 1_900_000_000, '{"a":1}');
    expect(verifyWebhookSignature('secret-1', header, '{"a":1}')).toBe(true);
    expect(verifyWebhookSignature('secret-1', header, '{"a":2}')).toBe(false);
    expect(verifyWebhookSignature('secret-2', header, '{"a":1}')).toBe(false);
  });

  it('backs off exponentially up to the cap', () => {
    // Proves each retry waits at least half of base × 2^(attempt − 1), capped.
    const settings = { backoffBaseMs: 1000, backoffCapMs: 60_000 };
    for (const [attempt, ceiling] of [
      [1, 1000],
      [2, 2000],
      [3, 4000],
      [7, 60_000],
      [30, 60_000],
    ] as const) {
      const wait = backoffMs(attempt, settings);
      expect(wait).toBeGreaterThanOrEqual(ceiling / 2);
      expect(wait).toBeLessThanOrEqual(ceiling);
    }
  });
});

describe('delivery', () => {
  it('writes the event in the same transaction as the change and retries a refusing partner with the same event id', async () => {
    // Proves outbox atomicity (a rolled-back change leaves no event) and at-least-once delivery with a stable id.
    let secret = '';
    const receiver = await startReceiver(() => secret, 'refuse');
    const partner = await makePartner(db.pool, 'hooks', receiver.url);
    secret = partner.webhookSecret;
    const api = await startTestApi(db.pool, { outbox: { pollIntervalMs: 20, backoffBaseMs: 20, backoffCapMs: 100, requestTimeoutMs: 2000, leaseMs: 5000 } });
    try {
      const vendor = await makeVendor(db.pool);
      const slot = await makeSlot(db.pool, vendor);
      const created = await call(api.server.url, 'POST', '/v1/bookings', {
        key: partner.key,
        body: { slotId: slot.id, customerId: (await makeCustomer(db.pool)).id, idempotencyKey: 'w-1', hold: true },
      });
      expect(created.status).toBe(201);
      // A refused change writes no event: the same slot again conflicts and rolls back.
      const conflict = await call(api.server.url, 'POST', '/v1/bookings', {
        key: partner.key,
        body: { slotId: slot.id, customerId: (await makeCustomer(db.pool)).id, idempotencyKey: 'w-2' },
      });
      expect(conflict.status).toBe(409);
      // A change made outside the API (the CLI's cancel) still reaches the partner.
      await cancelBooking(db.pool, { booking: created.body.booking.id, reason: 'vendor sick' }, TEST_ACTOR);
      const ids = await outboxIds(partner.partnerId);
      expect(ids).toHaveLength(2);
      await waitFor(() => receiver.deliveries.filter((d) => d.eventId === ids[0]).length >= 3, 'three refused attempts');
      receiver.mode = 'ok';
      await waitFor(async () => (await pendingCount(partner.partnerId)) === 0, 'the outbox to drain');
      expect(lostEvents(ids, receiver.acknowledged())).toEqual([]);
      expect(receiver.deliveries.every((d) => d.signatureValid)).toBe(true);
      const types = ids.map((id) => receiver.deliveries.find((d) => d.eventId === id)!.type);
      expect(types).toEqual(['booking.created', 'booking.cancelled']);
      const firstBodies = new Set(receiver.deliveries.filter((d) => d.eventId === ids[0]).map((d) => d.body));
      expect(firstBodies.size).toBe(1);
      const attempts = (await db.pool.query('SELECT attempts FROM webhook_outbox WHERE event_id = $1', [ids[0]])).rows[0].attempts;
      expect(attempts).toBeGreaterThanOrEqual(4);
    } finally {
      await api.server.close();
      await receiver.close();
    }
  });

  it('twin: the loss check catches a dispatcher that marks events delivered before sending them', async () => {
    // Proves lostEvents is not vacuous: mark-then-crash (test fixture) loses events and is caught.
    let secret = '';
    const receiver = await startReceiver(() => secret, 'ok');
    const partner = await makePartner(db.pool, 'lossy', receiver.url);
    secret = partner.webhookSecret;
    const api = await startTestApi(db.pool, { outbox: false });
    try {
      const vendor = await makeVendor(db.pool);
      const slot = await makeSlot(db.pool, vendor);
      await call(api.server.url, 'POST', '/v1/bookings', {
        key: partner.key,
        body: { slotId: slot.id, customerId: (await makeCustomer(db.pool)).id, idempotencyKey: 'l-1' },
      });
      expect(await markBatchDeliveredThenCrash(db.pool, 10)).toBeGreaterThan(0);
      expect(await pendingCount(partner.partnerId)).toBe(0);
      expect(lostEvents(await outboxIds(partner.partnerId), receiver.acknowledged()).length).toBeGreaterThan(0);
    } finally {
      await api.server.close();
      await receiver.close();
    }
  });
});

describe('bookiji serve killed while webhooks are pending', () => {
  let serveProcess: ChildProcess | undefined;

  beforeAll(() => {
    buildDist();
  }, 180_000);

  afterAll(() => {
    serveProcess?.kill('SIGKILL');
  });

  async function startServe(): Promise<{ child: ChildProcess; url: string }> {
    const child = spawn(
      process.execPath,
      ['bin/bookiji', 'serve', '--port', '0', '--webhook-timeout-ms', '500', '--webhook-lease-ms', '1000', '--webhook-backoff-ms', '50'],
      { env: { ...process.env, DATABASE_URL: db.connectionString }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    serveProcess = child;
    const lines = createInterface({ input: child.stdout! });
    const url = await new Promise<string>((resolve, reject) => {
      lines.on('line', (line) => {
        try {
          const parsed = JSON.parse(line) as { msg?: string; url?: string };
          if (parsed.msg === 'listening' && parsed.url) resolve(parsed.url);
        } catch {
          // Not a JSON line; ignore.
        }
      });
      child.once('exit', (code) => reject(new Error(`serve exited with ${code}`)));
    });
    return { child, url };
  }

  it('delivers every event after a restart, none lost, a repeat only ever under the same event id', async () => {
    // Proves the outbox survives SIGKILL mid-delivery: after restart every stored event is acknowledged once or more under its one id.
    let secret = '';
    const receiver = await startReceiver(() => secret, 'hang');
    const partner = await makePartner(db.pool, 'restart', receiver.url);
    secret = partner.webhookSecret;
    try {
      const first = await startServe();
      const vendor = await makeVendor(db.pool);
      const bookingIds: string[] = [];
      for (let i = 0; i < 5; i++) {
        const slot = await makeSlot(db.pool, vendor, { startInMinutes: 24 * 60 + i * 120 });
        const created = await call(first.url, 'POST', '/v1/bookings', {
          key: partner.key,
          body: { slotId: slot.id, customerId: (await makeCustomer(db.pool)).id, idempotencyKey: `r-${i}`, hold: true },
        });
        expect(created.status).toBe(201);
        bookingIds.push(created.body.booking.id);
      }
      for (const id of bookingIds.slice(0, 2))
        expect((await call(first.url, 'POST', `/v1/bookings/${id}/cancel`, { key: partner.key, body: { reason: 'changed plans' } })).status).toBe(200);
      // Deliveries are in flight (the receiver hangs) when serve dies.
      await waitFor(() => receiver.deliveries.length >= 1, 'a delivery in flight');
      first.child.kill('SIGKILL');
      await new Promise((resolve) => first.child.once('exit', resolve));
      const stored = await outboxIds(partner.partnerId);
      expect(stored).toHaveLength(7);
      expect(await pendingCount(partner.partnerId)).toBe(7);

      receiver.mode = 'ok';
      const second = await startServe();
      await waitFor(async () => (await pendingCount(partner.partnerId)) === 0, 'the outbox to drain after restart');
      second.child.kill('SIGTERM');
      await new Promise((resolve) => second.child.once('exit', resolve));

      expect(lostEvents(stored, receiver.acknowledged())).toEqual([]);
      const seenIds = new Set(receiver.deliveries.map((d) => d.eventId));
      expect([...seenIds].sort()).toEqual([...stored].sort());
      for (const id of stored) expect(new Set(receiver.deliveries.filter((d) => d.eventId === id).map((d) => d.body)).size).toBe(1);
      expect(receiver.deliveries.every((d) => d.signatureValid)).toBe(true);
    } finally {
      await receiver.close();
    }
  });
});
