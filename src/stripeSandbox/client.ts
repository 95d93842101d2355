// A `stripe` SDK client pointed at a sandbox, for tests and simulations:
// plain http, no automatic network retries (so faults surface to the caller),
// and any other SDK option (e.g. `timeout`) passed through.

import Stripe from 'stripe';
import type { StripeSandbox } from './server.js';

export function stripeClient(sandbox: Pick<StripeSandbox, 'apiKey' | 'host' | 'port'>, config: Stripe.StripeConfig & { apiKey?: string } = {}): Stripe {
  const { apiKey, ...rest } = config;
  return new Stripe(apiKey ?? sandbox.apiKey, {
    host: sandbox.host,
    port: sandbox.port,
    protocol: 'http',
    maxNetworkRetries: 0,
    ...rest,
  });
}
