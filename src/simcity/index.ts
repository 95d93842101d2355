// SimCity's public API: what the CLI and the certifier call.

export type {
  ForensicSnapshot,
  HistoryEvent,
  PlannedAction,
  Progress,
  RunScenarioOptions,
  ScenarioParameters,
  ScenarioResult,
  ScenarioStats,
  Verdict,
  Violation,
} from './types.js';
export { runScenario } from './runtime.js';
export { listScenarios, loadScenario, type ScenarioDefinition } from './scenarioFile.js';
export { formatSnapshot, formatViolation } from './forensics.js';
export { toJUnitXml } from './junit.js';
export { explore, listRaces, type ExploreOptions, type ExploreResult, type PermutationResult } from './explorer/explore.js';
