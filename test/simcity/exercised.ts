// Which of the invariants a scenario exists to attack its run left
// unexercised, from the driver's own `exercised` hook over the run's history
// (the test asks for the whole history with lastActionsMax). A scenario file
// declares every invariant its oracles check; some it only checks (another
// scenario of the catalogue brings them to their dangerous state), so each
// test names the ones this scenario must reach itself.

import { expect } from 'vitest';
import { drivers } from '../../src/simcity/drivers/registry.js';
import { runScenario } from '../../src/simcity/index.js';
import { loadScenario } from '../../src/simcity/scenarioFile.js';
import type { ScenarioResult } from '../../src/simcity/index.js';

/** Hooks that look at the fixture get an empty one: only what the events themselves show is counted. */
const EMPTY_FIXTURE = { vendorId: '', names: {}, slotIds: {}, time: { now: new Date(0).toISOString(), transitions: [], holds: [] } };

export function unexercisedInvariants(result: ScenarioResult, mustReach: readonly string[]): string[] {
  const definition = loadScenario(result.scenarioId);
  const driver = drivers[definition.driver]!;
  const reached = new Set(result.historyTail.flatMap((event) => (event.type === 'invoke' ? [] : [...(driver.exercised?.(event, EMPTY_FIXTURE) ?? [])])));
  return mustReach.filter((id) => !(definition.invariants ?? []).includes(id) || !reached.has(id));
}

/**
 * Runs a scenario's fixed seed on the shipped engine with its whole history and
 * asserts what every such test asserts: no violation, a pass, and each of
 * `mustReach` brought to its dangerous state at least once. Returns the result
 * for the scenario's own assertions.
 */
export async function expectShippedEnginePasses(
  scenarioId: string,
  connectionString: string,
  options: { iterations: number; mustReach: readonly string[] },
): Promise<ScenarioResult> {
  const result = await runScenario({ scenarioId, seed: 'pr-1', iterations: options.iterations, connectionString, commit: 'test', lastActionsMax: 10_000 });
  expect(result.violations, JSON.stringify(result.violations).slice(0, 3000)).toEqual([]);
  expect(result.passed).toBe(true);
  // Every invariant the scenario file declares was brought to its dangerous state at least once.
  expect(unexercisedInvariants(result, options.mustReach)).toEqual([]);
  return result;
}
