// I2's GiST index (bookings_vendor_no_overlap) must be read by its exclusion
// checks only: a query planned as a rescanned GiST scan over it can leave
// live entries marked dead, and the exclusion constraint then misses them
// (migration 0063 says how SC-8 met it). These tests keep every query off it.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Pool } from '../../src/db/pool.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';

const PREDICATE_FUNCTION = 'booking_occupies_vendor_calendar';
/** How SimCity's truth and verify's I3 count a slot's active bookings. */
const ACTIVE_ON_SLOT_SQL = `SELECT count(*) FROM bookings b WHERE b.vendor_id = $1 AND b.slot_id = $2 AND booking_state_holds_capacity(b.state)`;

/** Which index the planner picks for the active-bookings count when the btree built for it is not there. */
async function indexForActiveCount(pool: Pool): Promise<string> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    // Without the btree and with seq and bitmap scans priced out, a usable GiST index is the planner's only cheap path.
    await client.query('DROP INDEX bookings_slot');
    await client.query('SET LOCAL enable_seqscan = off');
    await client.query('SET LOCAL enable_bitmapscan = off');
    const plan = await client.query(`EXPLAIN ${ACTIVE_ON_SLOT_SQL}`, ['00000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-000000000002']);
    return plan.rows.map((row: Record<string, string>) => row['QUERY PLAN']).join('\n');
  } finally {
    await client.query('ROLLBACK');
    client.release();
  }
}

/** Functions, views and indexes that mention the exclusion constraint's predicate function, but the constraint's own index. */
async function otherUsersOfPredicate(pool: Pool): Promise<string[]> {
  const rows = await pool.query(
    `SELECT 'function ' || p.proname AS name FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
      WHERE n.nspname = 'public' AND p.proname <> $1 AND p.prosrc ILIKE '%' || $1 || '%'
     UNION ALL
     SELECT 'view ' || viewname FROM pg_views WHERE schemaname = 'public' AND definition ILIKE '%' || $1 || '%'
     UNION ALL
     SELECT 'index ' || c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
      WHERE c.relname <> 'bookings_vendor_no_overlap' AND pg_get_expr(i.indpred, i.indrelid) ILIKE '%' || $1 || '%'
     ORDER BY 1`,
    [PREDICATE_FUNCTION],
  );
  return rows.rows.map((row: { name: string }) => row.name);
}

describe('the vendor-overlap GiST index answers to its exclusion constraint alone', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase({ poolMax: 2 });
  });
  afterAll(async () => db.drop());

  it('is never the plan for counting a slot active bookings, even with the btree gone', async () => {
    // Proves the partial GiST index cannot serve ordinary queries: its predicate is a function no query implies.
    const plan = await indexForActiveCount(db.pool);
    expect(plan).not.toContain('bookings_vendor_no_overlap');
  });

  it('has a predicate function that nothing else calls', async () => {
    // Proves no function, view or other index calls the predicate (calling it would make the GiST index usable again).
    expect(await otherUsersOfPredicate(db.pool)).toEqual([]);
  });

  it('twin: with the predicate it had before 0063, the planner reads the GiST index for that count', async () => {
    // Shows the plan check above fails on the engine as it was: same predicate as the queries, so the GiST index is usable.
    const twin = await createTestDatabase({ poolMax: 2 });
    try {
      await twin.pool.query(`ALTER TABLE bookings DROP CONSTRAINT bookings_vendor_no_overlap;
        ALTER TABLE bookings ADD CONSTRAINT bookings_vendor_no_overlap EXCLUDE USING gist (
          vendor_id WITH =, tstzrange(starts_at, ends_at) WITH &&, slot_id WITH <>) WHERE (booking_state_holds_capacity(state))`);
      expect(await indexForActiveCount(twin.pool)).toContain('bookings_vendor_no_overlap');
      await twin.pool.query(
        `CREATE FUNCTION count_calendar(p text) RETURNS boolean LANGUAGE sql SET search_path = public, pg_temp AS $$ SELECT ${PREDICATE_FUNCTION}(p) $$`,
      );
      expect(await otherUsersOfPredicate(twin.pool)).toEqual(['function count_calendar']);
    } finally {
      await twin.drop();
    }
  });
});
