// A phase that is its catalogue: the SimCity scenarios of that phase
// (scenarios/*.json "phase"), each one check with its stats, per-invariant
// counts and replay command, then the invariants on both certification
// databases. One way to attack (the scenario's driver), one way to replay
// (`bookiji simcity run …`).

import type { PhaseContext } from '../context.js';
import { Evidence } from '../evidence.js';
import { runPhaseCatalogue } from '../scenarios/simcity.js';
import type { PhaseId } from '../types.js';
import type { PhaseOutcome } from './atomicSlot.js';
import { checkInvariants } from './shared.js';

export function cataloguePhase(phase: PhaseId): (ctx: PhaseContext) => Promise<PhaseOutcome> {
  return async (ctx) => {
    const evidence = new Evidence();
    await runPhaseCatalogue(evidence, ctx, phase);
    await checkInvariants(evidence, ctx.normal.pool, 'normal');
    await checkInvariants(evidence, ctx.simulation.pool, 'simulation');
    const runs = ctx.scenarios;
    return {
      checks: evidence.checks,
      numbers: {
        scenarios: runs.length,
        iterations: runs.reduce((sum, run) => sum + run.iterations, 0),
        operations: runs.reduce((sum, run) => sum + run.stats.invocations, 0),
        oracleChecks: runs.reduce((sum, run) => sum + run.stats.oracleChecks, 0),
      },
    };
  };
}
