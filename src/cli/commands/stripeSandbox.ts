// bookiji stripe-sandbox: the local Stripe-compatible server, in the foreground.

import type { Command } from 'commander';
import { note, printRecord } from '../output.js';

export function registerStripeSandbox(program: Command): void {
  program
    .command('stripe-sandbox')
    .description('Run the local Stripe-compatible server (PaymentIntents, refunds, events, signed webhooks) until interrupted.')
    .option('--port <port>', 'port to listen on', '12111')
    .option('--api-key <key>', 'secret key clients must send', 'sk_test_bookiji_local')
    .option('--webhook-secret <secret>', 'webhook signing secret', 'whsec_bookiji_local')
    .option('--webhook-url <url>', 'where to deliver events, e.g. http://127.0.0.1:8080/webhooks/stripe')
    .option('--seed <seed>', 'seed of the fault plan', 'bookiji')
    .option('--drop-rate <p>', 'probability an event is never delivered', '0')
    .option('--duplicate-rate <p>', 'probability an event is delivered twice', '0')
    .option('--reorder-rate <p>', 'probability an event is held behind the next one', '0')
    .option('--api-error-rate <p>', 'probability an API call answers 500 before running', '0')
    .option('--capture-expired-rate <p>', 'probability a capture fails because the authorization expired (Stripe has no test card for it)', '0')
    .option('--api-version <version>', "the account's API version (default the SDK's); events are rendered in it")
    .addHelpText(
      'after',
      `
Point the CLI at it with:
  STRIPE_SECRET_KEY=sk_test_bookiji_local STRIPE_API_BASE=http://127.0.0.1:12111 STRIPE_WEBHOOK_SECRET=whsec_bookiji_local

Example:
  bookiji stripe-sandbox --webhook-url http://127.0.0.1:8080/webhooks/stripe --drop-rate 0.1 --seed 7`,
    )
    .action(async (options: Record<string, string | undefined>) => {
      const { startStripeSandbox } = await import('../../stripeSandbox/index.js');
      const { validationError } = await import('../../errors.js');
      const rate = (name: string): number => {
        const value = Number(options[name]);
        if (!(value >= 0 && value <= 1)) throw validationError(name, 'give a probability from 0 to 1');
        return value;
      };
      const { isKnownApiVersion } = await import('../../stripeSandbox/apiVersions.js');
      if (options.apiVersion !== undefined && !isKnownApiVersion(options.apiVersion)) {
        throw validationError('api-version', `not a released Stripe API version: ${options.apiVersion}`);
      }
      const port = Number(options.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw validationError('port', 'give a port from 0 to 65535');
      const sandbox = await startStripeSandbox({
        port,
        apiKey: options.apiKey!,
        webhookSecret: options.webhookSecret!,
        seed: options.seed!,
        ...(options.webhookUrl ? { webhookUrl: options.webhookUrl } : {}),
        ...(options.apiVersion ? { apiVersion: options.apiVersion } : {}),
        faults: {
          dropRate: rate('dropRate'),
          duplicateRate: rate('duplicateRate'),
          reorderRate: rate('reorderRate'),
          apiErrorRate: rate('apiErrorRate'),
          captureExpiredRate: rate('captureExpiredRate'),
        },
      });
      printRecord({ url: sandbox.url, 'api key': sandbox.apiKey, 'webhook secret': sandbox.webhookSecret, 'webhook url': options.webhookUrl ?? '(none)' });
      note('Ctrl-C to stop');
      await new Promise<void>((resolve) => {
        const stop = () => {
          void sandbox.close().then(resolve);
        };
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
    });
}
