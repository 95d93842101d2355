// Bookings: claim (book or hold), confirm, cancel, reschedule, read.
// Each write is one SQL function call: one statement, one transaction, one
// round trip. The function enforces the rules; this file validates input,
// passes the actor, and maps rows.

import { BookijiError } from '../errors.js';
import { queryWithRetry, type Pool } from '../db/pool.js';
import { actorArgs } from './actor.js';
import { requireHoldTtlSeconds } from './limits.js';
import { toBooking, toTransition } from './rows.js';
import type { Actor, Booking, PaymentMethod, Transition } from './types.js';
import { requireIdempotencyKey, requireInt, requireOneOf, requireText, requireUuid } from './validate.js';

export const PAYMENT_METHODS: readonly PaymentMethod[] = ['free', 'pay_on_arrival', 'card'];

export interface ClaimInput {
  slot: unknown;
  customer: unknown;
  /** Place a hold only (confirm later); otherwise book outright. */
  hold?: boolean;
  holdTtlSeconds?: unknown;
  paymentMethod?: unknown;
  idempotencyKey?: unknown;
}

export interface ClaimResult {
  booking: Booking;
  /** True when an idempotency key matched an earlier request: this is its outcome. */
  replayed: boolean;
}

export async function claimSlot(pool: Pool, input: ClaimInput, actor: Actor): Promise<ClaimResult> {
  const slotId = requireUuid('slot', input.slot);
  const customerId = requireUuid('customer', input.customer);
  const ttl = input.holdTtlSeconds === undefined ? null : requireHoldTtlSeconds('hold-ttl', input.holdTtlSeconds);
  const method = input.paymentMethod === undefined ? null : requireOneOf('payment-method', input.paymentMethod, PAYMENT_METHODS);
  const key = input.idempotencyKey === undefined ? null : requireIdempotencyKey('idempotency-key', input.idempotencyKey);
  const result = await queryWithRetry(pool, 'SELECT booking, replayed FROM claim_slot($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)', [
    slotId,
    customerId,
    input.hold ?? false,
    ttl,
    method,
    key,
    ...actorArgs(actor),
  ]);
  const row = result.rows[0]!;
  return { booking: toBooking(row.booking), replayed: row.replayed };
}

function optionalVersion(value: unknown): number | null {
  return value === undefined || value === null ? null : requireInt('expected-version', value, 1, 2_147_483_647);
}

export async function confirmBooking(pool: Pool, input: { booking: unknown; expectedVersion?: unknown }, actor: Actor): Promise<Booking> {
  const bookingId = requireUuid('booking', input.booking);
  const result = await queryWithRetry(pool, 'SELECT confirm_booking($1, $2, $3, $4, $5, $6) AS booking', [
    bookingId,
    optionalVersion(input.expectedVersion),
    ...actorArgs(actor),
  ]);
  return toBooking(result.rows[0]!.booking);
}

export async function cancelBooking(pool: Pool, input: { booking: unknown; reason: unknown; expectedVersion?: unknown }, actor: Actor): Promise<Booking> {
  const bookingId = requireUuid('booking', input.booking);
  const reason = requireText('reason', input.reason, 500);
  const result = await queryWithRetry(pool, 'SELECT cancel_booking($1, $2, $3, $4, $5, $6, $7) AS booking', [
    bookingId,
    optionalVersion(input.expectedVersion),
    reason,
    ...actorArgs(actor),
  ]);
  return toBooking(result.rows[0]!.booking);
}

export async function rescheduleBooking(pool: Pool, input: { booking: unknown; slot: unknown; expectedVersion?: unknown }, actor: Actor): Promise<Booking> {
  const bookingId = requireUuid('booking', input.booking);
  const slotId = requireUuid('slot', input.slot);
  const result = await queryWithRetry(pool, 'SELECT reschedule_booking($1, $2, $3, $4, $5, $6, $7) AS booking', [
    bookingId,
    slotId,
    optionalVersion(input.expectedVersion),
    ...actorArgs(actor),
  ]);
  return toBooking(result.rows[0]!.booking);
}

export async function getBooking(pool: Pool, bookingId: unknown): Promise<Booking> {
  const id = requireUuid('booking', bookingId);
  const result = await queryWithRetry(pool, 'SELECT * FROM bookings WHERE id = $1', [id]);
  if (result.rowCount === 0) throw new BookijiError('BOOKING_NOT_FOUND', `booking ${id} not found`, { details: { bookingId: id } });
  return toBooking(result.rows[0]!);
}

export async function bookingTransitions(pool: Pool, bookingId: string): Promise<Transition[]> {
  const result = await queryWithRetry(pool, 'SELECT * FROM booking_transitions WHERE booking_id = $1 ORDER BY id', [bookingId]);
  return result.rows.map(toTransition);
}

export async function listBookings(
  pool: Pool,
  filter: { slot?: unknown; customer?: unknown; vendor?: unknown; state?: unknown; limit?: number },
): Promise<Booking[]> {
  const slotId = filter.slot === undefined ? null : requireUuid('slot', filter.slot);
  const customerId = filter.customer === undefined ? null : requireUuid('customer', filter.customer);
  const vendorId = filter.vendor === undefined ? null : requireUuid('vendor', filter.vendor);
  const state = filter.state === undefined ? null : requireOneOf('state', filter.state, ['held', 'confirmed', 'cancelled', 'expired'] as const);
  const result = await queryWithRetry(
    pool,
    `SELECT * FROM bookings
     WHERE ($1::uuid IS NULL OR slot_id = $1) AND ($2::uuid IS NULL OR customer_id = $2)
       AND ($3::uuid IS NULL OR vendor_id = $3) AND ($4::text IS NULL OR state = $4)
     ORDER BY created_at, id LIMIT $5`,
    [slotId, customerId, vendorId, state, filter.limit ?? 1000],
  );
  return result.rows.map(toBooking);
}
