// SimCity's nouns, as the runtime, the CLI and the certifier see them.
//
// Glossary
// - Scenario: fixtures + an action generator + oracles + a terminal-state
//   check, declared as data in scenarios/<ID>.json and driven by one of the
//   drivers in src/simcity/drivers/.
// - Seed: a string that fixes the parameter set, the fixtures plan, the action
//   schedule and the fault plan. The interleaving the database sees is real.
// - History: every operation's invocation and completion, as Jepsen records
//   them: ok (took effect), fail (did not, with its code) or unknown (timed
//   out or its connection died: it may or may not have taken effect). Faults
//   (restart_simcity) sit in the same history.
// - Oracle: a named check over the database's truth, run after every action.
// - Verdict: pass, violation (an oracle or the terminal check failed) or
//   undecided (an outcome could not be established): only pass passes.

import type { Pool } from '../db/pool.js';

export type Verdict = 'pass' | 'violation' | 'undecided';

/** One planned step: symbolic (names, not database ids), so a seed always plans the same thing. */
export interface PlannedAction {
  kind: string;
  args: Record<string, string | number>;
}

export interface IterationPlan {
  iteration: number;
  fixtures: Record<string, unknown>;
  actions: PlannedAction[];
  /** Run after the chaos settles, awaited one by one, so every intent ends with a definite outcome. */
  settle: PlannedAction[];
}

export type EventType = 'invoke' | 'ok' | 'fail' | 'unknown';

export interface HistoryEvent {
  /** Position in the run's history. */
  index: number;
  iteration: number;
  /** Position of the action in its iteration's plan (settle actions continue the count). */
  step: number;
  /** The client connection slot that ran it (c0…), `nemesis` for faults, `settle` for the settle phase. */
  process: string;
  type: EventType;
  action: string;
  args: Record<string, string | number>;
  /** What an ok completion returned (a booking id, replayed or not). */
  value?: Record<string, unknown>;
  /** The error code of a fail, or why an outcome is unknown. */
  error?: string;
  message?: string;
  /** Milliseconds since the run started. */
  atMs: number;
}

export interface ScenarioParameters {
  seed: string;
  iterations: number;
  /** Requests in flight at once, over that many pool connections. */
  concurrency: number;
  actionsPerIteration: number;
  /** Probability of each action kind in the schedule. */
  actionMix: Record<string, number>;
  /** Share of client requests per path (engine = direct, http = the partner API served in-process). */
  paths: Record<string, number>;
  fixtures: Record<string, unknown>;
}

export interface Violation {
  oracle: string;
  message: string;
  iteration: number;
  /** The step after which the oracle failed; -1 for the terminal check. */
  step: number;
  evidence?: unknown;
}

export interface ForensicSnapshot {
  scenarioId: string;
  iteration: number;
  vendorId: string;
  slots: Array<Record<string, unknown>>;
  bookings: Array<Record<string, unknown>>;
  transitions: Array<Record<string, unknown>>;
  auditRows: Array<Record<string, unknown>>;
  /** Payment rows of the vendor, when the schema has a payments table. */
  payments: Array<Record<string, unknown>>;
  lastActions: HistoryEvent[];
  /** Symbolic names to database ids (C1 → uuid, S → uuid, intent_A → key). */
  names: Record<string, string>;
}

export interface ScenarioStats {
  iterations: number;
  invocations: number;
  ok: number;
  failed: number;
  unknown: number;
  faults: number;
  oracleChecks: number;
  /** Completions by error code. */
  errorCodes: Record<string, number>;
  /** Client requests by path (engine, http). */
  requestsByPath: Record<string, number>;
  /** Terminal states reached (SC-1: STATE 1 / STATE 2). */
  terminalStates: Record<string, number>;
}

/**
 * Per invariant, what a run showed: `checks` oracle runs that judge it,
 * `exercised` completed actions that reached a state where a broken engine
 * would have violated it (a claim meeting a full slot for I1), `violations`
 * findings against it. Held with `exercised: 0` proves nothing.
 */
export interface InvariantTally {
  id: string;
  checks: number;
  exercised: number;
  violations: number;
}

export interface ScenarioResult {
  scenarioId: string;
  title: string;
  seed: string;
  /** The commit the run was made on (`git rev-parse HEAD`), part of the replay key. */
  commit: string | null;
  passed: boolean;
  verdict: Verdict;
  /** SHA-256 of the planned action trace (fixtures plan, actions, faults, settle): same seed ⇒ same digest. */
  digest: string;
  parameters: ScenarioParameters;
  /** Client actions and faults executed. */
  actions: number;
  violations: Violation[];
  forensicSnapshot?: ForensicSnapshot;
  replayCommand: string;
  durationMs: number;
  stats: ScenarioStats;
  /** Per invariant its oracles check: checks, exercised, violations. */
  invariants: InvariantTally[];
  /** The tail of the history (the whole history can be large). */
  historyTail: HistoryEvent[];
}

export interface Progress {
  scenarioId: string;
  iteration: number;
  iterations: number;
  actions: number;
  violations: number;
}

export interface RunScenarioOptions {
  scenarioId: string;
  seed: string;
  /** Default: the scenario's own (SC-1: 50). */
  iterations?: number;
  /** Overrides the seed's concurrency. */
  concurrency?: number;
  /** A pool on the target database (fixtures and oracles use it; client pools copy its settings). */
  pool?: Pool;
  /** Or a connection string. With neither, the CLI's database (DATABASE_URL or the embedded server). */
  connectionString?: string;
  onProgress?: (progress: Progress) => void;
  /** Replay key override; default `git rev-parse HEAD` or GITHUB_SHA. */
  commit?: string | null;
  /** How many history events a forensic snapshot keeps. Default 30. */
  lastActionsMax?: number;
  /**
   * Target mode: send the HTTP half of the client actions to this running
   * `bookiji serve` (another process) instead of an API started in-process.
   * The truth is still read from the database given above.
   */
  targetUrl?: string;
  /** The partner API key for `targetUrl` (`bookiji apikey create`). */
  apiKey?: string;
}
