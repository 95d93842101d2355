// SC-9, reservations under hostile providers: passes on the shipped engine
// (its four opening attacks reach issue 12's dangerous states every
// iteration), and fails on each pre-fix engine.
import { afterAll, describe, expect, it } from 'vitest';
import { mutantNamed } from '../../src/certify/mutants/index.js';
import type { Pool } from '../../src/db/pool.js';
import { formatSnapshot, runScenario, type ScenarioResult } from '../../src/simcity/index.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import {
  installBookingPaidOutsideReservation,
  installCancelAfterCommitKeepsMoney,
  installLateMoneyKept,
  installOnSessionServerConfirm,
  installRaceReplaysAnyRequest,
  installCommitLeavesBookingHeld,
  installCommitOnOneCapture,
  installFailedReservationKeepsMoney,
  installRescheduleOutsideReservation,
  installUncappedDeadlines,
  installUncheckedReservationMachine,
} from './reservationsUnsafe.js';

const databases: TestDatabase[] = [];
async function simulationDatabase(): Promise<TestDatabase> {
  const db = await createTestDatabase({ simulation: true, poolMax: 4 });
  databases.push(db);
  return db;
}
afterAll(async () => {
  await Promise.all(databases.map((db) => db.drop()));
});

function run(db: TestDatabase, seed: string, iterations: number): Promise<ScenarioResult> {
  return runScenario({ scenarioId: 'SC-9', seed, iterations, connectionString: db.connectionString, commit: 'test' });
}

/** How many reservations the run left in each state the attacks aim at, read from the database it ran in. */
async function attackOutcomes(pool: Pool) {
  const count = async (sql: string) => Number((await pool.query(sql)).rows[0].n);
  return {
    cancelledAfterCommit: await count(
      `SELECT count(DISTINCT reservation_id) AS n FROM reservation_transitions WHERE from_state = 'COMMITTED' AND to_state = 'CANCELLED'`,
    ),
    refusedOutsidePayment: await count(
      `SELECT count(*) AS n FROM reservations r WHERE r.metadata->>'name' = 'A2' AND NOT EXISTS (SELECT 1 FROM payments p WHERE p.booking_id = r.booking_id)`,
    ),
    commitRefusedPastDeadline: await count(`SELECT count(*) AS n FROM reservations WHERE state = 'FAILED_COMMIT' AND metadata->>'name' = 'A3'`),
    raceFirstKept: await count(`SELECT count(*) AS n FROM reservations WHERE metadata->>'name' = 'A5' AND metadata->>'request' = 'first'`),
    lateMoneyReleased: await count(`SELECT count(*) AS n FROM payments p JOIN reservations r ON r.id = p.reservation_id
                                    WHERE r.metadata->>'name' = 'A4' AND r.state = 'EXPIRED' AND p.purpose = 'reservation_requester' AND p.status = 'canceled'
                                      AND EXISTS (SELECT 1 FROM ledger_entries l WHERE l.payment_id = p.id AND l.kind = 'authorization')`),
    offSessionFailedAndReleased: await count(`SELECT count(*) AS n FROM reservations r WHERE r.metadata->>'name' = 'A6' AND r.state = 'FAILED_REQUESTER_AUTH'
                                              AND (SELECT count(*) FROM payments p WHERE p.reservation_id = r.id AND p.status = 'canceled') = 2`),
    commitFinishedPastAnotherFailure: await count(`SELECT count(*) AS n FROM reservations WHERE metadata->>'name' = 'A8b' AND state = 'COMMITTED'`),
    captureFailedCommitFailed: await count(`SELECT count(*) AS n FROM reservations r WHERE r.metadata->>'name' = 'A9' AND r.state = 'FAILED_COMMIT'
                                            AND EXISTS (SELECT 1 FROM payments p WHERE p.reservation_id = r.id AND p.purpose = 'reservation_vendor_deposit'
                                                          AND p.amount_captured_cents > 0 AND p.amount_refunded_cents = p.amount_captured_cents)`),
    forbiddenMovesLeftNoTrace: await count(`SELECT count(*) AS n FROM reservations r WHERE r.metadata->>'name' = 'A10' AND r.state = 'CANCELLED'
                                            AND NOT EXISTS (SELECT 1 FROM reservation_transitions t WHERE t.reservation_id = r.id AND t.to_state = 'COMMITTED')`),
    rescheduleRefused:
      await count(`SELECT count(*) AS n FROM reservations r JOIN bookings b ON b.id = r.booking_id WHERE r.metadata->>'name' = 'A7' AND b.slot_id = r.slot_id
                                      AND NOT EXISTS (SELECT 1 FROM booking_transitions t WHERE t.booking_id = b.id AND t.to_slot_id IS DISTINCT FROM r.slot_id)`),
  };
}

function expectCaught(result: ScenarioResult, oracles: string[]): void {
  expect(result.passed).toBe(false);
  expect(result.verdict).toBe('violation');
  expect(
    result.violations.some((v) => oracles.includes(v.oracle)),
    JSON.stringify(result.violations).slice(0, 1500),
  ).toBe(true);
  // Caught by an opening attack of the first iteration, whatever the seed drew.
  expect(result.violations[0]!.iteration).toBe(0);
  expect(formatSnapshot(result.forensicSnapshot!)).toContain('FORENSIC SNAPSHOT — SC-9');
  expect(result.replayCommand).toMatch(/^bookiji simcity run SC-9 --seed /);
}

describe('SC-9 reservations under hostile providers', () => {
  it('passes on the shipped engine, every iteration reaching the ten dangerous states', async () => {
    // Proves the shipped engine keeps reservations, bookings and money together under SC-9's chaos, and that each opening attack reached its state in each iteration.
    const db = await simulationDatabase();
    const result = await run(db, 'sc9-fixed-1', 2);
    expect(result.violations, JSON.stringify(result.violations).slice(0, 2000)).toEqual([]);
    expect(result.passed).toBe(true);
    expect(result.stats.ok).toBeGreaterThan(0);
    expect(await attackOutcomes(db.pool)).toEqual({
      cancelledAfterCommit: 2,
      refusedOutsidePayment: 2,
      commitRefusedPastDeadline: 2,
      raceFirstKept: 2,
      lateMoneyReleased: 2,
      offSessionFailedAndReleased: 2,
      rescheduleRefused: 2,
      commitFinishedPastAnotherFailure: 2,
      captureFailedCommitFailed: 2,
      forbiddenMovesLeftNoTrace: 2,
    });
  });

  it('twin: an engine that keeps the captures of a cancelled committed booking fails', async () => {
    // Proves SC-9 catches defect 2's class: money kept without a committed booking.
    const db = await simulationDatabase();
    await installCancelAfterCommitKeepsMoney(db.pool);
    expectCaught(await run(db, 'sc9-broken-2', 1), ['reservation-booking-agree', 'no-money-without-committed-booking']);
  });

  it('twin: an engine that lets a reservation booking be paid on its own fails', async () => {
    // Proves SC-9 catches defect 3's class: a reservation's booking confirmed outside the machine.
    const db = await simulationDatabase();
    await installBookingPaidOutsideReservation(db.pool);
    expectCaught(await run(db, 'sc9-broken-3', 1), ['reservation-booking-agree']);
  });

  it('twin: an engine whose deadlines outlive the slot start fails', async () => {
    // Proves SC-9 catches defect 4's class: a stage past the slot's start, a commit finished after it.
    const db = await simulationDatabase();
    await installUncappedDeadlines(db.pool);
    expectCaught(await run(db, 'sc9-broken-4', 1), ['no-commit-past-deadline']);
  });

  it('twin: an engine that keeps late money on a finished reservation fails', async () => {
    // Proves SC-9 catches defect 5's class: money owed back left unowed.
    const db = await simulationDatabase();
    await installLateMoneyKept(db.pool);
    expectCaught(await run(db, 'sc9-broken-5', 1), ['failed-owes-money-back', 'no-money-owed-back-left-unowed']);
  });

  it('twin: an engine that replays the winner of a same-key race for another request fails', async () => {
    // Proves SC-9 catches defect 7's class: a reused key with a different request answered as a replay.
    const db = await simulationDatabase();
    await installRaceReplaysAnyRequest(db.pool);
    expectCaught(await run(db, 'sc9-broken-7', 1), ['replay-matches-request']);
  });

  it('twin: an engine that replays a reused key sent after the first request committed fails', async () => {
    // Proves SC-9 catches mutant reservation-key-replays-other-request: the first key lookup answering without comparing the requests.
    const db = await simulationDatabase();
    await mutantNamed('reservation-key-replays-other-request')!.apply!(db.pool);
    expectCaught(await run(db, 'sc9-broken-key-lookup', 1), ['replay-matches-request']);
  });

  it('twin: an engine that confirms the saved card on-session fails', async () => {
    // Proves SC-9 catches review finding 1's class: an off-session authorization left waiting for a customer's 3-D Secure.
    const db = await simulationDatabase();
    const restore = installOnSessionServerConfirm();
    try {
      expectCaught(await run(db, 'sc9-broken-offsession', 1), ['off-session-authorization-decided']);
    } finally {
      restore();
    }
  });

  it('twin: an engine whose commit leaves the booking held fails', async () => {
    // Proves SC-9 catches mutant commit-leaves-booking-held's class: COMMITTED while the booking is only held.
    const db = await simulationDatabase();
    await installCommitLeavesBookingHeld(db.pool);
    expectCaught(await run(db, 'sc9-broken-commit-held', 1), ['reservation-booking-agree']);
  });

  it('twin: an engine whose failed reservations keep their money fails', async () => {
    // Proves SC-9 catches mutant failed-reservation-keeps-money's class: a reservation ended with its money owed nowhere.
    const db = await simulationDatabase();
    await installFailedReservationKeepsMoney(db.pool);
    expectCaught(await run(db, 'sc9-broken-keeps-money', 1), ['failed-owes-money-back', 'no-money-without-committed-booking']);
  });

  it('twin: an engine that commits a reservation on one of its two captures fails', async () => {
    // Proves SC-9 catches mutant commit-on-one-capture's class: COMMITTED while one capture failed (capture_fails_mid_commit).
    const db = await simulationDatabase();
    await installCommitOnOneCapture(db.pool);
    expectCaught(await run(db, 'sc9-broken-one-capture', 1), ['committed-has-both-captures']);
  });

  it('twin: an engine whose reservation machine does not look moves up fails', async () => {
    // Proves SC-9 catches mutant reservation-machine-unchecked's class: a forbidden move written directly is taken (forbidden_reservation_moves).
    const db = await simulationDatabase();
    await installUncheckedReservationMachine(db.pool);
    expectCaught(await run(db, 'sc9-broken-machine', 1), ['forbidden-moves-refused']);
  });

  it('twin: an engine that lets a reservation booking be rescheduled on its own fails', async () => {
    // Proves SC-9 catches review finding 3's class: a reservation's booking moved to a slot the reservation never reserved.
    const db = await simulationDatabase();
    await installRescheduleOutsideReservation(db.pool);
    expectCaught(await run(db, 'sc9-broken-reschedule', 1), ['reservation-booking-agree']);
  });
});
