// Reproductions of an adversarial review's findings against the engine,
// each now refused or handled: cross-vendor idempotency, a concurrent retry,
// a slot deleted under a waiting claim, confirmation after the slot started,
// a session's fake clock table, concurrent sweeps and refreshes that used to
// deadlock, audit head rewinds, and a false I7 alarm.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BookijiError } from '../../src/errors.js';
import { claimSlot, confirmBooking, rescheduleBooking } from '../../src/engine/bookings.js';
import { advanceClock } from '../../src/engine/clock.js';
import { expireHolds } from '../../src/engine/holds.js';
import { listSlots, refreshVendorSlots } from '../../src/engine/slots.js';
import { verifyAudit } from '../../src/engine/verify.js';
import { createPool } from '../../src/db/pool.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { TEST_ACTOR, lockSlot, makeCustomer, makeCustomers, makeSlot, makeVendor, race, warmPool } from '../helpers/fixtures.js';
import { codeOf, failingChecks } from '../helpers/outcomes.js';

describe('hardening (normal database)', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase({ poolMax: 40 });
    await warmPool(db.pool, 30);
  });
  afterAll(async () => db.drop());

  it('proves one idempotency key cannot make two bookings at two vendors, even concurrently', async () => {
    const [v1, v2] = [await makeVendor(db.pool), await makeVendor(db.pool)];
    const customer = await makeCustomer(db.pool);
    const [s1, s2] = [await makeSlot(db.pool, v1), await makeSlot(db.pool, v2)];
    const results = await race(2, (i) => claimSlot(db.pool, { slot: [s1, s2][i]!.id, customer: customer.id, idempotencyKey: 'two-vendors' }, TEST_ACTOR));
    expect(results.filter((r) => r.status === 'fulfilled' && !r.value.replayed).length).toBe(1);
    expect((await db.pool.query(`SELECT count(*) AS n FROM bookings WHERE idempotency_key = 'two-vendors'`)).rows[0].n).toBe(1);
    expect(await failingChecks(db)).toEqual([]);
  });

  it('proves a retry racing its own first attempt gets the first outcome, not BOOKING_CONFLICT', async () => {
    const vendor = await makeVendor(db.pool);
    const customer = await makeCustomer(db.pool);
    const slot = await makeSlot(db.pool, vendor);
    // Hold the slot lock so both attempts queue on it, then let them go.
    const blocker = await lockSlot(db.pool, slot.id);
    const attempts = [0, 1].map(() => claimSlot(db.pool, { slot: slot.id, customer: customer.id, idempotencyKey: 'retry-race' }, TEST_ACTOR));
    await new Promise((resolve) => setTimeout(resolve, 200));
    await blocker.query('COMMIT');
    blocker.release();
    const outcomes = await Promise.all(attempts);
    expect(outcomes[0]!.booking.id).toBe(outcomes[1]!.booking.id);
    expect(outcomes.filter((o) => o.replayed).length).toBe(1);
  });

  it('proves a claim waiting on a slot that a schedule refresh deletes gets SLOT_NOT_FOUND, not an internal error', async () => {
    const vendor = await makeVendor(db.pool);
    const customer = await makeCustomer(db.pool);
    const day = new Date(Date.now() + 10 * 86_400_000);
    day.setUTCHours(0, 0, 0, 0);
    const window = { from: day, to: new Date(day.getTime() + 86_400_000) };
    await refreshVendorSlots(
      db.pool,
      vendor.id,
      window,
      [{ startsAt: new Date(day.getTime() + 9 * 3600_000), endsAt: new Date(day.getTime() + 10 * 3600_000), capacity: 1, priceCents: 0, currency: 'EUR' }],
      TEST_ACTOR,
    );
    const [slot] = await listSlots(db.pool, { vendor: vendor.id });
    const refresher = await db.pool.connect();
    await refresher.query('BEGIN');
    await refresher.query(`SELECT * FROM refresh_vendor_slots($1, $2, $3, '[]', 'operator', 'test', 'test')`, [vendor.id, window.from, window.to]);
    const claim = codeOf(claimSlot(db.pool, { slot: slot!.id, customer: customer.id }, TEST_ACTOR));
    await new Promise((resolve) => setTimeout(resolve, 200));
    await refresher.query('COMMIT');
    refresher.release();
    expect(await claim).toBe('SLOT_NOT_FOUND');
  });

  it('proves concurrent claims and schedule refreshes of one vendor do not deadlock or break invariants', async () => {
    const vendor = await makeVendor(db.pool);
    const customers = await makeCustomers(db.pool, 12);
    const day = new Date(Date.now() + 20 * 86_400_000);
    day.setUTCHours(0, 0, 0, 0);
    const window = { from: day, to: new Date(day.getTime() + 86_400_000) };
    const halfHours = (from: number, to: number) =>
      Array.from({ length: (to - from) * 2 }, (_, i) => ({
        startsAt: new Date(day.getTime() + (from * 60 + i * 30) * 60_000),
        endsAt: new Date(day.getTime() + (from * 60 + i * 30 + 30) * 60_000),
        capacity: 1,
        priceCents: 0,
        currency: 'EUR',
      }));
    await refreshVendorSlots(db.pool, vendor.id, window, halfHours(8, 20), TEST_ACTOR);
    const slots = await listSlots(db.pool, { vendor: vendor.id });
    const results = await race<unknown>(16, (i) =>
      i < 12
        ? claimSlot(db.pool, { slot: slots[(i * 2) % slots.length]!.id, customer: customers[i]!.id }, TEST_ACTOR)
        : refreshVendorSlots(db.pool, vendor.id, window, halfHours(8 + (i - 12), 20), TEST_ACTOR),
    );
    const unexpected = results.filter(
      (r) => r.status === 'rejected' && !(r.reason instanceof BookijiError && ['BOOKING_CONFLICT', 'SLOT_NOT_FOUND'].includes(r.reason.code)),
    );
    expect(unexpected).toEqual([]);
    expect(await failingChecks(db)).toEqual([]);
  });

  it("proves a session's temporary table named clock cannot move the engine's clock", async () => {
    const vendor = await makeVendor(db.pool);
    const customer = await makeCustomer(db.pool);
    const slot = await makeSlot(db.pool, vendor, { startInMinutes: 60 });
    const client = await db.pool.connect();
    try {
      await client.query(`CREATE TEMP TABLE clock (singleton boolean, simulated boolean, "offset" interval)`);
      await client.query(`INSERT INTO clock VALUES (true, true, '1 day')`);
      const result = await client.query(`SELECT * FROM claim_slot($1, $2, false, NULL, NULL, NULL, 'customer', NULL, 'test')`, [slot.id, customer.id]).then(
        () => 'booked',
        (error: { code?: string }) => error.code,
      );
      // With the fake clock a day ahead, the slot would be in the past; the real clock books it.
      expect(result).toBe('booked');
      const now = await client.query('SELECT bookiji_now() - now() AS skew');
      expect(now.rows[0].skew).toEqual({});
    } finally {
      await client.query('DROP TABLE IF EXISTS pg_temp.clock');
      client.release();
    }
  });

  it('proves a booked slot made legacy and then emptied by a reschedule is not reported as an orphan (I7)', async () => {
    const vendor = await makeVendor(db.pool);
    const customer = await makeCustomer(db.pool);
    const day = new Date(Date.now() + 30 * 86_400_000);
    day.setUTCHours(0, 0, 0, 0);
    const window = { from: day, to: new Date(day.getTime() + 86_400_000) };
    const hour = (h: number) => ({
      startsAt: new Date(day.getTime() + h * 3600_000),
      endsAt: new Date(day.getTime() + (h + 1) * 3600_000),
      capacity: 1,
      priceCents: 0,
      currency: 'EUR',
    });
    await refreshVendorSlots(db.pool, vendor.id, window, [hour(9), hour(11)], TEST_ACTOR);
    const [nine, eleven] = await listSlots(db.pool, { vendor: vendor.id });
    const { booking } = await claimSlot(db.pool, { slot: nine!.id, customer: customer.id }, TEST_ACTOR);
    await refreshVendorSlots(db.pool, vendor.id, window, [hour(11)], TEST_ACTOR);
    await rescheduleBooking(db.pool, { booking: booking.id, slot: eleven!.id }, TEST_ACTOR);
    expect(await failingChecks(db)).toEqual([]);
  });
  it('proves an audit chain head cannot be rewound or deleted, and a missing head is reported', async () => {
    const vendor = await makeVendor(db.pool);
    await makeSlot(db.pool, vendor);
    await expect(db.pool.query('UPDATE audit_chain_heads SET seq = seq - 1 WHERE vendor_id = $1', [vendor.id])).rejects.toMatchObject({ code: 'BK011' });
    await expect(db.pool.query('DELETE FROM audit_chain_heads WHERE vendor_id = $1', [vendor.id])).rejects.toMatchObject({ code: 'BK011' });
    const client = await db.pool.connect();
    try {
      await client.query('SET session_replication_role = replica');
      await client.query('DELETE FROM audit_log WHERE vendor_id = $1', [vendor.id]);
      await client.query('DELETE FROM audit_chain_heads WHERE vendor_id = $1', [vendor.id]);
    } finally {
      await client.query('SET session_replication_role = origin');
      client.release();
    }
    const report = await verifyAudit(db.pool, { vendorId: vendor.id });
    expect(report.problems.map((p) => p.problem)).toEqual(["chain head missing: the vendor's whole chain may have been removed"]);
  });
});

describe('hardening (simulation database)', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase({ simulation: true, poolMax: 20 });
    await warmPool(db.pool, 10);
  });
  afterAll(async () => db.drop());

  it('proves a hold with a long TTL cannot be confirmed after its slot started (I5)', async () => {
    const vendor = await makeVendor(db.pool);
    const customer = await makeCustomer(db.pool);
    const slot = await makeSlot(db.pool, vendor, { startInMinutes: 10 });
    const hold = await claimSlot(db.pool, { slot: slot.id, customer: customer.id, hold: true, holdTtlSeconds: 86_400 }, TEST_ACTOR);
    // The hold never outlives the slot's start.
    expect(hold.booking.holdExpiresAt!.getTime()).toBeLessThanOrEqual(slot.startsAt.getTime());
    await advanceClock(db.pool, 30 * 60_000);
    expect(['PAST_SLOT', 'HOLD_EXPIRED']).toContain(await codeOf(confirmBooking(db.pool, { booking: hold.booking.id }, TEST_ACTOR)));
    expect(await failingChecks(db)).toEqual([]);
  });

  it('proves four concurrent hold sweeps across many vendors finish without deadlock and expire each hold once', async () => {
    const customers = await makeCustomers(db.pool, 4);
    let holds: number;
    for (let v = 0; v < 8; v++) {
      const vendor = await makeVendor(db.pool);
      for (let s = 0; s < 4; s++) {
        const slot = await makeSlot(db.pool, vendor, { startInMinutes: 3 * 24 * 60 + s * 120 });
        await claimSlot(db.pool, { slot: slot.id, customer: customers[s]!.id, hold: true, holdTtlSeconds: 60 }, TEST_ACTOR);
      }
      // Hold limits are per customer: let these expire before the next vendor's round.
      await advanceClock(db.pool, 61_000);
    }
    // Earlier tests in this database may have left expired holds too: count them all.
    holds = (await db.pool.query(`SELECT count(*) AS n FROM bookings WHERE state = 'held' AND hold_expires_at <= bookiji_now()`)).rows[0].n;
    const sweeps = await race(4, () => expireHolds(db.pool, { dryRun: false, batchMax: 2, actor: TEST_ACTOR }));
    expect(sweeps.filter((s) => s.status === 'rejected').map((s) => String((s as PromiseRejectedResult).reason))).toEqual([]);
    const expired = sweeps.flatMap((s) => (s.status === 'fulfilled' ? s.value : []));
    expect(expired.length).toBe(holds);
    expect(new Set(expired.map((e) => e.bookingId)).size).toBe(holds);
    // The operator who swept is recorded, not replaced by 'system'.
    const actors = await db.pool.query(`SELECT DISTINCT actor_kind FROM booking_transitions WHERE to_state = 'expired'`);
    expect(actors.rows.map((r) => r.actor_kind)).toEqual(['operator']);
    expect(await failingChecks(db)).toEqual([]);
  });
});

describe('connection limits', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => db.drop());

  it('proves a claim stuck behind an idle transaction holding its slot gives up with a retryable error instead of hanging', async () => {
    const vendor = await makeVendor(db.pool);
    const customer = await makeCustomer(db.pool);
    const slot = await makeSlot(db.pool, vendor);
    const blocker = await lockSlot(db.pool, slot.id);
    const impatient = createPool({ connectionString: db.connectionString, max: 1, lockTimeoutMs: 300 });
    try {
      const error = await claimSlot(impatient, { slot: slot.id, customer: customer.id }, TEST_ACTOR).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(BookijiError);
      expect((error as BookijiError).code).toBe('DEPENDENCY_UNAVAILABLE');
      expect((error as BookijiError).retryable).toBe(true);
    } finally {
      await blocker.query('ROLLBACK');
      blocker.release();
      await impatient.end();
    }
    expect((await db.pool.query('SELECT count(*) AS n FROM bookings WHERE slot_id = $1', [slot.id])).rows[0].n).toBe(0);
  });
});
