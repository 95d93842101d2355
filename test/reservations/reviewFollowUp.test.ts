// Regression tests for the review findings after issue 12: off-session
// authorizations (3-D Secure with nobody there), reconcile's per-reservation
// boundary when resuming commits, a reservation's booking rescheduled outside
// it, and the hint of the refusals that name a reservation. Each fails on the
// code before this change.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildDist } from '../api/build.js';
import { rescheduleBooking } from '../../src/engine/bookings.js';
import { BookijiError } from '../../src/errors.js';
import { PaymentGateway } from '../../src/payments/gateway.js';
import { startCardCheckout } from '../../src/payments/checkout.js';
import { reconcile, reconcileFailureCount } from '../../src/reconcile/index.js';
import { authorizeRequester, authorizeVendorDeposit, commitReservation, vendorConfirmReservation } from '../../src/reservations/index.js';
import { startStripeSandbox, type StripeSandbox } from '../../src/stripeSandbox/index.js';
import { TEST_ACTOR, makeSlot } from '../helpers/fixtures.js';
import { API_KEY, cliEnv, CUSTOMER_ACTOR, RECONCILE_ACTOR, useWorlds, type World } from '../payments/harness.js';
import {
  PARTNER,
  VENDOR,
  bookingStateOf,
  bothAuthorized,
  checksById,
  failing,
  openReservation,
  paymentsByRole,
  reservationState,
  vendorAuthorized,
} from './helpers.js';

const run = promisify(execFile);
const world = useWorlds({ sandbox: { autoDeliver: false } });
const sandboxes: StripeSandbox[] = [];
afterEach(async () => {
  await Promise.all(sandboxes.splice(0).map((s) => s.close()));
});

function intentStatusAtProvider(w: World, intentId: string): string {
  return w.sandbox.paymentIntents().find((pi) => pi.id === intentId)!.status;
}

async function refusal(promise: Promise<unknown>): Promise<BookijiError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(BookijiError);
  return error as BookijiError;
}

describe('off-session authorization with a card that needs 3-D Secure', () => {
  // Proves the requester's saved card needing authentication is declined off-session (402), the requester side fails, and the vendor's deposit is released at the provider.
  it('fails the requester authorization and releases the vendor deposit', async () => {
    const w = await world();
    const { after } = await bothAuthorized(w, { requesterCard: 'pm_card_authenticationRequired' });
    expect(after.state).toBe('FAILED_REQUESTER_AUTH');
    expect(await bookingStateOf(w, after.bookingId)).toBe('cancelled');
    const payments = await paymentsByRole(w, after.id);
    expect([payments.requester.status, payments.vendor.status]).toEqual(['canceled', 'canceled']);
    expect(intentStatusAtProvider(w, payments.requester.provider_intent_id)).toBe('canceled');
    expect(intentStatusAtProvider(w, payments.vendor.provider_intent_id)).toBe('canceled');
    expect(failing(await checksById(w))).toEqual([]);
  });

  // Proves the vendor's deposit card needing authentication fails the vendor side at once and releases the slot, instead of waiting for a customer who is not there.
  it('fails the vendor authorization and releases the slot', async () => {
    const w = await world();
    const { after } = await vendorAuthorized(w, { vendorCard: 'pm_card_threeDSecureRequired' });
    expect(after.state).toBe('FAILED_VENDOR_AUTH');
    expect(await bookingStateOf(w, after.bookingId)).toBe('cancelled');
    const payments = await paymentsByRole(w, after.id);
    expect(payments.vendor.status).toBe('canceled');
    expect(w.sandbox.paymentIntents().filter((pi) => pi.status === 'requires_action')).toEqual([]);
    expect(failing(await checksById(w))).toEqual([]);
  });
});

describe('reconcile resumes each commit on its own', () => {
  // Proves a commit whose intents the provider cannot return is reported on its own row (and makes reconcile fail) while a later commit is still finished.
  it('reports the failing reservation on its row and finishes the others', async () => {
    const w = await world();
    const elsewhere = await startStripeSandbox({ apiKey: API_KEY, webhookSecret: 'whsec_elsewhere', seed: 'elsewhere', autoDeliver: false });
    sandboxes.push(elsewhere);
    const otherAccount = new PaymentGateway({ secretKey: API_KEY, apiBase: elsewhere.url, webhookSecrets: [], maxNetworkRetries: 0, attemptMax: 1 });
    // Authorized under another account: our provider cannot return these intents.
    const lost = await openReservation(w);
    await vendorConfirmReservation(w.pool, lost.reservation.id, VENDOR);
    await authorizeVendorDeposit(w.pool, otherAccount, lost.reservation.id, { paymentMethod: 'pm_card_visa' }, VENDOR);
    await authorizeRequester(w.pool, otherAccount, lost.reservation.id, { paymentMethod: 'pm_card_visa' }, PARTNER);
    const kept = await bothAuthorized(w);
    // Both commits left in progress by a crash right after their recovery points, the lost one first.
    for (const id of [lost.reservation.id, kept.after.id]) await w.pool.query(`SELECT reservation_begin_commit($1, 'partner', 'partner-12', 'api')`, [id]);
    const report = await reconcile(w.pool, w.gateway, { dryRun: false, actor: RECONCILE_ACTOR });
    const rows = Object.fromEntries(report.commitsResumed.map((c) => [c.reservationId, c]));
    expect(rows[kept.after.id]).toEqual({ reservationId: kept.after.id, state: 'COMMITTED', error: null });
    expect(rows[lost.reservation.id]).toMatchObject({ state: 'COMMIT_IN_PROGRESS', error: { code: 'PAYMENT_FAILED', retryable: false } });
    expect(rows[lost.reservation.id]!.error!.message).toMatch(/No such payment_intent/);
    expect(report.skipped.filter((s) => s.step === 'reservation commits')).toEqual([]);
    expect(reconcileFailureCount(report)).toBeGreaterThanOrEqual(1);
    expect(await bookingStateOf(w, kept.after.bookingId)).toBe('confirmed');
  });
});

describe('a reservation booking rescheduled outside the reservation', () => {
  // Proves `booking reschedule` of a reservation's held booking is refused in the database with a hint naming the reservation, and nothing moves.
  it('refuses the reschedule of an open reservation and changes nothing', async () => {
    const w = await world();
    const { vendor, slot, reservation } = await openReservation(w, { priceCents: 10_000 });
    const other = await makeSlot(w.pool, vendor, { priceCents: 10_000, startInMinutes: 48 * 60 });
    const error = await refusal(rescheduleBooking(w.pool, { booking: reservation.bookingId, slot: other.id }, TEST_ACTOR));
    expect(error.code).toBe('INVALID_TRANSITION');
    expect(error.hint).toContain(`bookiji reservation show ${reservation.id}`);
    const booking = (await w.pool.query('SELECT slot_id, state FROM bookings WHERE id = $1', [reservation.bookingId])).rows[0];
    expect(booking).toEqual({ slot_id: slot.id, state: 'held' });
    const counts = (await w.pool.query('SELECT id, booked_count FROM slots WHERE id = ANY($1) ORDER BY id', [[slot.id, other.id]])).rows;
    expect(Object.fromEntries(counts.map((r) => [r.id, r.booked_count]))).toEqual({ [slot.id]: 1, [other.id]: 0 });
    expect(await reservationState(w, reservation.id)).toBe('AWAITING_VENDOR_CONFIRMATION');
    expect(failing(await checksById(w))).toEqual([]);
  });

  // Proves a committed reservation's confirmed booking (both captures taken for its time) cannot be moved to another time either.
  it('refuses the reschedule of a committed reservation', async () => {
    const w = await world();
    const { vendor, after } = await bothAuthorized(w, { priceCents: 10_000 });
    expect((await commitReservation(w.pool, w.gateway, after.id, PARTNER)).state).toBe('COMMITTED');
    const other = await makeSlot(w.pool, vendor, { priceCents: 10_000, startInMinutes: 48 * 60 });
    expect((await refusal(rescheduleBooking(w.pool, { booking: after.bookingId, slot: other.id }, TEST_ACTOR))).code).toBe('INVALID_TRANSITION');
    expect((await w.pool.query('SELECT slot_id FROM bookings WHERE id = $1', [after.bookingId])).rows[0].slot_id).toBe(after.slotId);
    expect(failing(await checksById(w))).toEqual([]);
  });

  // Twin: without 0035's trigger the booking moves to the other slot while the reservation keeps the first; verify's R1 (0036) reports it.
  it('twin: the unguarded engine moves the booking and R1 catches it', async () => {
    const w = await world();
    await w.pool.query('ALTER TABLE bookings DISABLE TRIGGER bookings_reservation_booking_not_moved_alone');
    const { vendor, reservation } = await openReservation(w, { priceCents: 10_000 });
    const other = await makeSlot(w.pool, vendor, { priceCents: 10_000, startInMinutes: 48 * 60 });
    expect((await rescheduleBooking(w.pool, { booking: reservation.bookingId, slot: other.id }, TEST_ACTOR)).slotId).toBe(other.id);
    expect(failing(await checksById(w))).toEqual(['R1']);
  });
});

describe('refusals that name a reservation', () => {
  // Proves the refusal of a card payment on a reservation's booking hints at `bookiji reservation show <id>`, not at the booking's generic view.
  it('hints at the reservation when its booking is paid on its own', async () => {
    const w = await world();
    const { reservation } = await openReservation(w);
    const error = await refusal(startCardCheckout(w.pool, w.gateway, reservation.bookingId, CUSTOMER_ACTOR));
    expect(error.code).toBe('INVALID_TRANSITION');
    expect(error.hint).toBe(`See the reservation's state, payments and history: \`bookiji reservation show ${reservation.id}\`.`);
  });

  describe('on the command line', () => {
    beforeAll(() => buildDist());

    // Proves `bookiji booking reschedule` of a reservation's booking exits 1 with INVALID_TRANSITION and the reservation's hint in --json.
    it('refuses booking reschedule with the reservation hint', async () => {
      const w = await world();
      const { vendor, reservation } = await openReservation(w, { priceCents: 10_000 });
      const other = await makeSlot(w.pool, vendor, { priceCents: 10_000, startInMinutes: 48 * 60 });
      const env = cliEnv(w);
      const failed = await run('node', ['bin/bookiji', 'booking', 'reschedule', reservation.bookingId, '--slot', other.id, '--json'], {
        env,
        cwd: new URL('../..', import.meta.url).pathname,
      }).then(
        () => null,
        (e: { code: number; stdout: string; stderr: string }) => e,
      );
      expect(failed?.code).toBe(1);
      const body = JSON.parse(failed!.stdout || failed!.stderr) as { error: { code: string; hint: string } };
      expect(body.error.code).toBe('INVALID_TRANSITION');
      expect(body.error.hint).toContain(`bookiji reservation show ${reservation.id}`);
    });
  });
});
