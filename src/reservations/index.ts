// The reservation API (core-infrastructure-design), called by the partner API
// and the CLI. The rules live in SQL (migrations/0012_reservations.sql); this
// file validates input, makes the provider calls in the order the recovery
// points allow, and maps rows.
//
// Flow: createReservation → vendorConfirmReservation → authorizeVendorDeposit
// → authorizeRequester → commitReservation. Each provider call follows a
// committed recovery point, so a crash anywhere is finished by reconcile
// (resumeCommits, and the owed calls of every payment).
//
// Rules the database adds (migrations 0030–0035, issue 12 and the review
// after it): every stage's deadline ends at the slot's start at the latest,
// and a commit that cannot finish before its deadline fails with both sides
// compensated; cancelling a committed reservation (or its booking) refunds
// both captures; the reservation's booking is paid only through the
// reservation and moves only with it (no reschedule outside it); money that
// arrives after a reservation ended is owed back; a reused key with another
// request is IDEMPOTENCY_MISMATCH, also when two requests race.
//
// Each side is authorized off-session (the party's saved card, nobody
// present): a card that needs 3-D Secure fails that side at once. Reconcile
// resumes each commit on its own (resumeCommits): one failure is reported on
// its row and the others go on.

import { date, dateOrNull } from '../engine/rows.js';
import { BookijiError, toBookijiError, validationError } from '../errors.js';
import { queryWithRetry, type Pool } from '../db/pool.js';
import type { Actor } from '../engine/types.js';
import { requireUuid } from '../engine/validate.js';
import { settlePayment } from '../payments/actions.js';
import type { PaymentGateway } from '../payments/gateway.js';
import { toPayment } from '../payments/rows.js';
import { applyIntent } from '../payments/store.js';
import type {
  CreateReservationInput,
  CreateReservationResult,
  Reservation,
  ReservationDetail,
  ReservationPaymentView,
  ReservationState,
  ReservationTransitionView,
} from './types.js';

export * from './types.js';

type Row = Record<string, unknown>;

function toReservation(row: Row): Reservation {
  return {
    id: String(row.id),
    vendorId: String(row.vendor_id),
    partnerId: String(row.partner_id),
    requesterId: String(row.requester_id),
    bookingId: String(row.booking_id),
    slotId: String(row.slot_id),
    state: String(row.state) as ReservationState,
    slotStartTime: date(row.starts_at),
    slotEndTime: date(row.ends_at),
    expiresAt: dateOrNull(row.expires_at),
    amountCents: Number(row.amount_cents),
    depositCents: Number(row.deposit_cents),
    currency: String(row.currency),
    metadata: (row.metadata ?? {}) as Record<string, string>,
    idempotencyKey: String(row.idempotency_key),
    createdAt: date(row.created_at),
    updatedAt: date(row.updated_at),
  };
}

function actorArgs(actor: Actor): [string, string | null, string] {
  return [actor.kind, actor.id ?? null, actor.source];
}

function requireDate(field: string, value: unknown): Date {
  if (!(value instanceof Date) || Number.isNaN(value.getTime())) throw validationError(field, 'give a valid date');
  return value;
}

function requireMetadata(value: unknown): Record<string, string> {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw validationError('metadata', 'give an object of string values');
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length > 50) throw validationError('metadata', 'at most 50 keys');
  for (const [key, v] of entries) {
    if (typeof v !== 'string' || v.length > 500 || key.length > 40)
      throw validationError('metadata', `key ${key}: a string of at most 500 characters under a key of at most 40`);
  }
  return value as Record<string, string>;
}

export async function createReservation(pool: Pool, input: CreateReservationInput, actor: Actor): Promise<CreateReservationResult> {
  const vendorId = requireUuid('vendorId', input.vendorId);
  const requesterId = requireUuid('requesterId', input.requesterId);
  const start = requireDate('slotStartTime', input.slotStartTime);
  const end = requireDate('slotEndTime', input.slotEndTime);
  if (end <= start) throw validationError('slotEndTime', 'must be after slotStartTime');
  if (typeof input.partnerId !== 'string' || input.partnerId.length === 0 || input.partnerId.length > 200)
    throw validationError('partnerId', 'give 1 to 200 characters');
  if (typeof input.idempotencyKey !== 'string' || input.idempotencyKey.length === 0 || input.idempotencyKey.length > 200) {
    throw validationError('idempotencyKey', 'give 1 to 200 characters');
  }
  const metadata = requireMetadata(input.metadata);
  const result = await queryWithRetry(pool, 'SELECT reservation, replayed FROM create_reservation($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)', [
    vendorId,
    start,
    end,
    requesterId,
    input.partnerId,
    JSON.stringify(metadata),
    input.idempotencyKey,
    ...actorArgs(actor),
  ]);
  const row = result.rows[0]!;
  return { reservation: toReservation(row.reservation), replayed: Boolean(row.replayed) };
}

/** The reservation with its payments and state history. Another partner's reservation is RESERVATION_NOT_FOUND. */
export async function getReservation(pool: Pool, id: string, options: { partnerId?: string } = {}): Promise<ReservationDetail> {
  const reservationId = requireUuid('reservation', id);
  const found = await queryWithRetry(pool, 'SELECT * FROM reservations WHERE id = $1 AND ($2::text IS NULL OR partner_id = $2)', [
    reservationId,
    options.partnerId ?? null,
  ]);
  if (found.rowCount === 0) throw new BookijiError('RESERVATION_NOT_FOUND', `reservation ${reservationId} not found`, { details: { reservationId } });
  const reservation = toReservation(found.rows[0]!);
  const payments = await queryWithRetry(pool, 'SELECT * FROM payments WHERE vendor_id = $1 AND reservation_id = $2 ORDER BY created_at', [
    reservation.vendorId,
    reservation.id,
  ]);
  const history = await queryWithRetry(pool, 'SELECT * FROM reservation_transitions WHERE vendor_id = $1 AND reservation_id = $2 ORDER BY id', [
    reservation.vendorId,
    reservation.id,
  ]);
  return {
    ...reservation,
    payments: payments.rows.map((row): ReservationPaymentView => {
      const p = toPayment(row);
      return {
        role: p.purpose === 'reservation_vendor_deposit' ? 'vendor_deposit' : 'requester',
        paymentId: p.id,
        providerIntentId: p.providerIntentId,
        status: p.status,
        amountCents: p.amountCents,
        currency: p.currency,
      };
    }),
    history: history.rows.map(
      (row): ReservationTransitionView => ({
        fromState: (row.from_state ?? null) as ReservationState | null,
        toState: row.to_state as ReservationState,
        cause: String(row.cause),
        actorKind: String(row.actor_kind),
        actorId: row.actor_id ?? null,
        at: row.at as Date,
      }),
    ),
  };
}

export async function vendorConfirmReservation(pool: Pool, id: string, actor: Actor): Promise<Reservation> {
  const result = await queryWithRetry(pool, 'SELECT vendor_confirm_reservation($1, $2, $3, $4) AS r', [requireUuid('reservation', id), ...actorArgs(actor)]);
  return toReservation(result.rows[0]!.r);
}

/**
 * Cancels a reservation, before or after commit: its slot is released and any
 * money it holds is owed back (after commit, both captures are refunded). With a gateway, the owed calls are made at once;
 * otherwise reconcile makes them.
 */
export async function cancelReservation(pool: Pool, id: string, reason: string, actor: Actor, gateway?: PaymentGateway): Promise<Reservation> {
  const result = await queryWithRetry(pool, 'SELECT cancel_reservation($1, $2, $3, $4, $5) AS r', [
    requireUuid('reservation', id),
    reason,
    ...actorArgs(actor),
  ]);
  const reservation = toReservation(result.rows[0]!.r);
  if (gateway) await settleReservationPayments(pool, gateway, reservation, actor);
  return reservation;
}

/** Performs every provider call the reservation's payments owe; a provider outage is left to reconcile. */
export async function settleReservationPayments(
  pool: Pool,
  gateway: PaymentGateway,
  reservation: Pick<Reservation, 'id' | 'vendorId'>,
  actor: Actor,
): Promise<void> {
  const owed = await queryWithRetry(pool, `SELECT id FROM payments WHERE vendor_id = $1 AND reservation_id = $2 AND pending_action <> 'none'`, [
    reservation.vendorId,
    reservation.id,
  ]);
  for (const row of owed.rows) {
    try {
      await settlePayment(pool, gateway, String(row.id), actor);
    } catch (error) {
      if (!(error instanceof BookijiError) || error.code !== 'DEPENDENCY_UNAVAILABLE') throw error;
    }
  }
}

async function authorize(
  pool: Pool,
  gateway: PaymentGateway,
  id: string,
  role: 'vendor_deposit' | 'requester',
  paymentMethod: string,
  actor: Actor,
): Promise<Reservation> {
  const reservationId = requireUuid('reservation', id);
  if (typeof paymentMethod !== 'string' || !/^pm_[A-Za-z0-9_]+$/.test(paymentMethod)) throw validationError('paymentMethod', 'give a payment method id (pm_…)');
  const begun = await queryWithRetry(pool, 'SELECT reservation_begin_authorization($1, $2, $3, $4, $5) AS p', [reservationId, role, ...actorArgs(actor)]);
  let payment = toPayment(begun.rows[0]!.p);
  if (payment.pendingAction === 'create') payment = (await settlePayment(pool, gateway, payment.id, actor)).payment;
  if (!payment.providerIntentId)
    throw new BookijiError('DEPENDENCY_UNAVAILABLE', `the ${role} payment intent is being created; retry`, { details: { paymentId: payment.id } });
  // The server confirms with the party's saved payment method, off-session:
  // nobody is there to finish 3-D Secure, so a card that needs it is declined
  // (authentication_required) and this side's authorization fails, its money
  // owed back (the compensation matrix). Only the provider's state of the
  // intent, read back, moves the reservation.
  if (payment.status === 'requires_payment') {
    try {
      await gateway.confirmIntentOffSession(payment.providerIntentId, paymentMethod);
    } catch (error) {
      if (!(error instanceof BookijiError) || error.code !== 'PAYMENT_FAILED') throw error;
    }
    const intent = await gateway.retrieveIntent(payment.providerIntentId);
    payment = (await applyIntent(pool, payment, intent, { actor })).payment;
  }
  const applied = await queryWithRetry(pool, 'SELECT reservation_apply_authorization($1, $2, $3, $4, $5) AS r', [reservationId, role, ...actorArgs(actor)]);
  const reservation = toReservation(applied.rows[0]!.r);
  await settleReservationPayments(pool, gateway, reservation, actor);
  return reservation;
}

/** CONFIRMED_BY_VENDOR → AWAITING_VENDOR_AUTH → VENDOR_AUTHORIZED (or FAILED_VENDOR_AUTH, slot released). */
export function authorizeVendorDeposit(
  pool: Pool,
  gateway: PaymentGateway,
  id: string,
  options: { paymentMethod: string },
  actor: Actor,
): Promise<Reservation> {
  return authorize(pool, gateway, id, 'vendor_deposit', options.paymentMethod, actor);
}

/** VENDOR_AUTHORIZED → AWAITING_REQUESTER_AUTH → AUTHORIZED_BOTH (or FAILED_REQUESTER_AUTH, deposit released). */
export function authorizeRequester(pool: Pool, gateway: PaymentGateway, id: string, options: { paymentMethod: string }, actor: Actor): Promise<Reservation> {
  return authorize(pool, gateway, id, 'requester', options.paymentMethod, actor);
}

/**
 * AUTHORIZED_BOTH → revalidate availability → COMMIT_IN_PROGRESS (both
 * captures recorded as owed) → capture both → COMMITTED; or FAILED_COMMIT with
 * compensation when a capture fails (refund the captured one, release the
 * other's authorization). A provider outage leaves COMMIT_IN_PROGRESS for
 * reconcile to finish with the same idempotency keys.
 */
export async function commitReservation(pool: Pool, gateway: PaymentGateway, id: string, actor: Actor): Promise<Reservation> {
  const reservationId = requireUuid('reservation', id);
  const begun = await queryWithRetry(pool, 'SELECT reservation_begin_commit($1, $2, $3, $4) AS r', [reservationId, ...actorArgs(actor)]);
  const reservation = toReservation(begun.rows[0]!.r);
  if (reservation.state !== 'COMMIT_IN_PROGRESS') {
    await settleReservationPayments(pool, gateway, reservation, actor);
    return reservation;
  }
  return finishCommit(pool, gateway, reservation, actor);
}

async function finishCommitInDatabase(pool: Pool, id: string, actor: Actor): Promise<Reservation> {
  const finished = await queryWithRetry(pool, 'SELECT reservation_finish_commit($1, $2, $3, $4) AS r', [id, ...actorArgs(actor)]);
  return toReservation(finished.rows[0]!.r);
}

async function finishCommit(pool: Pool, gateway: PaymentGateway, reservation: Reservation, actor: Actor): Promise<Reservation> {
  // Asked first, so a commit resumed past its deadline (the hold's TTL or the
  // slot's start) fails before anything is captured; with captures still owed
  // it stays in progress and the captures follow.
  let after = await finishCommitInDatabase(pool, reservation.id, actor);
  if (after.state === 'COMMIT_IN_PROGRESS') {
    await settleReservationPayments(pool, gateway, after, actor);
    after = await finishCommitInDatabase(pool, reservation.id, actor);
  }
  // Compensation owed by a failed commit (refund, release) is made now.
  if (after.state === 'FAILED_COMMIT') await settleReservationPayments(pool, gateway, after, actor);
  return after;
}

/** A commit reconcile tried to finish: where it ended, or why it could not (the commit stays in progress for the next run). */
export interface ResumedCommit {
  reservationId: string;
  state: ReservationState;
  error: BookijiError | null;
}

const RESUME_BATCH_MAX_DEFAULT = 500;

/**
 * Reconcile's part: finish every commit a crash or an outage left in
 * progress. Each reservation on its own: one that fails (an intent the
 * provider cannot return, a refused call) is reported on its row with the
 * state it is left in, and the others go on.
 */
export async function resumeCommits(pool: Pool, gateway: PaymentGateway, actor: Actor, options: { batchMax?: number } = {}): Promise<ResumedCommit[]> {
  const open = await queryWithRetry(pool, `SELECT * FROM reservations WHERE state = 'COMMIT_IN_PROGRESS' ORDER BY updated_at, id LIMIT $1`, [
    options.batchMax ?? RESUME_BATCH_MAX_DEFAULT,
  ]);
  const resumed: ResumedCommit[] = [];
  for (const row of open.rows) {
    const reservation = toReservation(row);
    try {
      const after = await finishCommit(pool, gateway, reservation, actor);
      resumed.push({ reservationId: after.id, state: after.state, error: null });
    } catch (error) {
      resumed.push({ reservationId: reservation.id, state: await stateAfterFailure(pool, reservation), error: toBookijiError(error) });
    }
  }
  return resumed;
}

/** The state a failed resumption left (it may have moved before the failure); the listed one if even that read fails. */
async function stateAfterFailure(pool: Pool, reservation: Reservation): Promise<ReservationState> {
  try {
    const found = await queryWithRetry(pool, 'SELECT state FROM reservations WHERE vendor_id = $1 AND id = $2', [reservation.vendorId, reservation.id]);
    return String(found.rows[0]!.state) as ReservationState;
  } catch {
    return reservation.state;
  }
}
