// bookiji holds list | expire [--dry-run] [--yes]

import type { Command } from 'commander';
import { BookijiError } from '../../errors.js';
import { CLI_OPERATOR } from '../../engine/actor.js';
import { note, printJson, printTable, success } from '../output.js';

export function registerHolds(program: Command): void {
  const holds = program.command('holds').description('Holds: bookings that keep capacity until their TTL passes.');
  registerHoldsList(holds);
  registerHoldsExpire(holds);
}

function registerHoldsList(holds: Command): void {
  holds
    .command('list')
    .description(
      "List holds, soonest to expire first: vendor, slot start in the vendor's time zone and UTC, customer (redacted), minutes past TTL, and the payment with what expiring it would owe.",
    )
    .option('--json', 'print JSON (ids kept, the same fields added)')
    .addHelpText(
      'after',
      '\nThe ops workflow: look first, then expire what is past its TTL.\n\nExample:\n  bookiji holds list\n  bookiji holds expire --dry-run\n  bookiji holds expire --yes',
    )
    .action(async (options: { json?: boolean }) => {
      const { withDatabase } = await import('../context.js');
      const { listHolds } = await import('../../engine/holds.js');
      const { withOpsFields, OPS_HOLD_HEAD, opsHoldRow } = await import('../holdsView.js');
      const list = await withDatabase(async ({ pool }) => withOpsFields(pool, await listHolds(pool), (h) => h.id));
      if (options.json) printJson(list);
      else if (list.length === 0) success('no holds');
      else
        printTable(
          [...OPS_HOLD_HEAD, 'expires (UTC)'],
          list.map((h) => [...opsHoldRow(h.id, h), h.holdExpiresAt?.toISOString()]),
        );
    });
}

function registerHoldsExpire(holds: Command): void {
  holds
    .command('expire')
    .description('Expire every hold past its TTL and free its capacity. Safe to run twice at once.')
    .option('--dry-run', 'list what would expire, change nothing')
    .option('--yes', 'do not ask for confirmation')
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      '\nOn a terminal it shows the holds and asks first; scripts pass --yes.\nClaims already treat expired holds as free; this gives them their final state.\nA card hold whose payment is authorized then owes a release, which reconcile sends.\nA hold whose slot a running request has locked is skipped and reported as still held\n(stillHeld in --json); run again to expire it.\n\nExample:\n  bookiji holds expire --dry-run\n  bookiji holds expire --yes --json',
    )
    .action(async (options: { dryRun?: boolean; yes?: boolean; json?: boolean }) => {
      const { withDatabase } = await import('../context.js');
      const { expireHolds, leftHeldBySweep } = await import('../../engine/holds.js');
      const { withOpsFields, OPS_HOLD_HEAD, opsHoldRow } = await import('../holdsView.js');
      await withDatabase(async ({ pool }) => {
        const candidates = await withOpsFields(pool, await expireHolds(pool, { dryRun: true, actor: CLI_OPERATOR }), (h) => h.bookingId);
        const table = (): void =>
          printTable(
            OPS_HOLD_HEAD,
            candidates.map((h) => opsHoldRow(h.bookingId, h)),
          );
        if (options.dryRun || candidates.length === 0) {
          if (options.json) printJson({ dryRun: Boolean(options.dryRun), expired: [], wouldExpire: candidates });
          else if (candidates.length === 0) success('no hold is past its TTL');
          else table();
          return;
        }
        if (!options.yes) {
          if (!process.stdin.isTTY || !process.stdout.isTTY) {
            throw new BookijiError(
              'USAGE_ERROR',
              `${candidates.length} hold(s) would expire; not on a terminal, so pass --yes to proceed (or --dry-run to look)`,
            );
          }
          table();
          const { confirm } = await import('@inquirer/prompts');
          const releases = candidates.filter((h) => h.owedOnExpiry.action === 'release').length;
          const owing = releases > 0 ? ` (${releases} authorization(s) will be owed a release)` : '';
          const proceed = await confirm({ message: `Expire these ${candidates.length} hold(s) and free their slots${owing}?`, default: false });
          if (!proceed) {
            note('nothing changed');
            return;
          }
        }
        const expired = await withOpsFields(pool, await expireHolds(pool, { dryRun: false, actor: CLI_OPERATOR }), (h) => h.bookingId);
        // A listed hold we did not expire was either expired (or settled by a late payment) by someone else, or skipped because a running request held its slot.
        const busy = await leftHeldBySweep(pool, candidates, expired);
        const expiredIds = new Set(expired.map((h) => h.bookingId));
        const notByUs = candidates.filter((h) => !expiredIds.has(h.bookingId)).length;
        if (options.json) printJson({ dryRun: false, expired, stillHeld: busy });
        else {
          const byOthers = notByUs - busy.length;
          success(`expired ${expired.length} hold(s)${byOthers > 0 ? ` (${byOthers} were expired or settled by someone else meanwhile)` : ''}`);
          if (busy.length > 0) {
            note(
              `${busy.length} hold(s) past their TTL are still held: a running request had their slot locked; run again to expire them (${busy.join(', ')})`,
            );
          }
        }
      });
    });
}
