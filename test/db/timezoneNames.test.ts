// vendors.timezone's CHECK (is_valid_timezone, 0070): the copy of the
// server's zone names answers first, pg_timezone_names when the copy misses.
// These tests hold it to 0001's answers: the same names accepted, the same
// refused.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Pool } from '../../src/db/pool.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase({ poolMax: 2 });
});

afterAll(async () => db?.drop());

/** The SQLSTATE of inserting a vendor in this zone (inside a transaction rolled back), or 'ok'. */
async function vendorInsertOutcome(pool: Pool, zone: string): Promise<string> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query(`INSERT INTO vendors (name, timezone) VALUES ('Zone probe', $1)`, [zone]);
    return 'ok';
  } catch (error) {
    return (error as { code?: string }).code ?? 'unknown';
  } finally {
    await client.query('ROLLBACK');
    client.release();
  }
}

describe('is_valid_timezone', () => {
  it("holds exactly pg_timezone_names' names in its copy", async () => {
    // Proves the fast path accepts no name the view lacks and misses none it has (on this server's tzdata).
    const differences = await db.pool.query(`
      (SELECT name FROM timezone_names EXCEPT SELECT name FROM pg_timezone_names)
      UNION ALL
      (SELECT name FROM pg_timezone_names EXCEPT SELECT name FROM timezone_names)`);
    expect(differences.rows).toEqual([]);
    expect(Number((await db.pool.query('SELECT count(*) AS n FROM timezone_names')).rows[0].n)).toBeGreaterThan(300);
  });

  it('accepts a known zone and refuses an unknown one, a wrongly cased one and an abbreviation', async () => {
    // Proves the CHECK still refuses what 0001's lookup refused: names compare exactly, and only names count.
    expect(await vendorInsertOutcome(db.pool, 'Europe/Paris')).toBe('ok');
    expect(await vendorInsertOutcome(db.pool, 'UTC')).toBe('ok');
    expect(await vendorInsertOutcome(db.pool, 'Mars/Olympus_Mons')).toBe('23514');
    expect(await vendorInsertOutcome(db.pool, 'europe/paris')).toBe('23514');
    expect(await vendorInsertOutcome(db.pool, 'CEST')).toBe('23514');
    expect(await vendorInsertOutcome(db.pool, '')).toBe('23514');
  });

  it('still accepts a zone the copy lacks when the server knows it (a newer tzdata)', async () => {
    // Twin of the fallback: without it, a zone missing from the copy is refused.
    const client = await db.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query(`DELETE FROM timezone_names WHERE name = 'Asia/Tokyo'`);
      await client.query(`INSERT INTO vendors (name, timezone) VALUES ('Zone probe', 'Asia/Tokyo')`);
      await client.query('SAVEPOINT without_fallback');
      await client.query(`CREATE OR REPLACE FUNCTION is_valid_timezone(p_zone text) RETURNS boolean LANGUAGE sql STABLE
        SET search_path = public, pg_temp AS $$ SELECT EXISTS (SELECT 1 FROM timezone_names WHERE name = p_zone) $$`);
      const refused = await client.query(`INSERT INTO vendors (name, timezone) VALUES ('Zone probe', 'Asia/Tokyo')`).then(
        () => 'ok',
        (error: { code?: string }) => error.code,
      );
      expect(refused).toBe('23514');
    } finally {
      await client.query('ROLLBACK');
      client.release();
    }
  });
});
