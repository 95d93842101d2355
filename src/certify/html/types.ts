// The view model of the certification HTML page: what the page shows, in the
// shape easiest to render, decoupled from the certifier's own report types so
// that either can change without the other. The certifier maps its report to
// this; everything optional may simply be left out.
//
// Glossary:
// - phase: one of the seven certification phases of SPEC §4, with its verdict,
//   the numbers that back it and one line per piece of evidence.
// - invariant: one of SPEC §1's I1–I10 (or P1–P4, R1–R4), with how often the
//   scenarios checked and exercised it and how often it was violated.
// - soak bucket: a slice of consecutive soak operations with its latency
//   percentiles and the simulated day it reached.
// - contention test: N contenders racing for one resource; the winners must be
//   exactly as many as the resource allows, the rest conflicts.

export type CertificationVerdict = 'CERTIFIED' | 'NOT CERTIFIED';

export interface PhaseView {
  id: number;
  name: string;
  passed: boolean;
  durationMs: number;
  /** One line per piece of evidence, shown as written (escaped). */
  evidence: string[];
  /** The key numbers, e.g. `{ contenders: 50, winners: 1 }`. */
  numbers: Record<string, number | string>;
  /** Why it failed, or a one-line summary. */
  summary?: string;
}

export interface InvariantView {
  id: string;
  name: string;
  passed: boolean;
  detail?: string;
  /** Oracle runs that judged it, over every scenario of the certification. */
  checks?: number;
  /** Actions that reached a state where a broken engine would have broken it. */
  exercised?: number;
  violations?: number;
  /** HELD, VIOLATED or NOT EXERCISED; without it the badge says HELD or VIOLATED from `passed`. */
  result?: string;
}

export interface SoakBucketView {
  index: number;
  /** Operations done when the bucket closed (cumulative). */
  opsDone: number;
  p50Ms: number;
  p95Ms: number;
  simulatedDay: number | string;
}

/** Row counts of some tables at one point of the soak. */
export interface TableSizeSampleView {
  opsDone: number;
  rows: Record<string, number>;
}

/** Holds left behind (past their TTL and not released) at one point of the soak. */
export interface LeftoverHoldsSampleView {
  opsDone: number;
  holds: number;
}

export interface SoakView {
  buckets: SoakBucketView[];
  tableSizes?: TableSizeSampleView[];
  leftoverHolds?: LeftoverHoldsSampleView[];
}

export interface ContentionView {
  name: string;
  contenders: number;
  winners: number;
  conflicts: number;
  p50Ms: number;
  p99Ms: number;
}

export interface CertificationReportView {
  verdict: CertificationVerdict;
  /** Defaults to "Bookiji certification". */
  title?: string;
  /** When the run finished, as the certifier wrote it (ISO 8601). */
  generatedAt?: string;
  /** What was certified: the signed Statement's subjects. */
  subject?: { gitCommit?: string; schemaSha256?: string };
  /** How the JSON is signed, so a reader knows what to verify. */
  signature?: { keyId?: string; envelopeFile?: string };
  /** Why the verdict is what it is, most important first (shown in the banner). */
  reasons?: string[];
  /** How to rerun exactly this certification, e.g. `bookiji certify --seed 42`. */
  reproduceCommand?: string;
  environment: Record<string, string>;
  /** Named seeds (`{ master: 42 }`) or a plain list. */
  seeds: Record<string, number | string> | Array<number | string>;
  phases: PhaseView[];
  invariants: InvariantView[];
  soak?: SoakView;
  contention?: ContentionView[];
}
