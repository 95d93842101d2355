// Phase 2, payment ↔ booking consistency: SimCity's SC-2 (interrupted
// checkout, duplicate, reordered, delayed and lost webhooks, provider errors)
// with its oracles, then I4 on the database it ran on. Without SC-2 in this
// build the phase cannot pass: it says "not run".

import type { PhaseContext } from '../context.js';
import { Evidence } from '../evidence.js';
import { runScenarioCheck } from '../scenarios/simcity.js';
import type { PhaseOutcome } from './atomicSlot.js';
import { checkInvariants } from './shared.js';

export async function runPaymentConsistency(ctx: PhaseContext): Promise<PhaseOutcome> {
  const evidence = new Evidence();
  await runScenarioCheck(evidence, ctx, 'SC-2', 'payment ↔ booking consistency under webhook and provider faults');
  await checkInvariants(evidence, ctx.normal.pool, 'normal');
  await checkInvariants(evidence, ctx.simulation.pool, 'simulation');
  return { checks: evidence.checks, numbers: { scenarioIterations: ctx.params.scenarioIterations } };
}
