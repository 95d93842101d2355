// Which of a scenario's declared invariants its run exercised, from the
// driver's own `exercised` hook over the run's history (the test asks for
// the whole history with lastActionsMax). A declared invariant nothing
// exercised would make a certification NOT EXERCISED.

import { drivers } from '../../src/simcity/drivers/registry.js';
import { loadScenario } from '../../src/simcity/scenarioFile.js';
import type { ScenarioResult } from '../../src/simcity/index.js';

/** Hooks that look at the fixture get an empty one: only what the events themselves show is counted. */
const EMPTY_FIXTURE = { vendorId: '', names: {}, slotIds: {}, time: { now: new Date(0).toISOString(), transitions: [], holds: [] } };

export function unexercisedInvariants(result: ScenarioResult): string[] {
  const definition = loadScenario(result.scenarioId);
  const driver = drivers[definition.driver]!;
  const reached = new Set(result.historyTail.flatMap((event) => (event.type === 'invoke' ? [] : [...(driver.exercised?.(event, EMPTY_FIXTURE) ?? [])])));
  return (definition.invariants ?? []).filter((id) => !reached.has(id));
}
