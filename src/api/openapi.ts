// The OpenAPI 3.1 document of Partner API v1, served at /v1/openapi.json.
// test/api/openapi.test.ts checks real responses against these schemas, so
// the document cannot drift from what the server says.

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

const RESERVATION_STATES = [
  'INTENT_CREATED', 'HELD', 'AWAITING_VENDOR_CONFIRMATION', 'CONFIRMED_BY_VENDOR', 'AWAITING_VENDOR_AUTH', 'VENDOR_AUTHORIZED',
  'AWAITING_REQUESTER_AUTH', 'AUTHORIZED_BOTH', 'COMMIT_IN_PROGRESS', 'COMMITTED', 'FAILED_VENDOR_TIMEOUT', 'FAILED_VENDOR_AUTH',
  'FAILED_REQUESTER_AUTH', 'FAILED_AVAILABILITY_CHANGED', 'FAILED_COMMIT', 'EXPIRED', 'CANCELLED',
];

const reservationProperties = {
  id: { type: 'string', format: 'uuid' },
  vendorId: { type: 'string', format: 'uuid' },
  slotId: { type: 'string', format: 'uuid' },
  requesterId: { type: 'string', format: 'uuid' },
  state: { type: 'string', enum: RESERVATION_STATES },
  slotStartTime: { type: 'string', format: 'date-time' },
  slotEndTime: { type: 'string', format: 'date-time' },
  expiresAt: { type: ['string', 'null'], format: 'date-time', description: 'When the current stage\'s time to live passes; null once final.' },
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
        properties: { role: { type: 'string', enum: ['vendor_deposit', 'requester'] }, status: { type: 'string' }, amountCents: { type: 'integer' }, currency: { type: 'string' } },
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

function errors(...statuses: number[]): Record<string, unknown> {
  return Object.fromEntries(statuses.map((status) => [String(status), { $ref: '#/components/responses/Error' }]));
}

const json = (schema: unknown) => ({ content: { 'application/json': { schema } } });
const idParam = { name: 'id', in: 'path', required: true, schema: { type: 'string', format: 'uuid' } };

export const OPENAPI_DOCUMENT = {
  openapi: '3.1.0',
  info: {
    title: 'Bookiji Partner API',
    version: '1.0.0',
    description:
      'Availability computed by Bookiji, and bookings made on it. Every /v1 request carries "Authorization: Bearer <key>" ' +
      '(`bookiji apikey create --partner NAME`). Errors are {"error": {code, message, hint, retryable}}. Each key has a request budget per window ' +
      'shared by every server (429 with Retry-After past it; 503 if the limiter cannot be consulted). A partner only ever sees bookings it made. ' +
      'State changes of those bookings are POSTed to the partner\'s webhook URL with Bookiji-Event-Id (stable across retries) and ' +
      'Bookiji-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>">.',
  },
  servers: [{ url: 'http://127.0.0.1:8080' }],
  components: {
    securitySchemes: { apiKey: { type: 'http', scheme: 'bearer' } },
    responses: { Error: { description: 'An error of the taxonomy.', ...json(error) } },
    schemas: { Error: error, Availability: availability, Booking: booking, BookingWithHistory: bookingWithHistory, CreatedBooking: createdBooking, Reservation: reservation, ReservationDetail: reservationDetail, CreatedReservation: createdReservation, Health: health },
  },
  security: [{ apiKey: [] }],
  paths: {
    '/healthz': {
      get: { security: [], summary: 'Liveness and database reachability.', responses: { '200': { description: 'Healthy.', ...json(health) }, '503': { description: 'Database unreachable.', ...json(health) } } },
    },
    '/metrics': {
      get: { security: [], summary: 'Prometheus metrics.', responses: { '200': { description: 'Prometheus text format 0.0.4.', content: { 'text/plain': { schema: { type: 'string' } } } } } },
    },
    '/v1/vendors/{vendorId}/availability': {
      get: {
        summary: 'Free slots of a vendor in a window, with confidence.',
        parameters: [
          { name: 'vendorId', in: 'path', required: true, schema: { type: 'string', format: 'uuid' } },
          { name: 'startTime', in: 'query', required: true, schema: { type: 'string', format: 'date-time' } },
          { name: 'endTime', in: 'query', required: true, schema: { type: 'string', format: 'date-time' } },
          { name: 'slotDuration', in: 'query', required: false, schema: { type: 'integer', minimum: 1, maximum: 1440 }, description: 'Only slots lasting this many minutes.' },
          { name: 'includeConfidence', in: 'query', required: false, schema: { type: 'boolean' } },
        ],
        responses: { '200': { description: 'Free slots.', ...json(availability) }, ...errors(400, 401, 404, 429, 503) },
      },
    },
    '/v1/bookings': {
      post: {
        summary: 'Claim a slot for a customer: book outright, or hold it ("hold": true) until confirmed.',
        requestBody: {
          required: true,
          ...json({
            type: 'object',
            additionalProperties: false,
            required: ['slotId', 'customerId', 'idempotencyKey'],
            properties: {
              slotId: { type: 'string', format: 'uuid' },
              customerId: { type: 'string', format: 'uuid' },
              idempotencyKey: { type: 'string', maxLength: 200 },
              hold: { type: 'boolean' },
              holdTtlSeconds: { type: 'integer', minimum: 1, maximum: 86400 },
              paymentMethod: { type: 'string', enum: ['free', 'pay_on_arrival', 'card'] },
              metadata: { type: 'object' },
            },
          }),
        },
        responses: { '201': { description: 'Claimed.', ...json(createdBooking) }, '200': { description: 'A retry with the same idempotency key: the first outcome.', ...json(createdBooking) }, ...errors(400, 401, 404, 409, 413, 422, 429, 503) },
      },
    },
    '/v1/bookings/{id}': {
      get: { summary: 'One of your bookings, with its state history.', parameters: [idParam], responses: { '200': { description: 'The booking.', ...json(bookingWithHistory) }, ...errors(400, 401, 404, 429, 503) } },
    },
    '/v1/bookings/{id}/confirm': {
      post: {
        summary: 'The vendor\'s confirmation of a hold.',
        parameters: [idParam],
        requestBody: { required: true, ...json({ type: 'object', additionalProperties: false, properties: { expectedVersion: { type: 'integer' } } }) },
        responses: { '200': { description: 'Confirmed.', ...json(booking) }, ...errors(400, 401, 402, 404, 409, 429, 503) },
      },
    },
    '/v1/reservations': {
      post: {
        summary: 'Reserve a vendor\'s slot (exact start and end of a free slot) for a requester; the slot is held while the vendor confirms and both parties authorize payment.',
        requestBody: {
          required: true,
          ...json({
            type: 'object',
            additionalProperties: false,
            required: ['vendorId', 'slotStartTime', 'slotEndTime', 'requesterId', 'idempotencyKey'],
            properties: {
              vendorId: { type: 'string', format: 'uuid' },
              slotStartTime: { type: 'string', format: 'date-time' },
              slotEndTime: { type: 'string', format: 'date-time' },
              requesterId: { type: 'string', format: 'uuid' },
              metadata: { type: 'object', additionalProperties: { type: 'string' } },
              idempotencyKey: { type: 'string', maxLength: 200 },
            },
          }),
        },
        responses: { '201': { description: 'Reserved.', ...json(createdReservation) }, '200': { description: 'A retry with the same idempotency key: the first outcome.', ...json(createdReservation) }, ...errors(400, 401, 404, 409, 413, 422, 429, 503) },
      },
    },
    '/v1/reservations/{id}': {
      get: { summary: 'One of your reservations, with its payments and state history.', parameters: [idParam], responses: { '200': { description: 'The reservation.', ...json(reservationDetail) }, ...errors(400, 401, 404, 429, 503) } },
    },
    '/v1/reservations/{id}/confirm': {
      post: {
        summary: 'The vendor\'s confirmation (AWAITING_VENDOR_CONFIRMATION → CONFIRMED_BY_VENDOR); repeating it is harmless.',
        parameters: [idParam],
        requestBody: { required: true, ...json({ type: 'object', additionalProperties: false, properties: {} }) },
        responses: { '200': { description: 'Confirmed by the vendor.', ...json(reservation) }, ...errors(400, 401, 404, 409, 429, 503) },
      },
    },
    '/v1/reservations/{id}/cancel': {
      post: {
        summary: 'Cancel one of your reservations before it commits; its slot is released.',
        parameters: [idParam],
        requestBody: { required: true, ...json({ type: 'object', additionalProperties: false, required: ['reason'], properties: { reason: { type: 'string', maxLength: 500 } } }) },
        responses: { '200': { description: 'Cancelled.', ...json(reservation) }, ...errors(400, 401, 404, 409, 429, 503) },
      },
    },
    '/v1/bookings/{id}/cancel': {
      post: {
        summary: 'Cancel one of your bookings.',
        parameters: [idParam],
        requestBody: { required: true, ...json({ type: 'object', additionalProperties: false, required: ['reason'], properties: { reason: { type: 'string', maxLength: 500 }, expectedVersion: { type: 'integer' } } }) },
        responses: { '200': { description: 'Cancelled.', ...json(booking) }, ...errors(400, 401, 404, 409, 429, 503) },
      },
    },
  },
} as const;
