// bookiji vendor add | list

import type { Command } from 'commander';
import { printJson, printRecord, printTable } from '../output.js';

export function registerVendor(program: Command): void {
  const vendor = program.command('vendor').description('Vendors: whoever is booked, each in an IANA time zone.');

  vendor
    .command('add')
    .description('Add a vendor.')
    .requiredOption('--name <name>', 'display name (1-200 characters)')
    .requiredOption('--timezone <zone>', 'IANA time zone, e.g. Europe/Paris')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExample:\n  bookiji vendor add --name "Dr. Rivera" --timezone Europe/Paris')
    .action(async (options: { name: string; timezone: string; json?: boolean }) => {
      const { withDatabase } = await import('../context.js');
      const { addVendor } = await import('../../engine/vendors.js');
      const created = await withDatabase(({ pool }) => addVendor(pool, options));
      if (options.json) printJson(created);
      else printRecord({ id: created.id, name: created.name, timezone: created.timezone });
    });

  vendor
    .command('list')
    .addHelpText('after', '\nExample:\n  bookiji vendor list --json\n')
    .description('List vendors.')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }) => {
      const { withDatabase } = await import('../context.js');
      const { listVendors } = await import('../../engine/vendors.js');
      const vendors = await withDatabase(({ pool }) => listVendors(pool));
      if (options.json) printJson(vendors);
      else
        printTable(
          ['id', 'name', 'timezone'],
          vendors.map((v) => [v.id, v.name, v.timezone]),
        );
    });
}
