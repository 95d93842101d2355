// A claim whose connection is killed mid-transaction leaves no partial state:
// no booking, no counter change, no transition, no audit row.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { claimSlot } from '../../src/engine/bookings.js';
import { verifyInvariants } from '../../src/engine/verify.js';
import { createPool } from '../../src/db/pool.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { TEST_ACTOR, lockSlot, makeCustomer, makeSlot, makeVendor } from '../helpers/fixtures.js';

describe('killed connections', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => db.drop());

  it('proves pg_terminate_backend on a claim blocked inside its transaction leaves nothing behind', async () => {
    const vendor = await makeVendor(db.pool);
    const customer = await makeCustomer(db.pool);
    const slot = await makeSlot(db.pool, vendor);
    const auditBefore = (await db.pool.query('SELECT count(*) AS n FROM audit_log WHERE vendor_id = $1', [vendor.id])).rows[0].n;

    // Another session holds the slot's lock, so the claim stops midway: after
    // its checks, waiting for the row lock inside its transaction.
    const blocker = await lockSlot(db.pool, slot.id);

    const victimPool = createPool({ connectionString: db.connectionString, max: 1, applicationName: 'bookiji-victim' });
    const claim = claimSlot(victimPool, { slot: slot.id, customer: customer.id }, TEST_ACTOR).then(
      () => 'committed',
      (error: { code?: string }) => error.code ?? 'error',
    );
    // Wait until the victim is visibly blocked on the lock, then kill it.
    let victimPid: number | undefined;
    for (let attempt = 0; attempt < 200 && victimPid === undefined; attempt++) {
      const waiting = await db.pool.query(`SELECT pid FROM pg_stat_activity WHERE application_name = 'bookiji-victim' AND wait_event_type = 'Lock'`);
      victimPid = waiting.rows[0]?.pid;
      if (victimPid === undefined) await new Promise((resolve) => setTimeout(resolve, 25));
    }
    expect(victimPid).toBeDefined();
    await db.pool.query('SELECT pg_terminate_backend($1)', [victimPid]);
    expect(await claim).toBe('DEPENDENCY_UNAVAILABLE');
    await blocker.query('COMMIT');
    blocker.release();
    await victimPool.end().catch(() => undefined);

    expect((await db.pool.query('SELECT count(*) AS n FROM bookings WHERE slot_id = $1', [slot.id])).rows[0].n).toBe(0);
    expect((await db.pool.query('SELECT booked_count FROM slots WHERE id = $1', [slot.id])).rows[0].booked_count).toBe(0);
    expect((await db.pool.query('SELECT count(*) AS n FROM audit_log WHERE vendor_id = $1', [vendor.id])).rows[0].n).toBe(auditBefore);
    expect((await verifyInvariants(db.pool)).filter((c) => c.violations > 0)).toEqual([]);
    // And the slot is still bookable.
    expect((await claimSlot(db.pool, { slot: slot.id, customer: customer.id }, TEST_ACTOR)).booking.state).toBe('confirmed');
  });
});
