// What a phase gets: two fresh databases of its own on the target server (a
// normal one, and one created for simulation whose clock may move), the
// parameters of the profile, and a seed. Phases never touch the user's data.

import seedrandom from 'seedrandom';
import type { Pool } from '../db/pool.js';
import type { ProfileParameters } from './profiles.js';
import type { ScenarioRunRecord } from './types.js';

export interface CertifyDatabase {
  name: string;
  connectionString: string;
  pool: Pool;
}

export interface PhaseContext {
  normal: CertifyDatabase;
  simulation: CertifyDatabase;
  /** Connection string of a role that may terminate other sessions (phase 5), usually the same server's admin. */
  adminConnectionString: string;
  params: ProfileParameters;
  seed: number;
  /** A deterministic random source for one purpose within the phase. */
  random(label: string): () => number;
  /** Progress lines for people watching (stderr); phases stay quiet otherwise. */
  log(message: string): void;
  /** Every SimCity run of the phase lands here; the runner aggregates them per invariant. */
  scenarios: ScenarioRunRecord[];
}

export function makeRandom(seed: number, label: string): () => number {
  return seedrandom(`${seed}:${label}`);
}

/** Derives a phase's seed from the master seed, so one number replays the whole run. */
export function phaseSeed(master: number, phase: number): number {
  return Math.floor(seedrandom(`bookiji-certify:${master}:${phase}`)() * 2 ** 31);
}
