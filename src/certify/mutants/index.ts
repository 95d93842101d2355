// `bookiji certify mutants`: the engine's mutant catalogue, run against the certifier.

export { MUTANTS, mutantNamed } from './catalogue/index.js';
export { runMutants, runOneMutant, selectMutants, witnessMutant, type RunMutantsOptions } from './runner.js';
export {
  catalogueDigest,
  summarize,
  writeMutationReport,
  mutationTestingReport,
  mutationScoreOf,
  MUTATION_REPORT_FILE,
  type MutationSummary,
} from './report.js';
export { MUTANT_PROFILES } from './profiles.js';
export type { MutantTemplates } from './databases.js';
export type { Mutant, MutantOutcome, WitnessResult } from './types.js';
