// Proves the reservation machine: the 17 states as database rows, staged TTLs, dual authorization, revalidation, atomic commit and the compensation matrix, through the real SDK against the local Stripe server.
import { describe, expect, it } from 'vitest';
import { advanceClock } from '../../src/engine/clock.js';
import { expireHolds } from '../../src/engine/holds.js';
import type { Actor, Slot, Vendor } from '../../src/engine/types.js';
import {
  authorizeRequester,
  authorizeVendorDeposit,
  cancelReservation,
  commitReservation,
  createReservation,
  getReservation,
  RESERVATION_STATES,
  vendorConfirmReservation,
} from '../../src/reservations/index.js';
import { makeCustomer, makeSlot, makeVendor } from '../helpers/fixtures.js';
import { ledgerSums, noViolations, useWorlds, type World } from '../payments/harness.js';
import { installPatched } from '../payments/fixtures/broken.js';

const PARTNER: Actor = { kind: 'partner', id: 'partner-1', source: 'api' };
const VENDOR: Actor = { kind: 'vendor', id: 'vendor-1', source: 'api' };

const world = useWorlds({ simulation: true, sandbox: { autoDeliver: false } });

let keyCounter = 0;
async function newReservation(w: World, options: { vendor?: Vendor; slot?: Slot } = {}) {
  const vendor = options.vendor ?? (await makeVendor(w.pool));
  const slot = options.slot ?? (await makeSlot(w.pool, vendor, { priceCents: 10_000 }));
  const requester = await makeCustomer(w.pool);
  keyCounter += 1;
  const { reservation } = await createReservation(
    w.pool,
    {
      vendorId: vendor.id,
      slotStartTime: slot.startsAt,
      slotEndTime: slot.endsAt,
      requesterId: requester.id,
      partnerId: 'partner-1',
      metadata: { ref: 'r1' },
      idempotencyKey: `key-${keyCounter}`,
    },
    PARTNER,
  );
  return { vendor, slot, requester, reservation };
}

async function authorizedBoth(w: World, cards: { vendor?: string; requester?: string } = {}, captureFails: Array<'vendor' | 'requester'> = []) {
  const created = await newReservation(w);
  await vendorConfirmReservation(w.pool, created.reservation.id, VENDOR);
  await authorizeVendorDeposit(w.pool, w.gateway, created.reservation.id, { paymentMethod: cards.vendor ?? 'pm_card_visa' }, VENDOR);
  const after = await authorizeRequester(w.pool, w.gateway, created.reservation.id, { paymentMethod: cards.requester ?? 'pm_card_visa' }, PARTNER);
  if (captureFails.length > 0) await failCapturesOf(w, after.id, captureFails);
  return { ...created, after };
}

// Stripe has no card whose capture fails on demand; the sandbox's fault plan
// lets the authorization of the named parties lapse before their capture.
async function failCapturesOf(w: World, reservationId: string, roles: Array<'vendor' | 'requester'>): Promise<void> {
  const payments = await paymentsOf(w, reservationId);
  w.sandbox.setFaults({ captureExpiredIntents: roles.map((role) => String(payments[role].provider_intent_id)) });
}

async function checks(w: World): Promise<Record<string, number>> {
  const rows = await w.pool.query(
    'SELECT check_id, violations FROM verify_invariants() UNION ALL SELECT check_id, violations FROM verify_payments() UNION ALL SELECT check_id, violations FROM verify_reservations()',
  );
  return Object.fromEntries(rows.rows.map((r) => [r.check_id, Number(r.violations)]));
}

async function paymentsOf(w: World, reservationId: string) {
  const rows = await w.pool.query(`SELECT id, purpose, status, pending_action, provider_intent_id FROM payments WHERE reservation_id = $1 ORDER BY purpose`, [
    reservationId,
  ]);
  return Object.fromEntries(rows.rows.map((r) => [r.purpose === 'reservation_requester' ? 'requester' : 'vendor', r]));
}

async function bookingState(w: World, bookingId: string) {
  return (await w.pool.query('SELECT state, payment_status FROM bookings WHERE id = $1', [bookingId])).rows[0];
}

describe('reservation machine', () => {
  // Proves the 17 states and their moves are rows of the machine tables.
  it('has the 17 states as database rows', async () => {
    const w = await world();
    const rows = await w.pool.query(`SELECT state FROM machine_states WHERE machine = 'reservation' ORDER BY state`);
    expect(rows.rows.map((r) => r.state)).toEqual([...RESERVATION_STATES].sort());
  });

  // Proves the whole happy path: staged TTLs 10 → 30 → 15 minutes, both authorized, both captured, the booking confirmed, every transition logged.
  it('commits after vendor confirmation and dual authorization', async () => {
    const w = await world();
    const created = await newReservation(w);
    const ttl = (r: { expiresAt: Date | null; updatedAt: Date }) => Math.round((r.expiresAt!.getTime() - r.updatedAt.getTime()) / 60_000);
    expect(created.reservation.state).toBe('AWAITING_VENDOR_CONFIRMATION');
    expect(ttl(created.reservation)).toBe(10);
    const confirmed = await vendorConfirmReservation(w.pool, created.reservation.id, VENDOR);
    expect(ttl(confirmed)).toBe(30);
    await authorizeVendorDeposit(w.pool, w.gateway, created.reservation.id, { paymentMethod: 'pm_card_visa' }, VENDOR);
    const both = await authorizeRequester(w.pool, w.gateway, created.reservation.id, { paymentMethod: 'pm_card_visa' }, PARTNER);
    expect(both.state).toBe('AUTHORIZED_BOTH');
    expect(ttl(both)).toBe(15);
    const hold = (await w.pool.query('SELECT hold_expires_at FROM bookings WHERE id = $1', [both.bookingId])).rows[0].hold_expires_at as Date;
    expect(hold.getTime()).toBe(both.expiresAt!.getTime());
    const committed = await commitReservation(w.pool, w.gateway, created.reservation.id, PARTNER);
    expect(committed.state).toBe('COMMITTED');
    expect(await bookingState(w, committed.bookingId)).toEqual({ state: 'confirmed', payment_status: 'captured' });
    const detail = await getReservation(w.pool, committed.id, { partnerId: 'partner-1' });
    expect(detail.history.map((h) => h.toState)).toEqual([
      'INTENT_CREATED',
      'HELD',
      'AWAITING_VENDOR_CONFIRMATION',
      'CONFIRMED_BY_VENDOR',
      'AWAITING_VENDOR_AUTH',
      'VENDOR_AUTHORIZED',
      'AWAITING_REQUESTER_AUTH',
      'AUTHORIZED_BOTH',
      'COMMIT_IN_PROGRESS',
      'COMMITTED',
    ]);
    expect(detail.payments.map((p) => [p.role, p.status, p.amountCents]).sort()).toEqual([
      ['requester', 'captured', 10_000],
      ['vendor_deposit', 'captured', 1_000],
    ]);
    await expect(getReservation(w.pool, committed.id, { partnerId: 'someone-else' })).rejects.toMatchObject({ code: 'RESERVATION_NOT_FOUND' });
    expect(noViolations(await checks(w))).toBe(true);
  });

  // Proves an illegal move written straight into the table is refused by the database.
  it('refuses illegal transitions in the database', async () => {
    const w = await world();
    const { reservation } = await newReservation(w);
    await expect(w.pool.query(`UPDATE reservations SET state = 'COMMITTED' WHERE id = $1`, [reservation.id])).rejects.toMatchObject({ code: 'BK011' });
    await expect(commitReservation(w.pool, w.gateway, reservation.id, PARTNER)).rejects.toMatchObject({ code: 'INVALID_TRANSITION' });
  });

  // Twin: without the state-machine trigger the illegal move goes through, and verify_reservations (R4) catches it.
  it('twin: an illegal move without the trigger is caught by verify_reservations', async () => {
    const w = await world();
    const { reservation } = await newReservation(w);
    await w.pool.query('ALTER TABLE reservations DISABLE TRIGGER reservations_state_machine');
    await w.pool.query(`UPDATE reservations SET state = 'COMMITTED' WHERE id = $1`, [reservation.id]);
    expect((await checks(w)).R4).toBeGreaterThan(0);
  });

  // Proves a replayed key returns the first reservation and a reused key with another request is refused.
  it('is idempotent per partner key', async () => {
    const w = await world();
    const { vendor, slot, requester, reservation } = await newReservation(w);
    const input = {
      vendorId: vendor.id,
      slotStartTime: slot.startsAt,
      slotEndTime: slot.endsAt,
      requesterId: requester.id,
      partnerId: 'partner-1',
      metadata: { ref: 'r1' },
      idempotencyKey: reservation.idempotencyKey,
    };
    const again = await createReservation(w.pool, input, PARTNER);
    expect(again).toMatchObject({ replayed: true, reservation: { id: reservation.id } });
    await expect(createReservation(w.pool, { ...input, metadata: { ref: 'other' } }, PARTNER)).rejects.toMatchObject({ code: 'IDEMPOTENCY_MISMATCH' });
  });

  // Proves a vendor who does not answer within the first stage fails the reservation and frees the slot.
  it('fails on vendor timeout and frees the slot', async () => {
    const w = await world();
    const { reservation, slot } = await newReservation(w);
    await advanceClock(w.pool, 601_000);
    await expireHolds(w.pool, { dryRun: false, actor: PARTNER });
    expect((await getReservation(w.pool, reservation.id)).state).toBe('FAILED_VENDOR_TIMEOUT');
    expect((await w.pool.query('SELECT booked_count FROM slots WHERE id = $1', [slot.id])).rows[0].booked_count).toBe(0);
    await expect(vendorConfirmReservation(w.pool, reservation.id, VENDOR)).rejects.toMatchObject({ code: 'INVALID_TRANSITION' });
  });
});

describe('compensation matrix', () => {
  // Proves a requester capture that fails at commit refunds the captured vendor deposit, releases the slot, and leaves a balanced ledger.
  it('refunds the vendor deposit when the requester capture fails', async () => {
    const w = await world();
    const { after, slot } = await authorizedBoth(w, {}, ['requester']);
    const result = await commitReservation(w.pool, w.gateway, after.id, PARTNER);
    expect(result.state).toBe('FAILED_COMMIT');
    const payments = await paymentsOf(w, after.id);
    expect(payments.vendor).toMatchObject({ status: 'refunded', pending_action: 'none' });
    expect(payments.requester).toMatchObject({ status: 'canceled', pending_action: 'none' });
    expect(await ledgerSums(w.pool, payments.vendor.id)).toEqual({ authorization: 1000, capture: 1000, refund: 1000 });
    expect((await ledgerSums(w.pool, payments.requester.id)).capture ?? 0).toBe(0);
    expect((await bookingState(w, after.bookingId)).state).toBe('cancelled');
    expect((await w.pool.query('SELECT booked_count FROM slots WHERE id = $1', [slot.id])).rows[0].booked_count).toBe(0);
    const provider = w.sandbox.paymentIntents().filter((pi) => pi.metadata.bookiji_booking_id === after.bookingId);
    expect(
      provider.reduce((sum, pi) => sum + pi.amount_received, 0) -
        w.sandbox
          .refunds()
          .filter((r) => provider.some((pi) => pi.id === r.payment_intent))
          .reduce((s, r) => s + r.amount, 0),
    ).toBe(0);
    expect(noViolations(await checks(w))).toBe(true);
  });

  // Twin: a commit that accepts one capture of two commits anyway, which verify_reservations (R2) catches.
  it('twin: committing on one capture is caught', async () => {
    const w = await world();
    await installPatched(w.pool, 'reservation_finish_commit(uuid, text, text, text)', [['IF v_captured = 2 THEN', 'IF v_captured >= 1 THEN']]);
    const { after } = await authorizedBoth(w, {}, ['requester']);
    const result = await commitReservation(w.pool, w.gateway, after.id, PARTNER);
    expect(result.state).toBe('COMMITTED');
    expect((await checks(w)).R2).toBeGreaterThan(0);
  });

  // Proves both captures failing releases both and captures nothing.
  it('releases both when both captures fail', async () => {
    const w = await world();
    const { after } = await authorizedBoth(w, {}, ['vendor', 'requester']);
    const result = await commitReservation(w.pool, w.gateway, after.id, PARTNER);
    expect(result.state).toBe('FAILED_COMMIT');
    const payments = await paymentsOf(w, after.id);
    expect([payments.vendor.status, payments.requester.status]).toEqual(['canceled', 'canceled']);
    expect(noViolations(await checks(w))).toBe(true);
  });

  // Proves a declined requester releases the vendor's authorized deposit at the provider.
  it('releases the vendor deposit when the requester is declined', async () => {
    const w = await world();
    const { after } = await authorizedBoth(w, { requester: 'pm_card_chargeDeclined' });
    expect(after.state).toBe('FAILED_REQUESTER_AUTH');
    const payments = await paymentsOf(w, after.id);
    expect(payments.vendor.status).toBe('canceled');
    expect(w.sandbox.paymentIntents().find((pi) => pi.id === payments.vendor.provider_intent_id)!.status).toBe('canceled');
    expect(noViolations(await checks(w))).toBe(true);
  });

  // Proves revalidation right before commit: past the commit stage's TTL the commit fails and both authorizations are released.
  it('fails availability revalidation after the commit TTL and releases both', async () => {
    const w = await world();
    const { after } = await authorizedBoth(w);
    await advanceClock(w.pool, 901_000);
    const result = await commitReservation(w.pool, w.gateway, after.id, PARTNER);
    expect(result.state).toBe('FAILED_AVAILABILITY_CHANGED');
    const payments = await paymentsOf(w, after.id);
    expect([payments.vendor.status, payments.requester.status]).toEqual(['canceled', 'canceled']);
    expect(noViolations(await checks(w))).toBe(true);
  });

  // Twin: a revalidation that ignores the commit stage's TTL commits a reservation whose hold had run out.
  it('twin: skipping revalidation commits after the TTL', async () => {
    const w = await world();
    await installPatched(w.pool, 'reservation_begin_commit(uuid, text, text, text)', [['OR v_booking.hold_expires_at <= bookiji_now() ', ' ']]);
    const { after } = await authorizedBoth(w);
    await advanceClock(w.pool, 901_000);
    const result = await commitReservation(w.pool, w.gateway, after.id, PARTNER);
    expect(result.state).not.toBe('FAILED_AVAILABILITY_CHANGED');
  });

  // Twin: a failure that does not release the other side's money leaves an authorized deposit behind, which verify_reservations (R3) catches.
  it('twin: a declined requester without compensation is caught', async () => {
    const w = await world();
    await installPatched(w.pool, 'reservation_release_payments(uuid, uuid)', [
      ["p.status IN ('requires_payment', 'failed', 'authorized', 'captured')", 'false'],
    ]);
    const { after } = await authorizedBoth(w, { requester: 'pm_card_chargeDeclined' });
    expect(after.state).toBe('FAILED_REQUESTER_AUTH');
    expect((await checks(w)).R3).toBeGreaterThan(0);
  });

  // Proves a cancellation before commit releases the slot and the authorized deposit.
  it('cancels before commit and releases the money', async () => {
    const w = await world();
    const created = await newReservation(w);
    await vendorConfirmReservation(w.pool, created.reservation.id, VENDOR);
    await authorizeVendorDeposit(w.pool, w.gateway, created.reservation.id, { paymentMethod: 'pm_card_visa' }, VENDOR);
    const cancelled = await cancelReservation(w.pool, created.reservation.id, 'partner changed plans', PARTNER, w.gateway);
    expect(cancelled.state).toBe('CANCELLED');
    expect((await paymentsOf(w, created.reservation.id)).vendor.status).toBe('canceled');
    expect(noViolations(await checks(w))).toBe(true);
  });
});
