// What `bookiji forensics` reconstructs about one booking.
//
// Glossary
// - Timeline entry: one recorded fact about the booking, in time order: a
//   state transition, an audit row, a payment or provider event, an
//   idempotency-key use. Each carries who did it (actor), through what
//   (source) and why (cause), as far as the record says.
// - Cause: the reason written with the change (the transition's cause, the
//   audit row's reason). A change without one is an unknown.
// - Unknown: anything the records cannot explain: a gap or a broken hash in
//   the vendor's audit chain, a change to the booking with no audit row, a
//   transition without a matching audit row (or the reverse), an event
//   without a cause. A booking's history is "fully explained" when there are
//   none.
// - Resolution: where the story ended (confirmed, cancelled and why, expired,
//   still held until when).

export type TimelineKind = 'transition' | 'audit' | 'idempotency' | 'related';

export interface TimelineEntry {
  at: string;
  /** `at` as the vendor's wall clock showed it, with its UTC offset. */
  atVendorTime?: string;
  kind: TimelineKind;
  /** One line a support agent can read. */
  summary: string;
  actor: string | null;
  source: string | null;
  cause: string | null;
  requestId: string | null;
  /** Where the fact lives, to look it up: `booking_transitions#12`, `audit_log#<vendor>/5`, `payments#<id>`. */
  ref: string;
}

export type UnknownKind =
  | 'audit_chain'
  | 'missing_audit_row'
  | 'unmatched_transition'
  | 'unlogged_transition'
  | 'transition_chain'
  | 'no_cause'
  | 'state_mismatch';

export interface Unknown {
  kind: UnknownKind;
  detail: string;
  ref?: string;
}

export interface RedactedCustomer {
  id: string;
  /** First name and the initial of the last, as support sees it. */
  name: string;
  /** First letter of the local part, then the domain. */
  email: string;
}

export interface ForensicSlot {
  id: string;
  startsAt: string;
  endsAt: string;
  /** The same instants on the vendor's wall clock (its time zone), with the offset. */
  startsAtVendorTime: string;
  endsAtVendorTime: string;
  capacity: number;
  bookedCount: number;
  priceCents: number;
  currency: string;
  legacy: boolean;
}

export interface ForensicReport {
  bookingId: string;
  vendor: { id: string; name: string; timezone: string };
  customer: RedactedCustomer;
  /** The slot the booking is on now. */
  slot: ForensicSlot;
  /** Slots it was on before (reschedules), oldest first. */
  previousSlotIds: string[];
  state: string;
  payment: { method: string; status: string; amountCents: number; currency: string };
  idempotencyKey: string | null;
  timeline: TimelineEntry[];
  resolution: string;
  unknowns: Unknown[];
  /** True when every change is accounted for: no unknowns. */
  explained: boolean;
  /** Payment-side tables consulted (empty when the payments module is not installed). */
  relatedTables: string[];
}
