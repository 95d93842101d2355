// SimCity scenarios as certification evidence: each run is one check, with
// its seed, plan digest, statistics, per-invariant counts and replay
// command, and a record the runner aggregates per invariant. A phase runs
// the catalogue's scenarios of that phase (scenarios/*.json "phase"); a
// scenario this build does not have is a failed check saying so, never a
// silent pass.

import { listScenarios, runScenario, formatViolation, type ScenarioResult } from '../../simcity/index.js';
import type { PhaseContext } from '../context.js';
import { describeError, type Evidence } from '../evidence.js';
import { replayCommand } from '../../simcity/replay.js';
import type { PhaseId, ScenarioRunRecord } from '../types.js';

/** The catalogue's scenarios for one phase, in id order. */
export function catalogueOf(phase: PhaseId): Array<{ id: string; title: string }> {
  return listScenarios().filter((definition) => definition.phase === phase);
}

/** Runs every catalogue scenario of the phase as one check each; true when all passed and there was at least one. */
export async function runPhaseCatalogue(evidence: Evidence, ctx: PhaseContext, phase: PhaseId): Promise<boolean> {
  const scenarios = catalogueOf(phase);
  if (scenarios.length === 0)
    return evidence.record(`SimCity catalogue for phase ${phase}`, false, `not run: no scenario of the catalogue is for phase ${phase}`);
  let passed = true;
  for (const scenario of scenarios) passed = (await runScenarioCheck(evidence, ctx, scenario.id, scenario.title)) && passed;
  return passed;
}

function recordOf(result: ScenarioResult): ScenarioRunRecord {
  const s = result.stats;
  return {
    scenarioId: result.scenarioId,
    title: result.title,
    seed: result.seed,
    iterations: s.iterations,
    verdict: result.verdict,
    digest: result.digest,
    stats: { invocations: s.invocations, ok: s.ok, failed: s.failed, unknown: s.unknown, faults: s.faults, oracleChecks: s.oracleChecks },
    invariants: result.invariants,
    replayCommand: result.replayCommand,
  };
}

function tallyText(result: ScenarioResult): string {
  return result.invariants.map((t) => `${t.id} ${t.checks}/${t.exercised}/${t.violations}`).join(', ');
}

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
  const iterations = ctx.params.scenarioIterationsById?.[scenarioId] ?? ctx.params.scenarioIterations;
  ctx.log(`  SimCity ${scenarioId} seed ${seed}, ${iterations} iterations`);
  try {
    const result = await runScenario({
      scenarioId,
      seed,
      iterations,
      // The profile's concurrency, within the range the scenario declares (SC-5 judges one request at a time).
      concurrency: Math.min(Math.max(ctx.params.scenarioConcurrency, definition.concurrency.min), definition.concurrency.max),
      pool: target.pool,
      connectionString: target.connectionString,
    });
    ctx.scenarios.push(recordOf(result));
    const s = result.stats;
    const violations = result.violations.slice(0, 5).map(formatViolation).join(' | ');
    return evidence.record(
      name,
      result.passed,
      result.passed
        ? `verdict pass over ${s.iterations} iterations: ${s.invocations} operations (${s.ok} ok, ${s.failed} refused, ${s.unknown} unknown), ${s.faults} faults, ${s.oracleChecks} oracle checks; invariants checks/exercised/violations ${tallyText(result)}; plan digest ${result.digest}; replay: ${result.replayCommand}`
        : `verdict ${result.verdict}: ${result.violations.length} violation(s): ${violations || 'outcome undecided'}; replay: ${result.replayCommand}`,
      {
        iterations: s.iterations,
        operations: s.invocations,
        ok: s.ok,
        refused: s.failed,
        unknown: s.unknown,
        faults: s.faults,
        oracleChecks: s.oracleChecks,
        violations: result.violations.length,
        seed,
      },
    );
  } catch (error) {
    ctx.scenarios.push({
      scenarioId,
      title: definition.title,
      seed,
      iterations: 0,
      verdict: 'error',
      digest: null,
      stats: { invocations: 0, ok: 0, failed: 0, unknown: 0, faults: 0, oracleChecks: 0 },
      invariants: [],
      replayCommand: replayCommand(scenarioId, seed, iterations, ctx.params.scenarioConcurrency),
    });
    return evidence.record(name, false, `the scenario could not run: ${describeError(error)}`);
  }
}
