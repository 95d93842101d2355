// How hard each phase pushes. `quick` must finish in a few minutes on two
// shared cores (CI); `full` is for a release. Tests pass their own, smaller
// parameters; the shape is the same.

import { validationError } from '../errors.js';
import type { ProfileName } from './types.js';

export interface ProfileParameters {
  /** Phase 1: parallel connections racing for one slot, per round. */
  contendersPerRound: number;
  /** Phase 1: rounds of the capacity-1 race, and the capacity used for the capacity-N race. */
  contentionRounds: number;
  contentionCapacity: number;
  /** SimCity iterations per catalogue scenario (every phase runs its scenarios). */
  scenarioIterations: number;
  /** Per scenario, where one iteration costs more than the others (a soak's simulated days). */
  scenarioIterationsById?: Record<string, number>;
  scenarioConcurrency: number;
  /** Phase 4: fuzzed inputs per entry point. */
  fuzzRuns: number;
  /** Phase 4: ids probed. */
  probeCount: number;
  /** Phase 5: connections killed mid-transaction. */
  killCount: number;
  /** Phase 7: operations in the soak, and how many parallel workers run them. */
  soakOperations: number;
  soakWorkers: number;
  /** Phase 7: simulated days the soak spans. */
  soakDays: number;
}

export const PROFILES: Record<ProfileName, ProfileParameters> = {
  quick: {
    contendersPerRound: 16,
    contentionRounds: 5,
    contentionCapacity: 3,
    scenarioIterations: 20,
    // SC-3 and SC-6 run fewer quick iterations: each starts real `serve`
    // processes; SC-6 kills and restarts them, and past about eight
    // iterations on a loaded two-core machine a restarted serve did not
    // always answer in time. The full profile runs them at full length.
    scenarioIterationsById: { 'SC-3': 6, 'SC-6': 6 },
    scenarioConcurrency: 8,
    fuzzRuns: 200,
    probeCount: 200,
    killCount: 6,
    soakOperations: 10_000,
    soakWorkers: 4,
    soakDays: 14,
  },
  full: {
    contendersPerRound: 48,
    contentionRounds: 20,
    contentionCapacity: 5,
    scenarioIterations: 200,
    scenarioConcurrency: 16,
    fuzzRuns: 2_000,
    probeCount: 2_000,
    killCount: 30,
    soakOperations: 50_000,
    soakWorkers: 8,
    soakDays: 60,
  },
};

export function profileNamed(name: string): ProfileName {
  if (name === 'quick' || name === 'full') return name;
  throw validationError('profile', `expected quick or full, got ${JSON.stringify(name)}`);
}
