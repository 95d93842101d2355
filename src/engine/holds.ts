// Holds past their TTL. Claims already treat them as free (I9); this is the
// sweep that gives their state and capacity back, for reconcile and for ops
// (`bookiji holds expire`). Safe to run concurrently: SKIP LOCKED in SQL.

import { queryWithRetry, type Pool } from '../db/pool.js';
import { toBooking } from './rows.js';
import type { Actor, Booking } from './types.js';

export interface HoldView extends Booking {
  /** Whether the TTL has passed by the database's clock. */
  expiredByClock: boolean;
}

export async function listHolds(pool: Pool, options: { limit?: number } = {}): Promise<HoldView[]> {
  const result = await queryWithRetry(
    pool,
    `SELECT b.*, b.hold_expires_at <= bookiji_now() AS expired_by_clock
     FROM bookings b WHERE b.state = 'held' ORDER BY b.hold_expires_at, b.id LIMIT $1`,
    [options.limit ?? 1000],
  );
  return result.rows.map((row) => ({ ...toBooking(row), expiredByClock: Boolean(row.expired_by_clock) }));
}

export interface ExpiredHold {
  bookingId: string;
  vendorId: string;
  slotId: string;
  customerId: string;
  holdExpiresAt: Date;
  expired: boolean;
}

export const EXPIRE_BATCH_MAX_DEFAULT = 500;

/** Expires holds whose TTL passed, in batches until none are left (or lists them, dry run). */
export async function expireHolds(pool: Pool, options: { dryRun: boolean; batchMax?: number; actor: Actor }): Promise<ExpiredHold[]> {
  const batchMax = options.batchMax ?? EXPIRE_BATCH_MAX_DEFAULT;
  const all: ExpiredHold[] = [];
  for (;;) {
    const result = await queryWithRetry(pool, 'SELECT * FROM expire_holds($1, $2, $3, $4, $5)', [
      batchMax,
      options.dryRun,
      options.actor.kind,
      options.actor.id ?? null,
      options.actor.source,
    ]);
    const batch = result.rows.map((row) => ({
      bookingId: row.booking_id,
      vendorId: row.vendor_id,
      slotId: row.slot_id,
      customerId: row.customer_id,
      holdExpiresAt: row.hold_expires_at,
      expired: row.expired,
    }));
    all.push(...batch);
    // A dry run lists once; a real run stops when a batch finds nothing it
    // could take (what remains is locked by someone who will expire it).
    if (options.dryRun || batch.length === 0) return all;
  }
}

/**
 * The holds a sweep listed (a dry run just before it) but did not expire
 * that are still held past their TTL. A sweep skips a slot another
 * transaction holds locked (SKIP LOCKED), so a listed hold may be left for
 * the next run rather than expired (or settled) by someone else.
 * `holds expire` and reconcile report them.
 */
export async function leftHeldBySweep(pool: Pool, listed: ExpiredHold[], expired: ExpiredHold[]): Promise<string[]> {
  const expiredIds = new Set(expired.map((hold) => hold.bookingId));
  const notByUs = listed.map((hold) => hold.bookingId).filter((id) => !expiredIds.has(id));
  if (notByUs.length === 0) return [];
  const result = await queryWithRetry(
    pool,
    `SELECT id FROM bookings WHERE id = ANY ($1::uuid[]) AND state = 'held' AND hold_expires_at <= bookiji_now() ORDER BY hold_expires_at, id`,
    [notByUs],
  );
  return result.rows.map((row) => row.id as string);
}

/** What an operator needs to act on a hold: whose, where, when in the vendor's zone, and the money behind it. */
export interface HoldDetail {
  bookingId: string;
  slotId: string;
  vendorId: string;
  vendorName: string;
  vendorTimezone: string;
  slotStartsAt: Date;
  customerId: string;
  /** Unredacted: callers show it through src/forensics/redact.ts. */
  customerName: string;
  customerEmail: string;
  paymentMethod: string;
  holdExpiresAt: Date | null;
  /** Whole minutes since the TTL passed, by the database's clock; null while the hold is within it. */
  minutesPastTtl: number | null;
  /** The database's clock when read (a simulation's clock may be ahead of the wall). */
  dbNow: Date;
  payment: HoldPayment | null;
}

/** Whole minutes since `expiresAt` by `now`; null while it has not passed (or there is no TTL). */
export function minutesPastTtl(expiresAt: Date | null, now: Date): number | null {
  if (!expiresAt || expiresAt.getTime() > now.getTime()) return null;
  return Math.floor((now.getTime() - expiresAt.getTime()) / 60_000);
}

export interface HoldPayment {
  id: string;
  status: string;
  pendingAction: string;
  amountCents: number;
  amountCapturableCents: number;
  amountCapturedCents: number;
  amountRefundedCents: number;
  currency: string;
  providerIntentId: string | null;
}

/** What expiring the hold leaves owed to the customer at the provider. */
export interface OwedOnExpiry {
  action: 'none' | 'release' | 'refund' | 'cancel_intent';
  cents: number;
  currency: string | null;
}

export function owedOnExpiry(payment: HoldPayment | null): OwedOnExpiry {
  if (!payment) return { action: 'none', cents: 0, currency: null };
  const currency = payment.currency;
  if (payment.status === 'authorized') return { action: 'release', cents: payment.amountCapturableCents, currency };
  if (payment.status === 'captured') return { action: 'refund', cents: payment.amountCapturedCents - payment.amountRefundedCents, currency };
  if (payment.providerIntentId && (payment.status === 'requires_payment' || payment.status === 'failed'))
    return { action: 'cancel_intent', cents: 0, currency };
  return { action: 'none', cents: 0, currency };
}

function toHoldPayment(row: Record<string, unknown>): HoldPayment | null {
  if (row.payment_id === null || row.payment_id === undefined) return null;
  return {
    id: String(row.payment_id),
    status: String(row.payment_state),
    pendingAction: String(row.pending_action),
    amountCents: Number(row.payment_amount_cents),
    amountCapturableCents: Number(row.amount_capturable_cents),
    amountCapturedCents: Number(row.amount_captured_cents),
    amountRefundedCents: Number(row.amount_refunded_cents),
    currency: String(row.payment_currency),
    providerIntentId: row.provider_intent_id === null ? null : String(row.provider_intent_id),
  };
}

/** Details of the given bookings (holds, or holds just expired), keyed by booking id. */
export async function holdDetails(pool: Pool, bookingIds: string[]): Promise<Map<string, HoldDetail>> {
  if (bookingIds.length === 0) return new Map();
  const result = await queryWithRetry(
    pool,
    `SELECT b.id, b.slot_id, b.vendor_id, v.name AS vendor_name, v.timezone, b.starts_at, b.customer_id,
            c.name AS customer_name, c.email AS customer_email, b.payment_method, b.hold_expires_at,
            bookiji_now() AS db_now,
            p.id AS payment_id, p.status AS payment_state, p.pending_action, p.amount_cents AS payment_amount_cents,
            p.amount_capturable_cents, p.amount_captured_cents, p.amount_refunded_cents, p.currency AS payment_currency, p.provider_intent_id
     FROM bookings b
     JOIN vendors v ON v.id = b.vendor_id
     JOIN customers c ON c.id = b.customer_id
     LEFT JOIN LATERAL (
       SELECT * FROM payments p WHERE p.vendor_id = b.vendor_id AND (p.booking_id = b.id OR p.first_booking_id = b.id)
       ORDER BY (p.booking_id = b.id) DESC, p.created_at DESC LIMIT 1) p ON true
     WHERE b.id = ANY($1::uuid[])`,
    [bookingIds],
  );
  return new Map(
    result.rows.map((row) => [
      String(row.id),
      {
        bookingId: String(row.id),
        slotId: String(row.slot_id),
        vendorId: String(row.vendor_id),
        vendorName: String(row.vendor_name),
        vendorTimezone: String(row.timezone),
        slotStartsAt: row.starts_at as Date,
        customerId: String(row.customer_id),
        customerName: String(row.customer_name),
        customerEmail: String(row.customer_email),
        paymentMethod: String(row.payment_method),
        holdExpiresAt: (row.hold_expires_at as Date | null) ?? null,
        minutesPastTtl: minutesPastTtl((row.hold_expires_at as Date | null) ?? null, row.db_now as Date),
        dbNow: row.db_now as Date,
        payment: toHoldPayment(row),
      },
    ]),
  );
}
