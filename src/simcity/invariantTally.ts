// Per invariant, what a run showed: how often an oracle judged it (checks),
// how often an action reached a state where a broken engine would have
// broken it (exercised, from the driver's `exercised` hook), and how often
// it was found broken (violations). A scenario file names its invariants;
// each must be judged by one of its oracles, per the driver's
// `oracleInvariants`, so a file cannot claim an invariant nobody checks.

import { BookijiError } from '../errors.js';
import type { AnyDriver, Finding, Fixture } from './drivers/driver.js';
import type { ScenarioDefinition } from './scenarioFile.js';
import type { HistoryEvent, InvariantTally } from './types.js';

/** The invariants the scenario's oracles check, by the driver's map; refuses a file claiming others. */
export function checkedInvariants(definition: ScenarioDefinition, driver: AnyDriver): string[] {
  const map = driver.oracleInvariants ?? {};
  const checked = new Set(definition.oracles.flatMap((oracle) => map[oracle] ?? []));
  const unchecked = definition.invariants.filter((id) => !checked.has(id));
  if (unchecked.length > 0) {
    throw new BookijiError('INTERNAL_ERROR', `scenario ${definition.id} claims invariants none of its oracles checks: ${unchecked.join(', ')}`);
  }
  return definition.invariants;
}

export class InvariantCounter {
  private readonly tallies = new Map<string, InvariantTally>();
  private readonly byOracle: Record<string, readonly string[]>;

  constructor(
    private readonly definition: ScenarioDefinition,
    private readonly driver: AnyDriver,
  ) {
    for (const id of checkedInvariants(definition, driver)) this.tallies.set(id, { id, checks: 0, exercised: 0, violations: 0 });
    this.byOracle = driver.oracleInvariants ?? {};
  }

  /** One run of the scenario's oracles: after an action, or the terminal check (which also runs the terminal-only ones). */
  countCheck(terminal = false): void {
    const terminalOnly = this.driver.terminalOracles ?? [];
    for (const oracle of this.definition.oracles) {
      if (terminal || !terminalOnly.includes(oracle)) this.add(this.byOracle[oracle] ?? [], 'checks');
    }
  }

  /** One completed action (ok, fail or unknown): which dangerous states it reached. */
  countCompletion(event: HistoryEvent, fixture: Fixture): void {
    if (event.type === 'invoke' || !this.driver.exercised) return;
    this.add(this.driver.exercised(event, fixture), 'exercised');
  }

  countFindings(findings: Finding[]): void {
    for (const finding of findings) this.add(this.byOracle[finding.oracle] ?? [], 'violations');
  }

  result(): InvariantTally[] {
    return [...this.tallies.values()].map((tally) => ({ ...tally }));
  }

  private add(ids: readonly string[], field: 'checks' | 'exercised' | 'violations'): void {
    // An oracle mapping an id twice still judged it once.
    for (const id of new Set(ids)) {
      const tally = this.tallies.get(id);
      if (tally) tally[field] += 1;
    }
  }
}
