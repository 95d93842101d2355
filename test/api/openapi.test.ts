// The OpenAPI document, generated from the routes' schemas, matches what the server really answers, for every documented path, success and error alike.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { makeCustomer, makeSlot, makeVendor } from '../helpers/fixtures.js';
import { call, makePartner, startTestApi, type ApiResponse, type TestApi } from './helpers.js';
import { schemaViolations } from './schemaCheck.js';

let db: TestDatabase;
let api: TestApi;
let doc: Record<string, any>;

beforeAll(async () => {
  db = await createTestDatabase();
  api = await startTestApi(db.pool, { rateLimit: { requestsPerWindowMax: 1000, windowSeconds: 3600 } });
  doc = api.server.openapi();
});

afterAll(async () => {
  await api.server.close();
  await db.drop();
});

interface Observed {
  template: string;
  method: string;
  response: ApiResponse;
}

/** Violations of the document by one observed response (undocumented status, schema mismatch). */
function documentViolations(observed: Observed): string[] {
  const operation = doc.paths[observed.template]?.[observed.method.toLowerCase()];
  if (!operation) return [`${observed.method} ${observed.template}: not in the document`];
  const documented = operation.responses[String(observed.response.status)];
  if (!documented) return [`${observed.method} ${observed.template}: status ${observed.response.status} not documented`];
  const resolved = documented.$ref ? doc.components.responses[documented.$ref.split('/').pop()] : documented;
  const schema = resolved.content?.['application/json']?.schema;
  if (!schema) return [];
  return schemaViolations(doc, schema, observed.response.body).map((p) => `${observed.method} ${observed.template} ${observed.response.status}: ${p}`);
}

async function exerciseEverything(): Promise<Observed[]> {
  const url = api.server.url;
  const observed: Observed[] = [];
  const record = async (template: string, method: string, path: string, options: Parameters<typeof call>[3] = {}) => {
    const response = await call(url, method, path, options);
    observed.push({ template, method, response });
    return response;
  };
  const partner = await makePartner(db.pool, 'doc');
  const key = partner.key;
  const vendor = await makeVendor(db.pool);
  const slot = await makeSlot(db.pool, vendor, { capacity: 1 });
  const spare = await makeSlot(db.pool, vendor, { startInMinutes: 48 * 60 });
  const customer = await makeCustomer(db.pool);

  await record('/healthz', 'GET', '/healthz');
  const availability = `/v1/vendors/${vendor.id}/availability`;
  const window = `startTime=${encodeURIComponent(new Date(Date.now()).toISOString())}&endTime=${encodeURIComponent(new Date(Date.now() + 5 * 86_400_000).toISOString())}`;
  await record('/v1/vendors/{vendorId}/availability', 'GET', `${availability}?${window}&includeConfidence=true`, { key });
  await record('/v1/vendors/{vendorId}/availability', 'GET', `${availability}?${window}`, { key });
  await record('/v1/vendors/{vendorId}/availability', 'GET', `${availability}?startTime=x&endTime=y`, { key });
  await record('/v1/vendors/{vendorId}/availability', 'GET', `${availability}?${window}`, {});
  await record('/v1/vendors/{vendorId}/availability', 'GET', `/v1/vendors/00000000-0000-4000-8000-000000000000/availability?${window}`, { key });

  const body = { slotId: slot.id, customerId: customer.id, idempotencyKey: 'doc-1', hold: true, metadata: { a: 1 } };
  const created = await record('/v1/bookings', 'POST', '/v1/bookings', { key, body });
  await record('/v1/bookings', 'POST', '/v1/bookings', { key, body });
  await record('/v1/bookings', 'POST', '/v1/bookings', { key, body: { ...body, idempotencyKey: 'doc-2' } });
  await record('/v1/bookings', 'POST', '/v1/bookings', { key, body: { ...body, hold: false } });
  await record('/v1/bookings', 'POST', '/v1/bookings', {
    key,
    rawBody: JSON.stringify({ x: 'y'.repeat(100_000) }),
    headers: { 'content-type': 'application/json' },
  });
  await record('/v1/bookings', 'POST', '/v1/bookings', { key, body: { ...body, slotId: '00000000-0000-4000-8000-000000000000', idempotencyKey: 'doc-3' } });
  const id = created.body.booking.id as string;
  await record('/v1/bookings/{id}', 'GET', `/v1/bookings/${id}`, { key });
  await record('/v1/bookings/{id}', 'GET', `/v1/bookings/not-a-uuid`, { key });
  await record('/v1/bookings/{id}/confirm', 'POST', `/v1/bookings/${id}/confirm`, { key, body: {} });
  await record('/v1/bookings/{id}/confirm', 'POST', `/v1/bookings/${id}/confirm`, { key, body: {} });
  await record('/v1/bookings/{id}/cancel', 'POST', `/v1/bookings/${id}/cancel`, { key, body: { reason: 'doc' } });
  await record('/v1/bookings/{id}/cancel', 'POST', `/v1/bookings/${id}/cancel`, { key, body: {} });
  const paid = await record('/v1/bookings', 'POST', '/v1/bookings', {
    key,
    body: { slotId: spare.id, customerId: customer.id, idempotencyKey: 'doc-4', hold: true, paymentMethod: 'card' },
  });
  if (paid.status === 201) await record('/v1/bookings/{id}/confirm', 'POST', `/v1/bookings/${paid.body.booking.id}/confirm`, { key, body: {} });
  const priced = await makeSlot(db.pool, vendor, { startInMinutes: 72 * 60, priceCents: 6000 });
  const reservationBody = {
    vendorId: vendor.id,
    slotStartTime: priced.startsAt.toISOString(),
    slotEndTime: priced.endsAt.toISOString(),
    requesterId: customer.id,
    metadata: { ref: 'x' },
    idempotencyKey: 'doc-r1',
  };
  const reserved = await record('/v1/reservations', 'POST', '/v1/reservations', { key, body: reservationBody });
  await record('/v1/reservations', 'POST', '/v1/reservations', { key, body: reservationBody });
  await record('/v1/reservations', 'POST', '/v1/reservations', { key, body: { ...reservationBody, metadata: { ref: 'changed' } } });
  await record('/v1/reservations', 'POST', '/v1/reservations', { key, body: { ...reservationBody, idempotencyKey: 'doc-r2' } });
  await record('/v1/reservations', 'POST', '/v1/reservations', { key, body: { ...reservationBody, slotStartTime: 'soon' } });
  const reservationId = reserved.body.reservation.id as string;
  await record('/v1/reservations/{id}', 'GET', `/v1/reservations/${reservationId}`, { key });
  await record('/v1/reservations/{id}', 'GET', `/v1/reservations/00000000-0000-4000-8000-000000000000`, { key });
  await record('/v1/reservations/{id}/confirm', 'POST', `/v1/reservations/${reservationId}/confirm`, { key, body: {} });
  await record('/v1/reservations/{id}/cancel', 'POST', `/v1/reservations/${reservationId}/cancel`, { key, body: { reason: 'doc' } });
  await record('/v1/reservations/{id}/confirm', 'POST', `/v1/reservations/${reservationId}/confirm`, { key, body: {} });
  await record('/v1/reservations/{id}/cancel', 'POST', `/v1/reservations/${reservationId}/cancel`, { key, body: { reason: 'again' } });
  await record('/v1/reservations/{id}', 'GET', `/v1/reservations/${reservationId}`, { key });
  await record('/webhooks/stripe', 'POST', '/webhooks/stripe', { rawBody: '{"id":"evt_doc"}', headers: { 'content-type': 'application/json' } });
  await record('/webhooks/stripe', 'POST', '/webhooks/stripe', {
    rawBody: '{}',
    headers: { 'content-type': 'application/json', 'stripe-signature': 't=1,t=2,v1=00' },
  });
  const metrics = await fetch(`${url}/metrics`);
  observed.push({
    template: '/metrics',
    method: 'GET',
    response: { status: metrics.status, headers: metrics.headers, body: undefined, text: await metrics.text() },
  });
  return observed;
}

describe('OpenAPI document', () => {
  it('is served at /v1/openapi.json without a key, equals the generated document and lists every route', async () => {
    // Proves partners download the same document the tests check, generated from the routes the server has.
    const response = await call(api.server.url, 'GET', '/v1/openapi.json');
    expect(response.status).toBe(200);
    expect(response.body).toEqual(JSON.parse(JSON.stringify(doc)));
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths).sort()).toEqual([
      '/healthz',
      '/metrics',
      '/v1/bookings',
      '/v1/bookings/{id}',
      '/v1/bookings/{id}/cancel',
      '/v1/bookings/{id}/confirm',
      '/v1/reservations',
      '/v1/reservations/{id}',
      '/v1/reservations/{id}/cancel',
      '/v1/reservations/{id}/confirm',
      '/v1/vendors/{vendorId}/availability',
      '/webhooks/stripe',
    ]);
    // The request schemas the server validates with are in the document too.
    const create = doc.paths['/v1/bookings'].post.requestBody.content['application/json'].schema;
    expect(create).toMatchObject({ additionalProperties: false, required: ['slotId', 'customerId', 'idempotencyKey'] });
    expect(create.properties.idempotencyKey.maxLength).toBe(155);
  });

  it('describes every real response of every documented path', async () => {
    // Proves document and server agree on statuses and bodies, and no documented path goes unexercised.
    const observed = await exerciseEverything();
    expect(observed.flatMap(documentViolations)).toEqual([]);
    const exercised = new Set(observed.map((o) => `${o.method} ${o.template}`));
    const documented = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops as object).map((m) => `${m.toUpperCase()} ${path}`));
    expect(documented.filter((d) => !exercised.has(d))).toEqual([]);
    const statuses = new Set(observed.map((o) => o.response.status));
    for (const status of [200, 201, 400, 401, 402, 404, 409, 413, 422]) expect(statuses.has(status), `status ${status} exercised`).toBe(true);
  });

  it('twin: the check reports a response with an undocumented field or status', () => {
    // Proves documentViolations is not vacuous: a leaky body and an unlisted status are both caught.
    const headers = new Headers();
    const leaky: Observed = {
      template: '/healthz',
      method: 'GET',
      response: { status: 200, headers, text: '', body: { status: 'ok', database: 'ok', customerEmail: 'x@y.z' } },
    };
    const unlisted: Observed = { template: '/healthz', method: 'GET', response: { status: 418, headers, text: '', body: {} } };
    expect(documentViolations(leaky)).toEqual(['GET /healthz 200: $.customerEmail: not in the document']);
    expect(documentViolations(unlisted)).toHaveLength(1);
  });
});
