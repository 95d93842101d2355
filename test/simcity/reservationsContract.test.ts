// SC-9's counting contract: every invariant the scenario file claims is
// checked by one of its oracles and reached by one of its opening attacks,
// so the runtime's per-invariant `checks` and `exercised` can never be zero
// for a claimed invariant.
import { describe, expect, it } from 'vitest';
import { reservations } from '../../src/simcity/drivers/reservations.js';
import { OPENING_ATTACKS } from '../../src/simcity/drivers/reservationsAttacks.js';
import { loadScenario } from '../../src/simcity/scenarioFile.js';
import type { HistoryEvent } from '../../src/simcity/types.js';

const EMPTY_TRUTH = { reservations: [], payments: [], badTransitions: [], lateCommits: [], releases: [] };

/** What each attack returns when it reached its state (reservationsAttacks.ts). */
const REACHED: Record<string, Record<string, unknown>> = {
  cancel_after_commit: { committed: 'COMMITTED', booking: 'cancelled' },
  pay_outside_reservation: { refused: true, code: 'INVALID_TRANSITION' },
  commit_resumed_late: { during: 'COMMIT_IN_PROGRESS', after: 'FAILED_COMMIT' },
  late_authorization: { before: 'AWAITING_REQUESTER_AUTH', competitor: { expiredHoldsBefore: 1 }, lateIntent: 'requires_capture' },
  same_key_race: { raced: true, outcome: 'IDEMPOTENCY_MISMATCH', replayedOtherRequest: false },
  three_ds_off_session: { state: 'FAILED_REQUESTER_AUTH', intentStatus: 'canceled' },
  reschedule_outside_reservation: { refused: true, code: 'INVALID_TRANSITION' },
  commit_resume_one_fails: { keptState: 'COMMITTED', lostError: 'PAYMENT_FAILED' },
  capture_fails_mid_commit: {
    state: 'FAILED_COMMIT',
    payments: { vendor_deposit: { status: 'refunded', capturedCents: 600 }, requester: { status: 'canceled', capturedCents: 0 } },
  },
  forbidden_reservation_moves: {
    moves: [
      { from: 'AWAITING_VENDOR_CONFIRMATION', to: 'COMMITTED', outcome: 'refused (SQLSTATE BK011)' },
      { from: 'CANCELLED', to: 'AWAITING_VENDOR_CONFIRMATION', outcome: 'refused (SQLSTATE BK011)' },
    ],
  },
};

function okEvent(action: string, value: Record<string, unknown>): HistoryEvent {
  return { index: 0, iteration: 0, step: 0, process: 'nemesis', type: 'ok', action, args: { reservation: 'A1' }, value, atMs: 0 };
}

describe('SC-9 counting contract', () => {
  const definition = loadScenario('SC-9') as ReturnType<typeof loadScenario> & { invariants: string[]; phase: number };

  it('checks every claimed invariant with an oracle the scenario runs', () => {
    // Proves no claimed invariant lacks an oracle (its `checks` would stay 0).
    expect(definition.phase).toBe(2);
    const checked = new Set(definition.oracles.flatMap((oracle) => reservations.oracleInvariants![oracle] ?? []));
    expect(definition.invariants.filter((invariant) => !checked.has(invariant))).toEqual([]);
  });

  it('reaches every claimed invariant through the opening attacks', () => {
    // Proves each claimed invariant is exercised by the scripted attacks alone, whatever the seed adds; an attack that did not reach its state counts nothing.
    const fixture = { truth: EMPTY_TRUTH, reservationIds: {} } as never;
    const reached = new Set(OPENING_ATTACKS.flatMap((attack) => reservations.exercised!(okEvent(attack, REACHED[attack]!), fixture)));
    // The invariants SC-9 exists to attack (its file also declares those its oracles only check).
    const mustReach = ['R1', 'R2', 'R3', 'R4', 'I4', 'I5', 'I9'];
    expect(mustReach.filter((invariant) => !definition.invariants.includes(invariant) || !reached.has(invariant))).toEqual([]);
    expect(reservations.exercised!(okEvent('commit_resumed_late', { during: 'COMMITTED' }), fixture)).toEqual([]);
    // Both captures went through (or neither did): nothing for a one-capture commit to get wrong.
    expect(
      reservations.exercised!(
        okEvent('capture_fails_mid_commit', { payments: { vendor_deposit: { capturedCents: 0 }, requester: { status: 'canceled' } } }),
        fixture,
      ),
    ).toEqual([]);
    expect(reservations.exercised!(okEvent('forbidden_reservation_moves', { moves: [] }), fixture)).toEqual([]);
    // R4 is reached also by a forbidden move the engine refused.
    expect(reservations.exercised!({ ...okEvent('commit', {}), type: 'fail', error: 'INVALID_TRANSITION' }, fixture)).toEqual(['R4']);
  });
});
