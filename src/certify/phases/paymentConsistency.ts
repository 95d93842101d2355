// Phase 2, payment ↔ booking consistency: the SimCity catalogue's phase-2
// scenarios (SC-2: interrupted checkout, duplicate, reordered, delayed and
// lost webhooks, provider errors) with their oracles, then I4 on the
// databases they ran on. Without a phase-2 scenario in this build the phase
// cannot pass: it says "not run".

import type { PhaseContext } from '../context.js';
import { Evidence } from '../evidence.js';
import { runPhaseCatalogue } from '../scenarios/simcity.js';
import type { PhaseOutcome } from './atomicSlot.js';
import { checkInvariants } from './shared.js';

export async function runPaymentConsistency(ctx: PhaseContext): Promise<PhaseOutcome> {
  const evidence = new Evidence();
  await runPhaseCatalogue(evidence, ctx, 2);
  await checkInvariants(evidence, ctx.normal.pool, 'normal');
  await checkInvariants(evidence, ctx.simulation.pool, 'simulation');
  return { checks: evidence.checks, numbers: { scenarioIterations: ctx.params.scenarioIterations } };
}
