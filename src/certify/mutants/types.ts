// The mutant catalogue's nouns.
//
// Glossary
// - Mutant: one small, plausible bug in the engine, named after what it
//   breaks: a SQL change applied to freshly migrated databases (a function
//   with one guard rewritten, a constraint or trigger removed), or a
//   TypeScript change applied to a copy of dist/ that a child process runs.
//   The shipped engine never contains a switch for it.
// - Witness: a small scripted action whose outcome differs between the real
//   engine and the mutant. It runs on both; a mutant the witness cannot tell
//   apart from the real engine is listed as equivalent and never counted.
// - Killed: some certification check failed against the mutant (fail-fast:
//   the first failing phase stops the run). Survived: every phase passed.

import type { Pool } from '../../db/pool.js';
import type { PhaseId } from '../types.js';

export type MutantLanguage = 'sql' | 'typescript';

/** What a witness gets: its own databases (normal, and one created for simulation), possibly mutated. */
export interface WitnessEnv {
  normal: Pool;
  simulation: Pool;
  normalConnectionString: string;
}

export interface WitnessResult {
  /** True when the guard behaved as the real engine's does. */
  held: boolean;
  /** What was observed, in one sentence. */
  observed: string;
}

/** A one-place textual change of a dist file, relative to dist/ (TypeScript mutants). */
export interface DistPatch {
  file: string;
  from: string;
  to: string;
}

export interface Mutant {
  /** Named after what it breaks, kebab-case. */
  id: string;
  title: string;
  language: MutantLanguage;
  /** The invariants the removed guard protects (I1–I10, P1–P4, R1–R4). */
  invariants: readonly string[];
  /** The phase that should catch it, tried first, and what in it should. */
  phase: PhaseId;
  expectedCatcher: string;
  /** Where the guard lives, for the report: a migration or a src file, and the text changed. */
  source: { file: string; original: string; replacement: string };
  /** SQL mutants: applied to every certification database after migrating. */
  apply?(pool: Pool): Promise<void>;
  /** TypeScript mutants: the dist file patched in the child's copy. */
  patch?: DistPatch;
  witness(env: WitnessEnv): Promise<WitnessResult>;
}

export type MutantStatus = 'killed' | 'survived' | 'equivalent' | 'error';

export interface MutantOutcome {
  id: string;
  title: string;
  language: MutantLanguage;
  invariants: readonly string[];
  status: MutantStatus;
  /** The phase (and check) that failed, when killed. */
  killedBy?: { phase: PhaseId; check: string; detail: string };
  /** The phase that should have caught a survivor. */
  shouldBeCaughtBy?: string;
  witness?: { real: WitnessResult; mutant: WitnessResult };
  /** Why the mutant could not be run (does not apply any more, setup failed). */
  error?: string;
  phasesRun: PhaseId[];
  durationMs: number;
}
