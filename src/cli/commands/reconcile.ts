// bookiji reconcile [--dry-run] [--yes] [--json]

import type { Command } from 'commander';
import { BookijiError } from '../../errors.js';
import { CLI_OPERATOR } from '../../engine/actor.js';
import type { Pool } from '../../db/pool.js';
import type { ReconcileReport } from '../../reconcile/index.js';
import { ReportedFailure } from '../reportedFailure.js';
import { note, printJson, printTable, success } from '../output.js';

export function registerReconcile(program: Command): void {
  program
    .command('reconcile')
    .description(
      'Make payments and bookings agree with the payment provider: expired holds, lost webhooks, interrupted provider calls, stale authorizations, and a drift report to the cent.',
    )
    .option('--dry-run', 'show what would change (reads the provider, changes nothing)')
    .option('--yes', 'do not ask for confirmation')
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      `
Modes:
  no STRIPE_SECRET_KEY     the local parts run (expired holds, stored events never applied);
                           the provider's parts are listed under "skipped" with why; exit 0
                           when nothing checked is wrong.
  provider configured      everything; STRIPE_API_BASE points at the local server of
                           \`bookiji stripe-sandbox\`.
  provider unreachable     the local parts run, the rest is reported DEPENDENCY_UNAVAILABLE; exit 1.
Safe to run again, and while another reconcile runs. On a terminal it shows the plan and asks
first; scripts pass --yes. Exit 1 if a payment could not be repaired or read, or the ledger drifts.
A hold whose slot a running request has locked is skipped and reported as still held
(stillHeld in --json); run again to expire it.

Example:
  bookiji reconcile --dry-run
  STRIPE_SECRET_KEY=sk_test_local STRIPE_API_BASE=http://127.0.0.1:12111 bookiji reconcile --yes`,
    )
    .action(async (options: { dryRun?: boolean; yes?: boolean; json?: boolean }) => {
      const { withDatabase } = await import('../context.js');
      const { PaymentGateway, gatewayConfigFromEnv } = await import('../../payments/gateway.js');
      const { reconcile, reconcileFailureCount } = await import('../../reconcile/index.js');
      const gateway = process.env.STRIPE_SECRET_KEY ? new PaymentGateway(gatewayConfigFromEnv()) : null;
      const actor = { ...CLI_OPERATOR, source: 'reconcile' as const };
      await withDatabase(async ({ pool }) => {
        const plan = await reconcile(pool, gateway, { dryRun: true, actor });
        const planned = plannedCount(plan);
        let report = plan;
        if (!options.dryRun && planned > 0) {
          if (!options.yes) {
            if (!process.stdin.isTTY || !process.stdout.isTTY) {
              throw new BookijiError('USAGE_ERROR', `${planned} item(s) to reconcile; not on a terminal, so pass --yes to proceed (or --dry-run to look)`);
            }
            await printSummary(pool, plan);
            const { confirm } = await import('@inquirer/prompts');
            if (!(await confirm({ message: `Reconcile these ${planned} item(s)?`, default: false }))) {
              note('nothing changed');
              return;
            }
          }
          report = await reconcile(pool, gateway, { dryRun: false, actor });
        }
        const failed = reconcileFailureCount(report);
        if (options.json) printJson(await withHoldDetails(pool, report));
        else {
          await printSummary(pool, report);
          if (failed === 0)
            success(
              options.dryRun
                ? 'dry run: nothing changed'
                : report.skipped.length > 0
                  ? "the local parts agree; the provider's were skipped"
                  : 'payments and bookings agree with the provider',
            );
        }
        if (!options.json && report.stillHeld.length > 0) {
          note(
            `${report.stillHeld.length} hold(s) past their TTL are still held: a running request had their slot locked; run again to expire them (${report.stillHeld.join(', ')})`,
          );
        }
        if (failed > 0) throw new ReportedFailure(1);
      });
    });
}

/** What a run would change: the provider's parts only when they are not skipped. */
function plannedCount(plan: ReconcileReport): number {
  const providerSkipped = plan.skipped.some((s) => s.step === 'owed provider calls and open payments');
  return (
    plan.expiredHolds.length +
    plan.eventsRecovered.length +
    plan.eventsReapplied.length +
    (providerSkipped ? 0 : plan.repairs.length + plan.commitsResumed.length)
  );
}

async function withHoldDetails(pool: Pool, report: ReconcileReport) {
  const { withOpsFields } = await import('../holdsView.js');
  return { ...report, expiredHolds: await withOpsFields(pool, report.expiredHolds, (h) => h.bookingId) };
}

async function printSummary(pool: Pool, report: ReconcileReport): Promise<void> {
  const { withOpsFields, OPS_HOLD_HEAD, opsHoldRow } = await import('../holdsView.js');
  printTable(
    ['part', 'count'],
    [
      [report.dryRun ? 'holds past TTL (would expire)' : 'holds expired', report.expiredHolds.length],
      ...(report.stillHeld.length > 0 ? [['holds past TTL left held (slot locked)', report.stillHeld.length]] : []),
      ['events never delivered', report.eventsRecovered.length],
      ['events stored, not applied', report.eventsReapplied.length],
      ['payments owing a provider call or open', report.repairs.length],
      ['reservation commits in progress', report.commitsResumed.length],
      ['payments drifting from the provider', report.totals.driftCount],
      ['payments the provider could not return', report.totals.unreadCount],
    ],
  );
  const holds = await withOpsFields(pool, report.expiredHolds, (h) => h.bookingId);
  if (holds.length > 0)
    printTable(
      OPS_HOLD_HEAD,
      holds.map((h) => opsHoldRow(h.bookingId, h)),
    );
  const repairs = report.repairs.filter((r) => r.after || r.error);
  if (repairs.length > 0) {
    printTable(
      ['payment', 'before', 'after', 'error'],
      repairs.map((r) => [
        r.paymentId,
        `${r.before.status}/${r.before.pendingAction}`,
        r.after ? `${r.after.status}/${r.after.pendingAction}` : '',
        r.error ?? '',
      ]),
    );
  }
  const commits = report.commitsResumed.filter((c) => c.error || c.state !== 'COMMIT_IN_PROGRESS');
  if (commits.length > 0) {
    printTable(
      ['reservation', 'state', 'error'],
      commits.map((c) => [c.reservationId, c.state, c.error ? `${c.error.code}: ${c.error.message}` : '']),
    );
  }
  const drift = report.drift.filter((d) => !d.agrees || d.synced);
  if (drift.length > 0) {
    printTable(
      ['payment', 'ours captured/refunded', 'provider captured/refunded', 'ledger captured/refunded', 'note'],
      drift.map((d) => [
        d.paymentId,
        `${d.oursCapturedCents}/${d.oursRefundedCents}`,
        d.error ? '?' : `${d.providerCapturedCents}/${d.providerRefundedCents}`,
        `${d.ledgerCapturedCents}/${d.ledgerRefundedCents}`,
        d.error ? `${d.error.code}: ${d.error.message}` : d.synced ? 'synced from the provider' : '',
      ]),
    );
  }
  if (report.skipped.length > 0) {
    printTable(
      ['skipped', 'why', 'hint'],
      report.skipped.map((s) => [s.step, s.error ? `${s.error.code}: ${s.reason}` : s.reason, s.hint]),
    );
  }
  if (report.drift.length > 0) {
    process.stdout.write(
      `net captured (cents): ours ${report.totals.oursNetCents}, ledger ${report.totals.ledgerNetCents}, provider ${report.totals.providerNetCents}\n`,
    );
  }
}
