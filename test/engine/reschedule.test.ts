// Reschedule is atomic (SC-4's subject): under races, no booking is lost or
// duplicated and every slot's counter stays true.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BookijiError } from '../../src/errors.js';
import { claimSlot, rescheduleBooking } from '../../src/engine/bookings.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { TEST_ACTOR, makeCustomers, makeSlot, makeVendor, race, warmPool } from '../helpers/fixtures.js';
import { installLeakyReschedule } from './fixtures/unsafeEngine.js';
import { failingChecks } from '../helpers/outcomes.js';

function isConflict(result: PromiseSettledResult<unknown>): boolean {
  return result.status === 'rejected' && result.reason instanceof BookijiError && result.reason.code === 'BOOKING_CONFLICT';
}

describe('reschedule races (real engine)', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
    await warmPool(db.pool, 10);
  });
  afterAll(async () => db.drop());

  it('proves two reschedules into one free slot: exactly one moves, the other keeps its booking', async () => {
    const vendor = await makeVendor(db.pool);
    const [a, b] = await makeCustomers(db.pool, 2);
    const slotA = await makeSlot(db.pool, vendor, { startInMinutes: 24 * 60 });
    const slotB = await makeSlot(db.pool, vendor, { startInMinutes: 26 * 60 });
    const target = await makeSlot(db.pool, vendor, { startInMinutes: 28 * 60 });
    const bookingA = (await claimSlot(db.pool, { slot: slotA.id, customer: a!.id }, TEST_ACTOR)).booking;
    const bookingB = (await claimSlot(db.pool, { slot: slotB.id, customer: b!.id }, TEST_ACTOR)).booking;
    const results = await race(2, (i) => rescheduleBooking(db.pool, { booking: [bookingA, bookingB][i]!.id, slot: target.id }, TEST_ACTOR));
    expect(results.filter((r) => r.status === 'fulfilled').length).toBe(1);
    expect(results.filter(isConflict).length).toBe(1);
    const rows = await db.pool.query(`SELECT slot_id, state FROM bookings WHERE id = ANY($1) ORDER BY slot_id`, [[bookingA.id, bookingB.id]]);
    expect(rows.rows.every((r) => r.state === 'confirmed')).toBe(true);
    expect(rows.rows.filter((r) => r.slot_id === target.id).length).toBe(1);
    expect(await failingChecks(db)).toEqual([]);
  });

  it('proves a reschedule racing a new claim for the same slot: exactly one gets it, nothing lost', async () => {
    const vendor = await makeVendor(db.pool);
    const [a, b] = await makeCustomers(db.pool, 2);
    const slotA = await makeSlot(db.pool, vendor, { startInMinutes: 30 * 60 });
    const target = await makeSlot(db.pool, vendor, { startInMinutes: 32 * 60 });
    const bookingA = (await claimSlot(db.pool, { slot: slotA.id, customer: a!.id }, TEST_ACTOR)).booking;
    const results = await race<unknown>(2, (i) =>
      i === 0
        ? rescheduleBooking(db.pool, { booking: bookingA.id, slot: target.id }, TEST_ACTOR)
        : claimSlot(db.pool, { slot: target.id, customer: b!.id }, TEST_ACTOR),
    );
    expect(results.filter((r) => r.status === 'fulfilled').length).toBe(1);
    expect(results.filter(isConflict).length).toBe(1);
    const claimWon = results[1]!.status === 'fulfilled';
    const active = await db.pool.query(`SELECT slot_id FROM bookings WHERE vendor_id = $1 AND state = 'confirmed'`, [vendor.id]);
    // A's booking survives either way; the new claim adds one only if it won.
    expect(active.rows.length).toBe(claimWon ? 2 : 1);
    expect(active.rows.filter((r) => r.slot_id === target.id).length).toBe(1);
    expect((await db.pool.query(`SELECT state FROM bookings WHERE id = $1`, [bookingA.id])).rows[0].state).toBe('confirmed');
    expect(await failingChecks(db)).toEqual([]);
  });

  it('proves a reschedule into a full slot changes nothing (both or neither)', async () => {
    const vendor = await makeVendor(db.pool);
    const [a, b] = await makeCustomers(db.pool, 2);
    const slotA = await makeSlot(db.pool, vendor, { startInMinutes: 40 * 60 });
    const full = await makeSlot(db.pool, vendor, { startInMinutes: 42 * 60 });
    const bookingA = (await claimSlot(db.pool, { slot: slotA.id, customer: a!.id }, TEST_ACTOR)).booking;
    await claimSlot(db.pool, { slot: full.id, customer: b!.id }, TEST_ACTOR);
    await expect(rescheduleBooking(db.pool, { booking: bookingA.id, slot: full.id }, TEST_ACTOR)).rejects.toMatchObject({ code: 'BOOKING_CONFLICT' });
    const after = await db.pool.query('SELECT slot_id, version FROM bookings WHERE id = $1', [bookingA.id]);
    expect(after.rows[0]).toEqual({ slot_id: slotA.id, version: bookingA.version });
    expect((await db.pool.query('SELECT booked_count FROM slots WHERE id = $1', [slotA.id])).rows[0].booked_count).toBe(1);
  });
});

describe('reschedule (leaky reschedule, fixture)', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
    await installLeakyReschedule(db.pool);
  });
  afterAll(async () => db.drop());

  it('proves verify catches a reschedule that does not release the old slot (I3, C1)', async () => {
    const vendor = await makeVendor(db.pool);
    const [a] = await makeCustomers(db.pool, 1);
    const slotA = await makeSlot(db.pool, vendor, { startInMinutes: 24 * 60 });
    const target = await makeSlot(db.pool, vendor, { startInMinutes: 26 * 60 });
    const booking = (await claimSlot(db.pool, { slot: slotA.id, customer: a!.id }, TEST_ACTOR)).booking;
    await rescheduleBooking(db.pool, { booking: booking.id, slot: target.id }, TEST_ACTOR);
    const failing = await failingChecks(db);
    expect(failing).toContain('I3');
    expect(failing).toContain('C1');
  });
});
