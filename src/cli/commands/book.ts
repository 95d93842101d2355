// bookiji book --slot S --customer C [--hold] [--idempotency-key K]

import type { Command } from 'commander';
import { HOLD_TTL_SECONDS_DEFAULT, HOLD_TTL_SECONDS_MAX, HOLD_TTL_SECONDS_MIN } from '../../engine/limits.js';
import { printJson, printRecord, stateColour } from '../output.js';

export function registerBook(program: Command): void {
  program
    .command('book')
    .description('Book a slot for a customer, atomically; with --hold, only hold it for a while.')
    .requiredOption('--slot <id>', 'slot id')
    .requiredOption('--customer <id>', 'customer id')
    .option('--hold', 'place a hold only (confirm later with `booking confirm`)')
    .option('--hold-ttl <seconds>', `how long the hold lasts, ${HOLD_TTL_SECONDS_MIN} to ${HOLD_TTL_SECONDS_MAX} (default ${HOLD_TTL_SECONDS_DEFAULT})`)
    .option('--payment-method <method>', 'free, pay_on_arrival or card (default: free for free slots, else pay_on_arrival)')
    .option('--idempotency-key <key>', 'retrying with the same key returns the first outcome')
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      `
The claim is one transaction in PostgreSQL: it locks the slot, checks the
database's clock (never this machine's), capacity and the vendor's other
bookings, and writes the booking, the slot's counter, the state transition and
the audit row together. Card payments need a hold and a verified payment.

Examples:
  bookiji book --slot S --customer C --idempotency-key order-1042
  bookiji book --slot S --customer C --hold --hold-ttl 300`,
    )
    .action(
      async (options: {
        slot: string;
        customer: string;
        hold?: boolean;
        holdTtl?: string;
        paymentMethod?: string;
        idempotencyKey?: string;
        json?: boolean;
      }) => {
        const { withDatabase } = await import('../context.js');
        const { claimSlot } = await import('../../engine/bookings.js');
        const result = await withDatabase(({ pool }) =>
          claimSlot(
            pool,
            {
              slot: options.slot,
              customer: options.customer,
              hold: options.hold ?? false,
              holdTtlSeconds: options.holdTtl,
              paymentMethod: options.paymentMethod,
              idempotencyKey: options.idempotencyKey,
            },
            { kind: 'customer', id: options.customer, source: 'cli' },
          ),
        );
        if (options.json) {
          printJson(result);
          return;
        }
        const b = result.booking;
        printRecord({
          booking: b.id,
          state: stateColour(b.state),
          slot: b.slotId,
          start: b.startsAt,
          end: b.endsAt,
          ...(b.holdExpiresAt ? { 'hold expires': b.holdExpiresAt } : {}),
          payment: `${b.paymentMethod} (${b.amountCents} ${b.currency})`,
          version: b.version,
          ...(result.replayed ? { replayed: 'yes: this key was used before; this is its first outcome' } : {}),
        });
      },
    );
}
