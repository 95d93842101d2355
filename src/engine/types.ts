// The booking engine's nouns, as TypeScript sees them.
//
// Glossary
// - Vendor: whoever is booked (a person, a room), with an IANA time zone.
// - Customer: whoever books.
// - Slot: a vendor's bookable time range with a capacity (≥ 1) and a price in
//   minor units. A legacy slot was dropped from the schedule while it had
//   bookings; it is kept for them and hidden from new ones.
// - Booking: a customer's claim on a slot. States: held (capacity held until
//   holdExpiresAt), confirmed, cancelled, expired. "Active" = held or
//   confirmed: the states that hold capacity.
// - Hold: a booking in state held. Past its TTL it blocks nobody, even before
//   anyone expires it.
// - Transition: one logged move of a booking between states or slots, with
//   its cause, actor and source.
// - Audit row: one logged change to a booking or slot, with before/after
//   values, hash-chained per vendor.
// - Actor: who acts (kind + id) and through what (source).

export type BookingState = 'held' | 'confirmed' | 'cancelled' | 'expired';
export type PaymentMethod = 'free' | 'pay_on_arrival' | 'card';
export type PaymentStatus = 'none' | 'requires_payment' | 'authorized' | 'captured' | 'failed' | 'canceled' | 'refunded';
export type ActorKind = 'customer' | 'vendor' | 'operator' | 'partner' | 'system' | 'simcity';
export type Source = 'cli' | 'api' | 'system' | 'simcity' | 'webhook' | 'reconcile' | 'test';

export interface Actor {
  kind: ActorKind;
  id?: string | null;
  source: Source;
  requestId?: string | null;
}

export interface Vendor {
  id: string;
  name: string;
  timezone: string;
  createdAt: Date;
}

export interface Customer {
  id: string;
  name: string;
  email: string;
  createdAt: Date;
}

export interface Slot {
  id: string;
  vendorId: string;
  startsAt: Date;
  endsAt: Date;
  capacity: number;
  bookedCount: number;
  priceCents: number;
  currency: string;
  legacy: boolean;
  createdAt: Date;
}

export interface Booking {
  id: string;
  vendorId: string;
  slotId: string;
  customerId: string;
  state: BookingState;
  startsAt: Date;
  endsAt: Date;
  holdExpiresAt: Date | null;
  version: number;
  idempotencyKey: string | null;
  paymentMethod: PaymentMethod;
  paymentStatus: PaymentStatus;
  amountCents: number;
  currency: string;
  cancelReason: string | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface Transition {
  id: number;
  bookingId: string;
  fromState: BookingState | null;
  toState: BookingState;
  fromSlotId: string | null;
  toSlotId: string;
  cause: string;
  actorKind: string;
  actorId: string | null;
  source: string;
  requestId: string | null;
  at: Date;
}
