// bookiji booking show | confirm | cancel | reschedule | list

import type { Command } from 'commander';
import { CLI_OPERATOR } from '../../engine/actor.js';
import type { Booking } from '../../engine/types.js';
import { printJson, printRecord, printTable, stateColour } from '../output.js';

function printBooking(b: Booking): void {
  printRecord({
    booking: b.id,
    state: stateColour(b.state),
    vendor: b.vendorId,
    slot: b.slotId,
    customer: b.customerId,
    start: b.startsAt,
    end: b.endsAt,
    ...(b.holdExpiresAt ? { 'hold expires': b.holdExpiresAt } : {}),
    payment: `${b.paymentMethod}, ${b.paymentStatus} (${b.amountCents} ${b.currency})`,
    ...(b.cancelReason ? { 'cancel reason': b.cancelReason } : {}),
    version: b.version,
  });
}

const VERSION_HELP = 'the version you read (from `booking show`); a stale one is refused. Default: the current one';

export function registerBooking(program: Command): void {
  const booking = program.command('booking').description('Read and change bookings.');
  registerBookingShow(booking);
  registerBookingList(booking);
  registerBookingConfirm(booking);
  registerBookingCancel(booking);
  registerBookingReschedule(booking);
}

function registerBookingShow(booking: Command): void {
  booking
    .command('show')
    .addHelpText('after', '\nExample:\n  bookiji booking show B --json\n')
    .description('Show a booking and its state transitions.')
    .argument('<id>', 'booking id')
    .option('--json', 'print JSON')
    .action(async (id: string, options: { json?: boolean }) => {
      const { withDatabase } = await import('../context.js');
      const { getBooking, bookingTransitions } = await import('../../engine/bookings.js');
      const { found, transitions } = await withDatabase(async ({ pool }) => {
        const found = await getBooking(pool, id);
        return { found, transitions: await bookingTransitions(pool, found.id) };
      });
      if (options.json) {
        printJson({ ...found, transitions });
        return;
      }
      printBooking(found);
      printTable(
        ['at', 'from', 'to', 'cause', 'actor', 'source'],
        transitions.map((t) => [t.at.toISOString(), t.fromState ?? '', t.toState, t.cause, `${t.actorKind}${t.actorId ? `:${t.actorId}` : ''}`, t.source]),
      );
    });
}

function registerBookingList(booking: Command): void {
  booking
    .command('list')
    .addHelpText('after', '\nExample:\n  bookiji booking list --vendor V --state held\n')
    .description('List bookings, optionally filtered.')
    .option('--slot <id>', 'only this slot')
    .option('--customer <id>', 'only this customer')
    .option('--vendor <id>', 'only this vendor')
    .option('--state <state>', 'held, confirmed, cancelled or expired')
    .option('--json', 'print JSON')
    .action(async (options: { slot?: string; customer?: string; vendor?: string; state?: string; json?: boolean }) => {
      const { withDatabase } = await import('../context.js');
      const { listBookings } = await import('../../engine/bookings.js');
      const bookings = await withDatabase(({ pool }) => listBookings(pool, options));
      if (options.json) printJson(bookings);
      else
        printTable(
          ['id', 'state', 'slot', 'customer', 'start', 'version'],
          bookings.map((b) => [b.id, stateColour(b.state), b.slotId, b.customerId, b.startsAt.toISOString(), b.version]),
        );
    });
}

function registerBookingConfirm(booking: Command): void {
  booking
    .command('confirm')
    .addHelpText('after', '\nExample:\n  bookiji booking confirm B --expected-version 1\n')
    .description('Confirm a hold whose payment method needs no verified payment (free, pay on arrival).')
    .argument('<id>', 'booking id')
    .option('--expected-version <n>', VERSION_HELP)
    .option('--json', 'print JSON')
    .action(async (id: string, options: { expectedVersion?: string; json?: boolean }) => {
      const { withDatabase } = await import('../context.js');
      const { confirmBooking } = await import('../../engine/bookings.js');
      const confirmed = await withDatabase(({ pool }) => confirmBooking(pool, { booking: id, expectedVersion: options.expectedVersion }, CLI_OPERATOR));
      if (options.json) printJson(confirmed);
      else printBooking(confirmed);
    });
}

function registerBookingCancel(booking: Command): void {
  booking
    .command('cancel')
    .addHelpText('after', '\nExample:\n  bookiji booking cancel B --reason "customer called"\n')
    .description('Cancel a booking or hold, with a reason; frees its capacity.')
    .argument('<id>', 'booking id')
    .option('--reason <text>', 'why (kept in the audit log)', 'cancelled by operator')
    .option('--expected-version <n>', VERSION_HELP)
    .option('--json', 'print JSON')
    .action(async (id: string, options: { reason: string; expectedVersion?: string; json?: boolean }) => {
      const { withDatabase } = await import('../context.js');
      const { cancelBooking } = await import('../../engine/bookings.js');
      const cancelled = await withDatabase(({ pool }) =>
        cancelBooking(pool, { booking: id, reason: options.reason, expectedVersion: options.expectedVersion }, CLI_OPERATOR),
      );
      if (options.json) printJson(cancelled);
      else printBooking(cancelled);
    });
}

function registerBookingReschedule(booking: Command): void {
  booking
    .command('reschedule')
    .addHelpText('after', '\nExample:\n  bookiji booking reschedule B --slot S2\n')
    .description('Move a booking to another slot of the same vendor: both or neither.')
    .argument('<id>', 'booking id')
    .requiredOption('--slot <id>', 'the new slot')
    .option('--expected-version <n>', VERSION_HELP)
    .option('--json', 'print JSON')
    .action(async (id: string, options: { slot: string; expectedVersion?: string; json?: boolean }) => {
      const { withDatabase } = await import('../context.js');
      const { rescheduleBooking } = await import('../../engine/bookings.js');
      const moved = await withDatabase(({ pool }) =>
        rescheduleBooking(pool, { booking: id, slot: options.slot, expectedVersion: options.expectedVersion }, CLI_OPERATOR),
      );
      if (options.json) printJson(moved);
      else printBooking(moved);
    });
}
