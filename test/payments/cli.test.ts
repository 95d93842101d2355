// Proves `bookiji payment pay` and `bookiji reconcile` work end to end as a user runs them, and that two reconciles at once repair each payment once.
import { execFile, spawn } from 'node:child_process';
import Stripe from 'stripe';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCardCheckout, payAsCustomer } from '../../src/payments/checkout.js';
import { reconcile } from '../../src/reconcile/index.js';
import { getPayment } from '../../src/payments/store.js';
import { race } from '../helpers/fixtures.js';
import { buildDist } from '../api/build.js';
import { bookingRow, cardHold, cliEnv, CUSTOMER_ACTOR, ledgerSums, noViolations, openWorld, RECONCILE_ACTOR, verifyAll, type World } from './harness.js';

const run = promisify(execFile);
let w: World;
beforeAll(async () => {
  // The CLI runs from dist/: one locked build per test run, never a half-written one.
  buildDist();
  w = await openWorld({ sandbox: { faults: { dropRate: 1 } } });
});
afterAll(async () => w.close());

function cli(args: string[]) {
  return run('node', ['bin/bookiji', ...args], {
    cwd: new URL('../..', import.meta.url).pathname,
    env: cliEnv(w),
  });
}

describe('payment CLI', () => {
  // Proves the CLI pays a held booking through the provider and reports it confirmed, with webhooks lost entirely.
  it('pays a hold with `payment pay` and shows it with `payment show`', async () => {
    const hold = await cardHold(w.pool, { priceCents: 1500 });
    const paid = JSON.parse((await cli(['payment', 'pay', hold.booking.id, '--card', 'pm_card_visa', '--json'])).stdout);
    expect(paid.booking.state).toBe('confirmed');
    expect(paid.payment.status).toBe('captured');
    const shown = JSON.parse((await cli(['payment', 'show', hold.booking.id, '--json'])).stdout);
    expect(shown.ledger.map((l: { kind: string }) => l.kind)).toEqual(['authorization', 'capture']);
  });

  // Proves `reconcile --dry-run` changes nothing, `reconcile --yes` confirms a paid booking whose webhooks were lost, and later runs find nothing to repair.
  it('reconciles lost webhooks with --yes, after a dry run that changes nothing', async () => {
    const hold = await cardHold(w.pool, { priceCents: 2500 });
    const { payment } = await startCardCheckout(w.pool, w.gateway, hold.booking.id, CUSTOMER_ACTOR);
    await payAsCustomer(w.gateway, payment.providerIntentId!, 'pm_card_visa');
    const dry = JSON.parse((await cli(['reconcile', '--dry-run', '--json'])).stdout);
    expect(dry.dryRun).toBe(true);
    expect((await bookingRow(w.pool, hold.booking.id)).state).toBe('held');
    const done = JSON.parse((await cli(['reconcile', '--yes', '--json'])).stdout);
    expect(done.totals.driftCount).toBe(0);
    expect(await bookingRow(w.pool, hold.booking.id)).toEqual({ state: 'confirmed', payment_status: 'captured' });
    // The second run only stores the (undelivered) event of the first run's own capture; the third finds nothing.
    const again = JSON.parse((await cli(['reconcile', '--yes', '--json'])).stdout);
    expect(again.repairs).toEqual([]);
    const third = JSON.parse((await cli(['reconcile', '--yes', '--json'])).stdout);
    expect(third.eventsRecovered).toEqual([]);
    expect(third.repairs).toEqual([]);
  });

  // Proves a reconcile without --yes off a terminal refuses (exit 2) and changes nothing.
  it('refuses to change anything off a terminal without --yes', async () => {
    const hold = await cardHold(w.pool, { priceCents: 2600 });
    const { payment } = await startCardCheckout(w.pool, w.gateway, hold.booking.id, CUSTOMER_ACTOR);
    await payAsCustomer(w.gateway, payment.providerIntentId!, 'pm_card_visa');
    await expect(cli(['reconcile'])).rejects.toMatchObject({ code: 2 });
    expect((await bookingRow(w.pool, hold.booking.id)).state).toBe('held');
    await reconcile(w.pool, w.gateway, { dryRun: false, actor: RECONCILE_ACTOR });
  });

  // Proves two reconciles racing behind a barrier leave each payment captured exactly once, with one capture at the provider.
  it('is safe to run twice at once', async () => {
    const holds = await Promise.all([cardHold(w.pool, { priceCents: 1100 }), cardHold(w.pool, { priceCents: 1200 }), cardHold(w.pool, { priceCents: 1300 })]);
    const payments = [];
    for (const hold of holds) {
      const { payment } = await startCardCheckout(w.pool, w.gateway, hold.booking.id, CUSTOMER_ACTOR);
      await payAsCustomer(w.gateway, payment.providerIntentId!, 'pm_card_visa');
      payments.push(payment);
    }
    const results = await race(2, () => reconcile(w.pool, w.gateway, { dryRun: false, actor: RECONCILE_ACTOR }));
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled']);
    for (const [i, payment] of payments.entries()) {
      const current = await getPayment(w.pool, payment.id);
      expect(current.status).toBe('captured');
      expect(await ledgerSums(w.pool, payment.id)).toEqual({ authorization: 1100 + i * 100, capture: 1100 + i * 100 });
      expect(w.sandbox.charges().filter((c) => c.payment_intent === payment.providerIntentId && c.captured).length).toBe(1);
    }
    expect(noViolations(await verifyAll(w.pool))).toBe(true);
  });

  // Proves `bookiji stripe-sandbox` serves the real SDK on the port it prints and stops cleanly on SIGTERM.
  it('runs the local Stripe server from the command line', async () => {
    const child = spawn(process.execPath, ['bin/bookiji', 'stripe-sandbox', '--port', '0', '--api-key', 'sk_test_cli'], {
      cwd: new URL('../..', import.meta.url).pathname,
      env: { ...process.env, NO_COLOR: '1' },
    });
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        const match = /url\s+(http:\/\/\S+)/.exec(out);
        if (match) resolve(match[1]!);
      });
      child.on('exit', (code) => reject(new Error(`exited ${code}: ${out}`)));
    });
    const parsed = new URL(url);
    const stripe = new Stripe('sk_test_cli', { host: parsed.hostname, port: Number(parsed.port), protocol: 'http', maxNetworkRetries: 0 });
    const intent = await stripe.paymentIntents.create({ amount: 1000, currency: 'eur', capture_method: 'manual' });
    expect(intent.status).toBe('requires_payment_method');
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});
