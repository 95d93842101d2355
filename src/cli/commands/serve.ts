// bookiji serve: Partner API v1, the Stripe webhook endpoint (and partner webhook delivery) over HTTP, on Fastify (src/api/server.ts).

import type { Command } from 'commander';

interface ServeOptions {
  port: string;
  host: string;
  rateLimit: string;
  rateWindowS: string;
  outbox: boolean;
  webhookTimeoutMs: string;
  webhookLeaseMs: string;
  webhookBackoffMs: string;
}

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('Serve Partner API v1 over HTTP (Fastify) and deliver partner webhooks. Logs JSON lines on stdout; stops on SIGINT/SIGTERM.')
    .option('--port <port>', 'TCP port (0 picks a free one)', '8080')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--rate-limit <n>', 'requests per API key per window, shared by every serve process', '600')
    .option('--rate-window-s <seconds>', 'rate limit window in seconds', '60')
    .option('--no-outbox', 'do not deliver partner webhooks from this process')
    .option('--webhook-timeout-ms <ms>', 'how long one webhook delivery may take', '5000')
    .option('--webhook-lease-ms <ms>', 'how long a delivery attempt owns an event before another process may retry it (must exceed the timeout)', '30000')
    .option('--webhook-backoff-ms <ms>', 'first retry delay; doubles per failed attempt, up to 10 minutes', '1000')
    .addHelpText(
      'after',
      `
The payment provider's webhooks go to POST /webhooks/stripe (secrets from STRIPE_WEBHOOK_SECRET and
STRIPE_WEBHOOK_SECRET_PREVIOUS; with STRIPE_SECRET_KEY, the calls a payment then owes are made at once).
Endpoints (the OpenAPI document at /v1/openapi.json is generated from the routes' schemas):
GET /healthz, GET /metrics, GET /v1/openapi.json, GET /v1/vendors/{id}/availability,
POST /v1/reservations, GET /v1/reservations/{id}, POST /v1/reservations/{id}/confirm, POST /v1/reservations/{id}/cancel,
POST /v1/bookings, GET /v1/bookings/{id}, POST /v1/bookings/{id}/confirm, POST /v1/bookings/{id}/cancel.
Every /v1 call needs "Authorization: Bearer <key>" from \`bookiji apikey create --partner NAME\`.

Example:
  bookiji serve --port 8080 --rate-limit 120
  curl -H "Authorization: Bearer $KEY" "http://127.0.0.1:8080/v1/vendors/$V/availability?startTime=2030-01-01T00:00:00Z&endTime=2030-01-08T00:00:00Z"`,
    )
    .action(serveCommand);
}

async function serveCommand(options: ServeOptions): Promise<void> {
  const { requireInt } = await import('../../engine/validate.js');
  const port = requireInt('port', options.port, 0, 65_535);
  const requestsPerWindowMax = requireInt('rate-limit', options.rateLimit, 1, 1_000_000);
  const windowSeconds = requireInt('rate-window-s', options.rateWindowS, 1, 86_400);
  const outbox = {
    requestTimeoutMs: requireInt('webhook-timeout-ms', options.webhookTimeoutMs, 100, 600_000),
    leaseMs: requireInt('webhook-lease-ms', options.webhookLeaseMs, 200, 3_600_000),
    backoffBaseMs: requireInt('webhook-backoff-ms', options.webhookBackoffMs, 10, 600_000),
  };
  const { openDatabase } = await import('../../db/database.js');
  const { startApiServer } = await import('../../api/server.js');
  // Signing secrets of the payment provider's webhooks: current, then the
  // previous one while a rotation is under way.
  const secrets = [process.env.STRIPE_WEBHOOK_SECRET, process.env.STRIPE_WEBHOOK_SECRET_PREVIOUS].filter((s): s is string => Boolean(s));
  let gateway: import('../../payments/gateway.js').PaymentGateway | undefined;
  if (process.env.STRIPE_SECRET_KEY) {
    const { PaymentGateway, gatewayConfigFromEnv } = await import('../../payments/gateway.js');
    gateway = new PaymentGateway(gatewayConfigFromEnv());
  }
  const db = await openDatabase({ poolMax: 20 });
  let server: Awaited<ReturnType<typeof startApiServer>>;
  try {
    server = await startApiServer({
      pool: db.pool,
      port,
      host: options.host,
      rateLimit: { requestsPerWindowMax, windowSeconds },
      outbox: options.outbox ? outbox : false,
      stripeWebhook: { secrets, ...(gateway ? { gateway } : {}) },
    });
  } catch (error) {
    await db.close();
    throw error;
  }
  process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), level: 'info', msg: 'listening', url: server.url })}\n`);
  const running = server;
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      void running
        .close()
        .then(() => db.close())
        .finally(resolve);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}
