// The certification report: what `bookiji certify` writes, signs and verifies.
//
// Glossary
// - Phase: one of the seven of SPEC §4. It passes only when every check in
//   it passed, and it has at least one check: a phase with nothing to show
//   cannot pass.
// - Check: one piece of evidence: what was attempted, what the engine did,
//   and the numbers. Each check is written so that it would fail on an
//   engine without the protection it is about (the twin tests prove it with
//   deliberately broken engines).
// - Status: PASS, FAIL, or NOT RUN (excluded with --phases, or its scenario
//   is not available in this build). Only PASS counts: CERTIFIED needs seven.
// - Profile: how hard the phases push (quick for CI, full for a release).

export type PhaseId = 1 | 2 | 3 | 4 | 5 | 6 | 7;
export const PHASE_IDS: readonly PhaseId[] = [1, 2, 3, 4, 5, 6, 7];

export type PhaseStatus = 'PASS' | 'FAIL' | 'NOT RUN';
export type Verdict = 'CERTIFIED' | 'NOT CERTIFIED';
export type ProfileName = 'quick' | 'full';

export interface Check {
  name: string;
  passed: boolean;
  /** What happened, in one or two sentences. */
  detail: string;
  numbers?: Record<string, number | string>;
}

export interface PhaseResult {
  id: PhaseId;
  key: string;
  name: string;
  status: PhaseStatus;
  durationMs: number;
  seed: number;
  checks: Check[];
  /** The key figures of the phase, for tables and charts. */
  numbers: Record<string, number | string>;
  /** One line: why it passed, or which evidence failed. */
  summary: string;
  /** Extra series for charts (contention rounds, soak buckets). */
  series?: Record<string, unknown>;
  /** The catalogue's scenarios this phase ran: its evidence. */
  scenarios?: ScenarioRunRecord[];
}

/** One SimCity run as certification evidence: enough to judge it and to replay it. */
export interface ScenarioRunRecord {
  scenarioId: string;
  title: string;
  seed: string;
  iterations: number;
  verdict: 'pass' | 'violation' | 'undecided' | 'error';
  digest: string | null;
  stats: { invocations: number; ok: number; failed: number; unknown: number; faults: number; oracleChecks: number };
  invariants: Array<{ id: string; checks: number; exercised: number; violations: number }>;
  replayCommand: string;
}

/**
 * HELD: checked, exercised and never violated. VIOLATED: a scenario or a
 * certification database found it broken. NOT EXERCISED: no scenario run
 * reached a state where a broken engine would have broken it, so "held"
 * would prove nothing.
 */
export type InvariantOutcome = 'HELD' | 'VIOLATED' | 'NOT EXERCISED';

/** One invariant over the whole certification: the catalogue's counts plus verify_invariants() on its databases. */
export interface InvariantVerdict {
  id: string;
  description: string;
  checks: number;
  exercised: number;
  /** Scenario findings plus violations verify_invariants() counted on the certification databases. */
  violations: number;
  result: InvariantOutcome;
  /** The scenarios whose oracles judged it. */
  scenarios: string[];
}

export interface InvariantResult {
  id: string;
  description: string;
  violations: number;
  /** Which certification database the count comes from. */
  database: string;
}

export interface Environment {
  gitCommit: string;
  gitDirty: boolean | null;
  schemaDigest: string;
  migrations: Array<{ version: number; name: string; checksum: string }>;
  postgresVersion: string;
  toolVersion: string;
  node: string;
  platform: string;
  cpus: number;
}

export interface CertificationReport {
  certification: 'scheduling-certification-v1';
  verdict: Verdict;
  /** Why the verdict is what it is: the failing phases and their evidence. */
  reasons: string[];
  profile: ProfileName;
  seeds: { master: number; phases: Record<string, number> };
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  environment: Environment;
  phases: PhaseResult[];
  /** Per invariant I1–I10, P1–P4, R1–R4: checks, exercised, violations, result. */
  invariants: InvariantVerdict[];
  /** verify_invariants() and its companions on each certification database after the phases. */
  databaseChecks: InvariantResult[];
  reproduceCommand: string;
}
