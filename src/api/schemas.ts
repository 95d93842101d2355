// The JSON schemas of Partner API v1: requests (params, query, headers,
// bodies) and responses. Routes (routes.ts) carry them; Fastify validates
// requests with them (validation.ts) and @fastify/swagger builds the OpenAPI
// document served at /v1/openapi.json from them, so the document is what the
// server checks. test/api/openapi.test.ts checks every real response against
// that document.

import { HOLD_TTL_SECONDS_MAX, HOLD_TTL_SECONDS_MIN } from '../engine/limits.js';
import { RESERVATION_STATES } from '../reservations/types.js';

const error = {
  type: 'object',
  additionalProperties: false,
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      additionalProperties: false,
      required: ['code', 'message', 'hint', 'retryable'],
      properties: {
        code: { type: 'string', description: 'Stable error code (SPEC §2), e.g. BOOKING_CONFLICT.' },
        message: { type: 'string' },
        hint: { type: 'string' },
        retryable: { type: 'boolean' },
        field: { type: 'string', description: 'The request field at fault, for VALIDATION_ERROR.' },
      },
    },
  },
} as const;

const confidence = {
  type: 'object',
  additionalProperties: false,
  required: ['score', 'reasons'],
  properties: { score: { type: 'number', minimum: 0, maximum: 1 }, reasons: { type: 'array', items: { type: 'string' } } },
} as const;

const availability = {
  type: 'object',
  additionalProperties: false,
  required: ['vendorId', 'timezone', 'startTime', 'endTime', 'computedAt', 'calendarImportedAt', 'slots'],
  properties: {
    vendorId: { type: 'string', format: 'uuid' },
    timezone: { type: 'string' },
    startTime: { type: 'string', format: 'date-time' },
    endTime: { type: 'string', format: 'date-time' },
    computedAt: { type: 'string', format: 'date-time' },
    calendarImportedAt: { type: ['string', 'null'], format: 'date-time' },
    slots: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['slotId', 'startTime', 'endTime', 'capacity', 'available', 'priceCents', 'currency', 'explanation'],
        properties: {
          slotId: { type: 'string', format: 'uuid' },
          startTime: { type: 'string', format: 'date-time' },
          endTime: { type: 'string', format: 'date-time' },
          capacity: { type: 'integer' },
          available: { type: 'integer' },
          priceCents: { type: 'integer' },
          currency: { type: 'string' },
          confidence,
          explanation: { type: 'string' },
        },
      },
    },
  },
} as const;

const bookingProperties = {
  id: { type: 'string', format: 'uuid' },
  vendorId: { type: 'string', format: 'uuid' },
  slotId: { type: 'string', format: 'uuid' },
  customerId: { type: 'string', format: 'uuid' },
  state: { type: 'string', enum: ['held', 'confirmed', 'cancelled', 'expired'] },
  startTime: { type: 'string', format: 'date-time' },
  endTime: { type: 'string', format: 'date-time' },
  holdExpiresAt: { type: ['string', 'null'], format: 'date-time' },
  paymentMethod: { type: 'string', enum: ['free', 'pay_on_arrival', 'card'] },
  paymentStatus: { type: 'string', enum: ['none', 'requires_payment', 'authorized', 'captured', 'failed', 'canceled', 'refunded'] },
  amountCents: { type: 'integer' },
  currency: { type: 'string' },
  version: { type: 'integer' },
  metadata: { type: 'object' },
  createdAt: { type: 'string', format: 'date-time' },
  updatedAt: { type: 'string', format: 'date-time' },
} as const;

const bookingRequired = Object.keys(bookingProperties);

const booking = { type: 'object', additionalProperties: false, required: bookingRequired, properties: bookingProperties } as const;

const bookingWithHistory = {
  type: 'object',
  additionalProperties: false,
  required: [...bookingRequired, 'history'],
  properties: {
    ...bookingProperties,
    history: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['from', 'to', 'cause', 'source', 'at'],
        properties: {
          from: { type: ['string', 'null'] },
          to: { type: 'string' },
          cause: { type: 'string' },
          source: { type: 'string' },
          at: { type: 'string', format: 'date-time' },
        },
      },
    },
  },
} as const;

const createdBooking = {
  type: 'object',
  additionalProperties: false,
  required: ['booking', 'replayed'],
  properties: { booking, replayed: { type: 'boolean' } },
} as const;

const reservationProperties = {
  id: { type: 'string', format: 'uuid' },
  vendorId: { type: 'string', format: 'uuid' },
  slotId: { type: 'string', format: 'uuid' },
  requesterId: { type: 'string', format: 'uuid' },
  state: { type: 'string', enum: [...RESERVATION_STATES] },
  slotStartTime: { type: 'string', format: 'date-time' },
  slotEndTime: { type: 'string', format: 'date-time' },
  expiresAt: { type: ['string', 'null'], format: 'date-time', description: "When the current stage's time to live passes; null once final." },
  amountCents: { type: 'integer' },
  depositCents: { type: 'integer' },
  currency: { type: 'string' },
  metadata: { type: 'object' },
  createdAt: { type: 'string', format: 'date-time' },
  updatedAt: { type: 'string', format: 'date-time' },
} as const;

const reservationRequired = Object.keys(reservationProperties);

const reservation = { type: 'object', additionalProperties: false, required: reservationRequired, properties: reservationProperties } as const;

const reservationDetail = {
  type: 'object',
  additionalProperties: false,
  required: [...reservationRequired, 'payments', 'history'],
  properties: {
    ...reservationProperties,
    payments: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['role', 'status', 'amountCents', 'currency'],
        properties: {
          role: { type: 'string', enum: ['vendor_deposit', 'requester'] },
          status: { type: 'string' },
          amountCents: { type: 'integer' },
          currency: { type: 'string' },
        },
      },
    },
    history: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['from', 'to', 'cause', 'at'],
        properties: { from: { type: ['string', 'null'] }, to: { type: 'string' }, cause: { type: 'string' }, at: { type: 'string', format: 'date-time' } },
      },
    },
  },
} as const;

const createdReservation = {
  type: 'object',
  additionalProperties: false,
  required: ['reservation', 'replayed'],
  properties: { reservation, replayed: { type: 'boolean' } },
} as const;

const health = {
  type: 'object',
  additionalProperties: false,
  required: ['status', 'database'],
  properties: { status: { type: 'string', enum: ['ok', 'degraded'] }, database: { type: 'string', enum: ['ok', 'unreachable'] } },
} as const;

const webhookReceipt = {
  type: 'object',
  additionalProperties: false,
  required: ['received', 'duplicate'],
  properties: {
    received: { type: 'boolean' },
    duplicate: { type: 'boolean', description: 'True when this event id was already stored (a redelivery).' },
    outcome: { type: 'string', description: 'What applying the event did to its payment.' },
  },
} as const;

/** Shared schemas, registered once; routes refer to them as { $ref: 'Name#' }. */
export const SHARED_SCHEMAS = [
  { $id: 'Error', ...error },
  { $id: 'Availability', ...availability },
  { $id: 'Booking', ...booking },
  { $id: 'BookingWithHistory', ...bookingWithHistory },
  { $id: 'CreatedBooking', ...createdBooking },
  { $id: 'Reservation', ...reservation },
  { $id: 'ReservationDetail', ...reservationDetail },
  { $id: 'CreatedReservation', ...createdReservation },
  { $id: 'Health', ...health },
  { $id: 'WebhookReceipt', ...webhookReceipt },
];

// ---- requests -------------------------------------------------------------

/** The partner namespace the server puts before a booking's idempotency key: "partner:<uuid>:". */
export const PARTNER_KEY_PREFIX_LENGTH = 'partner:'.length + 36 + ':'.length;
/** The idempotency key column's width (migrations 0002 and 0012: length BETWEEN 1 AND 200). */
export const IDEMPOTENCY_COLUMN_LENGTH = 200;

const uuid = { type: 'string', format: 'uuid' } as const;
const dateTime = { type: 'string', format: 'date-time', maxLength: 40 } as const;
const reason = { type: 'string', minLength: 1, maxLength: 500 } as const;
const version = { type: 'integer', minimum: 1, maximum: 2_147_483_647 } as const;

function idempotencyKey(maxLength: number, description: string) {
  return { type: 'string', minLength: 1, maxLength, pattern: '^[\\x21-\\x7e]+$', description } as const;
}

export const NO_QUERY = { type: 'object', additionalProperties: false, properties: {} } as const;

export const ID_PARAMS = { type: 'object', additionalProperties: false, required: ['id'], properties: { id: uuid } } as const;

export const REQUEST_ID_HEADERS = {
  type: 'object',
  properties: {
    'x-request-id': {
      type: 'string',
      description:
        'Echoed back and written to the audit rows the request causes, when it matches ^[A-Za-z0-9._:-]{1,100}$; otherwise the server makes a new one.',
    },
  },
} as const;

export const STRIPE_HEADERS = {
  type: 'object',
  properties: {
    'stripe-signature': { type: 'string', maxLength: 2000, description: 't=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">; exactly one t.' },
  },
} as const;

export const AVAILABILITY_PARAMS = { type: 'object', additionalProperties: false, required: ['vendorId'], properties: { vendorId: uuid } } as const;

export const AVAILABILITY_QUERY = {
  type: 'object',
  additionalProperties: false,
  required: ['startTime', 'endTime'],
  properties: {
    startTime: dateTime,
    endTime: dateTime,
    slotDuration: { type: 'string', pattern: '^[0-9]{1,4}$', description: 'Only slots lasting this many minutes (1 to 1440).' },
    includeConfidence: { type: 'string', enum: ['true', 'false'] },
  },
} as const;

export const CREATE_BOOKING_BODY = {
  type: 'object',
  additionalProperties: false,
  required: ['slotId', 'customerId', 'idempotencyKey'],
  properties: {
    slotId: uuid,
    customerId: uuid,
    idempotencyKey: idempotencyKey(
      IDEMPOTENCY_COLUMN_LENGTH - PARTNER_KEY_PREFIX_LENGTH,
      `Printable ASCII; at most ${IDEMPOTENCY_COLUMN_LENGTH - PARTNER_KEY_PREFIX_LENGTH} characters, since the server stores it after a ${PARTNER_KEY_PREFIX_LENGTH}-character partner namespace.`,
    ),
    hold: { type: 'boolean' },
    holdTtlSeconds: { type: 'integer', minimum: HOLD_TTL_SECONDS_MIN, maximum: HOLD_TTL_SECONDS_MAX },
    paymentMethod: { type: 'string', enum: ['free', 'pay_on_arrival', 'card'] },
    metadata: { type: 'object', description: 'Yours, returned as given: at most 4096 bytes of JSON, nested at most 32 levels, no NUL characters.' },
  },
} as const;

export const CONFIRM_BOOKING_BODY = { type: 'object', additionalProperties: false, properties: { expectedVersion: version } } as const;

export const CANCEL_BOOKING_BODY = {
  type: 'object',
  additionalProperties: false,
  required: ['reason'],
  properties: { reason, expectedVersion: version },
} as const;

export const CREATE_RESERVATION_BODY = {
  type: 'object',
  additionalProperties: false,
  required: ['vendorId', 'slotStartTime', 'slotEndTime', 'requesterId', 'idempotencyKey'],
  properties: {
    vendorId: uuid,
    slotStartTime: dateTime,
    slotEndTime: dateTime,
    requesterId: uuid,
    metadata: { type: 'object', maxProperties: 50, additionalProperties: { type: 'string' } },
    idempotencyKey: idempotencyKey(IDEMPOTENCY_COLUMN_LENGTH, 'Printable ASCII, 1 to 200 characters.'),
  },
} as const;

export const CONFIRM_RESERVATION_BODY = { type: 'object', additionalProperties: false, properties: {} } as const;

export const CANCEL_RESERVATION_BODY = { type: 'object', additionalProperties: false, required: ['reason'], properties: { reason } } as const;

/** Error responses for these statuses, each the taxonomy's body. */
export function errorResponses(...statuses: number[]): Record<string, unknown> {
  return Object.fromEntries(statuses.map((status) => [String(status), { description: 'An error of the taxonomy (SPEC §2).', $ref: 'Error#' }]));
}

export function jsonResponse(description: string, ref: string): Record<string, unknown> {
  return { description, $ref: `${ref}#` };
}
