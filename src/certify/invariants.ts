// The certification's per-invariant table: every invariant of SPEC §1, the
// payment ledger and the reservation machine, with the catalogue's counts
// summed over every scenario run and the certification databases' own
// verify_invariants() violations added. An invariant no run exercised is
// NOT EXERCISED, whatever its checks say: a check that never met the danger
// it guards against would also have passed on a broken engine.

import { INVARIANT_IDS } from '../simcity/scenarioFile.js';
import type { InvariantOutcome, InvariantResult, InvariantVerdict, ScenarioRunRecord } from './types.js';

const DESCRIPTIONS: Record<string, string> = {
  I1: 'capacity: active bookings on a slot never exceed its capacity',
  I2: 'vendor exclusivity: no two active bookings of a vendor overlap in time',
  I3: 'slot coherence: booked count equals the active bookings',
  I4: 'payment consistency: confirmed only with verified money; captured money has a booking or a refund',
  I5: 'time: nothing held, booked or moved into a slot at or before the database now',
  I6: 'idempotency: one key, one booking; a retry returns the first outcome; another request is refused',
  I7: 'preservation: a schedule change never deletes or orphans a booked slot',
  I8: 'audit: every change audited in its transaction; the hash chain detects edits',
  I9: 'holds: an expired hold never blocks; reconcile releases it exactly once',
  I10: 'transitions: only allowed moves, each logged; a late event never moves a state backwards',
  P1: 'payments: every confirmed card booking is backed by authorized or captured money',
  P2: 'payments: captured money belongs to a confirmed booking or is being refunded',
  P3: 'payments: no authorization is left on a booking that holds nothing',
  P4: 'payments: the ledger agrees with every payment to the cent',
  R1: 'reservations: COMMITTED exactly when the booking is confirmed',
  R2: 'reservations: a committed reservation has both payments captured',
  R3: 'reservations: a failed reservation keeps no money without owing it back',
  R4: 'reservations: every transition allowed and logged in order',
};

export function invariantOutcome(tally: { exercised: number; violations: number }): InvariantOutcome {
  if (tally.violations > 0) return 'VIOLATED';
  return tally.exercised > 0 ? 'HELD' : 'NOT EXERCISED';
}

export function aggregateInvariants(runs: ScenarioRunRecord[], databaseChecks: InvariantResult[]): InvariantVerdict[] {
  const table = new Map<string, InvariantVerdict>();
  const entry = (id: string): InvariantVerdict => {
    const found = table.get(id) ?? { id, description: DESCRIPTIONS[id] ?? id, checks: 0, exercised: 0, violations: 0, result: 'NOT EXERCISED', scenarios: [] };
    table.set(id, found);
    return found;
  };
  for (const id of INVARIANT_IDS) entry(id);
  for (const run of runs) {
    for (const tally of run.invariants) {
      const row = entry(tally.id);
      row.checks += tally.checks;
      row.exercised += tally.exercised;
      row.violations += tally.violations;
      if (!row.scenarios.includes(run.scenarioId)) row.scenarios.push(run.scenarioId);
    }
  }
  // The databases' own checks count against the invariant they are about (C1–C4 stay in databaseChecks only).
  for (const check of databaseChecks) if (table.has(check.id)) table.get(check.id)!.violations += check.violations;
  for (const row of table.values()) row.result = invariantOutcome(row);
  return [...table.values()];
}

/** One reason per invariant that keeps the verdict from CERTIFIED. */
export function invariantReasons(invariants: InvariantVerdict[]): string[] {
  return invariants
    .filter((row) => row.result !== 'HELD')
    .map((row) =>
      row.result === 'VIOLATED'
        ? `Invariant ${row.id} VIOLATED: ${row.violations} violation(s) (${row.description})`
        : `Invariant ${row.id} NOT EXERCISED: ${row.checks === 0 ? 'no scenario run checks it' : `${row.checks} checks by ${row.scenarios.join(', ')}, but no action reached a state where a broken engine would have broken it`} (${row.description})`,
    );
}
