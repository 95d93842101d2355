// bookiji apikey create | list | revoke | rotate

import type { Command } from 'commander';
import { formatValue, note, printJson, printRecord, printTable } from '../output.js';

export function registerApikey(program: Command): void {
  const apikey = program.command('apikey').description('API keys of partners for `bookiji serve`; only a hash of each key is stored.');
  registerApikeyCreate(apikey);
  registerApikeyList(apikey);
  registerApikeyRevoke(apikey);
  registerApikeyRotate(apikey);
}

function registerApikeyCreate(apikey: Command): void {
  apikey
    .command('create')
    .description('Create an API key for a partner (the partner is created on first use). The key is shown once.')
    .requiredOption('--partner <name>', 'partner name')
    .option('--webhook-url <url>', "where the partner receives webhooks on its bookings' state changes")
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExample:\n  bookiji apikey create --partner acme-travel --webhook-url https://hooks.acme.example/bookiji')
    .action(async (options: { partner: string; webhookUrl?: string; json?: boolean }) => {
      const { withDatabase } = await import('../context.js');
      const { createApiKey } = await import('../../api/apiKeys.js');
      const created = await withDatabase(({ pool }) => createApiKey(pool, { partner: options.partner, webhookUrl: options.webhookUrl }));
      if (options.json) printJson(created);
      else {
        printRecord({ key: created.key, id: created.id, partner: created.partnerName, prefix: created.prefix, 'webhook secret': created.webhookSecret });
        note('The key is shown only now; Bookiji keeps only its hash.');
      }
    });
}

function registerApikeyList(apikey: Command): void {
  apikey
    .command('list')
    .description('List API keys (prefix and state, never the key).')
    .option('--partner <name>', "only this partner's keys")
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExample:\n  bookiji apikey list --partner acme-travel')
    .action(async (options: { partner?: string; json?: boolean }) => {
      const { withDatabase } = await import('../context.js');
      const { listApiKeys } = await import('../../api/apiKeys.js');
      const keys = await withDatabase(({ pool }) => listApiKeys(pool, options.partner === undefined ? {} : { partner: options.partner }));
      if (options.json) printJson(keys);
      else
        printTable(
          ['id', 'partner', 'prefix', 'created', 'revoked'],
          keys.map((k) => [k.id, k.partnerName, k.prefix, formatValue(k.createdAt), formatValue(k.revokedAt)]),
        );
    });
}

function registerApikeyRevoke(apikey: Command): void {
  apikey
    .command('revoke <key>')
    .description('Revoke a key by id or prefix; requests with it get 401 from then on.')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExample:\n  bookiji apikey revoke 3f9a1c22b7d0')
    .action(async (key: string, options: { json?: boolean }) => {
      const { withDatabase } = await import('../context.js');
      const { revokeApiKey } = await import('../../api/apiKeys.js');
      const revoked = await withDatabase(({ pool }) => revokeApiKey(pool, key));
      if (options.json) printJson(revoked);
      else printRecord({ id: revoked.id, partner: revoked.partnerName, prefix: revoked.prefix, revoked: revoked.revokedAt });
    });
}

function registerApikeyRotate(apikey: Command): void {
  apikey
    .command('rotate <key>')
    .description('Replace a key (by id or prefix) with a new one for the same partner; the old one is revoked at once. The new key is shown once.')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExample:\n  bookiji apikey rotate 3f9a1c22b7d0')
    .action(async (key: string, options: { json?: boolean }) => {
      const { withDatabase } = await import('../context.js');
      const { rotateApiKey } = await import('../../api/apiKeys.js');
      const rotated = await withDatabase(({ pool }) => rotateApiKey(pool, key));
      if (options.json) printJson(rotated);
      else {
        printRecord({ key: rotated.key, id: rotated.id, partner: rotated.partnerName, prefix: rotated.prefix, replaced: rotated.replaced });
        note('The key is shown only now; Bookiji keeps only its hash.');
      }
    });
}
