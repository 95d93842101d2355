// Bookings made by partners over the API: claim a slot (book outright or
// hold), read, confirm (the vendor's confirmation of a hold), cancel.
//
// Privacy: a partner only ever reaches bookings it made (partner_bookings);
// any other id answers BOOKING_NOT_FOUND, exactly like an id that does not
// exist, so ids cannot be probed. Views never carry a customer's name or
// email. Idempotency keys are namespaced by partner, so one partner's key can
// never replay another partner's booking.

import { BookijiError, validationError } from '../errors.js';
import { queryWithRetry, withTransaction, type Pool } from '../db/pool.js';
import { actorArgs } from '../engine/actor.js';
import { PAYMENT_METHODS } from '../engine/bookings.js';
import { requireHoldTtlSeconds } from '../engine/limits.js';
import { toBooking } from '../engine/rows.js';
import type { Actor, Booking } from '../engine/types.js';
import { requireIdempotencyKey, requireInt, requireOneOf, requireText, requireUuid } from '../engine/validate.js';
import type { AuthenticatedPartner } from './apiKeys.js';
import { refuseUnknownFields, requireField } from './http.js';

export const METADATA_BYTES_MAX = 4096;

export interface PartnerBookingView {
  id: string;
  vendorId: string;
  slotId: string;
  customerId: string;
  state: Booking['state'];
  startTime: string;
  endTime: string;
  holdExpiresAt: string | null;
  paymentMethod: Booking['paymentMethod'];
  paymentStatus: Booking['paymentStatus'];
  amountCents: number;
  currency: string;
  version: number;
  metadata: Record<string, unknown>;
  createdAt: string;
  updatedAt: string;
}

export interface StateChange {
  from: string | null;
  to: string;
  cause: string;
  source: string;
  at: string;
}

export function partnerActor(partner: AuthenticatedPartner, requestId: string): Actor {
  return { kind: 'partner', id: partner.partnerId, source: 'api', requestId };
}

function view(booking: Booking, metadata: Record<string, unknown>): PartnerBookingView {
  return {
    id: booking.id,
    vendorId: booking.vendorId,
    slotId: booking.slotId,
    customerId: booking.customerId,
    state: booking.state,
    startTime: booking.startsAt.toISOString(),
    endTime: booking.endsAt.toISOString(),
    holdExpiresAt: booking.holdExpiresAt ? booking.holdExpiresAt.toISOString() : null,
    paymentMethod: booking.paymentMethod,
    paymentStatus: booking.paymentStatus,
    amountCents: booking.amountCents,
    currency: booking.currency.trim(),
    version: booking.version,
    metadata,
    createdAt: booking.createdAt.toISOString(),
    updatedAt: booking.updatedAt.toISOString(),
  };
}

const CREATE_FIELDS = ['slotId', 'customerId', 'idempotencyKey', 'hold', 'holdTtlSeconds', 'paymentMethod', 'metadata'] as const;

function requireMetadata(value: unknown): Record<string, unknown> {
  if (value === undefined) return {};
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw validationError('metadata', 'must be a JSON object');
  if (Buffer.byteLength(JSON.stringify(value)) > METADATA_BYTES_MAX) throw validationError('metadata', `at most ${METADATA_BYTES_MAX} bytes of JSON`);
  return value as Record<string, unknown>;
}

export interface CreatedPartnerBooking {
  booking: PartnerBookingView;
  replayed: boolean;
}

/** Claims a slot for a customer on behalf of a partner, and records that the partner made it, in one transaction. */
export async function createPartnerBooking(
  pool: Pool,
  partner: AuthenticatedPartner,
  body: Record<string, unknown>,
  actor: Actor,
): Promise<CreatedPartnerBooking> {
  refuseUnknownFields(body, CREATE_FIELDS, '');
  const slotId = requireUuid('slotId', requireField(body, 'slotId'));
  const customerId = requireUuid('customerId', requireField(body, 'customerId'));
  const key = requireIdempotencyKey('idempotencyKey', requireField(body, 'idempotencyKey'));
  if (body.hold !== undefined && typeof body.hold !== 'boolean') throw validationError('hold', 'must be true or false');
  const hold = body.hold === true;
  const ttl = body.holdTtlSeconds === undefined ? null : requireHoldTtlSeconds('holdTtlSeconds', body.holdTtlSeconds);
  if (ttl !== null && !hold) throw validationError('holdTtlSeconds', 'only applies with "hold": true');
  const method = body.paymentMethod === undefined ? null : requireOneOf('paymentMethod', body.paymentMethod, PAYMENT_METHODS);
  const metadata = requireMetadata(body.metadata);
  const scopedKey = `partner:${partner.partnerId}:${key}`;
  return withTransaction(pool, async (client) => {
    const claimed = await client.query('SELECT booking, replayed FROM claim_slot($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)', [
      slotId,
      customerId,
      hold,
      ttl,
      method,
      scopedKey,
      ...actorArgs(actor),
    ]);
    const row = claimed.rows[0]!;
    const booking = toBooking(row.booking);
    // On a replay the link exists: the metadata is part of the request, so a
    // retry that changes it is a different request (I6), not the first outcome.
    const linked = await client.query(
      `INSERT INTO partner_bookings (vendor_id, booking_id, partner_id, metadata) VALUES ($1, $2, $3, $4)
       ON CONFLICT (vendor_id, booking_id) DO UPDATE SET partner_id = partner_bookings.partner_id
       RETURNING partner_id, metadata, metadata = $4::jsonb AS same_metadata`,
      [booking.vendorId, booking.id, partner.partnerId, JSON.stringify(metadata)],
    );
    const link = linked.rows[0]!;
    if (!link.same_metadata) {
      throw new BookijiError('IDEMPOTENCY_MISMATCH', `idempotencyKey ${key} was first used with other metadata`, {
        details: { field: 'metadata', bookingId: booking.id },
      });
    }
    return { booking: view(booking, link.metadata), replayed: row.replayed as boolean };
  });
}

async function ownedBooking(pool: Pool, partner: AuthenticatedPartner, idInput: unknown): Promise<{ booking: Booking; metadata: Record<string, unknown> }> {
  const id = requireUuid('id', idInput);
  const result = await queryWithRetry(
    pool,
    `SELECT b.*, pb.metadata AS partner_metadata FROM partner_bookings pb JOIN bookings b ON b.vendor_id = pb.vendor_id AND b.id = pb.booking_id
     WHERE pb.booking_id = $1 AND pb.partner_id = $2`,
    [id, partner.partnerId],
  );
  const row = result.rows[0];
  if (!row) throw new BookijiError('BOOKING_NOT_FOUND', `booking ${id} not found`, { details: { bookingId: id } });
  return { booking: toBooking(row), metadata: row.partner_metadata };
}

export async function getPartnerBooking(pool: Pool, partner: AuthenticatedPartner, id: unknown): Promise<PartnerBookingView & { history: StateChange[] }> {
  const { booking, metadata } = await ownedBooking(pool, partner, id);
  const transitions = await queryWithRetry(
    pool,
    'SELECT from_state, to_state, cause, source, at FROM booking_transitions WHERE vendor_id = $1 AND booking_id = $2 ORDER BY id',
    [booking.vendorId, booking.id],
  );
  const history = transitions.rows.map((row) => ({
    from: row.from_state,
    to: row.to_state,
    cause: row.cause,
    source: row.source,
    at: (row.at as Date).toISOString(),
  }));
  return { ...view(booking, metadata), history };
}

export async function cancelPartnerBooking(
  pool: Pool,
  partner: AuthenticatedPartner,
  id: unknown,
  body: Record<string, unknown>,
  actor: Actor,
): Promise<PartnerBookingView> {
  refuseUnknownFields(body, ['reason', 'expectedVersion'], '');
  const reason = requireText('reason', requireField(body, 'reason'), 500);
  const expectedVersion = body.expectedVersion === undefined ? null : requireInt('expectedVersion', body.expectedVersion, 1, 2_147_483_647);
  const { booking, metadata } = await ownedBooking(pool, partner, id);
  const result = await queryWithRetry(pool, 'SELECT cancel_booking($1, $2, $3, $4, $5, $6, $7) AS booking', [
    booking.id,
    expectedVersion,
    reason,
    ...actorArgs(actor),
  ]);
  return view(toBooking(result.rows[0]!.booking), metadata);
}

/** The vendor's confirmation of a hold, relayed by the partner that placed it. */
export async function confirmPartnerBooking(
  pool: Pool,
  partner: AuthenticatedPartner,
  id: unknown,
  body: Record<string, unknown>,
  actor: Actor,
): Promise<PartnerBookingView> {
  refuseUnknownFields(body, ['expectedVersion'], '');
  const expectedVersion = body.expectedVersion === undefined ? null : requireInt('expectedVersion', body.expectedVersion, 1, 2_147_483_647);
  const { booking, metadata } = await ownedBooking(pool, partner, id);
  const result = await queryWithRetry(pool, 'SELECT confirm_booking($1, $2, $3, $4, $5, $6) AS booking', [booking.id, expectedVersion, ...actorArgs(actor)]);
  return view(toBooking(result.rows[0]!.booking), metadata);
}
