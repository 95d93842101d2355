// The certification's per-invariant table: counts summed over the
// catalogue's runs, and NOT EXERCISED (hence NOT CERTIFIED) for an invariant
// no run met in its dangerous state, however many times it was checked.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { aggregateInvariants, invariantReasons } from '../../src/certify/invariants.js';
import type { CertificationReport, ScenarioRunRecord } from '../../src/certify/types.js';
import { INVARIANT_IDS } from '../../src/simcity/scenarioFile.js';
import { withExercisedHooksStripped } from './fixtures/strippedExercised.js';
import { certifyPhases, createCertifyDatabases, type CertifyTestDatabases } from './helpers.js';

let dbs: CertifyTestDatabases;
let honest: CertificationReport;
let blind: CertificationReport;

beforeAll(async () => {
  dbs = await createCertifyDatabases();
  honest = await certifyPhases(dbs, [1], 11);
  blind = await withExercisedHooksStripped(['double-booking', 'reschedule-atomicity', 'guard-probes'], () => certifyPhases(dbs, [1], 11));
}, 600_000);

afterAll(async () => {
  await dbs.drop();
});

function run(scenarioId: string, invariants: ScenarioRunRecord['invariants']): ScenarioRunRecord {
  return {
    scenarioId,
    title: scenarioId,
    seed: 's',
    iterations: 1,
    verdict: 'pass',
    digest: null,
    stats: { invocations: 1, ok: 1, failed: 0, unknown: 0, faults: 0, oracleChecks: 1 },
    invariants,
    replayCommand: '',
  };
}

describe('the invariants table of a certification', () => {
  it('sums checks, exercised and violations over the runs and judges HELD, VIOLATED and NOT EXERCISED', () => {
    // Proves: the result follows from the counts: violations win, then exercised 0 is NOT EXERCISED, and an invariant nobody checks is listed too.
    const table = aggregateInvariants(
      [
        run('SC-1', [
          { id: 'I1', checks: 5, exercised: 2, violations: 0 },
          { id: 'I6', checks: 5, exercised: 0, violations: 0 },
        ]),
        run('SC-4', [
          { id: 'I1', checks: 3, exercised: 1, violations: 1 },
          { id: 'I3', checks: 3, exercised: 4, violations: 0 },
        ]),
      ],
      [{ id: 'I3', description: 'slot coherence', violations: 0, database: 'normal' }],
    );
    const byId = new Map(table.map((row) => [row.id, row]));
    expect(table.map((row) => row.id)).toEqual([...INVARIANT_IDS]);
    expect(byId.get('I1')).toMatchObject({ checks: 8, exercised: 3, violations: 1, result: 'VIOLATED', scenarios: ['SC-1', 'SC-4'] });
    expect(byId.get('I3')).toMatchObject({ checks: 3, exercised: 4, violations: 0, result: 'HELD' });
    expect(byId.get('I6')).toMatchObject({ checks: 5, exercised: 0, result: 'NOT EXERCISED' });
    expect(byId.get('R1')).toMatchObject({ checks: 0, exercised: 0, result: 'NOT EXERCISED', scenarios: [] });
    const reasons = invariantReasons(table);
    expect(reasons.some((r) => r.startsWith('Invariant I6 NOT EXERCISED: 5 checks by SC-1'))).toBe(true);
    expect(reasons.some((r) => r.startsWith('Invariant R1 NOT EXERCISED: no scenario run checks it'))).toBe(true);
    expect(reasons.some((r) => r.startsWith('Invariant I3'))).toBe(false);
  });

  it('counts a violation found by verify_invariants() on a certification database against its invariant', () => {
    // Proves: a database left broken makes the invariant VIOLATED even when every scenario held it.
    const table = aggregateInvariants(
      [run('SC-1', [{ id: 'I1', checks: 5, exercised: 2, violations: 0 }])],
      [{ id: 'I1', description: 'capacity', violations: 2, database: 'simulation' }],
    );
    expect(table.find((row) => row.id === 'I1')).toMatchObject({ violations: 2, result: 'VIOLATED' });
  });

  it('phase 1 on the real engine exercises and holds I1, I3 and I6 through SC-1 and SC-4', () => {
    // Proves: the catalogue's phase-1 runs are the evidence: their counts reach the report.
    const byId = new Map(honest.invariants.map((row) => [row.id, row]));
    for (const id of ['I1', 'I3', 'I6']) {
      expect(byId.get(id)!.result, JSON.stringify(byId.get(id))).toBe('HELD');
      expect(byId.get(id)!.exercised).toBeGreaterThan(0);
    }
    expect(byId.get('I1')!.scenarios).toEqual(expect.arrayContaining(['SC-1', 'SC-4']));
    const phase = honest.phases.find((p) => p.id === 1)!;
    expect(phase.scenarios!.map((s) => s.scenarioId)).toEqual(expect.arrayContaining(['SC-1', 'SC-4']));
    expect(phase.scenarios!.every((s) => s.verdict === 'pass')).toBe(true);
    expect(phase.scenarios!.every((s) => s.replayCommand.startsWith(`bookiji simcity run ${s.scenarioId} --seed `))).toBe(true);
  });

  it('twin: the same runs with the exercised hooks stripped leave I1 NOT EXERCISED and the verdict NOT CERTIFIED saying so', () => {
    // Proves: checks alone never certify: the same oracles, passing, with no action shown to reach a full slot, give NOT EXERCISED.
    const row = blind.invariants.find((r) => r.id === 'I1')!;
    expect(row.checks).toBe(honest.invariants.find((r) => r.id === 'I1')!.checks);
    expect(row).toMatchObject({ exercised: 0, violations: 0, result: 'NOT EXERCISED' });
    expect(blind.phases.find((p) => p.id === 1)!.status).toBe('PASS');
    expect(blind.verdict).toBe('NOT CERTIFIED');
    expect(blind.reasons.some((r) => r.startsWith('Invariant I1 NOT EXERCISED'))).toBe(true);
    expect(honest.reasons.some((r) => r.startsWith('Invariant I1 '))).toBe(false);
  });
});
