// bookiji verify: every invariant, checked against the database's truth.

import { chalk } from '../colour.js';
import type { Command } from 'commander';
import { ReportedFailure } from '../reportedFailure.js';
import { printJson, printTable } from '../output.js';

export function registerVerify(program: Command): void {
  program
    .command('verify')
    .addHelpText('after', '\nExample:\n  bookiji verify --json\n')
    .description('Check the invariants (I1-I10) and the four slot/booking consistency checks; exit 1 on any violation.')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }) => {
      const { withDatabase } = await import('../context.js');
      const { verifyInvariants } = await import('../../engine/verify.js');
      const checks = await withDatabase(({ pool }) => verifyInvariants(pool));
      const failed = checks.filter((c) => c.violations > 0);
      if (options.json) printJson({ ok: failed.length === 0, checks });
      else {
        printTable(
          ['check', 'what', 'violations'],
          checks.map((c) => [c.checkId, c.description, c.violations === 0 ? chalk.green('0') : chalk.red(String(c.violations))]),
        );
        for (const c of failed) process.stdout.write(`${chalk.red(c.checkId)} sample: ${JSON.stringify(c.sample)}\n`);
        process.stdout.write(failed.length === 0 ? `${chalk.green('all checks pass')}\n` : `${chalk.red(`${failed.length} check(s) failed`)}\n`);
      }
      if (failed.length > 0) throw new ReportedFailure(1);
    });
}
