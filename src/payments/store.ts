// Reading payments and writing the provider's word into them. The rules are
// in SQL (apply_payment_state, record_payment_intent); this file extracts the
// facts from Stripe objects and maps rows.

import type Stripe from 'stripe';
import { BookijiError } from '../errors.js';
import { queryWithRetry, type Pool } from '../db/pool.js';
import { toBooking } from '../engine/rows.js';
import type { Actor } from '../engine/types.js';
import { toLedgerEntry, toPayment } from './rows.js';
import type { ApplyResult, LedgerEntry, Payment } from './types.js';

export async function getPayment(pool: Pool, paymentId: string): Promise<Payment> {
  const result = await queryWithRetry(pool, 'SELECT * FROM payments WHERE id = $1', [paymentId]);
  if (result.rowCount === 0) throw new BookijiError('PAYMENT_NOT_FOUND', `payment ${paymentId} not found`, { details: { paymentId } });
  return toPayment(result.rows[0]!);
}

/** The payment that pays for a booking now (or first paid for it), newest first. */
export async function paymentForBooking(pool: Pool, bookingId: string): Promise<Payment | null> {
  const result = await queryWithRetry(
    pool,
    `SELECT * FROM payments WHERE booking_id = $1 OR first_booking_id = $1 ORDER BY (booking_id = $1) DESC, created_at DESC LIMIT 1`,
    [bookingId],
  );
  return result.rowCount === 0 ? null : toPayment(result.rows[0]!);
}

export async function paymentByIntent(pool: Pool, intentId: string): Promise<Payment | null> {
  const result = await queryWithRetry(pool, 'SELECT * FROM payments WHERE provider_intent_id = $1', [intentId]);
  return result.rowCount === 0 ? null : toPayment(result.rows[0]!);
}

export async function ledgerEntries(pool: Pool, paymentId: string): Promise<LedgerEntry[]> {
  const result = await queryWithRetry(pool, 'SELECT * FROM ledger_entries WHERE payment_id = $1 ORDER BY id', [paymentId]);
  return result.rows.map(toLedgerEntry);
}

export async function recordIntent(pool: Pool, payment: Pick<Payment, 'vendorId' | 'id'>, intentId: string, actor: Actor): Promise<Payment> {
  const result = await queryWithRetry(pool, 'SELECT record_payment_intent($1, $2, $3, $4, $5, $6) AS payment', [
    payment.vendorId,
    payment.id,
    intentId,
    actor.kind,
    actor.id ?? null,
    actor.source,
  ]);
  return toPayment(result.rows[0]!.payment);
}

/**
 * Re-checks, under apply_payment_state's locks, that the payment still owes a
 * cancel and records that it is being sent (claim_owed_cancel). Only a claimed
 * cancel may be sent; an authorization applied after the claim is owed back.
 */
export async function claimOwedCancel(pool: Pool, payment: Pick<Payment, 'vendorId' | 'id'>, actor: Actor): Promise<{ claimed: boolean; payment: Payment }> {
  const result = await queryWithRetry(pool, 'SELECT claim_owed_cancel($1, $2, $3, $4, $5) AS claim', [
    payment.vendorId,
    payment.id,
    actor.kind,
    actor.id ?? null,
    actor.source,
  ]);
  const claim = result.rows[0]!.claim as { claimed: boolean; payment: Record<string, unknown> };
  return { claimed: claim.claimed, payment: toPayment(claim.payment) };
}

/** The facts apply_payment_state needs, from a PaymentIntent (its latest charge expanded or not). */
export function intentFacts(intent: Stripe.PaymentIntent): {
  status: string;
  amountCapturable: number;
  amountReceived: number;
  amountRefunded: number;
  failureCode: string | null;
  failureMessage: string | null;
} {
  const charge = intent.latest_charge && typeof intent.latest_charge === 'object' ? intent.latest_charge : null;
  const error = intent.last_payment_error;
  return {
    status: intent.status,
    amountCapturable: intent.amount_capturable ?? 0,
    amountReceived: intent.amount_received ?? 0,
    amountRefunded: charge?.amount_refunded ?? 0,
    failureCode: error ? (error.decline_code ?? error.code ?? 'declined') : null,
    failureMessage: error?.message ?? null,
  };
}

export interface ApplyOptions {
  eventId?: string | null;
  /** A refund id or other provider object the fact came from, for the ledger. */
  providerRef?: string | null;
  actor: Actor;
}

export async function applyFacts(
  pool: Pool,
  payment: Pick<Payment, 'vendorId' | 'id'>,
  facts: ReturnType<typeof intentFacts>,
  options: ApplyOptions,
): Promise<ApplyResult> {
  const result = await queryWithRetry(pool, 'SELECT apply_payment_state($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) AS result', [
    payment.vendorId,
    payment.id,
    facts.status,
    facts.amountCapturable,
    facts.amountReceived,
    facts.amountRefunded,
    facts.failureCode,
    facts.failureMessage,
    options.providerRef ?? null,
    options.eventId ?? null,
    options.actor.kind,
    options.actor.id ?? null,
    options.actor.source,
  ]);
  const row = result.rows[0]!.result as { outcome: ApplyResult['outcome']; payment: Record<string, unknown>; booking: Record<string, unknown> };
  return { outcome: row.outcome, payment: toPayment(row.payment), booking: toBooking(row.booking) };
}

export function applyIntent(pool: Pool, payment: Pick<Payment, 'vendorId' | 'id'>, intent: Stripe.PaymentIntent, options: ApplyOptions): Promise<ApplyResult> {
  return applyFacts(pool, payment, intentFacts(intent), options);
}
