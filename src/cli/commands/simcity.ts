// bookiji simcity list | run SC-1 [SC-4 …] --seed S | explore
//
// run: exit 0 when every scenario passes, 1 on a violation or an undecided
// verdict, 2 on a usage or setup error (no database, unknown scenario).

import { chalk } from '../colour.js';
import type { Command } from 'commander';
import { BookijiError, toBookijiError } from '../../errors.js';
import { printError, printJson, printTable } from '../output.js';
import { ReportedFailure } from '../reportedFailure.js';

function positiveInt(name: string, max: number): (value: string) => number {
  return (value) => {
    const parsed = Number(value);
    if (!Number.isInteger(parsed) || parsed < 1 || parsed > max)
      throw new BookijiError('USAGE_ERROR', `${name}: give a whole number from 1 to ${max} (got ${value})`);
    return parsed;
  };
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** Setup failures (no database, bad arguments) exit 2 with the error printed; violations exit 1. */
function setupFailure(error: unknown, json: boolean): ReportedFailure {
  const mapped = error instanceof BookijiError ? error : toBookijiError(error);
  printError(mapped, { json, debug: process.argv.includes('--debug') });
  return new ReportedFailure(2);
}

/** One status line, rewritten in place on a terminal; nothing when stderr is not a TTY. */
function progressLine(): { update(text: string): void; done(): void } {
  if (!process.stderr.isTTY) return { update: () => undefined, done: () => undefined };
  let last = 0;
  let shown = false;
  return {
    update(text) {
      const now = Date.now();
      if (now - last < 100) return;
      last = now;
      shown = true;
      process.stderr.write(`\r\x1b[2K${text}`);
    },
    done() {
      if (shown) process.stderr.write('\r\x1b[2K');
    },
  };
}

export function registerSimcity(program: Command): void {
  const simcity = program.command('simcity').description('SimCity: seeded adversarial scenarios against the engine, and the interleaving explorer.');
  registerSimcityList(simcity);
  registerSimcityRun(simcity);
  registerSimcityExplore(simcity);
}

function registerSimcityList(simcity: Command): void {
  simcity
    .command('list')
    .description("List the catalogue: each scenario's certification phase, the invariants its oracles check, what it proves (and the explorer's races).")
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      `
Example:
  bookiji simcity list --json | jq '.scenarios[] | {id, phase, invariants}'

Each scenario is evidence for one certification phase (1-7, see \`bookiji certify --help\`);
together the catalogue must cover I1-I10, P1-P4 and R1-R4.`,
    )
    .action(async (options: { json?: boolean }) => {
      const { listScenarios, listRaces } = await import('../../simcity/index.js');
      const scenarios = listScenarios();
      const races = listRaces();
      if (options.json) {
        printJson({ scenarios, races });
        return;
      }
      printTable(
        ['scenario', 'title', 'phase', 'invariants', 'default iterations', 'oracles'],
        scenarios.map((s) => [s.id, s.title, s.phase, s.invariants.join(' '), s.iterationsDefault, s.oracles.join(', ')]),
      );
      for (const s of scenarios) process.stdout.write(`${chalk.bold(s.id)} ${s.proves}\n`);
      process.stdout.write('\n');
      printTable(
        ['race (simcity explore)', 'sessions', 'permutations'],
        races.map((r) => [r.id, r.sessions.join('\n'), r.permutations]),
      );
    });
}

function registerSimcityRun(simcity: Command): void {
  simcity
    .command('run')
    .description('Run scenarios with a seed; on a violation print the forensic snapshot and the command that replays it.')
    .argument('<scenarios...>', 'scenario ids, e.g. SC-1 SC-4')
    .requiredOption('--seed <seed>', 'the seed: fixes parameters, fixtures, schedule and faults')
    .option('--iterations <n>', "iterations per scenario (default: the scenario's own, SC-1: 50)", positiveInt('iterations', 100_000))
    .option('--concurrency <n>', 'requests in flight at once (default: drawn from the seed)', positiveInt('concurrency', 64))
    .option('--junit <file>', 'also write a JUnit XML report there (for CI)')
    .option('--target-url <url>', 'target mode: send the HTTP half of the actions to this running `bookiji serve`')
    .option('--api-key <key>', 'the partner API key that server accepts (`bookiji apikey create`)')
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      `
Examples:
  bookiji simcity run SC-1 --seed pr-123
  bookiji simcity run SC-1 SC-4 --seed nightly --iterations 200 --junit reports/simcity.xml
  bookiji simcity run SC-1 --seed staging --target-url http://127.0.0.1:8080 --api-key bk_live_…

Uses DATABASE_URL, or the embedded database. Each iteration builds fresh
fixtures (a new "SimCity …" vendor) and touches nothing else. The same seed
always plans the same run: compare runs by the digest. Exit 0 pass, 1
violation or undecided, 2 usage or setup error.

Per invariant the run reports checks (oracle runs judging it), exercised
(actions that reached a state where a broken engine would have broken it:
a claim refused on a full slot for I1, a same-key retry for I6) and
violations; held with exercised 0 proves nothing.

Target mode: with --target-url, the scenario's HTTP requests go to that
server (another process, on the same database) instead of an API SimCity
starts itself; the truth is still read from DATABASE_URL or the embedded
database, which must be the server's. Scenarios without an HTTP path ignore it.`,
    )
    .action(runScenariosCommand);
}

type RunOptions = { seed: string; iterations?: number; concurrency?: number; junit?: string; targetUrl?: string; apiKey?: string; json?: boolean };

async function runScenariosCommand(ids: string[], options: RunOptions): Promise<void> {
  const json = Boolean(options.json);
  const simcityApi = await import('../../simcity/index.js');
  let db: import('../../db/database.js').Database;
  try {
    for (const id of ids) simcityApi.loadScenario(id);
    const { openDatabase } = await import('../../db/database.js');
    db = await openDatabase({ poolMax: 4 });
  } catch (error) {
    throw setupFailure(error, json);
  }
  const results: import('../../simcity/index.js').ScenarioResult[] = [];
  const progress = progressLine();
  try {
    for (const id of ids) {
      const result = await simcityApi.runScenario({
        scenarioId: id,
        seed: options.seed,
        iterations: options.iterations,
        concurrency: options.concurrency,
        pool: db.pool,
        connectionString: db.target.connectionString,
        ...(options.targetUrl ? { targetUrl: options.targetUrl, apiKey: options.apiKey } : {}),
        onProgress: (p) => progress.update(`${p.scenarioId}  iteration ${p.iteration}/${p.iterations}  ${p.actions} actions  ${p.violations} violations`),
      });
      progress.done();
      results.push(result);
      if (!json) printScenario(result, simcityApi);
    }
  } catch (error) {
    progress.done();
    throw setupFailure(error, json);
  } finally {
    await db.close();
  }
  if (options.junit) {
    const { mkdirSync, writeFileSync } = await import('node:fs');
    const path = await import('node:path');
    mkdirSync(path.dirname(path.resolve(options.junit)), { recursive: true });
    writeFileSync(options.junit, simcityApi.toJUnitXml(results));
  }
  const passed = results.every((r) => r.passed);
  if (json) printJson({ passed, commit: results[0]?.commit ?? null, results });
  else printSummary(results, options.junit);
  if (!passed) throw new ReportedFailure(1);
}

function registerSimcityExplore(simcity: Command): void {
  simcity
    .command('explore')
    .description('Run small races step by step in every permutation of their statements; print any failing schedule.')
    .option('--race <id>', 'only this race (repeatable); see `bookiji simcity list`', collect)
    .option('--permutation <schedule>', 'replay one schedule of one race, as printed, e.g. "s1.claim s2.claim s1.commit s2.commit"')
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      `
Examples:
  bookiji simcity explore
  bookiji simcity explore --race claim-claim --permutation "s1.claim s2.claim s1.commit s2.commit"

Each session is its own connection in an explicit transaction. A step that
waits on another session's lock (pg_blocking_pids) is left waiting and the
schedule moves on, as PostgreSQL's isolation tester does; a schedule whose
next step belongs to a waiting session is counted infeasible. Runs in the
simulation database bookiji_sim beside your database (races move its clock).`,
    )
    .action(exploreCommand);
}

async function exploreCommand(options: { race?: string[]; permutation?: string; json?: boolean }): Promise<void> {
  const json = Boolean(options.json);
  const { explore } = await import('../../simcity/index.js');
  const { openSimulationDatabase } = await import('../../simcity/simulationDatabase.js');
  let db: import('../../db/database.js').Database;
  try {
    db = await openSimulationDatabase();
  } catch (error) {
    throw setupFailure(error, json);
  }
  const progress = progressLine();
  let result: import('../../simcity/index.js').ExploreResult;
  try {
    result = await explore({
      pool: db.pool,
      connectionString: db.target.connectionString,
      races: options.race,
      permutation: options.permutation,
      onPermutation: (race, index, total) => progress.update(`${race}  permutation ${index}/${total}`),
    });
  } catch (error) {
    throw setupFailure(error, json);
  } finally {
    progress.done();
    await db.close();
  }
  if (json) printJson(result);
  else printExploreResult(result);
  if (!result.passed) throw new ReportedFailure(1);
}

function printExploreResult(result: import('../../simcity/index.js').ExploreResult): void {
  printTable(
    ['race', 'permutations', 'run', 'infeasible', 'ambiguous wake-up', 'failing', 'verdict'],
    result.races.map((r) => [
      r.raceId,
      r.permutations,
      r.feasible,
      r.infeasible,
      r.ambiguous,
      r.failing.length,
      r.passed ? chalk.green('pass') : chalk.red('FAIL'),
    ]),
  );
  for (const race of result.races) {
    for (const failing of race.failing) {
      process.stdout.write(`\n${chalk.red('FAILING SCHEDULE')} ${race.raceId}: ${failing.schedule.join(' → ')}\n`);
      for (const outcome of failing.outcomes) {
        const how = outcome.status === 'ok' ? 'ok' : `error ${outcome.sqlState}: ${outcome.message}`;
        process.stdout.write(`  ${outcome.label}${outcome.blocked ? ' (waited on a lock)' : ''}: ${how}\n`);
      }
      for (const violation of failing.violations) process.stdout.write(`  ${chalk.red(`[${violation.oracle}]`)} ${violation.message}\n`);
      process.stdout.write(`  replay: ${failing.replayCommand}\n`);
    }
  }
}

function printScenario(result: import('../../simcity/index.js').ScenarioResult, api: typeof import('../../simcity/index.js')): void {
  const p = result.parameters;
  const mix = Object.entries(p.actionMix)
    .map(([kind, share]) => `${kind} ${Math.round(share * 100)}%`)
    .join(', ');
  const paths = Object.entries(p.paths)
    .map(([path, share]) => `${path} ${Math.round(share * 100)}%`)
    .join(', ');
  process.stdout.write(`${chalk.bold(result.scenarioId)} ${result.title} — seed ${result.seed} (commit ${result.commit?.slice(0, 12) ?? 'unknown'})\n`);
  process.stdout.write(
    `  parameters: ${p.iterations} iterations × ${p.actionsPerIteration} actions, concurrency ${p.concurrency}; mix ${mix}; paths ${paths}\n`,
  );
  process.stdout.write(`  fixtures: ${JSON.stringify(p.fixtures)}\n`);
  if (result.passed) return;
  process.stdout.write(`${chalk.red(`${result.verdict.toUpperCase()}`)} in ${result.scenarioId}:\n`);
  for (const violation of result.violations) process.stdout.write(`  ${chalk.red(api.formatViolation(violation))}\n`);
  if (result.forensicSnapshot) process.stdout.write(`\n${api.formatSnapshot(result.forensicSnapshot)}\n\n`);
  process.stdout.write(
    `${chalk.bold('replay:')} ${result.replayCommand}   ${chalk.dim(`(replay key: seed ${result.seed} + commit ${result.commit ?? 'unknown'})`)}\n\n`,
  );
}

function printSummary(results: Array<import('../../simcity/index.js').ScenarioResult>, junit: string | undefined): void {
  printTable(
    ['scenario', 'verdict', 'iterations', 'actions', 'ok', 'failed', 'unknown', 'faults', 'oracle checks', 'digest', 'time'],
    results.map((r) => [
      r.scenarioId,
      r.passed ? chalk.green('pass') : chalk.red(r.verdict.toUpperCase()),
      `${r.stats.iterations}/${r.parameters.iterations}`,
      r.actions,
      r.stats.ok,
      r.stats.failed,
      r.stats.unknown,
      r.stats.faults,
      r.stats.oracleChecks,
      r.digest.slice(0, 16),
      `${(r.durationMs / 1000).toFixed(1)} s`,
    ]),
  );
  for (const r of results) {
    const tallies = r.invariants.map((t) => `${t.id} ${t.checks}/${t.exercised}/${t.violations}`).join(', ');
    if (tallies) process.stdout.write(`${r.scenarioId} invariants (checks/exercised/violations) — ${tallies}\n`);
    const states = Object.entries(r.stats.terminalStates)
      .map(([state, n]) => `${state}: ${n}`)
      .join(', ');
    if (states) process.stdout.write(`${r.scenarioId} terminal states — ${states}\n`);
  }
  if (junit) process.stdout.write(chalk.dim(`JUnit report written to ${junit}\n`));
}
