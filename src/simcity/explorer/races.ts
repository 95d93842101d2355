// The small races the explorer steps through. Each session is one client in
// one explicit transaction; its steps are statements (an engine function is
// one statement, so it is one step); every session ends with COMMIT. BEGIN is
// not a step: under READ COMMITTED a statement's snapshot is taken when the
// statement starts, so where BEGIN falls cannot change an outcome.

import type { Queryable } from '../../db/pool.js';
import type { Finding } from '../drivers/driver.js';
import type { VendorTruth } from '../truth.js';

export interface RaceFixture {
  vendorId: string;
  names: Record<string, string>;
  ids: Record<string, string>;
}

export interface RaceStep {
  name: string;
  sql(fixture: RaceFixture): { text: string; values: unknown[] };
}

export interface StepOutcome {
  label: string;
  /** ok, error (with its SQLSTATE) or blocked-then-ok/error once the lock was released. */
  status: 'ok' | 'error';
  sqlState?: string;
  message?: string;
  /** The step waited on another session's lock (pg_blocking_pids was not empty). */
  blocked: boolean;
}

export interface Race {
  id: string;
  title: string;
  /** Needs a database created for simulation (it moves the clock). */
  simulation: boolean;
  sessions: Array<{ name: string; steps: RaceStep[] }>;
  setup(db: Queryable, runId: string): Promise<RaceFixture>;
  /** Race-specific checks on top of every slot's capacity and coherence. */
  check(truth: VendorTruth, fixture: RaceFixture, outcomes: StepOutcome[]): Finding[];
}

const CLAIM_SQL = `SELECT (claim_slot($1, $2, false, NULL, NULL, $3, 'simcity', 'explorer', 'simcity')).booking->>'id' AS booking`;

function claimStep(slot: string, customer: string, key: string): RaceStep {
  return { name: `claim(${customer},${slot})`, sql: (f) => ({ text: CLAIM_SQL, values: [f.ids[slot], f.ids[customer], `${f.ids.run}-${key}`] }) };
}

function rescheduleStep(booking: string, slot: string): RaceStep {
  return {
    name: `reschedule(${booking}→${slot})`,
    sql: (f) => ({
      text: `SELECT reschedule_booking($1, $2, NULL, 'simcity', 'explorer', 'simcity')->>'id' AS booking`,
      values: [f.ids[booking], f.ids[slot]],
    }),
  };
}

function cancelStep(booking: string): RaceStep {
  return {
    name: `cancel(${booking})`,
    sql: (f) => ({ text: `SELECT cancel_booking($1, NULL, 'explorer race', 'simcity', 'explorer', 'simcity')->>'id' AS booking`, values: [f.ids[booking]] }),
  };
}

const expireStep: RaceStep = {
  name: 'expire_holds',
  sql: () => ({ text: `SELECT count(*)::int AS expired FROM expire_holds(100, false, 'system', NULL, 'simcity')`, values: [] }),
};

async function insertOne(db: Queryable, sql: string, values: unknown[]): Promise<string> {
  return ((await db.query(sql, values)).rows[0] as { id: string }).id;
}

/** A vendor, `slotCount` one-hour slots two hours apart (capacity 1), and the named customers. */
async function baseFixture(db: Queryable, runId: string, slotCount: number, customers: string[]): Promise<RaceFixture> {
  const vendorId = await insertOne(db, `INSERT INTO vendors (name, timezone) VALUES ($1, 'UTC') RETURNING id`, [`SimCity explorer ${runId}`]);
  const ids: Record<string, string> = { run: runId };
  const slotIds: string[] = [];
  for (let index = 0; index < slotCount; index++) {
    slotIds.push(
      await insertOne(
        db,
        `WITH who AS (SELECT set_actor('simcity', 'explorer', 'simcity', 'explorer fixture'))
       INSERT INTO slots (vendor_id, starts_at, ends_at, capacity)
       SELECT $1, date_trunc('hour', bookiji_now()) + interval '2 days' + make_interval(hours => $2 * 2),
              date_trunc('hour', bookiji_now()) + interval '2 days 1 hour' + make_interval(hours => $2 * 2), 1 FROM who RETURNING id`,
        [vendorId, index],
      ),
    );
  }
  // The engine locks slots in id order; naming them in that order makes every
  // permutation block (or not) the same way on every run, whatever the uuids.
  for (const [index, id] of slotIds.sort().entries()) ids[`S${index}`] = id;
  for (const customer of customers) {
    ids[customer] = await insertOne(db, 'INSERT INTO customers (name, email) VALUES ($1, $2) RETURNING id', [
      `Explorer ${customer}`,
      `${customer.toLowerCase()}-${runId}@explorer.simcity.test`,
    ]);
  }
  const names = Object.fromEntries(Object.entries(ids).filter(([name]) => name !== 'run'));
  return { vendorId, names, ids };
}

async function bookingOn(db: Queryable, fixture: RaceFixture, slot: string, customer: string, hold: boolean): Promise<string> {
  const result = await db.query(`SELECT (claim_slot($1, $2, $3, $4, NULL, NULL, 'simcity', 'explorer', 'simcity')).booking->>'id' AS id`, [
    fixture.ids[slot],
    fixture.ids[customer],
    hold,
    hold ? 30 : null,
  ]);
  return (result.rows[0] as { id: string }).id;
}

function succeeded(outcomes: StepOutcome[], prefix: string): number {
  return outcomes.filter((o) => o.label.split('.')[1]?.startsWith(prefix) && o.status === 'ok').length;
}

export const races: Race[] = [
  {
    id: 'claim-claim',
    title: 'two customers claim the same free slot (capacity 1)',
    simulation: false,
    sessions: [
      { name: 's1', steps: [claimStep('S0', 'C1', 'k1')] },
      { name: 's2', steps: [claimStep('S0', 'C2', 'k2')] },
    ],
    setup: (db, runId) => baseFixture(db, runId, 1, ['C1', 'C2']),
    check: (_truth, _fixture, outcomes) =>
      succeeded(outcomes, 'claim') === 1
        ? []
        : [{ oracle: 'exactly-one-winner', message: `${succeeded(outcomes, 'claim')} of 2 claims on a free slot of capacity 1 succeeded` }],
  },
  {
    id: 'claim-reschedule',
    title: 'a claim and a reschedule race for the same free slot',
    simulation: false,
    sessions: [
      { name: 's1', steps: [claimStep('S1', 'C1', 'k1')] },
      { name: 's2', steps: [rescheduleStep('B', 'S1')] },
    ],
    async setup(db, runId) {
      const fixture = await baseFixture(db, runId, 2, ['C0', 'C1']);
      fixture.ids.B = await bookingOn(db, fixture, 'S0', 'C0', false);
      fixture.names.B = fixture.ids.B;
      return fixture;
    },
    check: (_truth, _fixture, outcomes) => {
      const wins = succeeded(outcomes, 'claim') + succeeded(outcomes, 'reschedule');
      return wins === 1 ? [] : [{ oracle: 'exactly-one-winner', message: `${wins} of the claim and the reschedule into the one free place succeeded` }];
    },
  },
  {
    id: 'claim-reschedule-cancel',
    title: 'a claim, a reschedule of booking B into the same slot, and a cancel of B',
    simulation: false,
    sessions: [
      { name: 's1', steps: [claimStep('S1', 'C1', 'k1')] },
      { name: 's2', steps: [rescheduleStep('B', 'S1')] },
      { name: 's3', steps: [cancelStep('B')] },
    ],
    async setup(db, runId) {
      const fixture = await baseFixture(db, runId, 2, ['C0', 'C1']);
      fixture.ids.B = await bookingOn(db, fixture, 'S0', 'C0', false);
      fixture.names.B = fixture.ids.B;
      return fixture;
    },
    check: (truth, fixture) => {
      const b = truth.bookings.find((booking) => booking.id === fixture.ids.B);
      return b ? [] : [{ oracle: 'no-booking-lost', message: 'booking B is gone' }];
    },
  },
  {
    id: 'hold-expire-claim',
    title: 'a reconcile expires a stale hold while another customer claims its slot',
    simulation: true,
    sessions: [
      { name: 's1', steps: [expireStep] },
      { name: 's2', steps: [claimStep('S0', 'C2', 'k2')] },
    ],
    async setup(db, runId) {
      const fixture = await baseFixture(db, runId, 1, ['C1', 'C2']);
      fixture.ids.H = await bookingOn(db, fixture, 'S0', 'C1', true);
      fixture.names.H = fixture.ids.H;
      // Past the hold's 30 s TTL: from now on it must block nobody (I9).
      await db.query(`SELECT advance_clock(interval '31 seconds')`);
      return fixture;
    },
    check: (truth, fixture, outcomes) => {
      const findings: Finding[] = [];
      if (succeeded(outcomes, 'claim') !== 1)
        findings.push({ oracle: 'expired-hold-blocks-nobody', message: 'the claim on a slot whose only hold had expired did not succeed' });
      const hold = truth.bookings.find((b) => b.id === fixture.ids.H);
      if (hold?.state !== 'expired') findings.push({ oracle: 'hold-released-once', message: `the stale hold is ${hold?.state ?? 'gone'}, not expired` });
      return findings;
    },
  },
];
