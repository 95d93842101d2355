// Reservations over the partner API (the reservation machine lives in
// src/reservations and migration 0012): create, read with payments and
// history, the vendor's confirmation, cancel. A partner reaches only its own
// reservations: any other id answers RESERVATION_NOT_FOUND, exactly like a
// missing one. Transitions carry no actor ids (an operator's login is
// nobody else's business).

import { validationError } from '../errors.js';
import type { Pool } from '../db/pool.js';
import type { Actor } from '../engine/types.js';
import { requireIdempotencyKey, requireText, requireUuid } from '../engine/validate.js';
import {
  cancelReservation,
  createReservation,
  getReservation,
  vendorConfirmReservation,
  type Reservation,
  type ReservationDetail,
} from '../reservations/index.js';
import type { AuthenticatedPartner } from './apiKeys.js';
import { requireCalendarTime } from './availability.js';
import { refuseUnknownFields, requireField } from './http.js';

export interface PartnerReservationView {
  id: string;
  vendorId: string;
  slotId: string;
  requesterId: string;
  state: Reservation['state'];
  slotStartTime: string;
  slotEndTime: string;
  expiresAt: string | null;
  amountCents: number;
  depositCents: number;
  currency: string;
  metadata: Record<string, string>;
  createdAt: string;
  updatedAt: string;
}

export interface PartnerReservationDetail extends PartnerReservationView {
  payments: Array<{ role: string; status: string; amountCents: number; currency: string }>;
  history: Array<{ from: string | null; to: string; cause: string; at: string }>;
}

function view(reservation: Reservation): PartnerReservationView {
  return {
    id: reservation.id,
    vendorId: reservation.vendorId,
    slotId: reservation.slotId,
    requesterId: reservation.requesterId,
    state: reservation.state,
    slotStartTime: reservation.slotStartTime.toISOString(),
    slotEndTime: reservation.slotEndTime.toISOString(),
    expiresAt: reservation.expiresAt ? reservation.expiresAt.toISOString() : null,
    amountCents: reservation.amountCents,
    depositCents: reservation.depositCents,
    currency: reservation.currency.trim(),
    metadata: reservation.metadata,
    createdAt: reservation.createdAt.toISOString(),
    updatedAt: reservation.updatedAt.toISOString(),
  };
}

function detailView(detail: ReservationDetail): PartnerReservationDetail {
  return {
    ...view(detail),
    payments: detail.payments.map((p) => ({ role: p.role, status: p.status, amountCents: p.amountCents, currency: p.currency.trim() })),
    history: detail.history.map((h) => ({
      from: h.fromState,
      to: h.toState,
      cause: h.cause,
      at: (h.at instanceof Date ? h.at : new Date(String(h.at))).toISOString(),
    })),
  };
}

const CREATE_FIELDS = ['vendorId', 'slotStartTime', 'slotEndTime', 'requesterId', 'metadata', 'idempotencyKey'] as const;
const METADATA_KEYS_MAX = 50;

function requireStringMetadata(value: unknown): Record<string, string> {
  if (value === undefined) return {};
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw validationError('metadata', 'must be a JSON object of strings');
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length > METADATA_KEYS_MAX) throw validationError('metadata', `at most ${METADATA_KEYS_MAX} keys`);
  for (const [key, entry] of entries) if (typeof entry !== 'string') throw validationError(`metadata.${key}`, 'must be a string');
  return value as Record<string, string>;
}

export async function createPartnerReservation(
  pool: Pool,
  partner: AuthenticatedPartner,
  body: Record<string, unknown>,
  actor: Actor,
): Promise<{ reservation: PartnerReservationView; replayed: boolean }> {
  refuseUnknownFields(body, CREATE_FIELDS, '');
  const vendorId = requireUuid('vendorId', requireField(body, 'vendorId'));
  const slotStartTime = requireCalendarTime('slotStartTime', requireField(body, 'slotStartTime'));
  const slotEndTime = requireCalendarTime('slotEndTime', requireField(body, 'slotEndTime'));
  const requesterId = requireUuid('requesterId', requireField(body, 'requesterId'));
  const idempotencyKey = requireIdempotencyKey('idempotencyKey', requireField(body, 'idempotencyKey'));
  const metadata = requireStringMetadata(body.metadata);
  const created = await createReservation(
    pool,
    { vendorId, slotStartTime, slotEndTime, requesterId, partnerId: partner.partnerId, metadata, idempotencyKey },
    actor,
  );
  return { reservation: view(created.reservation), replayed: created.replayed };
}

export async function getPartnerReservation(pool: Pool, partner: AuthenticatedPartner, id: unknown): Promise<PartnerReservationDetail> {
  return detailView(await getReservation(pool, requireUuid('id', id), { partnerId: partner.partnerId }));
}

export async function confirmPartnerReservation(
  pool: Pool,
  partner: AuthenticatedPartner,
  id: unknown,
  body: Record<string, unknown>,
  actor: Actor,
): Promise<PartnerReservationView> {
  refuseUnknownFields(body, [], '');
  const owned = await getReservation(pool, requireUuid('id', id), { partnerId: partner.partnerId });
  return view(await vendorConfirmReservation(pool, owned.id, actor));
}

export async function cancelPartnerReservation(
  pool: Pool,
  partner: AuthenticatedPartner,
  id: unknown,
  body: Record<string, unknown>,
  actor: Actor,
): Promise<PartnerReservationView> {
  refuseUnknownFields(body, ['reason'], '');
  const reason = requireText('reason', requireField(body, 'reason'), 500);
  const owned = await getReservation(pool, requireUuid('id', id), { partnerId: partner.partnerId });
  return view(await cancelReservation(pool, owned.id, reason, actor));
}
