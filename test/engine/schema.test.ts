// Schema properties: ready to distribute by vendor, and schedule refresh
// never orphans a booked slot (I7).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cancelBooking, claimSlot, getBooking } from '../../src/engine/bookings.js';
import { listSlots, refreshVendorSlots } from '../../src/engine/slots.js';
import { verifyInvariants } from '../../src/engine/verify.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { TEST_ACTOR, makeCustomers, makeVendor } from '../helpers/fixtures.js';

// The booking path: these tables must carry vendor_id, and every table that
// carries vendor_id is distributed by it, so all its keys must include it.
// Tables without vendor_id are reference data (replicated to every node:
// customers, partners, state machines) or bookkeeping.
const BOOKING_PATH_TABLES = ['slots', 'bookings', 'booking_transitions', 'audit_log', 'audit_chain_heads'];
// The one deliberate exception: an idempotency key belongs to the client,
// not to a vendor, and one key may make one booking across all vendors (I6).
// Distributed, keys would live in a table distributed by key.
const KEYED_BY_OTHER_THAN_VENDOR = new Set(['bookings.bookings_idempotency_key_unique']);

describe('schema', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => db.drop());

  it('proves every primary key, unique and exclusion constraint on a booking-path table includes vendor_id', async () => {
    const constraints = await db.pool.query(`
      SELECT c.conrelid::regclass::text AS table_name, c.conname, c.contype,
             array_agg(a.attname::text) AS columns
      FROM pg_constraint c JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey)
      WHERE c.contype IN ('p', 'u', 'x') AND c.connamespace = 'public'::regnamespace
      GROUP BY 1, 2, 3`);
    const uniqueIndexes = await db.pool.query(`
      SELECT i.indrelid::regclass::text AS table_name, i.indexrelid::regclass::text AS conname,
             array_agg(a.attname::text) AS columns
      FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
      JOIN pg_class t ON t.oid = i.indrelid
      WHERE i.indisunique AND t.relnamespace = 'public'::regnamespace
      GROUP BY 1, 2`);
    const vendorKeyed = await db.pool.query(`
      SELECT table_name FROM information_schema.columns
      WHERE table_schema = 'public' AND column_name = 'vendor_id' AND table_name <> 'vendors'`);
    const distributed = new Set(vendorKeyed.rows.map((row) => row.table_name as string));
    for (const table of BOOKING_PATH_TABLES) expect(distributed.has(table)).toBe(true);
    const offenders = [...constraints.rows, ...uniqueIndexes.rows]
      .filter((row) => distributed.has(row.table_name))
      .filter((row) => !row.columns.includes('vendor_id'))
      .filter((row) => !KEYED_BY_OTHER_THAN_VENDOR.has(`${row.table_name}.${row.conname}`))
      .map((row) => `${row.table_name}.${row.conname}`);
    expect(offenders).toEqual([]);
    // The check is not vacuous: the booking tables are in what it examined.
    const examined = new Set([...constraints.rows, ...uniqueIndexes.rows].map((row) => row.table_name));
    for (const table of ['slots', 'bookings', 'audit_log', 'booking_transitions']) expect(examined.has(table)).toBe(true);
  });

  it('proves the distribution check would catch a unique constraint without the vendor', async () => {
    await db.pool.query('CREATE TABLE scratch_unvendored (vendor_id uuid, code text UNIQUE)');
    try {
      const rows = await db.pool.query(`
        SELECT c.conname FROM pg_constraint c JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey)
        WHERE c.conrelid = 'scratch_unvendored'::regclass AND c.contype = 'u'
        GROUP BY c.conname HAVING NOT bool_or(a.attname = 'vendor_id')`);
      expect(rows.rowCount).toBe(1);
    } finally {
      await db.pool.query('DROP TABLE scratch_unvendored');
    }
  });

  it('proves a schedule refresh keeps booked slots as legacy, deletes only empty ones, and the booking stays intact', async () => {
    const vendor = await makeVendor(db.pool);
    const [a, b] = await makeCustomers(db.pool, 2);
    const day = new Date(Date.now() + 7 * 86_400_000);
    day.setUTCHours(0, 0, 0, 0);
    const at = (hour: number): Date => new Date(day.getTime() + hour * 3600_000);
    const window = { from: at(0), to: at(24) };
    const hourly = (hours: number[]) => hours.map((h) => ({ startsAt: at(h), endsAt: at(h + 1), capacity: 1, priceCents: 0, currency: 'EUR' }));
    expect(await refreshVendorSlots(db.pool, vendor.id, window, hourly([9, 10, 11, 12]), TEST_ACTOR)).toMatchObject({ created: 4 });
    const slots = await listSlots(db.pool, { vendor: vendor.id });
    const booked = (await claimSlot(db.pool, { slot: slots[0]!.id, customer: a!.id }, TEST_ACTOR)).booking;
    const cancelled = (await claimSlot(db.pool, { slot: slots[1]!.id, customer: b!.id }, TEST_ACTOR)).booking;
    await cancelBooking(db.pool, { booking: cancelled.id, reason: 'test' }, TEST_ACTOR);

    // The new schedule drops 9:00 (booked), 10:00 (past booking) and 11:00 (empty), keeps 12:00, adds 14:00.
    const result = await refreshVendorSlots(db.pool, vendor.id, window, hourly([12, 14]), TEST_ACTOR);
    expect(result).toEqual({ created: 1, kept: 1, madeLegacy: 2, restored: 0, deleted: 1 });
    const live = await listSlots(db.pool, { vendor: vendor.id });
    expect(live.map((s) => s.startsAt.getUTCHours())).toEqual([12, 14]);
    const all = await listSlots(db.pool, { vendor: vendor.id, includeLegacy: true });
    expect(all.filter((s) => s.legacy).map((s) => s.startsAt.getUTCHours())).toEqual([9, 10]);
    expect((await getBooking(db.pool, booked.id)).state).toBe('confirmed');
    // A legacy slot takes no new bookings.
    await expect(claimSlot(db.pool, { slot: slots[2 - 2]!.id, customer: b!.id }, TEST_ACTOR)).rejects.toMatchObject({ code: 'BOOKING_CONFLICT' });
    expect((await verifyInvariants(db.pool)).filter((c) => c.violations > 0)).toEqual([]);
  });
});
