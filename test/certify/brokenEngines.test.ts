import { afterEach, describe, expect, it } from 'vitest';
import type { PhaseId } from '../../src/certify/types.js';
import { BROKEN_ENGINES } from './brokenEngines.js';
import { certifyPhases, createCertifyDatabases, SMALL, type CertifyTestDatabases } from './helpers.js';

// What each phase's failing evidence must name.
const EXPECTED_FAILURE: Record<PhaseId, RegExp> = {
  1: /capacity 1: .* racing for one slot|invariants hold/,
  2: /SimCity SC-2/,
  3: /SimCity SC-3/,
  4: /SimCity SC-5/,
  5: /SimCity SC-6/,
  6: /SimCity SC-7/,
  7: /SimCity SC-8/,
};

let dbs: CertifyTestDatabases | undefined;

afterEach(async () => {
  await dbs?.drop();
  dbs = undefined;
});

describe('each phase fails against an engine broken where it looks', () => {
  for (const id of [1, 2, 3, 4, 5, 6, 7] as PhaseId[]) {
    it(`phase ${id} says NOT CERTIFIED against ${BROKEN_ENGINES[id]!.what}`, async () => {
      // Proves: the phase's evidence would have caught this broken engine, and the verdict names the phase and the evidence.
      dbs = await createCertifyDatabases();
      await BROKEN_ENGINES[id]!.apply(dbs.normal.pool);
      await BROKEN_ENGINES[id]!.apply(dbs.simulation.pool);
      // SC-2 opens every iteration with a client claiming "I paid" before paying, so the small profile is enough.
      const report = await certifyPhases(dbs, [id], 7, SMALL);
      const phase = report.phases.find((p) => p.id === id)!;
      expect(report.verdict).toBe('NOT CERTIFIED');
      expect(phase.status).toBe('FAIL');
      const failing = phase.checks
        .filter((c) => !c.passed)
        .map((c) => c.name)
        .join(' | ');
      expect(failing).toMatch(EXPECTED_FAILURE[id]);
      expect(report.reasons.some((r) => r.startsWith(`Phase ${id} (`) && EXPECTED_FAILURE[id].test(r))).toBe(true);
    }, 240_000);
  }
});
