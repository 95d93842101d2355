// SimCity scenarios as certification evidence: each run is one check, with
// its seed, plan digest, statistics and replay command. A scenario this build
// does not have is a failed check saying so, never a silent pass.

import { listScenarios, runScenario, formatViolation } from '../../simcity/index.js';
import type { PhaseContext } from '../context.js';
import { describeError, type Evidence } from '../evidence.js';

export function scenarioAvailable(scenarioId: string): boolean {
  return scenarioDefinition(scenarioId) !== undefined;
}

function scenarioDefinition(scenarioId: string): ReturnType<typeof listScenarios>[number] | undefined {
  try {
    return listScenarios().find((s) => s.id === scenarioId);
  } catch {
    return undefined;
  }
}

export async function runScenarioCheck(evidence: Evidence, ctx: PhaseContext, scenarioId: string, what: string): Promise<boolean> {
  const name = `SimCity ${scenarioId}: ${what}`;
  const definition = scenarioDefinition(scenarioId);
  if (!definition) {
    return evidence.record(name, false, `not run: scenario ${scenarioId} is not available in this build (no scenarios/${scenarioId}.json)`);
  }
  const seed = `${ctx.seed}-${scenarioId}`;
  // A scenario that moves the clock runs on the certification's simulation
  // database, so it attacks the same engine as every other phase.
  const target = definition.database === 'simulation' ? ctx.simulation : ctx.normal;
  ctx.log(`  SimCity ${scenarioId} seed ${seed}, ${ctx.params.scenarioIterations} iterations`);
  try {
    const result = await runScenario({
      scenarioId,
      seed,
      iterations: ctx.params.scenarioIterations,
      concurrency: ctx.params.scenarioConcurrency,
      pool: target.pool,
      connectionString: target.connectionString,
    });
    const s = result.stats;
    const violations = result.violations.slice(0, 5).map(formatViolation).join(' | ');
    return evidence.record(
      name,
      result.passed,
      result.passed
        ? `verdict pass over ${s.iterations} iterations: ${s.invocations} operations (${s.ok} ok, ${s.failed} refused, ${s.unknown} unknown), ${s.faults} faults, ${s.oracleChecks} oracle checks; plan digest ${result.digest}; replay: ${result.replayCommand}`
        : `verdict ${result.verdict}: ${result.violations.length} violation(s): ${violations || 'outcome undecided'}; replay: ${result.replayCommand}`,
      { iterations: s.iterations, operations: s.invocations, ok: s.ok, refused: s.failed, unknown: s.unknown, faults: s.faults, oracleChecks: s.oracleChecks, violations: result.violations.length, seed },
    );
  } catch (error) {
    return evidence.record(name, false, `the scenario could not run: ${describeError(error)}`);
  }
}
