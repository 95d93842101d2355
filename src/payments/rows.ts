// Row mappers for payments and ledger entries (snake_case rows or to_jsonb objects).

import { date, strOrNull } from '../engine/rows.js';
import type { LedgerEntry, Payment } from './types.js';

type Row = Record<string, unknown>;

export function toPayment(row: Row): Payment {
  return {
    id: String(row.id),
    vendorId: String(row.vendor_id),
    bookingId: String(row.booking_id),
    firstBookingId: String(row.first_booking_id),
    purpose: String(row.purpose) as Payment['purpose'],
    reservationId: strOrNull(row.reservation_id),
    idempotencyPrefix: String(row.idempotency_prefix),
    providerIntentId: strOrNull(row.provider_intent_id),
    amountCents: Number(row.amount_cents),
    currency: String(row.currency),
    status: String(row.status) as Payment['status'],
    pendingAction: String(row.pending_action) as Payment['pendingAction'],
    amountCapturableCents: Number(row.amount_capturable_cents),
    amountCapturedCents: Number(row.amount_captured_cents),
    amountRefundedCents: Number(row.amount_refunded_cents),
    failureCode: strOrNull(row.failure_code),
    failureMessage: strOrNull(row.failure_message),
    version: Number(row.version),
    createdAt: date(row.created_at),
    updatedAt: date(row.updated_at),
  };
}

export function toLedgerEntry(row: Row): LedgerEntry {
  return {
    id: Number(row.id),
    paymentId: String(row.payment_id),
    bookingId: String(row.booking_id),
    kind: String(row.kind) as LedgerEntry['kind'],
    amountCents: Number(row.amount_cents),
    currency: String(row.currency),
    providerRef: String(row.provider_ref),
    eventId: strOrNull(row.event_id),
    source: String(row.source),
    at: date(row.at),
  };
}
