// Time comes from the database (I5) and expired holds block nobody (I9).
// Runs on a database created for simulation, whose clock the test moves.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { claimSlot, confirmBooking, getBooking } from '../../src/engine/bookings.js';
import { advanceClock, databaseNow } from '../../src/engine/clock.js';
import { expireHolds, listHolds } from '../../src/engine/holds.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { TEST_ACTOR, makeCustomer, makeCustomers, makeSlot, makeVendor, race, warmPool } from '../helpers/fixtures.js';
import { installClaimWithoutTimeCheck } from './fixtures/unsafeEngine.js';
import { codeOf, failingChecks } from '../helpers/outcomes.js';

describe('time and holds (simulation database)', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase({ simulation: true });
  });
  afterAll(async () => db.drop());

  it('proves a slot that has started by the database clock is refused with PAST_SLOT, though the client clock says it is in the future', async () => {
    const vendor = await makeVendor(db.pool);
    const customer = await makeCustomer(db.pool);
    const slot = await makeSlot(db.pool, vendor, { startInMinutes: 60 });
    // The client's clock still sees the slot an hour away; the database's does not.
    expect(slot.startsAt.getTime()).toBeGreaterThan(Date.now());
    await advanceClock(db.pool, 61 * 60_000);
    expect(await codeOf(claimSlot(db.pool, { slot: slot.id, customer: customer.id }, TEST_ACTOR))).toBe('PAST_SLOT');
    expect((await db.pool.query('SELECT count(*) AS n FROM bookings WHERE slot_id = $1', [slot.id])).rows[0].n).toBe(0);
  });

  it('proves the NOW boundary: a slot starting exactly at the database now is refused', async () => {
    const vendor = await makeVendor(db.pool);
    const customer = await makeCustomer(db.pool);
    const slot = await makeSlot(db.pool, vendor, { startInMinutes: 30 });
    const now = await databaseNow(db.pool);
    // Move the clock so that now() + offset lands on the start, give or take the
    // time between statements: it may not be exactly equal, so move slightly past.
    await advanceClock(db.pool, slot.startsAt.getTime() - now.getTime());
    expect(await codeOf(claimSlot(db.pool, { slot: slot.id, customer: customer.id }, TEST_ACTOR))).toBe('PAST_SLOT');
  });

  it('proves an expired hold blocks nobody before any reconcile ran, and is released exactly once', async () => {
    const vendor = await makeVendor(db.pool);
    const [first, second] = await makeCustomers(db.pool, 2);
    const slot = await makeSlot(db.pool, vendor, { startInMinutes: 24 * 60 });
    const hold = await claimSlot(db.pool, { slot: slot.id, customer: first!.id, hold: true, holdTtlSeconds: 60 }, TEST_ACTOR);
    expect(hold.booking.state).toBe('held');
    expect(await codeOf(claimSlot(db.pool, { slot: slot.id, customer: second!.id }, TEST_ACTOR))).toBe('BOOKING_CONFLICT');
    await advanceClock(db.pool, 61_000);
    const won = await claimSlot(db.pool, { slot: slot.id, customer: second!.id }, TEST_ACTOR);
    expect(won.booking.state).toBe('confirmed');
    expect((await getBooking(db.pool, hold.booking.id)).state).toBe('expired');
    // The hold's owner cannot confirm it any more.
    expect(await codeOf(confirmBooking(db.pool, { booking: hold.booking.id }, TEST_ACTOR))).toBe('INVALID_TRANSITION');
    const releases = await db.pool.query(`SELECT count(*) AS n FROM booking_transitions WHERE booking_id = $1 AND to_state = 'expired'`, [hold.booking.id]);
    expect(releases.rows[0].n).toBe(1);
    expect(await failingChecks(db)).toEqual([]);
  });

  it('proves concurrent `holds expire` runs expire each hold exactly once', async () => {
    await warmPool(db.pool, 8);
    const vendor = await makeVendor(db.pool);
    const customers = await makeCustomers(db.pool, 12);
    for (let i = 0; i < 12; i++) {
      const slot = await makeSlot(db.pool, vendor, { startInMinutes: 24 * 60 + i * 90 });
      await claimSlot(db.pool, { slot: slot.id, customer: customers[i]!.id, hold: true, holdTtlSeconds: 60 }, TEST_ACTOR);
    }
    await advanceClock(db.pool, 2 * 60_000);
    const runs = await race(4, () => expireHolds(db.pool, { dryRun: false, batchMax: 3, actor: TEST_ACTOR }));
    const expired = runs.flatMap((r) => (r.status === 'fulfilled' ? r.value : []));
    expect(runs.every((r) => r.status === 'fulfilled')).toBe(true);
    expect(expired.length).toBe(12);
    expect(new Set(expired.map((e) => e.bookingId)).size).toBe(12);
    expect((await listHolds(db.pool)).filter((h) => h.vendorId === vendor.id)).toEqual([]);
    expect(await failingChecks(db)).toEqual([]);
  });

  it('proves a confirm of a hold past its TTL is refused with HOLD_EXPIRED', async () => {
    const vendor = await makeVendor(db.pool);
    const customer = await makeCustomer(db.pool);
    const slot = await makeSlot(db.pool, vendor, { startInMinutes: 48 * 60 });
    const hold = await claimSlot(db.pool, { slot: slot.id, customer: customer.id, hold: true, holdTtlSeconds: 30 }, TEST_ACTOR);
    await advanceClock(db.pool, 31_000);
    expect(await codeOf(confirmBooking(db.pool, { booking: hold.booking.id }, TEST_ACTOR))).toBe('HOLD_EXPIRED');
  });
});

describe('time (claim without the time check, fixture)', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase({ simulation: true });
    await installClaimWithoutTimeCheck(db.pool);
  });
  afterAll(async () => db.drop());

  it('proves the PAST_SLOT test and verify I5 fail when the claim forgets the clock', async () => {
    const vendor = await makeVendor(db.pool);
    const customer = await makeCustomer(db.pool);
    const slot = await makeSlot(db.pool, vendor, { startInMinutes: 60 });
    await advanceClock(db.pool, 61 * 60_000);
    expect(await codeOf(claimSlot(db.pool, { slot: slot.id, customer: customer.id }, TEST_ACTOR))).toBe('ok');
    expect(await failingChecks(db)).toContain('I5');
  });
});

describe('the clock of a normal database', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => db.drop());

  it('proves a database not created for simulation refuses to move its clock, and cannot be switched to simulation', async () => {
    expect(await codeOf(advanceClock(db.pool, 60_000))).toBe('CLOCK_LOCKED');
    expect(await codeOf(db.pool.query('UPDATE clock SET simulated = true'))).toBe(
      'unexpected: error: a database cannot be switched to or from simulation after it was created',
    );
  });
});
