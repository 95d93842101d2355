// The payment tests' world: a fresh database, the Stripe sandbox, the real
// SDK gateway pointed at it, and the webhook handler behind a tiny node:http
// server that the sandbox delivers to.

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type Stripe from 'stripe';
import { afterEach } from 'vitest';
import { startStripeSandbox, signatureHeader, type StripeSandbox, type StripeSandboxOptions } from '../../src/stripeSandbox/index.js';
import { PaymentGateway, type GatewayConfig } from '../../src/payments/gateway.js';
import { handleStripeWebhook, type WebhookConfig, type WebhookResponse } from '../../src/api/stripeWebhook.js';
import { claimSlot } from '../../src/engine/bookings.js';
import type { Actor, Booking, Slot, Vendor } from '../../src/engine/types.js';
import type { Pool } from '../../src/db/pool.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { makeCustomer, makeSlot, makeVendor, TEST_ACTOR } from '../helpers/fixtures.js';

export const API_KEY = 'sk_test_bookiji_payments_0001';
export const WEBHOOK_SECRET = 'whsec_bookiji_payments_current';
export const WEBHOOK_SECRET_PREVIOUS = 'whsec_bookiji_payments_previous';
export const CUSTOMER_ACTOR: Actor = { kind: 'customer', id: 'test-customer', source: 'test' };
export const RECONCILE_ACTOR: Actor = { kind: 'system', id: 'reconcile', source: 'reconcile' };

export type Handler = (pool: Pool, rawBody: Buffer, headers: Record<string, string | string[] | undefined>, config: WebhookConfig) => Promise<WebhookResponse>;

export interface World {
  db: TestDatabase;
  pool: Pool;
  sandbox: StripeSandbox;
  gateway: PaymentGateway;
  webhookUrl: string;
  /** Swap the handler behind the webhook URL (a broken fixture for a twin). */
  setHandler(handler: Handler): void;
  close(): Promise<void>;
}

export async function openWorld(
  options: { simulation?: boolean; sandbox?: Partial<StripeSandboxOptions>; gateway?: Partial<GatewayConfig>; settleFromWebhook?: boolean } = {},
): Promise<World> {
  const db = await createTestDatabase({ simulation: options.simulation ?? false, poolMax: 20 });
  const sandbox = await startStripeSandbox({
    apiKey: API_KEY,
    webhookSecret: WEBHOOK_SECRET,
    seed: 'bookiji-payments-tests',
    deliveryBackoffMs: 10,
    deliveryBackoffMaxMs: 50,
    ...options.sandbox,
  });
  const gateway = new PaymentGateway({
    secretKey: API_KEY,
    apiBase: sandbox.url,
    webhookSecrets: [WEBHOOK_SECRET, WEBHOOK_SECRET_PREVIOUS],
    timeoutMs: 2_000,
    maxNetworkRetries: 0,
    attemptMax: 3,
    backoffBaseMs: 5,
    ...options.gateway,
  });
  let handler: Handler = handleStripeWebhook;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const config: WebhookConfig = { secrets: [WEBHOOK_SECRET, WEBHOOK_SECRET_PREVIOUS], ...(options.settleFromWebhook === false ? {} : { gateway }) };
      handler(db.pool, Buffer.concat(chunks), req.headers, config)
        .then((answer) => {
          res.writeHead(answer.status, { 'Content-Type': 'application/json' });
          res.end(JSON.stringify(answer.body));
        })
        .catch((error: unknown) => {
          res.writeHead(500);
          res.end(String(error));
        });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const webhookUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhooks/stripe`;
  sandbox.setWebhookUrl(webhookUrl);
  return {
    db,
    pool: db.pool,
    sandbox,
    gateway,
    webhookUrl,
    setHandler(next) {
      handler = next;
    },
    async close() {
      await sandbox.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await db.drop();
    },
  };
}

/** The environment a `bookiji` child process needs to work on this world: its database and its provider. */
export function cliEnv(w: World): NodeJS.ProcessEnv {
  return {
    ...process.env,
    DATABASE_URL: w.db.connectionString,
    STRIPE_SECRET_KEY: API_KEY,
    STRIPE_API_BASE: w.sandbox.url,
    STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
    NO_COLOR: '1',
  };
}

export type WorldOptions = Parameters<typeof openWorld>[0];

/**
 * A test file's worlds: the returned `world(options)` opens one (the file's
 * defaults, then the call's options, merged shallowly), and every world
 * opened is closed after each test.
 */
export function useWorlds(defaults: WorldOptions = {}): (options?: WorldOptions) => Promise<World> {
  const worlds: World[] = [];
  afterEach(async () => {
    await Promise.all(worlds.splice(0).map((w) => w.close()));
  });
  return async (options = {}) => {
    const w = await openWorld({ ...defaults, ...options });
    worlds.push(w);
    return w;
  };
}

export interface CardHold {
  vendor: Vendor;
  slot: Slot;
  customerId: string;
  booking: Booking;
}

export async function cardHold(pool: Pool, options: { priceCents?: number; holdTtlSeconds?: number; vendor?: Vendor } = {}): Promise<CardHold> {
  const vendor = options.vendor ?? (await makeVendor(pool));
  const slot = await makeSlot(pool, vendor, { priceCents: options.priceCents ?? 4200 });
  const customer = await makeCustomer(pool);
  const { booking } = await claimSlot(
    pool,
    { slot: slot.id, customer: customer.id, hold: true, paymentMethod: 'card', ...(options.holdTtlSeconds ? { holdTtlSeconds: options.holdTtlSeconds } : {}) },
    TEST_ACTOR,
  );
  return { vendor, slot, customerId: customer.id, booking };
}

/** POSTs an event to a handler as the provider would, signed with `secret` at `timestamp`. */
export async function deliver(
  pool: Pool,
  handler: Handler,
  event: Stripe.Event | string,
  options: { secret?: string; timestamp?: number; gateway?: PaymentGateway; signatureOverride?: string } = {},
): Promise<WebhookResponse> {
  const body = typeof event === 'string' ? event : JSON.stringify(event);
  const signature = options.signatureOverride ?? signatureHeader(body, options.secret ?? WEBHOOK_SECRET, options.timestamp ?? Math.floor(Date.now() / 1000));
  return handler(
    pool,
    Buffer.from(body),
    { 'stripe-signature': signature },
    {
      secrets: [WEBHOOK_SECRET, WEBHOOK_SECRET_PREVIOUS],
      ...(options.gateway ? { gateway: options.gateway } : {}),
    },
  );
}

/** The provider's events for one intent, oldest first. */
export function eventsOf(sandbox: StripeSandbox, intentId: string): Stripe.Event[] {
  return sandbox.events().filter((e) => (e.data.object as { id?: string; payment_intent?: string }).id === intentId);
}

export async function verifyPayments(pool: Pool): Promise<Record<string, number>> {
  const rows = await pool.query('SELECT check_id, violations FROM verify_payments()');
  return Object.fromEntries(rows.rows.map((r) => [r.check_id, Number(r.violations)]));
}

export async function verifyAll(pool: Pool): Promise<Record<string, number>> {
  const rows = await pool.query('SELECT check_id, violations FROM verify_invariants() UNION ALL SELECT check_id, violations FROM verify_payments()');
  return Object.fromEntries(rows.rows.map((r) => [r.check_id, Number(r.violations)]));
}

export function noViolations(report: Record<string, number>): boolean {
  return Object.values(report).every((n) => n === 0);
}

export async function ledgerSums(pool: Pool, paymentId: string): Promise<Record<string, number>> {
  const rows = await pool.query(`SELECT kind, sum(amount_cents) AS cents FROM ledger_entries WHERE payment_id = $1 GROUP BY kind`, [paymentId]);
  return Object.fromEntries(rows.rows.map((r) => [r.kind, Number(r.cents)]));
}

export async function bookingRow(pool: Pool, bookingId: string): Promise<{ state: string; payment_status: string }> {
  return (await pool.query('SELECT state, payment_status FROM bookings WHERE id = $1', [bookingId])).rows[0];
}

export async function slotCount(pool: Pool, slotId: string): Promise<number> {
  return Number((await pool.query('SELECT booked_count FROM slots WHERE id = $1', [slotId])).rows[0].booked_count);
}
