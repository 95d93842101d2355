// bookiji certify: run the seven phases in fresh databases, sign the verdict.
// bookiji certify verify FILE: check a certification's signature and content.

import { chalk } from '../colour.js';
import type { Command } from 'commander';
import type { MutationScore } from '../../certify/signing/statement.js';
import type { CertificationReport, PhaseId } from '../../certify/types.js';
import { note, printJson, printTable } from '../output.js';
import { ReportedFailure } from '../reportedFailure.js';
import { signingKey } from '../signingKey.js';
import { registerCertifyMutants } from './certifyMutants.js';

interface CertifyCommandOptions {
  profile: string;
  seed?: string;
  phases?: string;
  out: string;
  key?: string;
  json?: boolean;
  mutants?: boolean;
}

function parseSeed(value: string | undefined, max: number): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > max) {
    throw Object.assign(new Error(`--seed: expected a whole number from 1 to ${max}, got ${JSON.stringify(value)}`), { usage: true });
  }
  return Number(value);
}

function parsePhases(value: string | undefined): PhaseId[] | undefined {
  if (value === undefined) return undefined;
  const ids = value.split(',').map((s) => s.trim());
  if (ids.length === 0 || ids.some((id) => !/^[1-7]$/.test(id)))
    throw Object.assign(new Error(`--phases: expected phase numbers 1-7 separated by commas, got ${JSON.stringify(value)}`), { usage: true });
  return [...new Set(ids.map(Number))].sort() as PhaseId[];
}

function printSummary(report: CertificationReport, files: Record<string, string>): void {
  printTable(
    ['phase', 'name', 'status', 'time', 'evidence'],
    report.phases.map((p) => [
      p.id,
      p.name,
      p.status === 'PASS' ? chalk.green(p.status) : chalk.red(p.status),
      `${(p.durationMs / 1000).toFixed(1)} s`,
      p.status === 'PASS' ? `${p.checks.length} checks` : p.summary.slice(0, 160),
    ]),
  );
  printTable(
    ['invariant', 'checks', 'exercised', 'violations', 'result', 'scenarios'],
    report.invariants.map((i) => [
      i.id,
      i.checks,
      i.exercised,
      i.violations,
      i.result === 'HELD' ? chalk.green(i.result) : chalk.red(i.result),
      i.scenarios.join(' '),
    ]),
  );
  const dirty = report.databaseChecks.filter((i) => i.violations > 0);
  process.stdout.write(
    `database checks: ${dirty.length === 0 ? chalk.green(`all ${report.databaseChecks.length} clean`) : chalk.red(dirty.map((i) => `${i.id} (${i.violations} on ${i.database})`).join(', '))}\n`,
  );
  process.stdout.write(
    `${report.verdict === 'CERTIFIED' ? chalk.green.bold('CERTIFIED') : chalk.red.bold('NOT CERTIFIED')}  seed ${report.seeds.master}, ${(report.durationMs / 1000).toFixed(0)} s, commit ${report.environment.gitCommit.slice(0, 12)}, schema ${report.environment.schemaDigest.slice(0, 12)}\n`,
  );
  for (const reason of report.reasons.slice(0, 10)) process.stdout.write(`  ${chalk.red('•')} ${reason.slice(0, 400)}\n`);
  for (const [what, file] of Object.entries(files)) process.stdout.write(`${chalk.dim(what.padEnd(8))} ${file}\n`);
  process.stdout.write(`replay: ${report.reproduceCommand}\n`);
  const score = (report as { mutants?: MutationScore }).mutants;
  if (score)
    process.stdout.write(
      `mutants: ${score.killed}/${score.total} killed (${score.score}%)${score.survivors.length ? `, survivors: ${score.survivors.join(', ')}` : ''}\n`,
    );
}

export function registerCertify(program: Command): void {
  const certify = program
    .command('certify')
    .description(
      'Run the seven certification phases (SPEC §4) in fresh databases on the target server, and write a signed report to reports/. Exit 0 only when CERTIFIED.',
    )
    .option('--profile <name>', 'quick (CI, a few minutes) or full (a release)', 'quick')
    .option('--seed <n>', 'replay a run: the seed printed by an earlier one')
    .option('--phases <list>', 'only these phases, e.g. 1,3 (the verdict is then NOT CERTIFIED: all seven are needed)')
    .option('--out <dir>', 'where to write the report, envelope, meta and HTML', 'reports')
    .option('--key <file>', 'the Ed25519 private key to sign with (default: BOOKIJI_HOME/keys/bookiji-signing.key, generated on first use)')
    .option('--json', 'print the report as JSON')
    .option('--mutants', 'after the phases, run the mutant catalogue (`certify mutants`) and sign its score into the statement')
    .addHelpText(
      'after',
      `
Examples:
  bookiji certify --profile quick
  bookiji certify --profile quick --mutants
  bookiji certify --seed 1234567 --phases 1,7
  bookiji certify verify reports/scheduling-certification-v1.dsse.json --key .bookiji/keys/bookiji-signing.pub

Each phase runs the SimCity catalogue's scenarios of that phase (\`bookiji simcity list\`),
seeded from the certification seed. The report's invariants table gives, per I1-I10,
P1-P4, R1-R4, the checks, exercised count (actions that reached a state where a broken
engine would have broken it) and violations summed over every run; any invariant with
exercised 0 is NOT EXERCISED and the verdict NOT CERTIFIED.
`,
    )
    .action(certifyCommand);

  registerCertifyMutants(certify);
  registerCertifyVerify(certify);
}

async function certifyCommand(options: CertifyCommandOptions): Promise<void> {
  const { BookijiError } = await import('../../errors.js');
  const { certify: run, profileNamed, SEED_MAX } = await import('../../certify/index.js');
  const { defaultPrivateKeyPath, publicKeyBeside } = await import('../../certify/keyLocation.js');
  const { resolveTarget } = await import('../../db/database.js');
  let seed: number | undefined;
  let phases: PhaseId[] | undefined;
  try {
    seed = parseSeed(options.seed, SEED_MAX);
    phases = parsePhases(options.phases);
  } catch (error) {
    throw new BookijiError('USAGE_ERROR', (error as Error).message);
  }
  const profile = profileNamed(options.profile);
  const keyPath = options.key ?? defaultPrivateKeyPath();
  const privateKey = await signingKey(options.key);
  const target = await resolveTarget();
  const { report, files } = await run({
    connectionString: target.connectionString,
    profile,
    ...(seed !== undefined ? { seed } : {}),
    ...(phases ? { phases } : {}),
    outDir: options.out,
    privateKey,
    publicKeyPath: publicKeyBeside(keyPath),
    log: (message) => note(message),
    ...(options.mutants ? { mutants: true } : {}),
  });
  await checkpointTargetDatabase(privateKey);
  if (options.json) printJson(report);
  else printSummary(report, { ...files });
  if (report.verdict !== 'CERTIFIED') throw new ReportedFailure(1);
}

function registerCertifyVerify(certify: Command): void {
  certify
    .command('verify')
    .description(
      'Check a certification: the Ed25519 signature over its DSSE envelope, that every file beside it matches the signed report byte for byte, and that the verdict follows from the phases. Exit 0 only when authentic and CERTIFIED.',
    )
    .argument('<file>', 'the envelope (….dsse.json) or the report (….json) with its envelope beside it')
    .option('--key <file>', 'the public key (default: BOOKIJI_HOME/keys/bookiji-signing.pub)')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExample:\n  bookiji certify verify reports/scheduling-certification-v1.dsse.json --key release.pub\n')
    .action(async (file: string, _options: unknown, command: Command) => {
      // `certify` itself has --json and --key too; commander hands them to whichever command it parses first.
      const options = command.optsWithGlobals<{ key?: string; json?: boolean }>();
      const { verifyCertification } = await import('../../certify/verify.js');
      const { defaultPublicKeyPath } = await import('../../certify/keyLocation.js');
      const outcome = verifyCertification(file, options.key ?? defaultPublicKeyPath());
      if (options.json) printJson(outcome);
      else {
        for (const line of outcome.checked) process.stdout.write(`${chalk.green('✔')} ${line}\n`);
        for (const problem of outcome.problems) process.stdout.write(`${chalk.red('✘')} ${problem}\n`);
        if (!outcome.authentic) process.stdout.write(`${chalk.red.bold('NOT AUTHENTIC')}: do not trust this certification\n`);
        else
          process.stdout.write(
            `${outcome.certified ? chalk.green.bold('authentic, CERTIFIED') : chalk.yellow.bold(`authentic, ${String(outcome.verdict)}`)} (key ${String(outcome.keyId)})\n`,
          );
      }
      if (!outcome.certified) throw new ReportedFailure(1);
    });
}

/**
 * certify also anchors the audit chains of the database it was pointed at
 * (its certification databases are dropped afterwards): a later rewrite of
 * those chains by the table owner is then caught by `audit verify
 * --checkpoints`. A chain that does not verify is reported, not signed, and
 * does not change the engine's verdict.
 */
async function checkpointTargetDatabase(privateKey: import('node:crypto').KeyObject): Promise<void> {
  const path = await import('node:path');
  const { withDatabase } = await import('../context.js');
  const { bookijiHome } = await import('../../db/database.js');
  const { CHECKPOINT_FILE, writeCheckpoint } = await import('../../audit/checkpoints.js');
  const file = path.join(bookijiHome(), CHECKPOINT_FILE);
  try {
    const written = await withDatabase(({ pool }) => writeCheckpoint(pool, file, privateKey));
    note(`audit checkpoint: ${written.heads} chain head(s) of the target database signed into ${written.file}`);
  } catch (error) {
    note(`audit checkpoint not written: ${error instanceof Error ? error.message : String(error)}`);
  }
}
