// Every route of `bookiji serve`, declared once: method, path template, who
// may call it, its JSON schemas (which Fastify validates and the OpenAPI
// document is generated from) and its handler. Handlers get validated input
// and return a status and a body; server.ts does the HTTP.

import type { IncomingHttpHeaders } from 'node:http';
import type { Pool } from '../db/pool.js';
import { handleStripeWebhook, type WebhookConfig } from './stripeWebhook.js';
import type { AuthenticatedPartner } from './apiKeys.js';
import { queryAvailability } from './availability.js';
import type { RequestMetrics } from './metrics.js';
import { cancelPartnerBooking, confirmPartnerBooking, createPartnerBooking, getPartnerBooking, partnerActor } from './partnerBookings.js';
import { cancelPartnerReservation, confirmPartnerReservation, createPartnerReservation, getPartnerReservation } from './partnerReservations.js';
import * as s from './schemas.js';

export interface RouteInput {
  params: Record<string, string>;
  query: Record<string, unknown>;
  body: unknown;
  headers: IncomingHttpHeaders;
  /** The exact bytes received (signatures cover them). */
  rawBody: Buffer | undefined;
  requestId: string;
  /** Set on authenticated routes. */
  partner: AuthenticatedPartner | undefined;
}

export interface RouteAnswer {
  status: number;
  body: unknown;
  contentType?: string;
}

export interface RouteSpec {
  method: 'GET' | 'POST';
  /** OpenAPI style: /v1/bookings/{id}. Also the route's label in logs and metrics. */
  template: string;
  authenticated: boolean;
  /** The raw body is kept as received, whatever its type (the payment provider's webhook). */
  rawBody?: boolean;
  schema: Record<string, unknown>;
  handle(input: RouteInput): Promise<RouteAnswer>;
}

export interface RouteDependencies {
  pool: Pool;
  metrics: RequestMetrics;
  stripeWebhook: WebhookConfig;
  renderMetrics(): Promise<{ text: string; contentType: string }>;
  openApiDocument(): unknown;
}

const SERVER_ERRORS = [500, 503] as const;
const ok = (body: unknown, status = 200): RouteAnswer => ({ status, body });
const body = (input: RouteInput) => input.body as Record<string, unknown>;
const actor = (input: RouteInput) => partnerActor(input.partner!, input.requestId);

/** An authenticated partner route of v1: every one takes a request id and no query unless its schema says so. */
const v1 = (method: RouteSpec['method'], template: string, summary: string, schema: Record<string, unknown>, handle: RouteSpec['handle']): RouteSpec => ({
  method,
  template,
  authenticated: true,
  schema: { summary, headers: s.REQUEST_ID_HEADERS, querystring: s.NO_QUERY, ...schema },
  handle,
});
const created = (answer: { replayed: boolean }) => ok(answer, answer.replayed ? 200 : 201);
const replayNote = 'A retry with the same idempotency key and the same request: the first outcome.';

/** The partner API's own routes: availability, bookings and reservations, each authenticated by API key. */
function partnerRoutes({ pool }: RouteDependencies): RouteSpec[] {
  return [...availabilityRoutes(pool), ...bookingRoutes(pool), ...reservationRoutes(pool)];
}

/** A vendor's open slots. */
function availabilityRoutes(pool: Pool): RouteSpec[] {
  return [
    v1(
      'GET',
      '/v1/vendors/{vendorId}/availability',
      'Free slots of a vendor in a window, with confidence.',
      {
        params: s.AVAILABILITY_PARAMS,
        querystring: s.AVAILABILITY_QUERY,
        response: { 200: s.jsonResponse('Free slots.', 'Availability'), ...s.errorResponses(400, 401, 404, 429, ...SERVER_ERRORS) },
      },
      async (input) =>
        ok(
          await queryAvailability(pool, {
            ...input.query,
            vendorId: input.params.vendorId,
            startTime: input.query.startTime,
            endTime: input.query.endTime,
            includeConfidence: input.query.includeConfidence === 'true',
          }),
        ),
    ),
  ];
}

/** Claim (book or hold), read, confirm and cancel a booking. */
function bookingRoutes(pool: Pool): RouteSpec[] {
  return [
    v1(
      'POST',
      '/v1/bookings',
      'Claim a slot for a customer: book outright, or hold it ("hold": true) until confirmed.',
      {
        body: s.CREATE_BOOKING_BODY,
        response: {
          201: s.jsonResponse('Claimed.', 'CreatedBooking'),
          200: s.jsonResponse(replayNote, 'CreatedBooking'),
          ...s.errorResponses(400, 401, 404, 409, 413, 422, 429, ...SERVER_ERRORS),
        },
      },
      async (input) => created(await createPartnerBooking(pool, input.partner!, body(input), actor(input))),
    ),
    v1(
      'GET',
      '/v1/bookings/{id}',
      'One of your bookings, with its state history.',
      {
        params: s.ID_PARAMS,
        response: { 200: s.jsonResponse('The booking.', 'BookingWithHistory'), ...s.errorResponses(400, 401, 404, 429, ...SERVER_ERRORS) },
      },
      async (input) => ok(await getPartnerBooking(pool, input.partner!, input.params.id)),
    ),
    v1(
      'POST',
      '/v1/bookings/{id}/confirm',
      "The vendor's confirmation of a hold.",
      {
        params: s.ID_PARAMS,
        body: s.CONFIRM_BOOKING_BODY,
        response: { 200: s.jsonResponse('Confirmed.', 'Booking'), ...s.errorResponses(400, 401, 402, 404, 409, 413, 429, ...SERVER_ERRORS) },
      },
      async (input) => ok(await confirmPartnerBooking(pool, input.partner!, input.params.id, body(input), actor(input))),
    ),
    v1(
      'POST',
      '/v1/bookings/{id}/cancel',
      'Cancel one of your bookings.',
      {
        params: s.ID_PARAMS,
        body: s.CANCEL_BOOKING_BODY,
        response: { 200: s.jsonResponse('Cancelled.', 'Booking'), ...s.errorResponses(400, 401, 404, 409, 413, 429, ...SERVER_ERRORS) },
      },
      async (input) => ok(await cancelPartnerBooking(pool, input.partner!, input.params.id, body(input), actor(input))),
    ),
  ];
}

/** Create, read, confirm (the vendor's acceptance) and cancel a reservation. */
function reservationRoutes(pool: Pool): RouteSpec[] {
  return [
    v1(
      'POST',
      '/v1/reservations',
      "Reserve a vendor's slot (exact start and end of a free slot) for a requester; the slot is held while the vendor confirms and both parties authorize payment.",
      {
        body: s.CREATE_RESERVATION_BODY,
        response: {
          201: s.jsonResponse('Reserved.', 'CreatedReservation'),
          200: s.jsonResponse(replayNote, 'CreatedReservation'),
          ...s.errorResponses(400, 401, 404, 409, 413, 422, 429, ...SERVER_ERRORS),
        },
      },
      async (input) => created(await createPartnerReservation(pool, input.partner!, body(input), actor(input))),
    ),
    v1(
      'GET',
      '/v1/reservations/{id}',
      'One of your reservations, with its payments and state history.',
      {
        params: s.ID_PARAMS,
        response: { 200: s.jsonResponse('The reservation.', 'ReservationDetail'), ...s.errorResponses(400, 401, 404, 429, ...SERVER_ERRORS) },
      },
      async (input) => ok(await getPartnerReservation(pool, input.partner!, input.params.id)),
    ),
    v1(
      'POST',
      '/v1/reservations/{id}/confirm',
      "The vendor's confirmation (AWAITING_VENDOR_CONFIRMATION → CONFIRMED_BY_VENDOR); repeating it is harmless.",
      {
        params: s.ID_PARAMS,
        body: s.CONFIRM_RESERVATION_BODY,
        response: { 200: s.jsonResponse('Confirmed by the vendor.', 'Reservation'), ...s.errorResponses(400, 401, 404, 409, 413, 429, ...SERVER_ERRORS) },
      },
      async (input) => ok(await confirmPartnerReservation(pool, input.partner!, input.params.id, body(input), actor(input))),
    ),
    v1(
      'POST',
      '/v1/reservations/{id}/cancel',
      'Cancel one of your reservations before it commits; its slot is released.',
      {
        params: s.ID_PARAMS,
        body: s.CANCEL_RESERVATION_BODY,
        response: { 200: s.jsonResponse('Cancelled.', 'Reservation'), ...s.errorResponses(400, 401, 404, 409, 413, 429, ...SERVER_ERRORS) },
      },
      async (input) => ok(await cancelPartnerReservation(pool, input.partner!, input.params.id, body(input), actor(input))),
    ),
  ];
}

/** Operations and the payment provider's door: no API key. */
function operationRoutes(deps: RouteDependencies): RouteSpec[] {
  const open = (method: RouteSpec['method'], template: string, schema: Record<string, unknown>, handle: RouteSpec['handle'], rawBody = false): RouteSpec => ({
    method,
    template,
    authenticated: false,
    rawBody,
    schema: { security: [], querystring: s.NO_QUERY, ...schema },
    handle,
  });
  return [
    open(
      'GET',
      '/healthz',
      {
        summary: 'Liveness and database reachability.',
        response: { 200: s.jsonResponse('Healthy.', 'Health'), 503: s.jsonResponse('Database unreachable.', 'Health'), ...s.errorResponses(400) },
      },
      async () => {
        const healthy = await deps.pool.query('SELECT 1').then(
          () => true,
          () => false,
        );
        return ok({ status: healthy ? 'ok' : 'degraded', database: healthy ? 'ok' : 'unreachable' }, healthy ? 200 : 503);
      },
    ),
    open(
      'GET',
      '/metrics',
      {
        summary: 'Prometheus metrics.',
        querystring: undefined,
        response: {
          200: { description: 'Prometheus text format 0.0.4.', content: { 'text/plain': { schema: { type: 'string' } } } },
          ...s.errorResponses(...SERVER_ERRORS),
        },
      },
      async () => {
        const { text, contentType } = await deps.renderMetrics();
        return { status: 200, body: text, contentType };
      },
    ),
    open('GET', '/v1/openapi.json', { hide: true }, async () => ok(deps.openApiDocument())),
    // The payment provider authenticates with its signature, not an API key,
    // and the signature covers the exact bytes: no JSON parsing before it.
    open(
      'POST',
      '/webhooks/stripe',
      {
        summary: "The payment provider's events (Stripe webhooks), signed with the endpoint secret; the body is the raw event.",
        headers: s.STRIPE_HEADERS,
        response: {
          200: s.jsonResponse('Stored (and applied); a redelivery is answered the same.', 'WebhookReceipt'),
          ...s.errorResponses(400, 401, 413, 422, ...SERVER_ERRORS),
        },
      },
      async (input) => {
        const answer = await handleStripeWebhook(deps.pool, input.rawBody ?? Buffer.alloc(0), input.headers, deps.stripeWebhook);
        deps.metrics.webhookReceived(answer.status >= 200 && answer.status < 300 ? 'accepted' : 'rejected');
        if (answer.error) throw answer.error;
        return ok(answer.body, answer.status);
      },
      true,
    ),
  ];
}

export function apiRoutes(deps: RouteDependencies): RouteSpec[] {
  return [...operationRoutes(deps), ...partnerRoutes(deps)];
}
