// The payment side's nouns.
//
// - Payment: one PaymentIntent of ours (manual capture) and what we know of
//   it: status (requires_payment → failed / authorized → captured → refunded,
//   or canceled), the amounts, and pendingAction — the recovery point: the
//   provider call it still owes (create, capture, cancel, refund), recorded
//   before the call is made.
// - Ledger entry: one movement of money (authorization, capture, refund,
//   cancellation), to the cent, append-only.
// - Application: one provider fact (webhook event or retrieve) and what it did
//   (applied, unchanged, stale = late and ignored, confirmed, reclaimed, …).

import type { Booking } from '../engine/types.js';

export type PaymentStatus = 'requires_payment' | 'failed' | 'authorized' | 'captured' | 'canceled' | 'refunded';
export type PendingAction = 'none' | 'create' | 'capture' | 'cancel' | 'refund';
export type PaymentPurpose = 'booking' | 'reservation_requester' | 'reservation_vendor_deposit';

export interface Payment {
  id: string;
  vendorId: string;
  bookingId: string;
  firstBookingId: string;
  purpose: PaymentPurpose;
  reservationId: string | null;
  idempotencyPrefix: string;
  providerIntentId: string | null;
  amountCents: number;
  currency: string;
  status: PaymentStatus;
  pendingAction: PendingAction;
  amountCapturableCents: number;
  amountCapturedCents: number;
  amountRefundedCents: number;
  failureCode: string | null;
  failureMessage: string | null;
  version: number;
  createdAt: Date;
  updatedAt: Date;
}

export type ApplyOutcome =
  | 'applied'
  | 'unchanged'
  | 'stale'
  | 'confirmed'
  | 'confirmed_after_ttl'
  | 'reclaimed'
  | 'refund_owed'
  | 'release_owed'
  | 'cancelled'
  // A further refund made at the provider on captured money, recorded to the cent.
  | 'refund_synced';

export interface ApplyResult {
  outcome: ApplyOutcome;
  payment: Payment;
  booking: Booking;
}

export interface LedgerEntry {
  id: number;
  paymentId: string;
  bookingId: string;
  kind: 'authorization' | 'capture' | 'refund' | 'cancellation';
  amountCents: number;
  currency: string;
  providerRef: string;
  eventId: string | null;
  source: string;
  at: Date;
}
