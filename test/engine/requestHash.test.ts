// Issue 12, defect 7 (the claim's part): one idempotency key with a different
// claim request is IDEMPOTENCY_MISMATCH, whichever field differs (I6): the
// hold's TTL included, not only slot, customer, hold and payment method.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { claimSlot } from '../../src/engine/bookings.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { TEST_ACTOR, makeCustomer, makeSlot, makeVendor } from '../helpers/fixtures.js';
import { codeOf } from '../helpers/outcomes.js';

describe('idempotency request hash covers the whole request', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => db.drop());

  async function freshSlot(): Promise<{ slot: string; customer: string }> {
    const vendor = await makeVendor(db.pool);
    return { slot: (await makeSlot(db.pool, vendor, { capacity: 3 })).id, customer: (await makeCustomer(db.pool)).id };
  }

  it('proves the same key with another hold TTL is IDEMPOTENCY_MISMATCH, and the same TTL (or the default spelled out) replays', async () => {
    const { slot, customer } = await freshSlot();
    const hold = (holdTtlSeconds: number | undefined) =>
      claimSlot(db.pool, { slot, customer, hold: true, holdTtlSeconds, idempotencyKey: 'ttl-1' }, TEST_ACTOR);
    const first = await hold(undefined);
    expect(await codeOf(hold(120))).toBe('IDEMPOTENCY_MISMATCH');
    const defaultTtl = (await db.pool.query(`SELECT engine_limit('hold_ttl_seconds_default') AS s`)).rows[0].s as number;
    const retry = await hold(defaultTtl);
    expect(retry).toMatchObject({ replayed: true, booking: { id: first.booking.id } });
    expect((await db.pool.query('SELECT count(*)::int AS n FROM bookings WHERE slot_id = $1', [slot])).rows[0].n).toBe(1);
  });

  it('proves a booking hashed before 0041 (old formula, no prefix) still replays for its request and refuses another', async () => {
    const { slot, customer } = await freshSlot();
    const first = await claimSlot(db.pool, { slot, customer, idempotencyKey: 'legacy-1' }, TEST_ACTOR);
    await db.pool.query(
      `UPDATE bookings SET request_hash = encode(sha256(convert_to(jsonb_build_object(
         'slot_id', slot_id, 'customer_id', customer_id, 'hold', false, 'payment_method', payment_method)::text, 'UTF8')), 'hex')
       WHERE id = $1`,
      [first.booking.id],
    );
    expect(await claimSlot(db.pool, { slot, customer, idempotencyKey: 'legacy-1' }, TEST_ACTOR)).toMatchObject({
      replayed: true,
      booking: { id: first.booking.id },
    });
    expect(await codeOf(claimSlot(db.pool, { slot, customer, hold: true, idempotencyKey: 'legacy-1' }, TEST_ACTOR))).toBe('IDEMPOTENCY_MISMATCH');
  });
});
