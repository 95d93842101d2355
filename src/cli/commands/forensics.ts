// bookiji forensics ID: a booking's story for support, with every gap named.

import { chalk } from '../colour.js';
import type { Command } from 'commander';
import type { ForensicReport } from '../../forensics/types.js';
import { printJson, printRecord, printTable } from '../output.js';
import { ReportedFailure } from '../reportedFailure.js';

function printReport(report: ForensicReport): void {
  printRecord({
    booking: report.bookingId,
    state: report.state,
    customer: `${report.customer.name} <${report.customer.email}> (${report.customer.id})`,
    vendor: `${report.vendor.name} (${report.vendor.id}, ${report.vendor.timezone})`,
    slot: `${report.slot.id} ${report.slot.startsAt} → ${report.slot.endsAt}${report.slot.legacy ? ' (legacy)' : ''}`,
    'slot (vendor time)': `${report.slot.startsAtVendorTime} → ${report.slot.endsAtVendorTime} (${report.vendor.timezone})`,
    ...(report.previousSlotIds.length ? { 'previous slots': report.previousSlotIds.join(', ') } : {}),
    payment: `${report.payment.method}, ${report.payment.status} (${report.payment.amountCents} ${report.payment.currency})`,
    ...(report.idempotencyKey ? { 'idempotency key': report.idempotencyKey } : {}),
    ...(report.relatedTables.length ? { 'payment records': report.relatedTables.join(', ') } : {}),
  });
  printTable(
    ['at (UTC)', `at (${report.vendor.timezone})`, 'kind', 'what', 'actor', 'source', 'cause'],
    report.timeline.map((e) => [e.at, e.atVendorTime, e.kind, e.summary, e.actor, e.source, e.cause]),
  );
  process.stdout.write(`${chalk.bold('resolution')}: ${report.resolution}\n`);
  if (report.unknowns.length === 0) {
    process.stdout.write(`${chalk.green('fully explained: no unknowns')}\n`);
  } else {
    process.stdout.write(`${chalk.red(`${report.unknowns.length} unknown(s): the history cannot be fully explained`)}\n`);
    printTable(
      ['unknown', 'detail', 'where'],
      report.unknowns.map((u) => [u.kind, u.detail, u.ref]),
    );
  }
}

export function registerForensics(program: Command): void {
  program
    .command('forensics')
    .description(
      'Reconstruct a booking: customer (redacted), slot, vendor, full timeline with actor, source and cause, the resolution, and every unknown. Exit 1 if the history cannot be fully explained.',
    )
    .argument('<id>', 'a booking id, a slot id (every booking that was on it) or a payment intent id')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExample:\n  bookiji forensics 3f1c9e2a-5b7d-4c1e-9a8b-0d2e4f6a8c1b --json\n')
    .action(async (id: string, options: { json?: boolean }) => {
      const { withDatabase } = await import('../context.js');
      const { findBookings, reconstructBooking } = await import('../../forensics/index.js');
      const reports = await withDatabase(async ({ pool }) => {
        const ids = await findBookings(pool, id);
        const found: ForensicReport[] = [];
        for (const bookingId of ids) found.push(await reconstructBooking(pool, bookingId));
        return found;
      });
      const explained = reports.every((r) => r.explained);
      if (options.json) printJson(reports.length === 1 ? reports[0] : { explained, bookings: reports });
      else if (reports.length === 0) process.stdout.write('no booking was ever on this slot\n');
      else
        reports.forEach((r, i) => {
          if (i > 0) process.stdout.write('\n');
          printReport(r);
        });
      if (!explained) throw new ReportedFailure(1);
    });
}
