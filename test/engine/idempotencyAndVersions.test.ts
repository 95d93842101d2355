// Idempotency keys (I6), optimistic versions, and the state machine (I10).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cancelBooking, claimSlot, rescheduleBooking } from '../../src/engine/bookings.js';
import { verifyInvariants } from '../../src/engine/verify.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { TEST_ACTOR, makeCustomer, makeCustomers, makeSlot, makeVendor, race, warmPool } from '../helpers/fixtures.js';
import { installClaimIgnoringIdempotency } from './fixtures/unsafeEngine.js';
import { codeOf } from '../helpers/outcomes.js';

describe('idempotency, versions and transitions (real engine)', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
    await warmPool(db.pool, 12);
  });
  afterAll(async () => db.drop());

  it('proves a retry with the same key returns the first booking, even when the slot has filled since', async () => {
    const vendor = await makeVendor(db.pool);
    const customer = await makeCustomer(db.pool);
    const slot = await makeSlot(db.pool, vendor);
    const first = await claimSlot(db.pool, { slot: slot.id, customer: customer.id, idempotencyKey: 'order-1' }, TEST_ACTOR);
    const retry = await claimSlot(db.pool, { slot: slot.id, customer: customer.id, idempotencyKey: 'order-1' }, TEST_ACTOR);
    expect(first.replayed).toBe(false);
    expect(retry.replayed).toBe(true);
    expect(retry.booking.id).toBe(first.booking.id);
    expect((await db.pool.query('SELECT count(*) AS n FROM bookings WHERE idempotency_key = $1', ['order-1'])).rows[0].n).toBe(1);
  });

  it('proves the same key with a different request is IDEMPOTENCY_MISMATCH and writes nothing', async () => {
    const vendor = await makeVendor(db.pool);
    const [a, b] = await makeCustomers(db.pool, 2);
    const slot = await makeSlot(db.pool, vendor, { capacity: 2 });
    await claimSlot(db.pool, { slot: slot.id, customer: a!.id, idempotencyKey: 'order-2' }, TEST_ACTOR);
    const before = (await db.pool.query('SELECT count(*) AS n FROM bookings')).rows[0].n;
    expect(await codeOf(claimSlot(db.pool, { slot: slot.id, customer: b!.id, idempotencyKey: 'order-2' }, TEST_ACTOR))).toBe('IDEMPOTENCY_MISMATCH');
    expect(await codeOf(claimSlot(db.pool, { slot: slot.id, customer: a!.id, hold: true, idempotencyKey: 'order-2' }, TEST_ACTOR))).toBe(
      'IDEMPOTENCY_MISMATCH',
    );
    expect((await db.pool.query('SELECT count(*) AS n FROM bookings')).rows[0].n).toBe(before);
  });

  it('proves 10 concurrent requests with one key make one booking and all report it', async () => {
    const vendor = await makeVendor(db.pool);
    const customer = await makeCustomer(db.pool);
    const slot = await makeSlot(db.pool, vendor, { capacity: 5 });
    const results = await race(10, () => claimSlot(db.pool, { slot: slot.id, customer: customer.id, idempotencyKey: 'burst-1' }, TEST_ACTOR));
    const ids = results.map((r) => (r.status === 'fulfilled' ? r.value.booking.id : `rejected: ${String((r as PromiseRejectedResult).reason)}`));
    expect(new Set(ids).size).toBe(1);
    expect(results.filter((r) => r.status === 'fulfilled' && !r.value.replayed).length).toBe(1);
    expect((await db.pool.query('SELECT booked_count FROM slots WHERE id = $1', [slot.id])).rows[0].booked_count).toBe(1);
  });

  it('proves a stale version is VERSION_CONFLICT, never a silent overwrite', async () => {
    const vendor = await makeVendor(db.pool);
    const customer = await makeCustomer(db.pool);
    const [s1, s2] = [await makeSlot(db.pool, vendor), await makeSlot(db.pool, vendor, { startInMinutes: 26 * 60 })];
    const { booking } = await claimSlot(db.pool, { slot: s1.id, customer: customer.id }, TEST_ACTOR);
    const moved = await rescheduleBooking(db.pool, { booking: booking.id, slot: s2.id, expectedVersion: booking.version }, TEST_ACTOR);
    expect(moved.version).toBe(booking.version + 1);
    expect(await codeOf(cancelBooking(db.pool, { booking: booking.id, reason: 'stale', expectedVersion: booking.version }, TEST_ACTOR))).toBe(
      'VERSION_CONFLICT',
    );
    expect((await db.pool.query('SELECT state FROM bookings WHERE id = $1', [booking.id])).rows[0].state).toBe('confirmed');
  });

  it('proves the database refuses a transition the machine does not allow, even from raw SQL', async () => {
    const vendor = await makeVendor(db.pool);
    const customer = await makeCustomer(db.pool);
    const slot = await makeSlot(db.pool, vendor);
    const { booking } = await claimSlot(db.pool, { slot: slot.id, customer: customer.id }, TEST_ACTOR);
    await cancelBooking(db.pool, { booking: booking.id, reason: 'customer asked' }, TEST_ACTOR);
    await expect(db.pool.query(`UPDATE bookings SET state = 'confirmed' WHERE id = $1`, [booking.id])).rejects.toMatchObject({ code: 'BK011' });
    await expect(db.pool.query(`DELETE FROM bookings WHERE id = $1`, [booking.id])).rejects.toMatchObject({ code: 'BK011' });
    await expect(db.pool.query(`UPDATE booking_transitions SET cause = 'edited' WHERE booking_id = $1`, [booking.id])).rejects.toMatchObject({ code: 'BK011' });
    const log = await db.pool.query('SELECT from_state, to_state, cause FROM booking_transitions WHERE booking_id = $1 ORDER BY id', [booking.id]);
    expect(log.rows).toEqual([
      { from_state: null, to_state: 'confirmed', cause: 'booked' },
      { from_state: 'confirmed', to_state: 'cancelled', cause: 'cancelled: customer asked' },
    ]);
  });

  it('proves the state predicate of the exclusion constraint agrees with the machine table', async () => {
    const rows = await db.pool.query(`SELECT state, holds_capacity, booking_state_holds_capacity(state) AS fn FROM machine_states WHERE machine = 'booking'`);
    for (const row of rows.rows) expect(row.fn).toBe(row.holds_capacity);
  });
});

describe('idempotency (claim ignoring keys, fixture)', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
    await installClaimIgnoringIdempotency(db.pool);
  });
  afterAll(async () => db.drop());

  it('proves the retry test and verify I6 fail when the claim ignores the key', async () => {
    const vendor = await makeVendor(db.pool);
    const customer = await makeCustomer(db.pool);
    const slot = await makeSlot(db.pool, vendor, { capacity: 2 });
    const first = await claimSlot(db.pool, { slot: slot.id, customer: customer.id, idempotencyKey: 'order-9' }, TEST_ACTOR);
    const retry = await claimSlot(db.pool, { slot: slot.id, customer: customer.id, idempotencyKey: 'order-9' }, TEST_ACTOR);
    expect(retry.booking.id).not.toBe(first.booking.id);
    const i6 = (await verifyInvariants(db.pool)).find((c) => c.checkId === 'I6');
    expect(i6?.violations).toBe(1);
  });
});
