// bookiji certify mutants: run the engine's mutant catalogue against the
// certifier and report killed / total (mutation-testing-report-schema file).

import { chalk } from '../colour.js';
import type { Command } from 'commander';
import type { MutantOutcome, MutationSummary } from '../../certify/mutants/index.js';
import { note, printJson, printTable } from '../output.js';
import { ReportedFailure } from '../reportedFailure.js';

interface MutantsCommandOptions {
  profile?: string;
  only?: string;
  out?: string;
  seed?: string;
  json?: boolean;
}

const SEED_DEFAULT = 1;

function printMutantTable(outcomes: MutantOutcome[], summary: MutationSummary, reportFile: string): void {
  printTable(
    ['mutant', 'guards', 'status', 'time', 'evidence'],
    outcomes.map((o) => [
      o.id,
      o.invariants.join(' ') || 'edge',
      o.status === 'killed' ? chalk.green(o.status) : o.status === 'equivalent' ? chalk.yellow(o.status) : chalk.red(o.status),
      `${(o.durationMs / 1000).toFixed(1)} s`,
      (o.status === 'killed'
        ? `phase ${o.killedBy!.phase}: ${o.killedBy!.check}`
        : o.status === 'survived'
          ? `should be caught by ${o.shouldBeCaughtBy}`
          : o.status === 'equivalent'
            ? o.witness?.mutant.observed
            : o.error
      )?.slice(0, 140),
    ]),
  );
  const line = `${summary.killed}/${summary.total} killed (${summary.score}%)`;
  process.stdout.write(
    `${summary.killed === summary.total ? chalk.green.bold(line) : chalk.red.bold(line)}, ${summary.equivalent.length} equivalent (not counted), catalogue ${summary.catalogueDigest.slice(0, 16)}…, ${(summary.durationMs / 1000).toFixed(0)} s\n`,
  );
  for (const s of summary.survivors) process.stdout.write(`  ${chalk.red('survivor')} ${s.id}: ${s.title} — should be caught by ${s.shouldBeCaughtBy}\n`);
  for (const e of summary.errors) process.stdout.write(`  ${chalk.red('error')} ${e.id}: ${e.error.slice(0, 300)}\n`);
  process.stdout.write(`report   ${reportFile}\n`);
}

export function registerCertifyMutants(certify: Command): void {
  certify
    .command('mutants')
    .description(
      "Run the project's catalogue of engine mutants (small plausible bugs in the SQL and TypeScript guards), each first shown different from the real engine by a witness, then certified fail-fast in databases of its own. Reports killed / total; exit 0 only when every mutant is killed.",
    )
    .option('--profile <name>', 'quick (the whole catalogue in minutes) or full (each mutant against the certify quick profile)')
    .option('--only <ids>', 'only these mutants, by id, separated by commas')
    .option('--out <dir>', 'where to write mutation-report.json (mutation-testing-report-schema)')
    .option('--seed <n>', 'the certification seed every mutant is attacked with', String(SEED_DEFAULT))
    .option('--json', 'print { total, killed, score, survivors, equivalent, errors, catalogueDigest, mutants }')
    .addHelpText(
      'after',
      '\nExamples:\n  bookiji certify mutants --profile quick\n  bookiji certify mutants --only vendor-overlap-allowed,audit-rows-editable --json\n',
    )
    .action(async (_options: unknown, command: Command) => {
      // `certify` has --profile, --out and --json too: read them wherever commander put them.
      const options = command.optsWithGlobals<MutantsCommandOptions>();
      const { BookijiError } = await import('../../errors.js');
      const { profileNamed } = await import('../../certify/profiles.js');
      const { adminConnectionStringFor } = await import('../../certify/databases.js');
      const { runMutants, selectMutants, summarize, writeMutationReport } = await import('../../certify/mutants/index.js');
      const { resolveTarget } = await import('../../db/database.js');
      const profile = profileNamed(options.profile ?? 'quick');
      const seed = Number(options.seed ?? SEED_DEFAULT);
      if (!Number.isInteger(seed) || seed < 1 || seed > 2 ** 31 - 1)
        throw new BookijiError('USAGE_ERROR', `--seed: expected a whole number from 1 to ${2 ** 31 - 1}, got ${JSON.stringify(options.seed)}`);
      let mutants: ReturnType<typeof selectMutants>;
      try {
        mutants = selectMutants(
          options.only
            ?.split(',')
            .map((id) => id.trim())
            .filter(Boolean),
        );
      } catch (error) {
        throw new BookijiError('USAGE_ERROR', `--only: ${(error as Error).message}`);
      }
      const target = await resolveTarget();
      const outcomes = await runMutants({
        adminConnectionString: adminConnectionStringFor(target.connectionString),
        profile,
        seed,
        mutants,
        log: (message) => note(message),
      });
      const summary = summarize(outcomes, mutants);
      const reportFile = writeMutationReport(options.out ?? 'reports', outcomes, mutants);
      if (options.json)
        printJson({
          total: summary.total,
          killed: summary.killed,
          score: summary.score,
          survivors: summary.survivors,
          equivalent: summary.equivalent,
          errors: summary.errors,
          catalogueDigest: summary.catalogueDigest,
          durationMs: summary.durationMs,
          report: reportFile,
          mutants: outcomes,
        });
      else printMutantTable(outcomes, summary, reportFile);
      if (summary.killed !== summary.total) throw new ReportedFailure(1);
    });
}
