// SC-5, abuse and probing over HTTP (scenarios/SC-5.json): a hostile partner
// against the partner API. Every iteration opens with the same attacks,
// whatever the seed: one claim fired in parallel under one idempotency key
// and then reused for another request (I6); one cancel fired in parallel;
// one customer racing for more holds than the limit; a burst against the
// shared rate limiter; confirming a card hold without paying, a free
// booking on a priced slot, a card booking without a hold (I4, fee bypass);
// another partner reading, confirming and cancelling our booking (privacy);
// random ids against every endpoint that takes one (enumeration); and one
// malformed request per layer (path, percent-escapes, query, headers,
// content type, body, size, nesting, NUL, invalid Unicode, field types).
// The seeded mix then repeats malformed requests, probes and repeats.
//
// Actions run one at a time (concurrency 1; the attacks race internally), so
// each one's "before" and "after" database digests bracket it alone. The
// oracles judge those digests, the answers and the truth: the server still
// answers its health check; every hostile request got a 4xx with a coded
// error body whose status is the code's; a refused request wrote nothing;
// one key is one booking; holds never pass the limit; no confirmed card
// booking without verified money; another partner's booking is refused
// exactly like a missing one; no answer discloses a customer or another id.

import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import type { Pool, Queryable } from '../../db/pool.js';
import { BookijiError, type ErrorCode } from '../../errors.js';
import { readVendorTruth } from '../truth.js';
import { slotAndBookingChecks } from '../truth.js';
import type { HistoryEvent, IterationPlan, PlannedAction } from '../types.js';
import { insertCustomer, type Driver, type Finding, type Fixture } from './driver.js';
import { MALFORMED_LAYERS, malformedRequest, type MalformedLayer, type RawRequest } from './malformedRequests.js';
import { inSnapshot } from './timeTruth.js';
import { errorCodeOf, staleWebhook, staleWebhookChecks } from './abuseProbingWebhook.js';
import { limiterStoreDown, limiterStoreDownChecks } from './abuseProbingLimiter.js';

const OPENINGS = [
  'rapid_repeat',
  'repeated_cancel',
  'hold_flood',
  'rate_burst',
  'fee_bypass',
  'foreign_ids',
  'id_probe',
  'stale_webhook',
  'limiter_store_down',
] as const;
const REPEATS = 12;
const FLOOD_EXTRA = 3;
const RATE_LIMIT = 10;
const RATE_BURST = 30;
const PROBES_PER_ACTION = 6;
/** foreign_ids' reservation: a reservation needs a priced slot (both parties authorize money). */
const RESERVATION_PRICE_CENTS = 5000;
const UUID_PATTERN = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;
const KNOWN_CODES = new Set<string>([
  'BOOKING_CONFLICT',
  'SLOT_NOT_FOUND',
  'BOOKING_NOT_FOUND',
  'VENDOR_NOT_FOUND',
  'CUSTOMER_NOT_FOUND',
  'RESERVATION_NOT_FOUND',
  'VALIDATION_ERROR',
  'PAST_SLOT',
  'HOLD_EXPIRED',
  'HOLD_LIMIT_REACHED',
  'PAYMENT_REQUIRED',
  'PAYMENT_FAILED',
  'IDEMPOTENCY_MISMATCH',
  'INVALID_TRANSITION',
  'VERSION_CONFLICT',
  'RATE_LIMITED',
  'UNAUTHORIZED',
  'USAGE_ERROR',
]);
/** Statuses the edge may answer instead of the code's own, for failures about HTTP itself. */
const EDGE_STATUSES = new Set([404, 405, 413, 415]);

interface Answer {
  what: string;
  status: number;
  code: string | null;
  text: string;
  /** Whether this request must be refused (a hostile one) or may succeed (the attack's own setup). */
  hostile: boolean;
}

interface AbuseFixture extends Fixture {
  slotIds: Record<string, string>;
  customerIds: Record<string, string>;
  /** What no answer may ever contain: the customers' e-mails and names. */
  secrets: string[];
  url: string;
  apiKey: string;
  stripeWebhookSecret: string;
  strangerKey: string;
  keyPrefix: string;
  holdLimit: number;
  freshSlots: number;
  /** Truth beyond the vendor's slots and bookings, read with them. */
  extra: { confirmedUnpaid: number; heldByFlooder: number; cancelTransitions: Array<{ bookingId: string; n: number }> };
}

/** A digest of every row a request could write, so "wrote nothing" is a comparison. */
async function writeDigest(db: Queryable): Promise<string> {
  const row = (
    await db.query(`
    SELECT md5(concat_ws('|',
      (SELECT count(*) FROM bookings), (SELECT count(*) FROM slots), (SELECT count(*) FROM customers),
      (SELECT count(*) FROM booking_transitions), (SELECT count(*) FROM audit_log),
      (SELECT count(*) FROM payments), (SELECT count(*) FROM partner_bookings),
      (SELECT string_agg(h::text, ',' ORDER BY h.vendor_id) FROM audit_chain_heads h),
      (SELECT max(updated_at) FROM bookings))) AS digest`)
  ).rows[0] as { digest: string };
  return row.digest;
}

async function send(url: string, request: RawRequest, what: string, hostile: boolean): Promise<Answer> {
  let response: Response;
  try {
    response = await fetch(`${url}${request.path}`, {
      method: request.method,
      headers: request.headers,
      ...(request.body === undefined ? {} : { body: typeof request.body === 'string' ? request.body : new Uint8Array(request.body) }),
    });
  } catch (error) {
    throw new BookijiError('DEPENDENCY_UNAVAILABLE', `${what}: no answer from the API: ${(error as Error).message}`, { cause: error });
  }
  const text = await response.text();
  const code = errorCodeOf(text);
  return { what, status: response.status, code, text: text.slice(0, 2000), hostile };
}

const jsonHeaders = (key: string): Record<string, string> => ({ authorization: `Bearer ${key}`, 'content-type': 'application/json' });
const post = (path: string, key: string, body: unknown): RawRequest => ({ method: 'POST', path, headers: jsonHeaders(key), body: JSON.stringify(body) });
const get = (path: string, key: string): RawRequest => ({ method: 'GET', path, headers: jsonHeaders(key) });

/** Runs the requests, brackets them with digests, and checks the server still answers its health check. */
async function bracketed(pool: Pool, fixture: AbuseFixture, attack: () => Promise<Answer[]>): Promise<Record<string, unknown>> {
  const before = await writeDigest(pool);
  const answers = await attack();
  const after = await writeDigest(pool);
  const health = await fetch(`${fixture.url}/healthz`).then(
    (r) => r.status,
    () => 0,
  );
  return { answers: JSON.stringify(answers), before, after, health };
}

async function createBooking(fixture: AbuseFixture, slot: string, key: string, extra: Record<string, unknown> = {}): Promise<Answer & { id: string | null }> {
  const answer = await send(
    fixture.url,
    post('/v1/bookings', fixture.apiKey, { slotId: fixture.slotIds[slot], customerId: fixture.customerIds.C1, idempotencyKey: key, ...extra }),
    `book ${slot}`,
    false,
  );
  const id = answer.status < 300 ? ((JSON.parse(answer.text) as { booking: { id: string } }).booking.id ?? null) : null;
  return { ...answer, id };
}

/** A slot of the vendor no other action uses (free unless priced), made before the attack's "before" digest. */
async function freshSlot(pool: Pool, fixture: AbuseFixture, priceCents = 0): Promise<{ id: string; startsAt: Date; endsAt: Date }> {
  fixture.freshSlots += 1;
  const result = await pool.query(
    `WITH who AS (SELECT set_actor('simcity', 'setup', 'simcity', 'SC-5 fixture'))
     INSERT INTO slots (vendor_id, starts_at, ends_at, price_cents) SELECT $1, date_trunc('hour', bookiji_now()) + make_interval(days => 20, hours => $2), date_trunc('hour', bookiji_now()) + make_interval(days => 20, hours => $2, mins => 30), $3 FROM who RETURNING id, starts_at, ends_at`,
    [fixture.vendorId, fixture.freshSlots, priceCents],
  );
  const row = result.rows[0] as { id: string; starts_at: Date; ends_at: Date };
  return { id: row.id, startsAt: row.starts_at, endsAt: row.ends_at };
}

async function rapidRepeat(fixture: AbuseFixture, iterationKey: string, slots: [string, string], customerId: string): Promise<Answer[]> {
  const key = `${fixture.keyPrefix}${iterationKey}`;
  const body = { slotId: slots[0], customerId, idempotencyKey: key, hold: true };
  const answers = await Promise.all(
    Array.from({ length: REPEATS }, () => send(fixture.url, post('/v1/bookings', fixture.apiKey, body), `repeat ${key}`, false)),
  );
  // The same key for another request: refused, and nothing written by the refusal.
  answers.push(await send(fixture.url, post('/v1/bookings', fixture.apiKey, { ...body, slotId: slots[1] }), `key ${key} reused for another slot`, true));
  return answers;
}

async function repeatedCancel(fixture: AbuseFixture): Promise<Answer[]> {
  const booked = await createBooking(fixture, 'X', `${fixture.keyPrefix}cancel-me`);
  if (!booked.id) return [{ ...booked, hostile: true }];
  const answers = await Promise.all(
    Array.from({ length: REPEATS }, () =>
      send(fixture.url, post(`/v1/bookings/${booked.id}/cancel`, fixture.apiKey, { reason: 'repeated cancel' }), 'repeated cancel', false),
    ),
  );
  return [booked, ...answers];
}

async function holdFlood(fixture: AbuseFixture): Promise<Answer[]> {
  const slots = Array.from({ length: fixture.holdLimit + FLOOD_EXTRA }, (_, i) => `L${i + 1}`);
  return Promise.all(
    slots.map((slot) =>
      send(
        fixture.url,
        post('/v1/bookings', fixture.apiKey, {
          slotId: fixture.slotIds[slot],
          customerId: fixture.customerIds.C2,
          idempotencyKey: `${fixture.keyPrefix}flood-${slot}`,
          hold: true,
        }),
        `flood hold ${slot}`,
        false,
      ),
    ),
  );
}

async function feeBypass(fixture: AbuseFixture, pool: Pool): Promise<Answer[]> {
  const card = await createBooking(fixture, 'PRICED', `${fixture.keyPrefix}card-hold`, { hold: true, paymentMethod: 'card' });
  const answers: Answer[] = [card];
  if (card.id) answers.push(await send(fixture.url, post(`/v1/bookings/${card.id}/confirm`, fixture.apiKey, {}), UNPAID_CONFIRM, true));
  answers.push(
    await send(
      fixture.url,
      post('/v1/bookings', fixture.apiKey, {
        slotId: fixture.slotIds.PRICED2,
        customerId: fixture.customerIds.C1,
        idempotencyKey: `${fixture.keyPrefix}free`,
        paymentMethod: 'free',
      }),
      'free booking on a priced slot',
      true,
    ),
  );
  if (card.id) {
    // Around the API: a direct write marking the unpaid hold confirmed must be refused by the database itself.
    const direct = await pool
      .query(`UPDATE bookings SET state = 'confirmed', hold_expires_at = NULL WHERE vendor_id = $1 AND id = $2`, [fixture.vendorId, card.id])
      .then(
        () => 'ACCEPTED',
        (error: { code?: string }) => `refused ${String(error.code)}`,
      );
    answers.push({
      what: 'direct UPDATE of an unpaid card hold to confirmed',
      status: direct === 'ACCEPTED' ? 200 : 400,
      code: direct === 'ACCEPTED' ? null : 'VALIDATION_ERROR',
      text: direct,
      hostile: true,
    });
  }
  answers.push(
    await send(
      fixture.url,
      post('/v1/bookings', fixture.apiKey, {
        slotId: fixture.slotIds.PRICED2,
        customerId: fixture.customerIds.C1,
        idempotencyKey: `${fixture.keyPrefix}card-no-hold`,
        paymentMethod: 'card',
      }),
      'card booking without a hold',
      true,
    ),
  );
  return answers;
}

const MISSING_ID = '00000000-0000-4000-8000-000000000000';
/** In foreign_ids' answers: [our booking, 3 stranger attempts on it, 3 on a missing id, our reservation, 3 on it, 3 on a missing id, our cancel]. */
const FOREIGN_ID_PAIRS = [
  { mine: 1, absent: 4 },
  { mine: 8, absent: 11 },
] as const;

/** Another partner on our booking and our reservation, and on ids nobody has: each pair must be indistinguishable. */
async function foreignIds(fixture: AbuseFixture, pool: Pool): Promise<Answer[]> {
  const owned = await createBooking(fixture, 'OWNED', `${fixture.keyPrefix}owned`);
  if (!owned.id) return [{ ...owned, hostile: true }];
  const attempts = (kind: 'bookings' | 'reservations', id: string, label: string): Promise<Answer[]> =>
    Promise.all([
      send(fixture.url, get(`/v1/${kind}/${id}`, fixture.strangerKey), `another partner reads ${label} ${id}`, true),
      send(fixture.url, post(`/v1/${kind}/${id}/confirm`, fixture.strangerKey, {}), `another partner confirms ${label} ${id}`, true),
      send(fixture.url, post(`/v1/${kind}/${id}/cancel`, fixture.strangerKey, { reason: 'not mine' }), `another partner cancels ${label} ${id}`, true),
    ]);
  const bookingAnswers = [owned, ...(await attempts('bookings', owned.id, 'our booking')), ...(await attempts('bookings', MISSING_ID, 'a missing id'))];
  // A reservation of ours on a priced slot of its own, for the requester no other action holds for (hold limit).
  const slot = await freshSlot(pool, fixture, RESERVATION_PRICE_CENTS);
  const reserved = await send(
    fixture.url,
    post('/v1/reservations', fixture.apiKey, {
      vendorId: fixture.vendorId,
      slotStartTime: slot.startsAt.toISOString(),
      slotEndTime: slot.endsAt.toISOString(),
      requesterId: fixture.customerIds.C3,
      idempotencyKey: `${fixture.keyPrefix}reservation-${fixture.freshSlots}`,
    }),
    'reserve a priced slot',
    false,
  );
  // A probe that cannot place its reservation must not pass as if the stranger had been refused.
  if (reserved.status >= 300)
    throw new BookijiError('INTERNAL_ERROR', `foreign_ids: our own reservation was refused: ${reserved.status} ${reserved.text.slice(0, 200)}`);
  const reservationId = (JSON.parse(reserved.text) as { reservation: { id: string } }).reservation.id;
  const reservationAnswers = [
    reserved,
    ...(await attempts('reservations', reservationId, 'our reservation')),
    ...(await attempts('reservations', MISSING_ID, 'a missing id')),
  ];
  const ownCancel = await send(
    fixture.url,
    post(`/v1/reservations/${reservationId}/cancel`, fixture.apiKey, { reason: 'probe done' }),
    'we cancel our reservation',
    false,
  );
  return [...bookingAnswers, ...reservationAnswers, ownCancel];
}

async function idProbe(fixture: AbuseFixture, seed: number): Promise<Answer[]> {
  const ids = fc.sample(fc.uuid({ version: 4 }), { seed, numRuns: PROBES_PER_ACTION });
  const answers: Answer[] = [];
  for (const [i, id] of ids.entries()) {
    const request = [
      get(`/v1/bookings/${id}`, fixture.apiKey),
      post(`/v1/bookings/${id}/confirm`, fixture.apiKey, {}),
      post(`/v1/bookings/${id}/cancel`, fixture.apiKey, { reason: 'probe' }),
      get(`/v1/reservations/${id}`, fixture.apiKey),
      post('/v1/bookings', fixture.apiKey, { slotId: id, customerId: fixture.customerIds.C1, idempotencyKey: `${fixture.keyPrefix}probe-${seed}-${i}` }),
      get(`/v1/vendors/${id}/availability?startTime=2030-01-01T00:00:00Z&endTime=2030-01-02T00:00:00Z`, fixture.apiKey),
    ][i % 6]!;
    answers.push(await send(fixture.url, request, `probe ${id}`, true));
  }
  return answers;
}

async function rateBurst(pool: Pool): Promise<Record<string, unknown>> {
  const { createApiKey } = await import('../../api/apiKeys.js');
  const key = await createApiKey(pool, { partner: `SimCity SC-5 burst ${randomBytes(3).toString('hex')}` });
  const keyId = (await pool.query('SELECT id FROM api_keys WHERE partner_id = $1', [key.partnerId])).rows[0].id as string;
  // A one-hour window: the burst cannot straddle two windows in practice.
  const results = await Promise.all(
    Array.from({ length: RATE_BURST }, () => pool.query('SELECT allowed FROM rate_limit_take($1, $2, 3600)', [keyId, RATE_LIMIT])),
  );
  return { allowed: results.filter((r) => r.rows[0].allowed === true).length, burst: RATE_BURST, limit: RATE_LIMIT };
}

function answerChecks(event: HistoryEvent, fixture: AbuseFixture): Finding[] {
  const findings: Finding[] = [];
  const value = event.value ?? {};
  if (value.health !== undefined && value.health !== 200)
    findings.push({ oracle: 'server-stays-up', message: `after ${event.action} the health check answered ${String(value.health)}` });
  if (typeof value.answers !== 'string') return findings;
  const answers = JSON.parse(value.answers) as Answer[];
  const hostile = answers.filter((a) => a.hostile);
  for (const answer of hostile) {
    const expected = answer.code && KNOWN_CODES.has(answer.code) ? new BookijiError(answer.code as ErrorCode, '').httpStatus : null;
    if (answer.status < 400 || answer.status >= 500 || expected === null || (answer.status !== expected && !EDGE_STATUSES.has(answer.status))) {
      findings.push({
        oracle: 'coded-refusal',
        message: `${answer.what}: answered ${answer.status} ${answer.code ?? 'without an error code'} (a hostile request needs a 4xx with its code's status): ${answer.text.slice(0, 200)}`,
        evidence: answer,
      });
    }
  }
  const refusedOnly = answers.every((a) => a.hostile || a.status >= 400);
  if (refusedOnly && hostile.length > 0 && value.before !== value.after)
    findings.push({
      oracle: 'rejected-writes-nothing',
      message: `${event.action}: every request was refused, yet the database changed`,
      evidence: answers.map((a) => `${a.what} → ${a.status} ${a.code}`),
    });
  for (const answer of answers) {
    const leaked = fixture.secrets.filter((secret) => answer.text.includes(secret));
    if (leaked.length > 0) findings.push({ oracle: 'no-disclosure', message: `${answer.what}: the answer discloses ${leaked.join(', ')}`, evidence: answer });
  }
  findings.push(...attackChecks(event.action, answers, fixture));
  return findings;
}

const UNPAID_CONFIRM = 'confirm an unpaid card hold';

/**
 * SPEC §2: a confirm without verified payment is PAYMENT_REQUIRED. Refused
 * with another code, the engine's own payment check did not refuse it: a
 * later guard (a constraint) happened to, and the client is told the wrong
 * reason.
 */
function unpaidConfirmChecks(answers: Answer[]): Finding[] {
  const confirm = answers.find((a) => a.what === UNPAID_CONFIRM);
  if (!confirm || confirm.code === 'PAYMENT_REQUIRED') return [];
  return [
    {
      oracle: 'confirmed-needs-verified-payment',
      message: `${UNPAID_CONFIRM}: answered ${confirm.status} ${confirm.code ?? 'without an error code'}, not 402 PAYMENT_REQUIRED (the engine's payment check did not refuse it)`,
      evidence: confirm,
    },
  ];
}

function attackChecks(action: string, answers: Answer[], fixture: AbuseFixture): Finding[] {
  const findings: Finding[] = action === 'fee_bypass' ? unpaidConfirmChecks(answers) : [];
  if (action === 'rapid_repeat') {
    const ids = new Set(answers.filter((a) => !a.hostile && a.status < 300).map((a) => (JSON.parse(a.text) as { booking: { id: string } }).booking.id));
    const mismatch = answers.find((a) => a.hostile);
    if (ids.size !== 1)
      findings.push({
        oracle: 'idempotency',
        message: `${REPEATS} identical requests under one key were answered with ${ids.size} different bookings`,
        evidence: [...ids],
      });
    if (mismatch && mismatch.code !== 'IDEMPOTENCY_MISMATCH')
      findings.push({
        oracle: 'idempotency',
        message: `the key reused for another request answered ${mismatch.status} ${mismatch.code}, not IDEMPOTENCY_MISMATCH`,
        evidence: mismatch,
      });
  }
  if (action === 'repeated_cancel') {
    const ok = answers.slice(1).filter((a) => a.status < 300).length;
    if (ok !== 1)
      findings.push({
        oracle: 'released-exactly-once',
        message: `${REPEATS} parallel cancels of one booking: ${ok} succeeded`,
        evidence: answers.map((a) => `${a.status} ${a.code}`),
      });
  }
  if (action === 'hold_flood') {
    const held = answers.filter((a) => a.status < 300).length;
    if (held > fixture.holdLimit)
      findings.push({ oracle: 'hold-limit', message: `one customer got ${held} holds in a race against holds_per_customer_max ${fixture.holdLimit}` });
  }
  if (action === 'foreign_ids') {
    for (const pair of FOREIGN_ID_PAIRS) {
      const mine = answers.slice(pair.mine, pair.mine + 3);
      const absent = answers.slice(pair.absent, pair.absent + 3);
      mine.forEach((answer, i) => {
        if (answer.status !== absent[i]?.status || answer.code !== absent[i]?.code)
          findings.push({
            oracle: 'privacy',
            message: `${answer.what} answered ${answer.status} ${answer.code}; a missing id answers ${absent[i]?.status} ${absent[i]?.code}: the two can be told apart`,
            evidence: { answer, absent: absent[i] },
          });
      });
    }
  }
  if (action === 'id_probe' || action === 'foreign_ids') {
    for (const answer of answers.filter((a) => a.hostile)) {
      const given = new Set((answer.what.match(UUID_PATTERN) ?? []).map((id) => id.toLowerCase()));
      const named = (answer.text.match(UUID_PATTERN) ?? [])
        .map((id) => id.toLowerCase())
        .filter((id) => !given.has(id) && id !== '00000000-0000-4000-8000-000000000000');
      if (named.length > 0)
        findings.push({ oracle: 'no-disclosure', message: `${answer.what}: the refusal names other ids ${named.join(', ')}`, evidence: answer });
    }
  }
  return findings;
}

function truthChecks(fixture: AbuseFixture, bookings: Array<{ idempotencyKey: string | null }>): Finding[] {
  const findings: Finding[] = [];
  const perKey = new Map<string, number>();
  for (const booking of bookings) if (booking.idempotencyKey) perKey.set(booking.idempotencyKey, (perKey.get(booking.idempotencyKey) ?? 0) + 1);
  for (const [key, n] of perKey) if (n > 1) findings.push({ oracle: 'idempotency', message: `idempotency key ${key} has ${n} bookings` });
  if (fixture.extra.confirmedUnpaid > 0)
    findings.push({
      oracle: 'confirmed-needs-verified-payment',
      message: `${fixture.extra.confirmedUnpaid} confirmed card booking(s) without an authorized or captured payment`,
    });
  if (fixture.extra.heldByFlooder > fixture.holdLimit)
    findings.push({ oracle: 'hold-limit', message: `the flooding customer holds ${fixture.extra.heldByFlooder} unexpired holds (limit ${fixture.holdLimit})` });
  for (const c of fixture.extra.cancelTransitions)
    if (c.n > 1) findings.push({ oracle: 'released-exactly-once', message: `booking ${c.bookingId} has ${c.n} cancel transitions` });
  return findings;
}

export const abuseProbing: Driver<AbuseFixture> = {
  oracles: [
    'server-stays-up',
    'coded-refusal',
    'rejected-writes-nothing',
    'no-disclosure',
    'idempotency',
    'released-exactly-once',
    'hold-limit',
    'rate-limit',
    'confirmed-needs-verified-payment',
    'privacy',
    'capacity',
    'slot-coherence',
    'booking-coherence',
    'webhook-replay-window',
    'limiter-fails-closed',
  ],
  oracleInvariants: {
    'limiter-fails-closed': ['I6'],
    'webhook-replay-window': ['I4'],
    'server-stays-up': ['I6'],
    'coded-refusal': ['I6', 'I4'],
    'rejected-writes-nothing': ['I4', 'I6', 'I8'],
    'no-disclosure': ['privacy'],
    privacy: ['privacy'],
    idempotency: ['I6'],
    'released-exactly-once': ['I10'],
    'hold-limit': ['I9'],
    'rate-limit': ['I6'],
    'confirmed-needs-verified-payment': ['I4'],
    capacity: ['I1'],
    'slot-coherence': ['I3'],
    'booking-coherence': ['I3', 'I10'],
  },

  fixtureParameters: () => ({
    openings: [...OPENINGS, ...MALFORMED_LAYERS.map((layer) => `malformed:${layer}`)],
    repeats: REPEATS,
    floodExtra: FLOOD_EXTRA,
    rateLimit: RATE_LIMIT,
    rateBurst: RATE_BURST,
  }),

  plan(random, parameters, iteration): IterationPlan {
    const actions: PlannedAction[] = OPENINGS.map((kind) => ({ kind, args: { seed: random.int(0, 2 ** 30), path: 'http' } }));
    for (const layer of MALFORMED_LAYERS) actions.push({ kind: 'malformed', args: { layer, seed: random.int(0, 2 ** 30), path: 'http' } });
    for (let n = 0; n < parameters.actionsPerIteration; n++) {
      const kind = random.weighted(parameters.actionMix);
      if (kind === 'malformed') actions.push({ kind, args: { layer: random.pick(MALFORMED_LAYERS), seed: random.int(0, 2 ** 30), path: 'http' } });
      else if (kind === 'id_probe' || kind === 'rapid_repeat') actions.push({ kind, args: { seed: random.int(0, 2 ** 30), path: 'http' } });
      else actions.push({ kind, args: {} });
    }
    return { iteration, fixtures: parameters.fixtures, actions, settle: [] };
  },

  async setup(db, plan, runId, http) {
    if (!http) throw new BookijiError('INTERNAL_ERROR', 'SC-5 attacks the partner API: the scenario must name the http path');
    // The stale-webhook attack signs events the server must verify: it needs the server's secret, which a remote target does not share.
    if (!http.stripeWebhookSecret)
      throw new BookijiError(
        'USAGE_ERROR',
        'SC-5 signs Stripe webhooks for the server it attacks, so it runs against the in-process server only (not --target-url)',
      );
    const vendorId = (await db.query(`INSERT INTO vendors (name, timezone) VALUES ($1, 'UTC') RETURNING id`, [`SimCity SC-5 ${runId} #${plan.iteration}`]))
      .rows[0].id as string;
    const holdLimit = Number((await db.query(`SELECT value FROM engine_limits WHERE name = 'holds_per_customer_max'`)).rows[0].value);
    const slotNames = ['R2', 'X', 'OWNED', 'PRICED', 'PRICED2', ...Array.from({ length: holdLimit + FLOOD_EXTRA }, (_, i) => `L${i + 1}`)];
    const slotIds: Record<string, string> = {};
    for (const [index, name] of slotNames.entries()) {
      const price = name.startsWith('PRICED') ? 5000 : 0;
      slotIds[name] = (
        await db.query(
          `WITH who AS (SELECT set_actor('simcity', 'setup', 'simcity', 'SC-5 fixture'))
         INSERT INTO slots (vendor_id, starts_at, ends_at, capacity, price_cents) SELECT $1, date_trunc('hour', bookiji_now()) + make_interval(days => 2, hours => $2 * 2), date_trunc('hour', bookiji_now()) + make_interval(days => 2, hours => $2 * 2 + 1), 1, $3 FROM who RETURNING id`,
          [vendorId, index, price],
        )
      ).rows[0].id as string;
    }
    const customerIds: Record<string, string> = {};
    const secrets: string[] = [];
    for (const name of ['C1', 'C2', 'C3']) {
      const email = `sc5-${name.toLowerCase()}-${runId}-${plan.iteration}-${randomBytes(3).toString('hex')}@simcity.test`;
      const fullName = `Private ${name} ${randomBytes(4).toString('hex')}`;
      customerIds[name] = (await db.query('INSERT INTO customers (name, email) VALUES ($1, $2) RETURNING id', [fullName, email])).rows[0].id as string;
      secrets.push(email, fullName);
    }
    const { createApiKey } = await import('../../api/apiKeys.js');
    const stranger = await createApiKey(db, { partner: `SimCity SC-5 stranger ${runId} #${plan.iteration}` });
    return {
      vendorId,
      slotIds,
      customerIds,
      secrets,
      url: http.url,
      apiKey: http.apiKey,
      stripeWebhookSecret: http.stripeWebhookSecret,
      strangerKey: stranger.key,
      keyPrefix: `sc5-${runId}-${plan.iteration}-`,
      holdLimit,
      freshSlots: 0,
      extra: { confirmedUnpaid: 0, heldByFlooder: 0, cancelTransitions: [] },
      names: { V: vendorId, ...slotIds, ...customerIds },
    };
  },

  async perform(action, fixture, session) {
    const pool = session.pool;
    const seed = Number(action.args.seed ?? 0);
    switch (action.kind) {
      case 'rapid_repeat': {
        const slots: [string, string] = [(await freshSlot(pool, fixture)).id, (await freshSlot(pool, fixture)).id];
        // A customer of its own each time: the holds the attack leaves must not spend another attack's hold budget
        // (with C1, a seed that drew many repeats met HOLD_LIMIT_REACHED instead of the idempotency rules).
        const customer = await insertCustomer(pool, 'Repeat', fixture.keyPrefix);
        return bracketed(pool, fixture, () => rapidRepeat(fixture, `repeat-${seed}`, slots, customer));
      }
      case 'repeated_cancel':
        return bracketed(pool, fixture, () => repeatedCancel(fixture));
      case 'hold_flood':
        return bracketed(pool, fixture, () => holdFlood(fixture));
      case 'fee_bypass':
        return bracketed(pool, fixture, () => feeBypass(fixture, pool));
      case 'foreign_ids':
        return bracketed(pool, fixture, () => foreignIds(fixture, pool));
      case 'id_probe':
        return bracketed(pool, fixture, () => idProbe(fixture, seed));
      case 'rate_burst':
        return rateBurst(pool);
      case 'stale_webhook':
        return staleWebhook(pool, fixture.url, fixture.stripeWebhookSecret);
      case 'limiter_store_down':
        return limiterStoreDown(pool, fixture.url, fixture.apiKey);
      case 'malformed': {
        const layer = String(action.args.layer) as MalformedLayer;
        const request = malformedRequest(layer, seed, {
          slotId: fixture.slotIds.R2!,
          customerId: fixture.customerIds.C1!,
          vendorId: fixture.vendorId,
          bookingId: fixture.slotIds.X!,
          apiKey: fixture.apiKey,
          key: `${fixture.keyPrefix}bad`,
        });
        return bracketed(pool, fixture, async () => [
          await send(fixture.url, request, `malformed ${layer} ${request.method} ${request.path.slice(0, 120)}`, true),
        ]);
      }
      default:
        throw new BookijiError('INTERNAL_ERROR', `SC-5 has no action ${action.kind}`);
    }
  },

  async readTruth(db, fixture) {
    return inSnapshot(db, async (client) => {
      const truth = await readVendorTruth(client, fixture.vendorId);
      const extra = (
        await client.query(
          `SELECT (SELECT count(*)::int FROM bookings WHERE vendor_id = $1 AND state = 'confirmed' AND payment_method = 'card' AND payment_status NOT IN ('authorized', 'captured')) AS "confirmedUnpaid",
                (SELECT count(*)::int FROM bookings WHERE customer_id = $2 AND state = 'held' AND hold_expires_at > bookiji_now()) AS "heldByFlooder",
                (SELECT coalesce(jsonb_agg(jsonb_build_object('bookingId', booking_id, 'n', n)), '[]') FROM (SELECT booking_id, count(*)::int AS n FROM booking_transitions WHERE vendor_id = $1 AND to_state = 'cancelled' GROUP BY booking_id) c) AS "cancelTransitions"`,
          [fixture.vendorId, fixture.customerIds.C2],
        )
      ).rows[0] as AbuseFixture['extra'];
      fixture.extra = extra;
      return truth;
    });
  },

  observe(truth, fixture, events) {
    const findings: Finding[] = [...slotAndBookingChecks(truth), ...truthChecks(fixture, truth.bookings)];
    for (const event of events) {
      if (event.type === 'unknown')
        findings.push({ oracle: 'server-stays-up', message: `${event.action} got no answer: ${event.error}: ${event.message ?? ''}`, evidence: event });
      if (event.type === 'fail')
        findings.push({
          oracle: 'coded-refusal',
          message: `${event.action} could not run its attack: ${event.error}: ${event.message ?? ''}`,
          evidence: event,
        });
      if (event.type !== 'ok') continue;
      findings.push(...answerChecks(event, fixture));
      if (event.action === 'stale_webhook') findings.push(...staleWebhookChecks(event));
      findings.push(...limiterStoreDownChecks(event));
      if (event.action === 'rate_burst' && event.value?.allowed !== RATE_LIMIT)
        findings.push({
          oracle: 'rate-limit',
          message: `${RATE_BURST} parallel requests against a limit of ${RATE_LIMIT}: ${String(event.value?.allowed)} allowed`,
        });
    }
    return findings;
  },

  terminal(truth, fixture, events) {
    return { findings: abuseProbing.observe(truth, fixture, events) };
  },

  exercised(event) {
    if (event.type !== 'ok') return [];
    const map: Record<string, string[]> = {
      rapid_repeat: ['I6'],
      repeated_cancel: ['I10'],
      hold_flood: ['I9'],
      rate_burst: ['I6'],
      fee_bypass: ['I4'],
      foreign_ids: ['privacy'],
      id_probe: ['privacy'],
      // A payment event replayed past its signature's window must not reach the money state.
      stale_webhook: ['I4'],
      // The same invariant as the burst: the shared limiter, here with its store cut off.
      limiter_store_down: ['I6'],
      malformed: ['I6'],
    };
    return map[event.action] ?? [];
  },
};
