// How hard the certifier pushes each mutant. `quick` keeps the whole
// catalogue within minutes on two shared cores (fail-fast does the rest);
// `full` certifies every mutant with the certify quick profile.

import { PROFILES, type ProfileParameters } from '../profiles.js';
import type { ProfileName } from '../types.js';

export const MUTANT_PROFILES: Record<ProfileName, ProfileParameters> = {
  quick: {
    contendersPerRound: 8,
    contentionRounds: 2,
    contentionCapacity: 2,
    scenarioIterations: 4,
    scenarioConcurrency: 4,
    fuzzRuns: 40,
    probeCount: 30,
    killCount: 3,
    soakOperations: 500,
    soakWorkers: 3,
    soakDays: 4,
  },
  full: PROFILES.quick,
};

/** A mutant's certification never runs longer than this: a stuck run is an error, never a kill. */
export const CERTIFY_TIMEOUT_MS: Record<ProfileName, number> = { quick: 12 * 60_000, full: 45 * 60_000 };
export const WITNESS_TIMEOUT_MS = 120_000;
