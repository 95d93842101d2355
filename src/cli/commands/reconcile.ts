// bookiji reconcile [--dry-run] [--yes] [--json]

import type { Command } from 'commander';
import { BookijiError } from '../../errors.js';
import { CLI_OPERATOR } from '../../engine/actor.js';
import { ReportedFailure } from '../reportedFailure.js';
import { note, printJson, printTable, success } from '../output.js';

export function registerReconcile(program: Command): void {
  program
    .command('reconcile')
    .description('Make payments and bookings agree with the payment provider: expired holds, lost webhooks, interrupted provider calls, stale authorizations, and a drift report to the cent.')
    .option('--dry-run', 'show what would change (reads the provider, changes nothing)')
    .option('--yes', 'do not ask for confirmation')
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      `
Needs STRIPE_SECRET_KEY (and STRIPE_API_BASE for the local server of \`bookiji stripe-sandbox\`).
Safe to run again, and while another reconcile runs. On a terminal it shows the plan and asks
first; scripts pass --yes. Exit 1 if a payment could not be repaired or the ledger drifts.

Example:
  STRIPE_SECRET_KEY=sk_test_local STRIPE_API_BASE=http://127.0.0.1:12111 bookiji reconcile --yes`,
    )
    .action(async (options: { dryRun?: boolean; yes?: boolean; json?: boolean }) => {
      const { withDatabase } = await import('../context.js');
      const { PaymentGateway, gatewayConfigFromEnv } = await import('../../payments/gateway.js');
      const { reconcile } = await import('../../reconcile/index.js');
      const gateway = new PaymentGateway(gatewayConfigFromEnv());
      const actor = { ...CLI_OPERATOR, source: 'reconcile' as const };
      await withDatabase(async ({ pool }) => {
        const plan = await reconcile(pool, gateway, { dryRun: true, actor });
        const planned = plan.expiredHolds.length + plan.eventsRecovered.length + plan.eventsReapplied.length + plan.repairs.length;
        let report = plan;
        if (!options.dryRun && planned > 0) {
          if (!options.yes) {
            if (!process.stdin.isTTY || !process.stdout.isTTY) {
              throw new BookijiError('USAGE_ERROR', `${planned} item(s) to reconcile; not on a terminal, so pass --yes to proceed (or --dry-run to look)`);
            }
            printSummary(plan);
            const { confirm } = await import('@inquirer/prompts');
            if (!(await confirm({ message: `Reconcile these ${planned} item(s)?`, default: false }))) {
              note('nothing changed');
              return;
            }
          }
          report = await reconcile(pool, gateway, { dryRun: false, actor });
        }
        const failed = report.repairs.filter((r) => r.error !== null).length + report.totals.driftCount;
        if (options.json) printJson(report);
        else {
          printSummary(report);
          if (failed === 0) success(options.dryRun ? 'dry run: nothing changed' : 'payments and bookings agree with the provider');
        }
        if (failed > 0) throw new ReportedFailure(1);
      });
    });
}

function printSummary(report: import('../../reconcile/index.js').ReconcileReport): void {
  printTable(
    ['part', 'count'],
    [
      [report.dryRun ? 'holds past TTL (would expire)' : 'holds expired', report.expiredHolds.length],
      ['events never delivered', report.eventsRecovered.length],
      ['events stored, not applied', report.eventsReapplied.length],
      ['payments owing a provider call or open', report.repairs.length],
      ['payments drifting from the provider', report.totals.driftCount],
    ],
  );
  const repairs = report.repairs.filter((r) => r.after || r.error);
  if (repairs.length > 0) {
    printTable(
      ['payment', 'before', 'after', 'error'],
      repairs.map((r) => [r.paymentId, `${r.before.status}/${r.before.pendingAction}`, r.after ? `${r.after.status}/${r.after.pendingAction}` : '', r.error ?? '']),
    );
  }
  const drift = report.drift.filter((d) => !d.agrees);
  if (drift.length > 0) {
    printTable(
      ['payment', 'ours captured/refunded', 'provider captured/refunded', 'ledger captured/refunded'],
      drift.map((d) => [d.paymentId, `${d.oursCapturedCents}/${d.oursRefundedCents}`, `${d.providerCapturedCents}/${d.providerRefundedCents}`, `${d.ledgerCapturedCents}/${d.ledgerRefundedCents}`]),
    );
  }
  process.stdout.write(`net captured (cents): ours ${report.totals.oursNetCents}, ledger ${report.totals.ledgerNetCents}, provider ${report.totals.providerNetCents}\n`);
}
