// Builders for reservation tests: a reservation on its own vendor and slot,
// walked to a chosen stage through the real machine, and the checks of
// `bookiji verify` by id.

import type { Actor } from '../../src/engine/types.js';
import { authorizeRequester, authorizeVendorDeposit, createReservation, vendorConfirmReservation, type Reservation } from '../../src/reservations/index.js';
import { makeCustomer, makeSlot, makeVendor } from '../helpers/fixtures.js';
import type { World } from '../payments/harness.js';

export const PARTNER: Actor = { kind: 'partner', id: 'partner-12', source: 'api' };
export const VENDOR: Actor = { kind: 'vendor', id: 'vendor-12', source: 'api' };

let keyCounter = 0;

export interface ReservationOptions {
  /** Minutes from the database's now to the slot's start (default a day). */
  startInMinutes?: number;
  priceCents?: number;
  metadata?: Record<string, string>;
}

/** A fresh vendor, priced slot and requester, and a reservation awaiting the vendor. */
export async function openReservation(w: World, options: ReservationOptions = {}) {
  const vendor = await makeVendor(w.pool);
  const slot = await makeSlot(w.pool, vendor, {
    priceCents: options.priceCents ?? 10_000,
    ...(options.startInMinutes ? { startInMinutes: options.startInMinutes } : {}),
  });
  const requester = await makeCustomer(w.pool);
  keyCounter += 1;
  const input = {
    vendorId: vendor.id,
    slotStartTime: slot.startsAt,
    slotEndTime: slot.endsAt,
    requesterId: requester.id,
    partnerId: PARTNER.id!,
    metadata: options.metadata ?? { ref: `r${keyCounter}` },
    idempotencyKey: `issue12-${process.pid}-${keyCounter}`,
  };
  const { reservation } = await createReservation(w.pool, input, PARTNER);
  return { vendor, slot, requester, input, reservation };
}

/** Vendor confirmed and its deposit authorized with `vendorCard`. */
export async function vendorAuthorized(w: World, options: ReservationOptions & { vendorCard?: string } = {}) {
  const opened = await openReservation(w, options);
  await vendorConfirmReservation(w.pool, opened.reservation.id, VENDOR);
  const after = await authorizeVendorDeposit(w.pool, w.gateway, opened.reservation.id, { paymentMethod: options.vendorCard ?? 'pm_card_visa' }, VENDOR);
  return { ...opened, after };
}

/** Both sides authorized (or the requester's card's outcome). */
export async function bothAuthorized(w: World, options: ReservationOptions & { vendorCard?: string; requesterCard?: string } = {}) {
  const authorized = await vendorAuthorized(w, options);
  const after: Reservation = await authorizeRequester(
    w.pool,
    w.gateway,
    authorized.reservation.id,
    { paymentMethod: options.requesterCard ?? 'pm_card_visa' },
    PARTNER,
  );
  return { ...authorized, after };
}

/** Violations per check id: booking invariants, payments (P1–P4) and reservations (R1–R5). */
export async function checksById(w: World): Promise<Record<string, number>> {
  const rows = await w.pool.query(
    'SELECT check_id, violations FROM verify_invariants() UNION ALL SELECT check_id, violations FROM verify_payments() UNION ALL SELECT check_id, violations FROM verify_reservations()',
  );
  return Object.fromEntries(rows.rows.map((r) => [r.check_id, Number(r.violations)]));
}

export function failing(checks: Record<string, number>): string[] {
  return Object.entries(checks)
    .filter(([, n]) => n > 0)
    .map(([id]) => id);
}

/** The reservation's two payments by role. */
export async function paymentsByRole(w: World, reservationId: string) {
  const rows = await w.pool.query(
    `SELECT id, purpose, status, pending_action, provider_intent_id, cancel_sent_at FROM payments WHERE reservation_id = $1 ORDER BY purpose`,
    [reservationId],
  );
  return Object.fromEntries(rows.rows.map((r) => [r.purpose === 'reservation_requester' ? 'requester' : 'vendor', r])) as Record<
    'requester' | 'vendor',
    { id: string; status: string; pending_action: string; provider_intent_id: string; cancel_sent_at: Date | null }
  >;
}

export async function reservationState(w: World, id: string): Promise<string> {
  return (await w.pool.query('SELECT state FROM reservations WHERE id = $1', [id])).rows[0].state;
}

export async function bookingStateOf(w: World, id: string): Promise<string> {
  return (await w.pool.query('SELECT state FROM bookings WHERE id = $1', [id])).rows[0].state;
}

/** How many charges the provider captured for the booking's PaymentIntents. */
export function capturesAtProvider(w: World, bookingId: string): number {
  const intents = new Set(
    w.sandbox
      .paymentIntents()
      .filter((pi) => pi.metadata.bookiji_booking_id === bookingId)
      .map((pi) => pi.id),
  );
  return w.sandbox.charges().filter((c) => intents.has(String(c.payment_intent)) && c.captured).length;
}
