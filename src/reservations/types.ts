// The reservation machine's nouns, as the partner API sees them.
//
// A reservation is a partner's request for one vendor time range that must
// pass vendor confirmation and a dual authorization (vendor deposit +
// requester payment, both manual-capture PaymentIntents) before it commits.
// Its slot is held by a booking in state `held` whose TTL follows the stage
// (defaults 10 → 30 → 15 minutes); COMMITTED confirms that booking, a failure
// state cancels or expires it, so capacity, vendor exclusivity and audit are
// the booking engine's.

import type { Actor } from '../engine/types.js';

export const RESERVATION_STATES = [
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
  'FAILED_VENDOR_TIMEOUT',
  'FAILED_VENDOR_AUTH',
  'FAILED_REQUESTER_AUTH',
  'FAILED_AVAILABILITY_CHANGED',
  'FAILED_COMMIT',
  'EXPIRED',
  'CANCELLED',
] as const;

export type ReservationState = (typeof RESERVATION_STATES)[number];

export interface CreateReservationInput {
  vendorId: string;
  slotStartTime: Date;
  slotEndTime: Date;
  /** The customer id the reservation is for. */
  requesterId: string;
  partnerId: string;
  metadata?: Record<string, string>;
  idempotencyKey: string;
}

export interface ReservationPaymentView {
  role: 'vendor_deposit' | 'requester';
  paymentId: string;
  providerIntentId: string | null;
  status: string;
  amountCents: number;
  currency: string;
}

export interface ReservationTransitionView {
  fromState: ReservationState | null;
  toState: ReservationState;
  cause: string;
  actorKind: string;
  actorId: string | null;
  at: Date;
}

export interface Reservation {
  id: string;
  vendorId: string;
  partnerId: string;
  requesterId: string;
  bookingId: string;
  slotId: string;
  state: ReservationState;
  slotStartTime: Date;
  slotEndTime: Date;
  /** When the current stage's TTL passes. Null in COMMITTED and failure states. */
  expiresAt: Date | null;
  amountCents: number;
  depositCents: number;
  currency: string;
  metadata: Record<string, string>;
  idempotencyKey: string;
  createdAt: Date;
  updatedAt: Date;
}

export interface ReservationDetail extends Reservation {
  payments: ReservationPaymentView[];
  history: ReservationTransitionView[];
}

export interface CreateReservationResult {
  reservation: Reservation;
  /** True when the idempotency key matched an earlier request: this is its outcome. */
  replayed: boolean;
}

/**
 * The reservation API the partner API calls (src/reservations/index.ts):
 *
 *   createReservation(pool, input: CreateReservationInput, actor: Actor): Promise<CreateReservationResult>
 *   getReservation(pool, id, { partnerId? }): Promise<ReservationDetail>   // RESERVATION_NOT_FOUND for another partner's id
 *   vendorConfirmReservation(pool, id, actor): Promise<Reservation>
 *   cancelReservation(pool, id, reason, actor): Promise<Reservation>
 *   authorizeVendorDeposit(pool, gateway, id, { paymentMethod }, actor)
 *   authorizeRequester(pool, gateway, id, { paymentMethod }, actor)
 *   commitReservation(pool, gateway, id, actor)
 */
export type ReservationActor = Actor;
