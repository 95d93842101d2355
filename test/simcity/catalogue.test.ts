// The SimCity catalogue as certification evidence: every phase 1–7 has a
// scenario, together they check every invariant, and no scenario file claims
// an invariant its driver's oracles do not check. The first test is the
// integrator's gate: it passes once every helper's scenarios are merged.
import { describe, expect, it } from 'vitest';
import { checkedInvariants } from '../../src/simcity/invariantTally.js';
import { drivers } from '../../src/simcity/drivers/registry.js';
import { INVARIANT_IDS, listScenarios } from '../../src/simcity/scenarioFile.js';

describe('the SimCity catalogue', () => {
  it('covers every phase 1–7 and every invariant I1–I10, P1–P4, R1–R4', () => {
    // Proves: certify has scenario evidence for each phase and each invariant (SPEC §5).
    const scenarios = listScenarios();
    const phases = new Set(scenarios.map((s) => s.phase));
    const covered = new Set(scenarios.flatMap((s) => s.invariants));
    expect([1, 2, 3, 4, 5, 6, 7].filter((phase) => !phases.has(phase))).toEqual([]);
    expect(INVARIANT_IDS.filter((id) => !covered.has(id))).toEqual([]);
  });

  it('has each scenario claim exactly the invariants its oracles check, with a driver that reports exercised actions', () => {
    // Proves: a scenario's invariants are its driver's (oracle → invariant map), not a label; and it can show them exercised.
    for (const definition of listScenarios()) {
      const driver = drivers[definition.driver];
      expect(driver, `${definition.id} names driver ${definition.driver}`).toBeDefined();
      expect(checkedInvariants(definition, driver!)).toEqual(definition.invariants);
      const derived = new Set(definition.oracles.flatMap((oracle) => driver!.oracleInvariants?.[oracle] ?? []));
      expect(
        [...derived].filter((id) => !definition.invariants.includes(id)),
        `${definition.id}: oracles check invariants the file does not list`,
      ).toEqual([]);
      expect(typeof driver!.exercised, `${definition.id}: its driver has no exercised hook`).toBe('function');
    }
  });

  it('refuses a scenario file that claims an invariant none of its oracles checks', () => {
    // Proves: the runtime's guard (checkedInvariants) is not a formality: a claimed I2 on SC-1 is an error.
    const sc1 = listScenarios().find((s) => s.id === 'SC-1')!;
    expect(() => checkedInvariants({ ...sc1, invariants: [...sc1.invariants, 'I2'] }, drivers[sc1.driver]!)).toThrow(
      /claims invariants none of its oracles checks: I2/,
    );
  });
});
