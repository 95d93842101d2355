// Runs the phases against databases it is given, and judges: CERTIFIED only
// when all seven phases passed, the invariants hold on every certification
// database afterwards, and every invariant was exercised by the catalogue's
// scenario runs (checked, met in its dangerous state, never violated). A phase that throws is a FAIL with the error as its
// evidence; a phase not selected is NOT RUN. Nothing is hard-coded: every
// status comes from the checks the phase recorded.

import { verifyInvariants } from '../engine/verify.js';
import { makeRandom, phaseSeed, type CertifyDatabase, type PhaseContext } from './context.js';
import { collectEnvironment } from './environment.js';
import { describeError } from './evidence.js';
import { aggregateInvariants, invariantReasons } from './invariants.js';
import { PHASES, type PhaseDefinition } from './phases/index.js';
import { PROFILES, type ProfileParameters } from './profiles.js';
import {
  PHASE_IDS,
  type CertificationReport,
  type Check,
  type InvariantResult,
  type PhaseId,
  type PhaseResult,
  type PhaseStatus,
  type ProfileName,
} from './types.js';

export interface RunCertificationOptions {
  normal: CertifyDatabase;
  simulation: CertifyDatabase;
  adminConnectionString: string;
  profile: ProfileName;
  /** Overrides the profile's parameters (tests run small). */
  params?: ProfileParameters;
  seed: number;
  /** Default: all seven. */
  phases?: readonly PhaseId[];
  log?: (message: string) => void;
  reproduceCommand?: string;
}

const NOT_RUN_PREFIX = 'not run:';

function statusOf(checks: Check[]): PhaseStatus {
  if (checks.length > 0 && checks.every((c) => c.passed)) return 'PASS';
  const failed = checks.filter((c) => !c.passed);
  return failed.length > 0 && failed.every((c) => c.detail.startsWith(NOT_RUN_PREFIX)) ? 'NOT RUN' : 'FAIL';
}

function summaryOf(status: PhaseStatus, checks: Check[]): string {
  if (status === 'PASS') return `${checks.length} checks passed`;
  const failed = checks.filter((c) => !c.passed);
  if (failed.length === 0) return 'no evidence was recorded';
  return failed.map((c) => `${c.name}: ${c.detail}`).join(' || ');
}

function notRunPhase(phase: PhaseDefinition, seed: number): PhaseResult {
  return {
    id: phase.id,
    key: phase.key,
    name: phase.name,
    status: 'NOT RUN',
    durationMs: 0,
    seed,
    checks: [],
    numbers: {},
    summary: 'not selected for this run',
  };
}

/** Runs one phase with its own seed; a phase that throws is a FAIL naming the error. */
async function runPhase(
  phase: PhaseDefinition,
  seed: number,
  options: RunCertificationOptions,
  params: ProfileParameters,
  log: (message: string) => void,
): Promise<PhaseResult> {
  log(`phase ${phase.id}: ${phase.name}`);
  const ctx: PhaseContext = {
    normal: options.normal,
    simulation: options.simulation,
    adminConnectionString: options.adminConnectionString,
    params,
    seed,
    random: (label) => makeRandom(seed, label),
    log,
    scenarios: [],
  };
  const started = performance.now();
  try {
    const outcome = await phase.run(ctx);
    const status = statusOf(outcome.checks);
    return {
      id: phase.id,
      key: phase.key,
      name: phase.name,
      status,
      durationMs: Math.round(performance.now() - started),
      seed,
      checks: outcome.checks,
      numbers: outcome.numbers,
      summary: summaryOf(status, outcome.checks),
      ...(outcome.series ? { series: outcome.series } : {}),
      scenarios: ctx.scenarios,
    };
  } catch (error) {
    const checks: Check[] = [{ name: 'phase ran to completion', passed: false, detail: `the phase stopped with an error: ${describeError(error)}` }];
    return {
      id: phase.id,
      key: phase.key,
      name: phase.name,
      status: 'FAIL',
      durationMs: Math.round(performance.now() - started),
      seed,
      checks,
      numbers: {},
      summary: summaryOf('FAIL', checks),
      scenarios: ctx.scenarios,
    };
  }
}

/** verify_invariants() on both certification databases; a run that fails counts as a violation. */
async function runDatabaseChecks(options: RunCertificationOptions): Promise<InvariantResult[]> {
  const databaseChecks: InvariantResult[] = [];
  for (const [label, db] of [
    ['normal', options.normal],
    ['simulation', options.simulation],
  ] as const) {
    try {
      for (const c of await verifyInvariants(db.pool))
        databaseChecks.push({ id: c.checkId, description: c.description, violations: c.violations, database: label });
    } catch (error) {
      databaseChecks.push({ id: 'verify', description: `verify_invariants() could not run: ${describeError(error)}`, violations: 1, database: label });
    }
  }
  return databaseChecks;
}

/** Why the verdict is NOT CERTIFIED: failed phases (three checks each), database violations, invariants. */
function reasonsOf(phases: PhaseResult[], databaseChecks: InvariantResult[], invariants: ReturnType<typeof aggregateInvariants>): string[] {
  const reasons: string[] = [];
  for (const p of phases.filter((x) => x.status !== 'PASS')) {
    const failed = p.checks.filter((c) => !c.passed);
    if (failed.length === 0) reasons.push(`Phase ${p.id} (${p.name}) ${p.status}: ${p.summary}`);
    for (const c of failed.slice(0, 3)) reasons.push(`Phase ${p.id} (${p.name}) ${p.status}: ${c.name} — ${c.detail}`);
  }
  for (const inv of databaseChecks.filter((i) => i.violations > 0))
    reasons.push(`Check ${inv.id} (${inv.description}) violated ${inv.violations} time(s) on the ${inv.database} certification database`);
  reasons.push(...invariantReasons(invariants));
  return reasons;
}

export async function runCertification(options: RunCertificationOptions): Promise<CertificationReport> {
  const startedAt = new Date();
  const log = options.log ?? (() => undefined);
  const params = options.params ?? PROFILES[options.profile];
  const selected = new Set(options.phases ?? PHASE_IDS);
  const environment = await collectEnvironment(options.normal.pool);
  const phases: PhaseResult[] = [];
  const phaseSeeds: Record<string, number> = {};

  for (const phase of PHASES) {
    const seed = phaseSeed(options.seed, phase.id);
    phaseSeeds[String(phase.id)] = seed;
    if (!selected.has(phase.id)) {
      phases.push(notRunPhase(phase, seed));
      continue;
    }
    const result = await runPhase(phase, seed, options, params, log);
    log(
      `phase ${phase.id}: ${result.status} in ${(result.durationMs / 1000).toFixed(1)} s${result.status === 'PASS' ? '' : ` — ${result.summary.slice(0, 300)}`}`,
    );
    phases.push(result);
  }

  const databaseChecks = await runDatabaseChecks(options);
  const invariants = aggregateInvariants(
    phases.flatMap((p) => p.scenarios ?? []),
    databaseChecks,
  );

  const reasons = reasonsOf(phases, databaseChecks, invariants);

  const finishedAt = new Date();
  return {
    certification: 'scheduling-certification-v1',
    verdict: reasons.length === 0 && phases.every((p) => p.status === 'PASS') ? 'CERTIFIED' : 'NOT CERTIFIED',
    reasons,
    profile: options.profile,
    seeds: { master: options.seed, phases: phaseSeeds },
    startedAt: startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
    durationMs: finishedAt.getTime() - startedAt.getTime(),
    environment,
    phases,
    invariants,
    databaseChecks,
    reproduceCommand: options.reproduceCommand ?? `bookiji certify --profile ${options.profile} --seed ${options.seed}`,
  };
}
