// Proves: every mutant of the catalogue applies to today's engine and its witness tells it apart from the real engine (held on the real one, broken on the mutant), so no mutant is a silent no-op.
import { describe, expect, it } from 'vitest';
import { MUTANTS, witnessMutant } from '../../src/certify/mutants/index.js';
import { testTemplates } from './mutantsHelpers.js';

describe.concurrent('the mutant catalogue', () => {
  it('has at least 24 mutants with unique ids, SQL and TypeScript, covering I1–I10, P1–P4 and R1–R4', () => {
    expect(MUTANTS.length).toBeGreaterThanOrEqual(24);
    expect(new Set(MUTANTS.map((m) => m.id)).size).toBe(MUTANTS.length);
    expect(new Set(MUTANTS.map((m) => m.language))).toEqual(new Set(['sql', 'typescript']));
    const covered = new Set(MUTANTS.flatMap((m) => m.invariants));
    const wanted = [...Array.from({ length: 10 }, (_, i) => `I${i + 1}`), 'P1', 'P2', 'P3', 'P4', 'R1', 'R2', 'R3', 'R4'];
    expect(wanted.filter((id) => !covered.has(id))).toEqual([]);
  });

  for (const mutant of MUTANTS) {
    it(`${mutant.id}: the witness holds on the real engine and fails on the mutant`, async () => {
      const witness = await witnessMutant(mutant, testTemplates());
      expect(witness.real.held, witness.real.observed).toBe(true);
      expect(witness.mutant.held, witness.mutant.observed).toBe(false);
    }, 120_000);
  }
});
