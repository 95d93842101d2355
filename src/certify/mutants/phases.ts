// Certifying one mutant, fail-fast: the phases run one at a time, the one
// expected to catch the mutant first, and the first failing check kills it
// (the phase's own checks, then the invariants on both databases). A check
// that was not run (its scenario is missing from this build) kills nothing.

import { verifyInvariants } from '../../engine/verify.js';
import { makeRandom, phaseSeed, type CertifyDatabase, type PhaseContext } from '../context.js';
import { describeError } from '../evidence.js';
import { PHASES } from '../phases/index.js';
import type { ProfileParameters } from '../profiles.js';
import { PHASE_IDS, type PhaseId } from '../types.js';

const NOT_RUN_PREFIX = 'not run:';

export interface FailFastOutcome {
  killedBy: { phase: PhaseId; check: string; detail: string } | null;
  phasesRun: PhaseId[];
}

/** The expected phase first, then the others in order. */
export function phaseOrder(first: PhaseId): PhaseId[] {
  return [first, ...PHASE_IDS.filter((id) => id !== first)];
}

async function invariantFailure(databases: Array<[string, CertifyDatabase]>): Promise<{ check: string; detail: string } | null> {
  for (const [label, db] of databases) {
    const failed = (await verifyInvariants(db.pool)).filter((c) => c.violations > 0);
    if (failed.length > 0)
      return { check: `invariants hold on the ${label} database`, detail: failed.map((c) => `${c.checkId} ${c.description} (${c.violations})`).join('; ') };
  }
  return null;
}

export async function certifyFailFast(options: {
  normal: CertifyDatabase;
  simulation: CertifyDatabase;
  adminConnectionString: string;
  params: ProfileParameters;
  seed: number;
  order: readonly PhaseId[];
  log: (message: string) => void;
}): Promise<FailFastOutcome> {
  const phasesRun: PhaseId[] = [];
  for (const id of options.order) {
    const phase = PHASES.find((p) => p.id === id);
    if (!phase) continue;
    const seed = phaseSeed(options.seed, id);
    const ctx: PhaseContext = {
      normal: options.normal,
      simulation: options.simulation,
      adminConnectionString: options.adminConnectionString,
      params: options.params,
      seed,
      random: (label) => makeRandom(seed, label),
      log: options.log,
      scenarios: [],
    };
    phasesRun.push(id);
    options.log(`phase ${id}: ${phase.name}`);
    try {
      const outcome = await phase.run(ctx);
      const failed = outcome.checks.find((c) => !c.passed && !c.detail.startsWith(NOT_RUN_PREFIX));
      if (failed) return { killedBy: { phase: id, check: failed.name, detail: failed.detail }, phasesRun };
    } catch (error) {
      return { killedBy: { phase: id, check: 'phase ran to completion', detail: `the phase stopped with an error: ${describeError(error)}` }, phasesRun };
    }
    const broken = await invariantFailure([
      ['normal', options.normal],
      ['simulation', options.simulation],
    ]);
    if (broken) return { killedBy: { phase: id, ...broken }, phasesRun };
  }
  return { killedBy: null, phasesRun };
}
