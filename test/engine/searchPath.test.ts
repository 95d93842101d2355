// Issue 12, defect 6: every function of ours runs with `search_path = public,
// pg_temp`, so a session's temporary table can never stand in for one of the
// engine's tables. The first test holds every migration, present and future,
// to it; the last reproduces the attack that an unpinned function let through.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { claimSlot } from '../../src/engine/bookings.js';
import type { Pool } from '../../src/db/pool.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { TEST_ACTOR, makeCustomer, makeSlot, makeVendor } from '../helpers/fixtures.js';

const PINNED = 'search_path=public, pg_temp';

/** Our functions (extensions' excluded) whose settings do not pin the search path. */
async function unpinnedFunctions(pool: Pool): Promise<string[]> {
  const rows = await pool.query(
    `
    SELECT p.oid::regprocedure::text AS name FROM pg_proc p
    WHERE p.pronamespace = 'public'::regnamespace
      AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')
      AND NOT ($1 = ANY (coalesce(p.proconfig, '{}')))
    ORDER BY 1`,
    [PINNED],
  );
  return rows.rows.map((row) => row.name as string);
}

describe('search_path pinning', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => db.drop());

  it('proves every function in the schema pins search_path = public, pg_temp', async () => {
    expect(await unpinnedFunctions(db.pool)).toEqual([]);
    // Not vacuous: the engine's functions are there to be examined.
    const count = await db.pool.query(`SELECT count(*)::int AS n FROM pg_proc WHERE pronamespace = 'public'::regnamespace AND $1 = ANY (proconfig)`, [PINNED]);
    expect(count.rows[0].n).toBeGreaterThan(50);
  });

  it('proves the check names a function created without the pin, and accepts it once pinned', async () => {
    await db.pool.query(`CREATE FUNCTION scratch_unpinned() RETURNS int LANGUAGE sql AS 'SELECT 1'`);
    try {
      expect(await unpinnedFunctions(db.pool)).toContain('scratch_unpinned()');
      await db.pool.query(`ALTER FUNCTION scratch_unpinned() SET search_path = public, pg_temp`);
      expect(await unpinnedFunctions(db.pool)).not.toContain('scratch_unpinned()');
    } finally {
      await db.pool.query('DROP FUNCTION scratch_unpinned()');
    }
  });

  it('proves a session temp table named payments cannot confirm an unpaid card booking', async () => {
    const vendor = await makeVendor(db.pool);
    const customer = await makeCustomer(db.pool);
    const slot = await makeSlot(db.pool, vendor, { priceCents: 2500 });
    const { booking } = await claimSlot(db.pool, { slot: slot.id, customer: customer.id, hold: true, paymentMethod: 'card' }, TEST_ACTOR);
    const client = await db.pool.connect();
    try {
      await client.query(`CREATE TEMP TABLE payments (vendor_id uuid, booking_id uuid, status text, provider_intent_id text)`);
      await client.query(`INSERT INTO payments VALUES ($1, $2, 'captured', 'pi_fake')`, [vendor.id, booking.id]);
      const outcome = await client
        .query(`UPDATE bookings SET state = 'confirmed', payment_status = 'captured' WHERE vendor_id = $1 AND id = $2`, [vendor.id, booking.id])
        .then(
          () => 'confirmed',
          (error: { code?: string }) => error.code,
        );
      // BK009 is PAYMENT_REQUIRED (src/errors.ts): the guard read our payments table, not the fake.
      expect(outcome).toBe('BK009');
    } finally {
      await client.query('DROP TABLE IF EXISTS pg_temp.payments');
      client.release();
    }
    const state = await db.pool.query('SELECT state, payment_status FROM bookings WHERE id = $1', [booking.id]);
    expect(state.rows[0]).toEqual({ state: 'held', payment_status: 'requires_payment' });
  });
});
