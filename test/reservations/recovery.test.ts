// Proves a reservation commit interrupted by a crash or a provider outage is finished by reconcile, capturing each side exactly once, and that the CLI walks the whole flow.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildDist } from '../api/build.js';
import type { Actor } from '../../src/engine/types.js';
import { reconcile } from '../../src/reconcile/index.js';
import {
  authorizeRequester,
  authorizeVendorDeposit,
  commitReservation,
  createReservation,
  getReservation,
  vendorConfirmReservation,
} from '../../src/reservations/index.js';
import { makeCustomer, makeSlot, makeVendor } from '../helpers/fixtures.js';
import { capturesAtProvider } from './helpers.js';
import { cliEnv, noViolations, RECONCILE_ACTOR, useWorlds, type World } from '../payments/harness.js';

const PARTNER: Actor = { kind: 'partner', id: 'partner-2', source: 'api' };
const run = promisify(execFile);

const world = useWorlds({ sandbox: { autoDeliver: false } });

async function authorizedBoth(w: World, key: string) {
  const vendor = await makeVendor(w.pool);
  const slot = await makeSlot(w.pool, vendor, { priceCents: 8000 });
  const requester = await makeCustomer(w.pool);
  const { reservation } = await createReservation(
    w.pool,
    { vendorId: vendor.id, slotStartTime: slot.startsAt, slotEndTime: slot.endsAt, requesterId: requester.id, partnerId: 'partner-2', idempotencyKey: key },
    PARTNER,
  );
  await vendorConfirmReservation(w.pool, reservation.id, PARTNER);
  await authorizeVendorDeposit(w.pool, w.gateway, reservation.id, { paymentMethod: 'pm_card_visa' }, PARTNER);
  return authorizeRequester(w.pool, w.gateway, reservation.id, { paymentMethod: 'pm_card_visa' }, PARTNER);
}

async function allChecks(w: World) {
  const rows = await w.pool.query(
    'SELECT check_id, violations FROM verify_invariants() UNION ALL SELECT check_id, violations FROM verify_payments() UNION ALL SELECT check_id, violations FROM verify_reservations()',
  );
  return Object.fromEntries(rows.rows.map((r) => [r.check_id, Number(r.violations)]));
}

describe('reservation commit recovery', () => {
  // Proves a process killed right after the commit's recovery point (before any capture) is finished by reconcile: committed, each side captured once.
  it('finishes a commit killed before its captures', async () => {
    const w = await world();
    const both = await authorizedBoth(w, 'crash-1');
    await w.pool.query(`SELECT reservation_begin_commit($1, 'partner', 'partner-2', 'api')`, [both.id]);
    const report = await reconcile(w.pool, w.gateway, { dryRun: false, actor: RECONCILE_ACTOR });
    expect(report.commitsResumed).toEqual([{ reservationId: both.id, state: 'COMMITTED', error: null }]);
    expect((await getReservation(w.pool, both.id)).state).toBe('COMMITTED');
    expect(capturesAtProvider(w, both.bookingId)).toBe(2);
    expect(noViolations(await allChecks(w))).toBe(true);
  });

  // Proves captures answered 5xx leave the reservation in progress (never committed without money), and reconcile commits it once the provider is back.
  it('keeps a commit in progress through provider 5xx and finishes it later', async () => {
    const w = await world();
    const both = await authorizedBoth(w, 'outage-1');
    w.sandbox.setFaults({ apiErrorRate: 1, apiErrorPaths: ['POST /v1/payment_intents/*/capture'] });
    const during = await commitReservation(w.pool, w.gateway, both.id, PARTNER);
    expect(during.state).toBe('COMMIT_IN_PROGRESS');
    expect((await w.pool.query('SELECT state FROM bookings WHERE id = $1', [both.bookingId])).rows[0].state).toBe('held');
    expect(noViolations(await allChecks(w))).toBe(true);
    w.sandbox.setFaults({});
    await reconcile(w.pool, w.gateway, { dryRun: false, actor: RECONCILE_ACTOR });
    expect((await getReservation(w.pool, both.id)).state).toBe('COMMITTED');
    expect(capturesAtProvider(w, both.bookingId)).toBe(2);
    expect(noViolations(await allChecks(w))).toBe(true);
  });

  // Twin: a commit finisher that gives up on a side still owed its capture marks the reservation failed while money was taken, which the checks catch.
  it('twin: finishing a commit while a capture is still owed is caught', async () => {
    const w = await world();
    const { installPatched } = await import('../payments/fixtures/broken.js');
    await installPatched(w.pool, 'reservation_finish_commit(uuid, text, text, text)', [
      ["count(*) FILTER (WHERE status IN ('failed', 'canceled', 'refunded'))", "count(*) FILTER (WHERE status <> 'captured')"],
    ]);
    await installPatched(w.pool, 'reservation_release_payments(uuid, uuid)', [
      ["WHEN p.status = 'captured' THEN 'refund'", "WHEN p.status = 'captured' THEN 'none'"],
    ]);
    // An engine that never had 0033's rule (a failed reservation's money is owed back, whoever writes the row).
    await w.pool.query('ALTER TABLE payments DISABLE TRIGGER payments_reservation_money_owed_back');
    const both = await authorizedBoth(w, 'twin-1');
    w.sandbox.setFaults({ apiErrorRate: 1, apiErrorPaths: [`POST /v1/payment_intents/*/capture`] });
    await w.pool.query(`SELECT reservation_begin_commit($1, 'partner', 'partner-2', 'api')`, [both.id]);
    w.sandbox.setFaults({});
    // Only the deposit is captured before the broken finisher runs.
    const deposit = (await w.pool.query(`SELECT id FROM payments WHERE reservation_id = $1 AND purpose = 'reservation_vendor_deposit'`, [both.id])).rows[0].id;
    const { settlePayment } = await import('../../src/payments/actions.js');
    await settlePayment(w.pool, w.gateway, deposit, RECONCILE_ACTOR);
    await w.pool.query(`SELECT reservation_finish_commit($1, 'partner', 'partner-2', 'api')`, [both.id]);
    const checks = await allChecks(w);
    expect(checks.P2 + checks.R3).toBeGreaterThan(0);
  });
});

describe('reservation CLI', () => {
  // The CLI runs from dist/: one locked build per test run, never a half-written one.
  beforeAll(() => buildDist());

  // Proves `bookiji reservation` walks create → confirm → authorize both → commit and shows the history.
  it('runs the whole flow from the command line', async () => {
    const w = await world();
    const vendor = await makeVendor(w.pool);
    const slot = await makeSlot(w.pool, vendor, { priceCents: 9000 });
    const requester = await makeCustomer(w.pool);
    const env = cliEnv(w);
    const cli = async (args: string[]) => {
      const out = await run('node', ['bin/bookiji', 'reservation', ...args, '--json'], { env, cwd: new URL('../..', import.meta.url).pathname });
      expect(out.stdout, out.stderr).not.toBe('');
      return JSON.parse(out.stdout);
    };
    const created = await cli([
      'create',
      '--vendor',
      vendor.id,
      '--start',
      slot.startsAt.toISOString(),
      '--end',
      slot.endsAt.toISOString(),
      '--requester',
      requester.id,
      '--partner',
      'cli-partner',
      '--key',
      'cli-1',
    ]);
    expect(created.state).toBe('AWAITING_VENDOR_CONFIRMATION');
    await cli(['confirm', created.id]);
    await cli(['authorize', created.id, '--role', 'vendor_deposit', '--card', 'pm_card_visa']);
    await cli(['authorize', created.id, '--role', 'requester', '--card', 'pm_card_visa']);
    expect((await cli(['commit', created.id])).state).toBe('COMMITTED');
    const shown = await cli(['show', created.id]);
    expect(shown.history.at(-1).toState).toBe('COMMITTED');
  });
});
