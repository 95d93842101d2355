// bookiji holds list | expire [--dry-run] [--yes]

import type { Command } from 'commander';
import { BookijiError } from '../../errors.js';
import { CLI_OPERATOR } from '../../engine/actor.js';
import { note, printJson, printTable, success } from '../output.js';

export function registerHolds(program: Command): void {
  const holds = program.command('holds').description('Holds: bookings that keep capacity until their TTL passes.');

  holds
    .command('list')
    .description('List holds, soonest to expire first.')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }) => {
      const { withDatabase } = await import('../context.js');
      const { listHolds } = await import('../../engine/holds.js');
      const list = await withDatabase(({ pool }) => listHolds(pool));
      if (options.json) printJson(list);
      else printTable(['booking', 'slot', 'customer', 'expires', 'past TTL'], list.map((h) => [h.id, h.slotId, h.customerId, h.holdExpiresAt?.toISOString(), h.expiredByClock ? 'yes' : '']));
    });

  holds
    .command('expire')
    .description('Expire every hold past its TTL and free its capacity. Safe to run twice at once.')
    .option('--dry-run', 'list what would expire, change nothing')
    .option('--yes', 'do not ask for confirmation')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nOn a terminal it shows the holds and asks first; scripts pass --yes.\nClaims already treat expired holds as free; this gives them their final state.')
    .action(async (options: { dryRun?: boolean; yes?: boolean; json?: boolean }) => {
      const { withDatabase } = await import('../context.js');
      const { expireHolds } = await import('../../engine/holds.js');
      await withDatabase(async ({ pool }) => {
        const candidates = await expireHolds(pool, { dryRun: true, actor: CLI_OPERATOR });
        if (options.dryRun || candidates.length === 0) {
          if (options.json) printJson({ dryRun: Boolean(options.dryRun), expired: [], wouldExpire: candidates });
          else if (candidates.length === 0) success('no hold is past its TTL');
          else printTable(['booking (would expire)', 'slot', 'customer', 'expired at'], candidates.map((h) => [h.bookingId, h.slotId, h.customerId, h.holdExpiresAt.toISOString()]));
          return;
        }
        if (!options.yes) {
          if (!process.stdin.isTTY || !process.stdout.isTTY) {
            throw new BookijiError('USAGE_ERROR', `${candidates.length} hold(s) would expire; not on a terminal, so pass --yes to proceed (or --dry-run to look)`);
          }
          printTable(['booking', 'slot', 'customer', 'expired at'], candidates.map((h) => [h.bookingId, h.slotId, h.customerId, h.holdExpiresAt.toISOString()]));
          const { confirm } = await import('@inquirer/prompts');
          const proceed = await confirm({ message: `Expire these ${candidates.length} hold(s) and free their slots?`, default: false });
          if (!proceed) {
            note('nothing changed');
            return;
          }
        }
        const expired = await expireHolds(pool, { dryRun: false, actor: CLI_OPERATOR });
        if (options.json) printJson({ dryRun: false, expired });
        else success(`expired ${expired.length} hold(s)${expired.length < candidates.length ? ` (${candidates.length - expired.length} were expired concurrently by someone else)` : ''}`);
      });
    });
}
