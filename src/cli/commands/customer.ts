// bookiji customer add | list

import type { Command } from 'commander';
import { printJson, printRecord, printTable } from '../output.js';

export function registerCustomer(program: Command): void {
  const customer = program.command('customer').description('Customers: whoever books.');

  customer
    .command('add')
    .addHelpText('after', '\nExample:\n  bookiji customer add --name Ann --email ann@example.com\n')
    .description('Add a customer.')
    .requiredOption('--name <name>', 'display name (1-200 characters)')
    .requiredOption('--email <email>', 'email address (unique)')
    .option('--json', 'print JSON')
    .action(async (options: { name: string; email: string; json?: boolean }) => {
      const { withDatabase } = await import('../context.js');
      const { addCustomer } = await import('../../engine/customers.js');
      const created = await withDatabase(({ pool }) => addCustomer(pool, options));
      if (options.json) printJson(created);
      else printRecord({ id: created.id, name: created.name, email: created.email });
    });

  customer
    .command('list')
    .addHelpText('after', '\nExample:\n  bookiji customer list\n')
    .description('List customers.')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }) => {
      const { withDatabase } = await import('../context.js');
      const { listCustomers } = await import('../../engine/customers.js');
      const customers = await withDatabase(({ pool }) => listCustomers(pool));
      if (options.json) printJson(customers);
      else
        printTable(
          ['id', 'name', 'email'],
          customers.map((c) => [c.id, c.name, c.email]),
        );
    });
}
