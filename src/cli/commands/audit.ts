// bookiji audit verify: recompute every vendor's hash chain.

import chalk from 'chalk';
import type { Command } from 'commander';
import { ReportedFailure } from '../reportedFailure.js';
import { printJson, printTable } from '../output.js';

export function registerAudit(program: Command): void {
  const audit = program.command('audit').description('The append-only, hash-chained audit log.');
  audit
    .command('verify')
    .description('Recompute every hash chain; exit 1 on any edited, deleted or reordered row.')
    .option('--vendor <id>', 'only this vendor\'s chain')
    .option('--json', 'print JSON')
    .action(async (options: { vendor?: string; json?: boolean }) => {
      const { withDatabase } = await import('../context.js');
      const { verifyAudit } = await import('../../engine/verify.js');
      const { requireUuid } = await import('../../engine/validate.js');
      const vendorId = options.vendor === undefined ? undefined : requireUuid('vendor', options.vendor);
      const report = await withDatabase(({ pool }) => verifyAudit(pool, vendorId ? { vendorId } : {}));
      const ok = report.problems.length === 0;
      if (options.json) printJson({ ok, ...report });
      else {
        if (!ok) printTable(['vendor', 'seq', 'problem'], report.problems.map((p) => [p.vendorId, p.seq, p.problem]));
        process.stdout.write(ok ? `${chalk.green(`audit log intact: ${report.rowsChecked} rows in ${report.chains} chain(s)`)}\n` : `${chalk.red(`audit log tampered: ${report.problems.length} problem(s)`)}\n`);
      }
      if (!ok) throw new ReportedFailure(1);
    });
}
