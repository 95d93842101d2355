// Row mappers: snake_case rows (or to_jsonb objects) from SQL into the
// engine's camelCase types. JSON from to_jsonb carries timestamps as strings;
// the value converters below are shared by every module's mappers.

import type { Booking, Customer, Slot, Transition, Vendor } from './types.js';

type Row = Record<string, unknown>;

export function date(value: unknown): Date {
  return value instanceof Date ? value : new Date(String(value));
}

export function dateOrNull(value: unknown): Date | null {
  return value === null || value === undefined ? null : date(value);
}

export function str(value: unknown): string {
  return String(value);
}

export function strOrNull(value: unknown): string | null {
  return value === null || value === undefined ? null : String(value);
}

export function toVendor(row: Row): Vendor {
  return { id: str(row.id), name: str(row.name), timezone: str(row.timezone), createdAt: date(row.created_at) };
}

export function toCustomer(row: Row): Customer {
  return { id: str(row.id), name: str(row.name), email: str(row.email), createdAt: date(row.created_at) };
}

export function toSlot(row: Row): Slot {
  return {
    id: str(row.id),
    vendorId: str(row.vendor_id),
    startsAt: date(row.starts_at),
    endsAt: date(row.ends_at),
    capacity: Number(row.capacity),
    bookedCount: Number(row.booked_count),
    priceCents: Number(row.price_cents),
    currency: str(row.currency),
    legacy: Boolean(row.legacy),
    createdAt: date(row.created_at),
  };
}

export function toBooking(row: Row): Booking {
  return {
    id: str(row.id),
    vendorId: str(row.vendor_id),
    slotId: str(row.slot_id),
    customerId: str(row.customer_id),
    state: str(row.state) as Booking['state'],
    startsAt: date(row.starts_at),
    endsAt: date(row.ends_at),
    holdExpiresAt: dateOrNull(row.hold_expires_at),
    version: Number(row.version),
    idempotencyKey: strOrNull(row.idempotency_key),
    paymentMethod: str(row.payment_method) as Booking['paymentMethod'],
    paymentStatus: str(row.payment_status) as Booking['paymentStatus'],
    amountCents: Number(row.amount_cents),
    currency: str(row.currency),
    cancelReason: strOrNull(row.cancel_reason),
    createdAt: date(row.created_at),
    updatedAt: date(row.updated_at),
  };
}

export function toTransition(row: Row): Transition {
  return {
    id: Number(row.id),
    bookingId: str(row.booking_id),
    fromState: strOrNull(row.from_state) as Transition['fromState'],
    toState: str(row.to_state) as Transition['toState'],
    fromSlotId: strOrNull(row.from_slot_id),
    toSlotId: str(row.to_slot_id),
    cause: str(row.cause),
    actorKind: str(row.actor_kind),
    actorId: strOrNull(row.actor_id),
    source: str(row.source),
    requestId: strOrNull(row.request_id),
    at: date(row.at),
  };
}
