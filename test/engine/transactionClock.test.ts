// One transaction sees one clock: a simulation that moves the clock while a
// claim runs cannot make the claim check the slot's start at one "now" and
// stamp the booking at another (the I5 violation certify found in SC-3).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';

const OLD_BOOKIJI_NOW = `CREATE OR REPLACE FUNCTION bookiji_now() RETURNS timestamptz LANGUAGE sql STABLE SET search_path = public, pg_temp
  AS $$ SELECT now() + "offset" FROM public.clock $$`;

async function nowBeforeAndAfterAnAdvance(db: TestDatabase): Promise<[Date, Date, Date]> {
  const claim = await db.pool.connect();
  try {
    await claim.query('BEGIN');
    const before = (await claim.query('SELECT bookiji_now() AS now')).rows[0].now as Date;
    await db.pool.query(`SELECT advance_clock(interval '1 hour')`);
    const after = (await claim.query('SELECT bookiji_now() AS now')).rows[0].now as Date;
    await claim.query('COMMIT');
    const next = (await claim.query('SELECT bookiji_now() AS now')).rows[0].now as Date;
    return [before, after, next];
  } finally {
    claim.release();
  }
}

describe('the simulation clock within a transaction', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase({ simulation: true });
  });
  afterAll(async () => db.drop());

  it('stays the reading the transaction began with, and moves for the next transaction', async () => {
    // Proves a clock advance committed mid-transaction is not seen by that transaction's later statements.
    const [before, after, next] = await nowBeforeAndAfterAnAdvance(db);
    expect(after.getTime()).toBe(before.getTime());
    expect(next.getTime() - before.getTime()).toBeGreaterThanOrEqual(3_600_000);
  });

  it('moved under a running transaction when the offset was read per statement', async () => {
    // Twin: the pre-0051 bookiji_now() shows the hour jump inside one transaction.
    await db.pool.query(OLD_BOOKIJI_NOW);
    const [before, after] = await nowBeforeAndAfterAnAdvance(db);
    expect(after.getTime() - before.getTime()).toBeGreaterThanOrEqual(3_600_000);
  });
});
