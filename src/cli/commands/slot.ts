// bookiji slot add | list

import type { Command } from 'commander';
import { CLI_OPERATOR } from '../../engine/actor.js';
import { printJson, printRecord, printTable } from '../output.js';

export function registerSlot(program: Command): void {
  const slot = program.command('slot').description("Slots: a vendor's bookable time ranges, with capacity and price.");

  slot
    .command('add')
    .description('Add a slot to a vendor.')
    .requiredOption('--vendor <id>', 'vendor id')
    .requiredOption('--start <iso>', 'start, ISO 8601 with a zone (2030-01-31T09:00:00Z)')
    .requiredOption('--end <iso>', 'end, ISO 8601 with a zone')
    .option('--capacity <n>', 'how many bookings the slot takes (default 1)')
    .option('--price-cents <n>', 'price in minor units (default 0: free)')
    .option('--currency <code>', 'ISO 4217 currency (default EUR)')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExample:\n  bookiji slot add --vendor V --start 2030-01-31T09:00:00Z --end 2030-01-31T10:00:00Z --capacity 3 --price-cents 4500')
    .action(async (options: { vendor: string; start: string; end: string; capacity?: string; priceCents?: string; currency?: string; json?: boolean }) => {
      const { withDatabase } = await import('../context.js');
      const { addSlot } = await import('../../engine/slots.js');
      const created = await withDatabase(({ pool }) => addSlot(pool, options, CLI_OPERATOR));
      if (options.json) printJson(created);
      else
        printRecord({
          id: created.id,
          vendor: created.vendorId,
          start: created.startsAt,
          end: created.endsAt,
          capacity: created.capacity,
          price: `${created.priceCents} ${created.currency}`,
        });
    });

  slot
    .command('list')
    .addHelpText('after', '\nExample:\n  bookiji slot list --vendor V --from 2030-01-31T00:00:00Z --to 2030-02-01T00:00:00Z\n')
    .description("List a vendor's slots with what is free now (expired holds count as free).")
    .requiredOption('--vendor <id>', 'vendor id')
    .option('--from <iso>', 'slots starting at or after this time')
    .option('--to <iso>', 'slots starting before this time')
    .option('--include-legacy', 'also list legacy slots (kept for existing bookings)')
    .option('--json', 'print JSON')
    .action(async (options: { vendor: string; from?: string; to?: string; includeLegacy?: boolean; json?: boolean }) => {
      const { withDatabase } = await import('../context.js');
      const { listSlots } = await import('../../engine/slots.js');
      const slots = await withDatabase(({ pool }) =>
        listSlots(pool, { vendor: options.vendor, from: options.from, to: options.to, includeLegacy: options.includeLegacy ?? false }),
      );
      if (options.json) printJson(slots);
      else
        printTable(
          ['id', 'start', 'end', 'capacity', 'booked', 'available', 'price', 'legacy'],
          slots.map((s) => [
            s.id,
            s.startsAt.toISOString(),
            s.endsAt.toISOString(),
            s.capacity,
            s.bookedCount,
            s.available,
            `${s.priceCents} ${s.currency}`,
            s.legacy ? 'yes' : '',
          ]),
        );
    });
}
