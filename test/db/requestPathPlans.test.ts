// The request path's queries stay index probes whatever the statistics say
// (migration 0065), each planned once per session (0066). A session's cached plans are made once; made while
// bookings was small, they read the whole table on every later claim. The
// test builds that situation on purpose: bookings and slots analyzed while
// empty, every plan generic (as a pooled session's plans become), and
// auto_explain reporting each nested statement's plan to the client.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Pool } from '../../src/db/pool.js';
import { cancelBooking, claimSlot, confirmBooking, rescheduleBooking } from '../../src/engine/bookings.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { makeCustomer, makeSlot, makeVendor, TEST_ACTOR } from '../helpers/fixtures.js';

/** The functions 0065 and 0066 set, as a migration that forgot a setting would leave them. */
const RESET_SEQSCAN_SQL = resetSetting('enable_seqscan');
const RESET_PLAN_CACHE_SQL = resetSetting('plan_cache_mode');
function resetSetting(name: string): string {
  return `
DO $$
DECLARE v_function regprocedure;
BEGIN
  FOR v_function IN SELECT p.oid::regprocedure FROM pg_proc p
    WHERE p.pronamespace = 'public'::regnamespace AND 'enable_seqscan=off' = ANY (p.proconfig)
  LOOP
    EXECUTE format('ALTER FUNCTION %s RESET ${name}', v_function);
  END LOOP;
END $$`;
}

interface PathPlans {
  /** Every nested statement's plan the path ran. */
  all: string[];
  /** The Query Text of those that read bookings or slots from end to end. */
  fullScans: string[];
  /** The Query Text of those planned for the values of one call (a uuid written into a condition). */
  customPlans: string[];
}

/** A database of one connection whose plans reach us as notices. */
async function openWatched(): Promise<{ db: TestDatabase; notices: string[] }> {
  const db = await createTestDatabase({ poolMax: 1 });
  const notices: string[] = [];
  db.pool.on('connect', (client) => client.on('notice', (notice) => notices.push(notice.message ?? '')));
  return { db, notices };
}

/**
 * The session's statistics say "empty"; with `genericSession` its plans are
 * generic from the first call, as a pooled session's plans become.
 */
async function prepareSession(db: TestDatabase, genericSession: boolean): Promise<void> {
  await db.pool.query('ANALYZE bookings, slots');
  await db.pool.query(`LOAD 'auto_explain'`);
  await db.pool.query(
    `SET auto_explain.log_min_duration = 0; SET auto_explain.log_nested_statements = on; SET auto_explain.log_level = notice;
     SET plan_cache_mode = ${genericSession ? 'force_generic_plan' : 'auto'}`,
  );
}

const queryText = (plan: string): string => plan.split('\n').find((line) => line.startsWith('Query Text:')) ?? plan;
const UUID_LITERAL = /'[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}'::uuid/;

interface PathFixtures {
  customer: string;
  slots: string[];
}

/** A vendor with three slots and a customer, made before the watch starts (their statements are not the path's). */
async function makePathFixtures(pool: Pool): Promise<PathFixtures> {
  const vendor = await makeVendor(pool);
  const customer = await makeCustomer(pool);
  const slots = [
    await makeSlot(pool, vendor),
    await makeSlot(pool, vendor, { startInMinutes: 48 * 60 }),
    await makeSlot(pool, vendor, { startInMinutes: 72 * 60 }),
  ];
  return { customer: customer.id, slots: slots.map((slot) => slot.id) };
}

/** A hold confirmed, a booking claimed, moved and cancelled: every write a request makes on bookings. */
async function runRequestPath(pool: Pool, { customer, slots }: PathFixtures): Promise<void> {
  const held = await claimSlot(pool, { slot: slots[0], customer, hold: true }, TEST_ACTOR);
  await confirmBooking(pool, { booking: held.booking.id }, TEST_ACTOR);
  const booked = await claimSlot(pool, { slot: slots[1], customer }, TEST_ACTOR);
  await rescheduleBooking(pool, { booking: booked.booking.id, slot: slots[2] }, TEST_ACTOR);
  await cancelBooking(pool, { booking: booked.booking.id, reason: 'plans test' }, TEST_ACTOR);
}

/**
 * Runs the path `runs` times in one session (plan_cache_mode = auto plans a
 * statement's first five runs for their values) and returns the plans of the last run.
 */
async function plansOnPath(
  watched: { db: TestDatabase; notices: string[] },
  options: { breakEngine?: string; genericSession: boolean; runs: number },
): Promise<PathPlans> {
  if (options.breakEngine) await watched.db.pool.query(options.breakEngine);
  await prepareSession(watched.db, options.genericSession);
  for (let run = 1; run <= options.runs; run++) {
    const fixtures = await makePathFixtures(watched.db.pool);
    watched.notices.splice(0);
    await runRequestPath(watched.db.pool, fixtures);
  }
  const all = [...watched.notices];
  const fullScans = all.filter((plan) => /Seq Scan on (bookings|slots)\b/.test(plan)).map(queryText);
  const customPlans = all.filter((plan) => plan.split('\n').some((line) => !line.startsWith('Query Text:') && UUID_LITERAL.test(line))).map(queryText);
  return { all, fullScans, customPlans };
}

type Watched = Awaited<ReturnType<typeof openWatched>>;

/** The shipped engine's database and one whose functions lost a setting, one connection each, so the session settings and the cached plans are the path's own. */
function useShippedAndForgotten(): { shipped: () => Watched; forgotten: () => Watched } {
  const opened: Watched[] = [];
  beforeAll(async () => {
    opened.push(await openWatched(), await openWatched());
  });
  afterAll(async () => Promise.all(opened.map((watched) => watched.db.drop())));
  return { shipped: () => opened[0]!, forgotten: () => opened[1]! };
}

describe('request path plans (0065)', () => {
  const { shipped, forgotten } = useShippedAndForgotten();

  it('never scans bookings or slots end to end, with statistics that say both are empty', async () => {
    const plans = await plansOnPath(shipped(), { genericSession: true, runs: 1 });
    // The watch saw the path's probes (so an empty list below is not a watch that saw nothing).
    expect(plans.all.some((plan) => plan.includes('bookings_held_by_vendor'))).toBe(true);
    expect(plans.fullScans).toEqual([]);
  });

  it('twin: without the setting (a redefinition that dropped it) the same path scans bookings', async () => {
    const plans = await plansOnPath(forgotten(), { breakEngine: RESET_SEQSCAN_SQL, genericSession: true, runs: 1 });
    expect(plans.fullScans.some((text) => text.includes("state = 'held'"))).toBe(true);
  });
});

describe('request path plans (0066)', () => {
  const { shipped, forgotten } = useShippedAndForgotten();

  it('plans no statement of the path for the values of one call, in the fourth run of one session', async () => {
    const plans = await plansOnPath(shipped(), { genericSession: false, runs: 4 });
    expect(plans.all.some((plan) => plan.includes('bookings_held_by_vendor'))).toBe(true);
    expect(plans.customPlans).toEqual([]);
  });

  it('twin: without the setting the path plans statements for each call (at least in their first five runs)', async () => {
    const plans = await plansOnPath(forgotten(), { breakEngine: RESET_PLAN_CACHE_SQL, genericSession: false, runs: 4 });
    expect(plans.customPlans.length).toBeGreaterThan(0);
  });
});
