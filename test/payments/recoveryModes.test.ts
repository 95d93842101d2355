// Proves reconcile's modes: without a provider it repairs what needs none and
// reports the provider's parts as skipped with a reason and a hint (exit 0
// when nothing checked is wrong); with a provider that cannot be reached it
// still does the local work and reports the rest as DEPENDENCY_UNAVAILABLE
// (exit 1). The ops fields of the holds it expires are shown redacted.
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { advanceClock } from '../../src/engine/clock.js';
import { startCardCheckout } from '../../src/payments/checkout.js';
import { PaymentGateway } from '../../src/payments/gateway.js';
import { reconcile, reconcileFailureCount, PROVIDER_STEPS } from '../../src/reconcile/index.js';
import { getPayment } from '../../src/payments/store.js';
import { buildDist } from '../api/build.js';
import { runCli } from '../cli/helpers.js';
import { API_KEY, bookingRow, cardHold, CUSTOMER_ACTOR, openWorld, RECONCILE_ACTOR, type World } from './harness.js';

let w: World;
beforeAll(async () => {
  buildDist();
  w = await openWorld({ simulation: true });
});
afterAll(async () => w.close());

/** A card hold whose checkout began (an intent exists, its webhook delivered), then its TTL passed by `minutes`. */
async function expiredCheckout(minutes: number) {
  const hold = await cardHold(w.pool, { holdTtlSeconds: 60 });
  const { payment } = await startCardCheckout(w.pool, w.gateway, hold.booking.id, CUSTOMER_ACTOR);
  // The intent's payment_intent.created reaches our handler asynchronously;
  // while its transaction holds the slot, the sweep skips that slot (SKIP
  // LOCKED, by design) and would list nothing. Let it land first.
  await w.sandbox.flushWebhooks();
  await advanceClock(w.pool, (60 + minutes * 60) * 1000);
  return { hold, payment };
}

function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

describe('reconcile without a payment provider', () => {
  // Proves `reconcile --dry-run` and `--yes` without STRIPE_SECRET_KEY exit 0, expire the hold on --yes, and list every provider part as skipped with reason and hint.
  it('does the local parts, skips the provider parts with a reason, exits 0', async () => {
    const { hold, payment } = await expiredCheckout(7);
    const env = { DATABASE_URL: w.db.connectionString, STRIPE_SECRET_KEY: '', STRIPE_API_BASE: '' };
    const dry = await runCli(['reconcile', '--dry-run', '--json'], env);
    expect(dry.code, dry.stderr).toBe(0);
    const plan = dry.json() as { expiredHolds: Array<Record<string, unknown>>; skipped: Array<Record<string, unknown>> };
    expect(plan.skipped.map((s) => s.step)).toEqual(PROVIDER_STEPS);
    expect(plan.skipped[0]).toMatchObject({
      reason: expect.stringMatching(/STRIPE_SECRET_KEY is not set/),
      hint: expect.stringMatching(/Set STRIPE_SECRET_KEY/),
      error: null,
    });
    const shown = plan.expiredHolds.find((h) => h.bookingId === hold.booking.id)!;
    expect(shown).toMatchObject({ vendorName: hold.vendor.name, vendorTimezone: 'Europe/Paris', minutesPastTtl: 7, owedOnExpiry: { action: 'cancel_intent' } });
    expect(shown.payment).toMatchObject({ id: payment.id, providerIntentId: payment.providerIntentId });
    expect(JSON.stringify(shown.customer)).toMatch(/"email":"c\*\*\*@example\.test"/);
    expect((await bookingRow(w.pool, hold.booking.id)).state).toBe('held');

    const table = await runCli(['reconcile', '--dry-run'], env);
    expect(table.code).toBe(0);
    expect(table.stdout).toContain(hold.vendor.name);
    expect(table.stdout).toMatch(/GMT\+1|GMT\+2/);
    expect(table.stdout).toContain('skipped');

    const done = await runCli(['reconcile', '--yes', '--json'], env);
    expect(done.code, done.stderr).toBe(0);
    expect((await bookingRow(w.pool, hold.booking.id)).state).toBe('expired');
    expect(await getPayment(w.pool, payment.id)).toMatchObject({ pendingAction: 'cancel' });
  });
});

describe('reconcile with a provider that cannot be reached', () => {
  // Proves the hold is still expired locally while every provider part is reported DEPENDENCY_UNAVAILABLE and the run counts as failed.
  it('does the local work and reports the rest as DEPENDENCY_UNAVAILABLE', async () => {
    const { hold } = await expiredCheckout(2);
    const down = new PaymentGateway({
      secretKey: API_KEY,
      apiBase: `http://127.0.0.1:${await closedPort()}`,
      webhookSecrets: [],
      maxNetworkRetries: 0,
      attemptMax: 1,
      timeoutMs: 1000,
    });
    const report = await reconcile(w.pool, down, { dryRun: false, actor: RECONCILE_ACTOR });
    expect(report.expiredHolds.map((h) => h.bookingId)).toContain(hold.booking.id);
    expect((await bookingRow(w.pool, hold.booking.id)).state).toBe('expired');
    expect(report.skipped.map((s) => [s.step, s.error?.code])).toEqual(PROVIDER_STEPS.map((step) => [step, 'DEPENDENCY_UNAVAILABLE']));
    expect(report.repairs.every((r) => r.after === null)).toBe(true);
    expect(reconcileFailureCount(report)).toBe(PROVIDER_STEPS.length);
  });
});
