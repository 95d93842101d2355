// Which of the invariants a scenario exists to attack its run left
// unexercised, from the driver's own `exercised` hook over the run's history
// (the test asks for the whole history with lastActionsMax). A scenario file
// declares every invariant its oracles check; some it only checks (another
// scenario of the catalogue brings them to their dangerous state), so each
// test names the ones this scenario must reach itself.

import { drivers } from '../../src/simcity/drivers/registry.js';
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
