// The request path's queries stay index probes whatever the statistics say
// (migration 0065). A session's cached plans are made once; made while
// bookings was small, they read the whole table on every later claim. The
// test builds that situation on purpose: bookings and slots analyzed while
// empty, every plan generic (as a pooled session's plans become), and
// auto_explain reporting each nested statement's plan to the client.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Pool } from '../../src/db/pool.js';
import { cancelBooking, claimSlot, confirmBooking, rescheduleBooking } from '../../src/engine/bookings.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { makeCustomer, makeSlot, makeVendor, TEST_ACTOR } from '../helpers/fixtures.js';

/** The functions 0065 sets, as a migration that forgot the setting would leave them. */
const RESET_SETTING_SQL = `
DO $$
DECLARE v_function regprocedure;
BEGIN
  FOR v_function IN SELECT p.oid::regprocedure FROM pg_proc p
    WHERE p.pronamespace = 'public'::regnamespace AND 'enable_seqscan=off' = ANY (p.proconfig)
  LOOP
    EXECUTE format('ALTER FUNCTION %s RESET enable_seqscan', v_function);
  END LOOP;
END $$`;

interface PathPlans {
  /** Every nested statement's plan the path ran. */
  all: string[];
  /** The Query Text of those that read bookings or slots from end to end. */
  fullScans: string[];
}

/** A database of one connection whose plans reach us as notices. */
async function openWatched(): Promise<{ db: TestDatabase; notices: string[] }> {
  const db = await createTestDatabase({ poolMax: 1 });
  const notices: string[] = [];
  db.pool.on('connect', (client) => client.on('notice', (notice) => notices.push(notice.message ?? '')));
  return { db, notices };
}

/** The session's statistics say "empty" and its plans are generic, as a pooled session's plans become. */
async function prepareSession(db: TestDatabase): Promise<void> {
  await db.pool.query('ANALYZE bookings, slots');
  await db.pool.query(`LOAD 'auto_explain'`);
  await db.pool.query(
    `SET auto_explain.log_min_duration = 0; SET auto_explain.log_nested_statements = on; SET auto_explain.log_level = notice;
     SET plan_cache_mode = force_generic_plan`,
  );
}

/** A hold confirmed, a booking claimed, moved and cancelled: every write a request makes on bookings. */
async function runRequestPath(pool: Pool): Promise<void> {
  const vendor = await makeVendor(pool);
  const customer = await makeCustomer(pool);
  const [first, second, third] = [
    await makeSlot(pool, vendor),
    await makeSlot(pool, vendor, { startInMinutes: 48 * 60 }),
    await makeSlot(pool, vendor, { startInMinutes: 72 * 60 }),
  ];
  const held = await claimSlot(pool, { slot: first.id, customer: customer.id, hold: true }, TEST_ACTOR);
  await confirmBooking(pool, { booking: held.booking.id }, TEST_ACTOR);
  const booked = await claimSlot(pool, { slot: second.id, customer: customer.id }, TEST_ACTOR);
  await rescheduleBooking(pool, { booking: booked.booking.id, slot: third.id }, TEST_ACTOR);
  await cancelBooking(pool, { booking: booked.booking.id, reason: 'plans test' }, TEST_ACTOR);
}

async function plansOnPath(watched: { db: TestDatabase; notices: string[] }, breakEngine?: string): Promise<PathPlans> {
  if (breakEngine) await watched.db.pool.query(breakEngine);
  await prepareSession(watched.db);
  watched.notices.splice(0);
  await runRequestPath(watched.db.pool);
  const all = [...watched.notices];
  const fullScans = all
    .filter((plan) => /Seq Scan on (bookings|slots)\b/.test(plan))
    .map((plan) => plan.split('\n').find((line) => line.startsWith('Query Text:')) ?? plan);
  return { all, fullScans };
}

describe('request path plans (0065)', () => {
  // One connection each, so the session settings and the cached plans are the path's own.
  let shipped: Awaited<ReturnType<typeof openWatched>>;
  let forgotten: Awaited<ReturnType<typeof openWatched>>;
  beforeAll(async () => {
    shipped = await openWatched();
    forgotten = await openWatched();
  });
  afterAll(async () => Promise.all([shipped.db.drop(), forgotten.db.drop()]));

  it('never scans bookings or slots end to end, with statistics that say both are empty', async () => {
    const plans = await plansOnPath(shipped);
    // The watch saw the path's probes (so an empty list below is not a watch that saw nothing).
    expect(plans.all.some((plan) => plan.includes('bookings_held_by_vendor'))).toBe(true);
    expect(plans.fullScans).toEqual([]);
  });

  it('twin: without the setting (a redefinition that dropped it) the same path scans bookings', async () => {
    const plans = await plansOnPath(forgotten, RESET_SETTING_SQL);
    expect(plans.fullScans.some((text) => text.includes("state = 'held'"))).toBe(true);
  });
});
