// Reconstructs one booking's story from the database's own records: the
// booking row, its append-only transitions, its rows in the vendor's
// hash-chained audit log, and any payment-side rows that name it. Then it
// cross-examines them: every version of the booking must have an audit row,
// every transition must match an audited change (and the reverse), the
// transitions must chain from creation to the current state, every change
// must carry a cause, and the vendor's chain must verify. What does not hold
// becomes an explicit unknown; it is never smoothed over.

import { BookijiError } from '../errors.js';
import { type Pool, type Queryable, withTransaction } from '../db/pool.js';
import { requireUuid } from '../engine/validate.js';
import { timeInZone } from './localTime.js';
import { redactCustomer } from './redact.js';
import { bookingsForPaymentIntent, relatedRows, relatedRowSummary, relatedRowTime } from './related.js';
import type { ForensicReport, TimelineEntry, Unknown } from './types.js';

type Row = Record<string, unknown>;

// Causes the transition trigger writes when nobody said why (no set_actor).
const DEFAULT_CAUSES = new Set(['updated', 'created', '']);

function iso(value: unknown): string {
  return (value instanceof Date ? value : new Date(String(value))).toISOString();
}

function text(value: unknown): string | null {
  return value === null || value === undefined || value === '' ? null : String(value);
}

function actorOf(row: Row): string {
  return `${String(row.actor_kind)}${row.actor_id ? `:${String(row.actor_id)}` : ''}`;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The bookings an id names: a booking id, a slot id (every booking that is or
 * was on the slot), or a payment intent id (through the payments tables).
 */
export async function findBookings(db: Queryable, id: string): Promise<string[]> {
  const trimmed = id.trim();
  if (UUID.test(trimmed)) {
    const lower = trimmed.toLowerCase();
    const booking = await db.query('SELECT id FROM bookings WHERE id = $1', [lower]);
    if (booking.rowCount) return [lower];
    const onSlot = await db.query(
      `SELECT DISTINCT booking_id::text AS id, min(id) AS first FROM booking_transitions
       WHERE to_slot_id = $1 OR from_slot_id = $1 GROUP BY booking_id ORDER BY first`,
      [lower],
    );
    if (onSlot.rowCount) return onSlot.rows.map((r) => String(r.id));
    const slot = await db.query('SELECT 1 FROM slots WHERE id = $1', [lower]);
    if (slot.rowCount) return [];
  } else if (trimmed.length > 0 && trimmed.length <= 255) {
    const byIntent = await bookingsForPaymentIntent(db, trimmed);
    if (byIntent.length > 0) return byIntent;
  }
  throw new BookijiError('BOOKING_NOT_FOUND', `no booking, slot or payment intent has the id ${JSON.stringify(trimmed)}`, { details: { id: trimmed } });
}

/** Everything the database keeps about one booking, read at once. */
interface Evidence {
  bookingId: string;
  vendorId: string;
  booking: Row;
  vendor: Row;
  customer: Row;
  slot: Row;
  transitions: Row[];
  audits: Row[];
  chainProblems: Row[];
  related: Awaited<ReturnType<typeof relatedRows>>;
  relatedAudits: Row[];
}

async function loadEvidence(db: Queryable, bookingId: string): Promise<Evidence> {
  const bookingResult = await db.query('SELECT * FROM bookings WHERE id = $1', [bookingId]);
  if (!bookingResult.rowCount) throw new BookijiError('BOOKING_NOT_FOUND', `booking ${bookingId} not found`, { details: { bookingId } });
  const booking = bookingResult.rows[0] as Row;
  const vendorId = String(booking.vendor_id);

  const [vendor, customer, slot, transitions, audits, chainProblems, related] = await Promise.all([
    db.query('SELECT id, name, timezone FROM vendors WHERE id = $1', [vendorId]).then((r) => r.rows[0] as Row),
    db.query('SELECT id, name, email FROM customers WHERE id = $1', [booking.customer_id]).then((r) => r.rows[0] as Row),
    db.query('SELECT * FROM slots WHERE vendor_id = $1 AND id = $2', [vendorId, booking.slot_id]).then((r) => r.rows[0] as Row),
    db.query('SELECT * FROM booking_transitions WHERE vendor_id = $1 AND booking_id = $2 ORDER BY id', [vendorId, bookingId]).then((r) => r.rows as Row[]),
    db
      .query(`SELECT * FROM audit_log WHERE vendor_id = $1 AND entity_id = $2 AND entity = 'bookings' ORDER BY seq`, [vendorId, bookingId])
      .then((r) => r.rows as Row[]),
    db.query('SELECT seq, problem FROM audit_verify($1)', [vendorId]).then((r) => r.rows as Row[]),
    relatedRows(db, bookingId),
  ]);

  const relatedIds = related.rows.map((r) => r.row.id).filter((id): id is string => typeof id === 'string' && UUID.test(id));
  const relatedAudits = relatedIds.length
    ? ((await db.query(`SELECT * FROM audit_log WHERE vendor_id = $1 AND entity_id = ANY($2::uuid[]) ORDER BY seq`, [vendorId, relatedIds])).rows as Row[])
    : [];
  return { bookingId, vendorId, booking, vendor, customer, slot, transitions, audits, chainProblems, related, relatedAudits };
}

// The vendor's chain: a gap or broken hash anywhere in it means a row of
// this booking could be the one missing or altered.
function chainUnknowns({ vendorId, chainProblems }: Evidence): Unknown[] {
  return chainProblems.map((p) => ({
    kind: 'audit_chain',
    detail: `audit chain of vendor ${vendorId} at seq ${String(p.seq)}: ${String(p.problem)}`,
    ref: `audit_log#${vendorId}/${String(p.seq)}`,
  }));
}

// Every version of the booking (1 … current) must have its audit row, and the
// current row must be the last audited one.
function versionUnknowns({ bookingId, booking, audits }: Evidence): Unknown[] {
  const unknowns: Unknown[] = [];
  const auditedVersions = new Set(audits.map((a) => Number((a.after as Row | null)?.version)));
  const currentVersion = Number(booking.version);
  for (let v = 1; v <= currentVersion; v++) {
    if (!auditedVersions.has(v)) {
      unknowns.push({
        kind: 'missing_audit_row',
        detail: `version ${v} of the booking has no audit row: that change cannot be attributed`,
        ref: `bookings#${bookingId}@v${v}`,
      });
    }
  }
  const lastAfter = audits.at(-1)?.after as Row | undefined;
  if (
    lastAfter &&
    (Number(lastAfter.version) !== currentVersion ||
      lastAfter.state !== booking.state ||
      lastAfter.slot_id !== booking.slot_id ||
      lastAfter.payment_status !== booking.payment_status)
  ) {
    unknowns.push({
      kind: 'state_mismatch',
      detail: `the booking is ${String(booking.state)} v${currentVersion} but its last audit row records ${String(lastAfter.state)} v${String(lastAfter.version)}`,
      ref: `bookings#${bookingId}`,
    });
  }
  return unknowns;
}

// Transitions chain from creation to the current state, each with a cause.
function transitionChainUnknowns({ bookingId, booking, transitions }: Evidence): Unknown[] {
  const unknowns: Unknown[] = [];
  let previous: unknown = null;
  for (const t of transitions) {
    if ((t.from_state ?? null) !== previous) {
      unknowns.push({
        kind: 'transition_chain',
        detail: `transition ${String(t.id)} starts from ${String(t.from_state)} but the previous one ended in ${String(previous)}`,
        ref: `booking_transitions#${String(t.id)}`,
      });
    }
    previous = t.to_state;
    if (DEFAULT_CAUSES.has(String(t.cause ?? ''))) {
      unknowns.push({
        kind: 'no_cause',
        detail: `transition ${String(t.id)} (${String(t.from_state)} → ${String(t.to_state)}) was written without a cause`,
        ref: `booking_transitions#${String(t.id)}`,
      });
    }
  }
  if (previous !== booking.state) {
    unknowns.push({
      kind: 'transition_chain',
      detail: `the booking is ${String(booking.state)} but its last logged transition ends in ${String(previous)}`,
      ref: `bookings#${bookingId}`,
    });
  }
  return unknowns;
}

// Each transition matches an audited change of state or slot, in order, and the reverse.
function transitionAuditUnknowns({ vendorId, transitions, audits }: Evidence): Unknown[] {
  const unknowns: Unknown[] = [];
  const auditedMoves = audits.filter((a) => {
    const before = a.before as Row | null;
    const after = a.after as Row | null;
    return a.action === 'insert' || (before && after && (before.state !== after.state || before.slot_id !== after.slot_id));
  });
  const matched = new Set<Row>();
  let cursor = 0;
  for (const t of transitions) {
    const index = auditedMoves.findIndex(
      (a, i) =>
        i >= cursor &&
        (a.after as Row).state === t.to_state &&
        (a.after as Row).slot_id === t.to_slot_id &&
        ((a.before as Row | null)?.state ?? null) === (t.from_state ?? null),
    );
    if (index >= 0) {
      matched.add(auditedMoves[index]!);
      cursor = index + 1;
    } else
      unknowns.push({
        kind: 'unmatched_transition',
        detail: `transition ${String(t.id)} (${String(t.from_state)} → ${String(t.to_state)}) has no audit row recording it`,
        ref: `booking_transitions#${String(t.id)}`,
      });
  }
  for (const a of auditedMoves) {
    if (!matched.has(a)) {
      unknowns.push({
        kind: 'unlogged_transition',
        detail: `audit row ${String(a.seq)} records a change of state or slot that no transition logs`,
        ref: `audit_log#${vendorId}/${String(a.seq)}`,
      });
    }
  }
  return unknowns;
}

function auditReasonUnknowns({ vendorId, audits, relatedAudits }: Evidence): Unknown[] {
  return [...audits, ...relatedAudits]
    .filter((a) => !text(a.reason))
    .map((a) => ({
      kind: 'no_cause',
      detail: `audit row ${String(a.seq)} (${String(a.entity)} ${String(a.action)}) was written without a reason`,
      ref: `audit_log#${vendorId}/${String(a.seq)}`,
    }));
}

function transitionEntries({ transitions }: Evidence): TimelineEntry[] {
  return transitions.map((t) => ({
    at: iso(t.at),
    kind: 'transition',
    summary: `${t.from_state ? `${String(t.from_state)} → ` : 'created as '}${String(t.to_state)}${t.from_slot_id && t.from_slot_id !== t.to_slot_id ? ` (moved from slot ${String(t.from_slot_id)} to ${String(t.to_slot_id)})` : ''}`,
    actor: actorOf(t),
    source: text(t.source),
    cause: text(t.cause),
    requestId: text(t.request_id),
    ref: `booking_transitions#${String(t.id)}`,
  }));
}

function auditEntries({ vendorId, audits, relatedAudits }: Evidence): TimelineEntry[] {
  return [...audits, ...relatedAudits].map((a) => {
    const before = a.before as Row | null;
    const after = a.after as Row | null;
    const changed =
      before && after ? Object.keys(after).filter((k) => JSON.stringify(after[k]) !== JSON.stringify(before[k]) && k !== 'updated_at' && k !== 'version') : [];
    return {
      at: iso(a.at),
      kind: 'audit',
      summary: `${String(a.entity)} ${String(a.action)}${changed.length ? ` (${changed.map((k) => `${k}: ${JSON.stringify(before?.[k])} → ${JSON.stringify(after?.[k])}`).join('; ')})` : ''}, seq ${String(a.seq)}`,
      actor: actorOf(a),
      source: text(a.source),
      cause: text(a.reason),
      requestId: text(a.request_id),
      ref: `audit_log#${vendorId}/${String(a.seq)}`,
    };
  });
}

function idempotencyEntries({ bookingId, booking }: Evidence): TimelineEntry[] {
  if (!booking.idempotency_key) return [];
  return [
    {
      at: iso(booking.created_at),
      kind: 'idempotency',
      summary: `created under idempotency key ${JSON.stringify(booking.idempotency_key)}: retries with it return this booking`,
      actor: null,
      source: null,
      cause: 'idempotent request',
      requestId: null,
      ref: `bookings#${bookingId}`,
    },
  ];
}

function relatedEntries({ booking, related }: Evidence): TimelineEntry[] {
  return related.rows.map(({ table, row }) => ({
    at: relatedRowTime(row) ?? iso(booking.created_at),
    kind: 'related',
    summary: relatedRowSummary(table, row),
    actor: row.actor_kind ? actorOf(row) : null,
    source: text(row.source) ?? (table.includes('event') || table.includes('webhook') ? 'webhook' : null),
    cause: text(row.reason) ?? text(row.cause) ?? text(row.type) ?? text(row.event_type),
    requestId: text(row.request_id),
    ref: `${table}#${String(row.id ?? '')}`,
  }));
}

/** One timeline from every source, in time order; at the same instant transitions first, then audit, idempotency, related rows. */
function timelineOf(evidence: Evidence): TimelineEntry[] {
  const timeline = [...transitionEntries(evidence), ...auditEntries(evidence), ...idempotencyEntries(evidence), ...relatedEntries(evidence)];
  const kindOrder: Record<string, number> = { transition: 0, audit: 1, idempotency: 2, related: 3 };
  return timeline.sort(
    (x, y) => x.at.localeCompare(y.at) || kindOrder[x.kind]! - kindOrder[y.kind]! || x.ref.localeCompare(y.ref, undefined, { numeric: true }),
  );
}

function slotOf(slot: Row, zone: string): ForensicReport['slot'] {
  return {
    id: String(slot.id),
    startsAt: iso(slot.starts_at),
    endsAt: iso(slot.ends_at),
    startsAtVendorTime: timeInZone(iso(slot.starts_at), zone),
    endsAtVendorTime: timeInZone(iso(slot.ends_at), zone),
    capacity: Number(slot.capacity),
    bookedCount: Number(slot.booked_count),
    priceCents: Number(slot.price_cents),
    currency: String(slot.currency),
    legacy: Boolean(slot.legacy),
  };
}

/**
 * Reads the evidence in one REPEATABLE READ snapshot when given a pool: read
 * statement by statement, a change committed between the booking's row and
 * its audit rows made a consistent history look like an unexplained one
 * (SimCity SC-7 under certify: "held v1 but its last audit row records v2").
 */
function readEvidence(db: Queryable, bookingId: string): Promise<Evidence> {
  // A pool (it counts its clients); a client the caller holds may already be inside its own transaction.
  if (!('totalCount' in db)) return loadEvidence(db, bookingId);
  return withTransaction(db as Pool, (client) => loadEvidence(client, bookingId), { isolation: 'repeatable read' });
}

export async function reconstructBooking(db: Queryable, bookingIdInput: string): Promise<ForensicReport> {
  const evidence = await readEvidence(db, requireUuid('booking', bookingIdInput));
  const { bookingId, vendorId, booking, vendor, customer, transitions, related } = evidence;
  const unknowns = [
    ...chainUnknowns(evidence),
    ...versionUnknowns(evidence),
    ...transitionChainUnknowns(evidence),
    ...transitionAuditUnknowns(evidence),
    ...auditReasonUnknowns(evidence),
  ];
  const previousSlotIds = transitions.filter((t) => t.from_slot_id && t.from_slot_id !== t.to_slot_id).map((t) => String(t.from_slot_id));
  const zone = String(vendor.timezone);
  return {
    bookingId,
    vendor: { id: vendorId, name: String(vendor.name), timezone: zone },
    customer: redactCustomer({ id: String(customer.id), name: String(customer.name), email: String(customer.email) }),
    slot: slotOf(evidence.slot, zone),
    previousSlotIds,
    state: String(booking.state),
    payment: {
      method: String(booking.payment_method),
      status: String(booking.payment_status),
      amountCents: Number(booking.amount_cents),
      currency: String(booking.currency),
    },
    idempotencyKey: text(booking.idempotency_key),
    timeline: timelineOf(evidence).map((entry) => ({ ...entry, atVendorTime: timeInZone(entry.at, zone) })),
    resolution: resolutionOf(booking, transitions.at(-1), zone),
    unknowns,
    explained: unknowns.length === 0,
    relatedTables: related.tables,
  };
}

/** An instant in UTC with the vendor's wall time beside it. */
function bothZones(value: unknown, zone: string): string {
  return `${iso(value)} (${timeInZone(iso(value), zone)} ${zone})`;
}

function resolutionOf(booking: Row, last: Row | undefined, zone: string): string {
  const by = last ? ` by ${actorOf(last)} via ${String(last.source)} at ${bothZones(last.at, zone)}` : '';
  switch (booking.state) {
    case 'confirmed':
      return `confirmed${by}: the vendor honours it (payment ${String(booking.payment_method)}, ${String(booking.payment_status)})`;
    case 'cancelled':
      return `cancelled${by}: ${String(booking.cancel_reason ?? 'no reason recorded')}`;
    case 'expired':
      return `expired${by}: the hold's time to live passed before it was confirmed; its capacity was released`;
    case 'held':
      return `still held until ${bothZones(booking.hold_expires_at, zone)}: not yet a booking the vendor honours`;
    default:
      return `in state ${String(booking.state)}`;
  }
}
