// SC-3, time hostility and clock skew (scenarios/SC-3.json): the database's
// clock is the only clock. Every iteration opens with the same scripted
// attacks, whatever the seed, so the dangerous states are reached on purpose:
// claims, holds and a reschedule into a slot that started two hours ago; a
// claim into slots starting exactly at the transaction's instant and one
// microsecond after it; a race of claims across a slot's start; a claim on a
// slot held only by an expired hold (its holder's late confirm refused, the
// winning claim attributed to its claimant); clients whose clocks and session zones
// are hours off; DST weeks in three zones; and the application host's clock
// minutes ahead of and behind the database's (skewedApp.ts). The seeded mix
// that follows claims and holds near-future slots while the clock jumps
// minutes at a time across their starts and past hold TTLs.
//
// Oracles over the database's truth after every action: nothing enters a
// slot at or after its start on the database's clock (I5); no booking ever
// on a slot that had started before any claim ran; a PAST_SLOT refusal only
// for a slot that had started; an expired hold never blocks the scripted
// claim (I9), is released only after its TTL and only once, and none
// survives a reconcile; hold TTLs shown by a skewed host are the
// database's; webhooks stored exactly when the documented tolerance admits
// them; DST weeks stored at their wall times.

import { withTransaction, type Pool } from '../../db/pool.js';
import { actorArgs } from '../../engine/actor.js';
import { claimSlot, confirmBooking, rescheduleBooking } from '../../engine/bookings.js';
import { advanceClock } from '../../engine/clock.js';
import { expireHolds } from '../../engine/holds.js';
import { BookijiError } from '../../errors.js';
import type { Actor } from '../../engine/types.js';
import { slotAndBookingChecks, type VendorTruth } from '../truth.js';
import type { HistoryEvent, IterationPlan, PlannedAction } from '../types.js';
import { insertCustomer, type Driver, type Finding, type Fixture } from './driver.js';
import { DST_ZONES, dstWeekChecks, storeDstWeek, type DstWeek } from './dstWeeks.js';
import { holdThroughHost, openSkewServices, postWebhook, reconcileOnHost, webhookWithinTolerance, type SkewServices } from './skewedApp.js';
import { holdExpiryChecks, inSnapshot, nothingIntoThePast, readTimeTruth, type TimeTruth } from './timeTruth.js';
import { readVendorTruth } from '../truth.js';

const CUSTOMERS = ['C1', 'C2', 'C3', 'C4'];
/** Near-future slots the seeded mix fights over: the clock's jumps carry them into the past during the iteration. */
const NEAR_SLOTS = ['F1', 'F2', 'F3', 'F4'];
const OPENINGS = ['no_client_time', 'past_claims', 'now_boundary', 'boundary_race', 'expired_hold_claim', 'skewed_clients', 'dst_weeks', 'app_skew'] as const;
/** Session zones of clients whose clocks are hours off (the request never carries their time). */
const CLIENT_ZONES = ['Pacific/Kiritimati', 'America/Adak', 'Asia/Kathmandu', 'Pacific/Chatham', 'UTC'];
const APP_HOLD_TTL_SECONDS = 120;
const BOUNDARY_RACE_CLIENTS = 4;
const BOUNDARY_LEAD_MS = 250;
const BOUNDARY_STAGGER_MS = 150;
const RECONCILE_ACTOR: Actor = { kind: 'system', id: 'simcity-reconcile', source: 'reconcile' };

interface TimeFixture extends Fixture {
  slotIds: Record<string, string>;
  customerIds: Record<string, string>;
  keyPrefix: string;
  services: SkewServices;
  /** Slots that had started before any claim on them ran: no booking may ever hold one. */
  startedBeforeClaim: Map<string, string>;
  dstWeeks: DstWeek[];
  appHolds: Array<{ bookingId: string; shownExpiresAt: string; side: string }>;
  webhooks: Array<{ eventId: string; offsetSeconds: number; status: number }>;
  /** Bookings a completed script guarantees are no longer held (released by the host running behind). */
  mustBeReleased: string[];
  /** Database clock when the last completed reconcile started. */
  reconciledAt: string | null;
  time: TimeTruth;
  storedEvents: Set<string>;
}

const actorFor = (name: string, kind: string): Actor => ({ kind: 'customer', id: name, source: 'simcity', requestId: `${kind}:${name}` });

async function databaseNowOn(pool: Pool): Promise<Date> {
  return (await pool.query('SELECT bookiji_now() AS now')).rows[0].now as Date;
}

async function insertSlot(db: Pool, vendorId: string, offsetSql: string, minutes: number, capacity: number): Promise<string> {
  const result = await db.query(
    `WITH who AS (SELECT set_actor('simcity', 'setup', 'simcity', 'SC-3 fixture'))
     INSERT INTO slots (vendor_id, starts_at, ends_at, capacity) SELECT $1, bookiji_now() + $2::interval, bookiji_now() + $2::interval + make_interval(mins => $3), $4 FROM who RETURNING id`,
    [vendorId, offsetSql, minutes, capacity],
  );
  return (result.rows[0] as { id: string }).id;
}

/** A claim as a client in a session zone of its own; the request carries no time. */
async function zonedClaim(pool: Pool, zone: string, args: unknown[]): Promise<{ id: string; state: string }> {
  // One attempt: a retried claim would hide the outcome the history must record.
  return withTransaction(
    pool,
    async (client) => {
      await client.query(`SELECT set_config('TimeZone', $1, true)`, [zone]);
      return (
        (await client.query('SELECT booking FROM claim_slot($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)', args)).rows[0] as {
          booking: { id: string; state: string };
        }
      ).booking;
    },
    { attemptMax: 1 },
  );
}

const codeOf = async (attempt: () => Promise<unknown>): Promise<string> =>
  attempt().then(
    () => 'OK',
    (error: unknown) => (error instanceof BookijiError ? error.code : ((error as { code?: string }).code ?? 'UNEXPECTED')),
  );

/** The engine functions a client reaches: none may take a time from the client; every rule reads bookiji_now(). */
const ENGINE_FUNCTIONS = ['claim_slot', 'confirm_booking', 'cancel_booking', 'reschedule_booking', 'expire_holds'];

async function noClientTime(pool: Pool): Promise<Record<string, string>> {
  const result = await pool.query(
    `SELECT p.proname, pg_get_function_identity_arguments(p.oid) AS args,
            EXISTS (SELECT 1 FROM unnest(p.proargtypes) t WHERE t IN ('timestamptz'::regtype, 'timestamp'::regtype, 'date'::regtype, 'time'::regtype, 'timetz'::regtype, 'interval'::regtype)) AS takes_time
     FROM pg_proc p WHERE p.proname = ANY($1) AND p.pronamespace = 'public'::regnamespace`,
    [ENGINE_FUNCTIONS],
  );
  const rows = result.rows as Array<{ proname: string; args: string; takes_time: boolean }>;
  const found = new Set(rows.map((r) => r.proname));
  return {
    takingTime: rows
      .filter((r) => r.takes_time)
      .map((r) => `${r.proname}(${r.args})`)
      .join('; '),
    missing: ENGINE_FUNCTIONS.filter((name) => !found.has(name)).join(', '),
  };
}

/** Book, hold and reschedule into a slot that started two hours ago. */
async function pastClaims(fixture: TimeFixture, pool: Pool): Promise<Record<string, string>> {
  const c = fixture.customerIds;
  const standing = await claimSlot(pool, { slot: fixture.slotIds.R, customer: c.C4 }, actorFor('C4', 'past'));
  return {
    book: await codeOf(() => claimSlot(pool, { slot: fixture.slotIds.P, customer: c.C1 }, actorFor('C1', 'past'))),
    hold: await codeOf(() => claimSlot(pool, { slot: fixture.slotIds.P, customer: c.C2, hold: true }, actorFor('C2', 'past'))),
    reschedule: await codeOf(() => rescheduleBooking(pool, { booking: standing.booking.id, slot: fixture.slotIds.P }, actorFor('C4', 'past'))),
  };
}

/**
 * Slots starting exactly at the transaction's instant T and at T + 1 µs
 * (begun by the time the claim statement runs), claimed inside the same
 * transaction, which commits: a claim the engine accepts stays for the
 * oracles to see.
 */
async function nowBoundary(fixture: TimeFixture, pool: Pool): Promise<Record<string, string>> {
  const client = await pool.connect();
  const codes: Record<string, string> = {};
  try {
    await client.query('BEGIN');
    await client.query(`SELECT set_actor('simcity', 'SC-3', 'simcity', 'NOW boundary slots', NULL)`);
    for (const [name, offset] of [
      ['N0', '0'],
      ['N1', '1 microsecond'],
    ] as const) {
      const slot = (
        await client.query(
          `INSERT INTO slots (vendor_id, starts_at, ends_at) VALUES ($1, bookiji_now() + $2::interval, bookiji_now() + $2::interval + interval '20 minutes') RETURNING id, starts_at`,
          [fixture.vendorId, offset],
        )
      ).rows[0] as { id: string; starts_at: Date };
      fixture.slotIds[name] = slot.id;
      fixture.names[name] = slot.id;
      fixture.startedBeforeClaim.set(slot.id, name);
      await client.query('SAVEPOINT claim');
      codes[name] = await client
        .query('SELECT claim_slot($1, $2, false, NULL, NULL, NULL, $3, $4, $5, $6)', [
          slot.id,
          fixture.customerIds.C3,
          ...actorArgs(actorFor('C3', 'boundary')),
        ])
        .then(
          () => 'OK',
          async (error: { code?: string }) => {
            await client.query('ROLLBACK TO SAVEPOINT claim');
            return error.code === 'BK007' ? 'PAST_SLOT' : String(error.code);
          },
        );
    }
    await client.query('COMMIT');
    return codes;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

/** Claims released at staggered instants across a slot's start, on parallel connections. */
async function boundaryRace(fixture: TimeFixture, pool: Pool): Promise<Record<string, string>> {
  const slotId = await insertSlot(pool, fixture.vendorId, `${BOUNDARY_LEAD_MS} milliseconds`, 10, BOUNDARY_RACE_CLIENTS);
  fixture.slotIds.B = slotId;
  fixture.names.B = slotId;
  const codes = await Promise.all(
    CUSTOMERS.map(async (name, index) => {
      await new Promise((resolve) => setTimeout(resolve, index * BOUNDARY_STAGGER_MS));
      return codeOf(() => claimSlot(pool, { slot: slotId, customer: fixture.customerIds[name] }, actorFor(name, 'race')));
    }),
  );
  return Object.fromEntries(codes.map((code, index) => [CUSTOMERS[index]!, code]));
}

/** A 30 s hold on H, the clock moved past it, then another customer's claim on H: it must win. */
/**
 * A 30 s hold, the clock moved past it: its holder's confirm must be
 * HOLD_EXPIRED, though no claim or sweep has expired it yet; another
 * customer's claim frees it and wins, and that claim's transition and audit
 * rows name the claimant, not the system that expired the hold inside it.
 */
async function expiredHoldClaim(fixture: TimeFixture, pool: Pool): Promise<Record<string, string>> {
  const hold = await claimSlot(
    pool,
    { slot: fixture.slotIds.H, customer: fixture.customerIds.C1, hold: true, holdTtlSeconds: 30 },
    actorFor('C1', 'expiring-hold'),
  );
  await advanceClock(pool, 31_000);
  const lateConfirm = await codeOf(() => confirmBooking(pool, { booking: hold.booking.id }, actorFor('C1', 'late-confirm')));
  const claimant = actorFor('C2', 'after-expiry');
  const claim = await claimSlot(pool, { slot: fixture.slotIds.H, customer: fixture.customerIds.C2 }, claimant);
  const recorded = await pool.query(
    `SELECT (SELECT actor_kind || ':' || coalesce(actor_id, '') FROM booking_transitions WHERE vendor_id = $1 AND booking_id = $2 AND from_state IS NULL) AS transition,
            (SELECT actor_kind || ':' || coalesce(actor_id, '') FROM audit_log WHERE vendor_id = $1 AND entity = 'bookings' AND entity_id = $2 AND action = 'insert') AS audit`,
    [fixture.vendorId, claim.booking.id],
  );
  const row = recorded.rows[0] as { transition: string | null; audit: string | null };
  return {
    hold: hold.booking.id,
    lateConfirm,
    claim: claim.booking.id,
    state: claim.booking.state,
    claimant: `${claimant.kind}:${claimant.id}`,
    transitionActor: row.transition ?? 'missing',
    auditActor: row.audit ?? 'missing',
  };
}

/** A client 3 h behind books a slot that started 2 h ago; one 3 h ahead books a slot it believes has passed. */
async function skewedClients(fixture: TimeFixture, pool: Pool): Promise<Record<string, string>> {
  const claim = (slot: string, name: string, zone: string): Promise<string> =>
    codeOf(() =>
      zonedClaim(pool, zone, [fixture.slotIds[slot], fixture.customerIds[name], false, null, null, null, ...actorArgs(actorFor(name, 'skewed-client'))]),
    );
  return { behind: await claim('P', 'C3', 'Pacific/Kiritimati'), ahead: await claim('K', 'C3', 'America/Adak') };
}

async function dstWeeks(fixture: TimeFixture, pool: Pool): Promise<Record<string, number>> {
  const now = await databaseNowOn(pool);
  const counts: Record<string, number> = {};
  for (const zone of DST_ZONES) {
    const week = await storeDstWeek(pool, fixture.vendorId, zone, now);
    fixture.dstWeeks.push(week);
    counts[zone] = week.expected.length;
  }
  return counts;
}

/**
 * Holds shown by both skewed hosts; reconcile on the host running ahead
 * (nothing of ours is due); the database's clock moved past the TTL;
 * reconcile on the host running behind (both are due); a fresh webhook
 * posted to each host.
 */
async function appSkew(fixture: TimeFixture, pool: Pool): Promise<Record<string, unknown>> {
  const services = fixture.services;
  const holds: Record<string, string> = {};
  for (const [side, slot, customer] of [
    ['ahead', 'A1', 'C1'],
    ['behind', 'A2', 'C2'],
  ] as const) {
    const shown = await holdThroughHost(services.hosts[side], services.apiKey, {
      slotId: fixture.slotIds[slot],
      customerId: fixture.customerIds[customer],
      holdTtlSeconds: APP_HOLD_TTL_SECONDS,
      idempotencyKey: `${fixture.keyPrefix}app-${side}`,
    });
    fixture.appHolds.push({ bookingId: shown.bookingId, shownExpiresAt: shown.holdExpiresAt, side });
    holds[side] = shown.bookingId;
  }
  fixture.reconciledAt = (await databaseNowOn(pool)).toISOString();
  const earlyReleases = (await reconcileOnHost(services, 'ahead')).filter((id) => Object.values(holds).includes(id)).length;
  await advanceClock(pool, (APP_HOLD_TTL_SECONDS + 1) * 1000);
  fixture.reconciledAt = (await databaseNowOn(pool)).toISOString();
  const dueReleases = (await reconcileOnHost(services, 'behind')).filter((id) => Object.values(holds).includes(id)).length;
  fixture.mustBeReleased.push(...Object.values(holds));
  const webhooks: Record<string, number> = {};
  for (const host of Object.values(services.hosts)) {
    const eventId = `evt_${fixture.keyPrefix.replace(/[^A-Za-z0-9]/g, '')}${host.side}`;
    const status = await postWebhook(host, eventId);
    fixture.webhooks.push({ eventId, offsetSeconds: host.offsetSeconds, status });
    webhooks[host.side] = status;
  }
  return { earlyReleases, dueReleases, webhooks: JSON.stringify(webhooks) };
}

function appSkewChecks(fixture: TimeFixture): Finding[] {
  const findings: Finding[] = [];
  const holds = new Map(fixture.time.holds.map((hold) => [hold.bookingId, hold]));
  for (const shown of fixture.appHolds) {
    const stored = holds.get(shown.bookingId);
    if (!stored?.holdExpiresAt) continue;
    const ttlMs = Date.parse(stored.holdExpiresAt) - Date.parse(stored.createdAt);
    if (ttlMs !== APP_HOLD_TTL_SECONDS * 1000 || Date.parse(shown.shownExpiresAt) !== Date.parse(stored.holdExpiresAt)) {
      findings.push({
        oracle: 'hold-ttl-on-database-clock',
        message: `the host running ${shown.side} showed hold ${shown.bookingId} expiring at ${shown.shownExpiresAt}; the database has ${stored.holdExpiresAt}, ${ttlMs / 1000} s after its creation (asked: ${APP_HOLD_TTL_SECONDS} s)`,
        evidence: { shown, stored },
      });
    }
  }
  for (const id of fixture.mustBeReleased) {
    if (holds.get(id)?.state === 'held')
      findings.push({
        oracle: 'reconcile-releases-expired',
        message: `hold ${id} ran out on the database's clock and reconcile on a host running behind left it held`,
      });
  }
  for (const webhook of fixture.webhooks) {
    const admitted = webhookWithinTolerance(webhook.offsetSeconds);
    const stored = fixture.storedEvents.has(webhook.eventId);
    if (stored !== admitted || (admitted ? webhook.status >= 400 : webhook.status !== 401)) {
      findings.push({
        oracle: 'webhook-tolerance',
        message: `a fresh webhook to a host ${webhook.offsetSeconds} s off answered ${webhook.status} and was ${stored ? '' : 'not '}stored; the documented tolerance ${admitted ? 'admits' : 'refuses'} it`,
        evidence: webhook,
      });
    }
  }
  return findings;
}

function pastRefusalChecks(truth: VendorTruth, fixture: TimeFixture, events: HistoryEvent[]): Finding[] {
  const findings: Finding[] = [];
  const starts = new Map(truth.slots.map((slot) => [slot.id, Date.parse(slot.startsAt)]));
  for (const event of events) {
    if (event.action !== 'claim' || event.type !== 'fail' || event.error !== 'PAST_SLOT') continue;
    const start = starts.get(fixture.slotIds[String(event.args.slot)] ?? '');
    // The clock only moves forward: a slot still in the future now was in the future then.
    if (start !== undefined && start > Date.parse(fixture.time.now))
      findings.push({
        oracle: 'past-slot-only-when-past',
        message: `claim on ${String(event.args.slot)} was refused PAST_SLOT, but the slot starts at ${new Date(start).toISOString()}, after the database's now ${fixture.time.now}`,
        evidence: event,
      });
  }
  for (const event of events) {
    if (event.action === 'no_client_time' && event.type === 'ok' && (event.value?.takingTime || event.value?.missing)) {
      findings.push({
        oracle: 'nothing-into-the-past',
        message: `engine functions taking a time from the client: ${String(event.value.takingTime) || 'none'}; missing: ${String(event.value.missing) || 'none'}`,
        evidence: event.value,
      });
    }
    if (event.action === 'expired_hold_claim' && event.type === 'ok') {
      const v = event.value as Record<string, string>;
      if (v.lateConfirm !== 'HOLD_EXPIRED')
        findings.push({
          oracle: 'expired-hold-not-confirmable',
          message: `hold ${v.hold} confirmed by its holder 1 s after its TTL answered ${v.lateConfirm}, not HOLD_EXPIRED`,
          evidence: v,
        });
      for (const [row, actor] of [
        ['transition', v.transitionActor],
        ['audit', v.auditActor],
      ] as const) {
        if (actor !== v.claimant)
          findings.push({
            oracle: 'attributed-to-caller',
            message: `booking ${v.claim}'s ${row} row names ${actor}, not its claimant ${v.claimant} (the claim freed an expired hold first)`,
            evidence: v,
          });
      }
    }
    if (event.action === 'expired_hold_claim' && event.type === 'fail')
      findings.push({
        oracle: 'expired-hold-never-blocks',
        message: `a claim on a slot held only by an expired hold was refused: ${event.error}: ${event.message ?? ''}`,
        evidence: event,
      });
    // An opening that did not run through did not reach its dangerous state: the run proves nothing about it.
    else if ((OPENINGS as readonly string[]).includes(event.action) && (event.type === 'fail' || event.type === 'unknown')) {
      findings.push({
        oracle: 'scripted-opening',
        message: `the scripted opening ${event.action} did not complete: ${event.error}: ${event.message ?? ''}`,
        evidence: event,
      });
    }
  }
  return findings;
}

function allChecks(truth: VendorTruth, fixture: TimeFixture, events: HistoryEvent[]): Finding[] {
  const findings: Finding[] = [...slotAndBookingChecks(truth), ...nothingIntoThePast(truth, fixture.time)];
  for (const booking of truth.bookings) {
    const name = fixture.startedBeforeClaim.get(booking.slotId);
    if (name)
      findings.push({
        oracle: 'nothing-into-the-past',
        message: `booking ${booking.id} (${booking.state}) exists on slot ${name}, which had started before any claim on it ran`,
        evidence: booking,
      });
  }
  return [
    ...findings,
    ...pastRefusalChecks(truth, fixture, events),
    ...holdExpiryChecks(fixture.time, fixture.reconciledAt),
    ...appSkewChecks(fixture),
    ...dstWeekChecks(truth.slots, fixture.dstWeeks),
  ];
}

export const timeHostility: Driver<TimeFixture> = {
  oracles: [
    'scripted-opening',
    'capacity',
    'slot-coherence',
    'booking-coherence',
    'nothing-into-the-past',
    'past-slot-only-when-past',
    'expired-hold-never-blocks',
    'expired-hold-not-confirmable',
    'attributed-to-caller',
    'expired-only-after-ttl',
    'released-exactly-once',
    'reconcile-releases-expired',
    'hold-ttl-on-database-clock',
    'webhook-tolerance',
    'dst-wall-time',
  ],
  oracleInvariants: {
    'scripted-opening': ['I5', 'I9'],
    capacity: ['I1'],
    'slot-coherence': ['I3'],
    'booking-coherence': ['I3', 'I10'],
    'nothing-into-the-past': ['I5'],
    'past-slot-only-when-past': ['I5'],
    'expired-hold-never-blocks': ['I9'],
    'expired-hold-not-confirmable': ['I9'],
    'attributed-to-caller': ['I8'],
    'expired-only-after-ttl': ['I9'],
    'released-exactly-once': ['I9'],
    'reconcile-releases-expired': ['I9'],
    'hold-ttl-on-database-clock': ['I5', 'I9'],
    'webhook-tolerance': ['I4'],
    'dst-wall-time': ['I5'],
  },
  faultKinds: ['advance_clock', ...OPENINGS],

  fixtureParameters(definition, random) {
    const fixtures = definition.fixtures as { appClockSkewSeconds: { ahead: { min: number; max: number }; behind: { min: number; max: number } } };
    const skew = fixtures.appClockSkewSeconds;
    return {
      customers: CUSTOMERS,
      openings: [...OPENINGS],
      dstZones: [...DST_ZONES],
      appClockSkewSeconds: { ahead: random.int(skew.ahead.min, skew.ahead.max), behind: -random.int(skew.behind.min, skew.behind.max) },
    };
  },

  async openServices(observer, parameters) {
    return openSkewServices(observer, parameters.fixtures.appClockSkewSeconds as { ahead: number; behind: number });
  },

  plan(random, parameters, iteration): IterationPlan {
    const actions: PlannedAction[] = OPENINGS.map((kind) => ({ kind, args: {} }));
    for (let n = 0; n < parameters.actionsPerIteration; n++) {
      const kind = random.weighted(parameters.actionMix);
      if (kind === 'claim') {
        const hold = random.next() < 0.5 ? 1 : 0;
        actions.push({
          kind,
          args: {
            slot: random.pick([...NEAR_SLOTS, 'P']),
            customer: random.pick(CUSTOMERS),
            hold,
            ttl: hold ? random.int(30, 240) : 0,
            zone: random.pick(CLIENT_ZONES),
            path: 'engine',
          },
        });
      } else if (kind === 'advance_clock') {
        actions.push({ kind, args: { seconds: random.int(60, 15 * 60) } });
      } else {
        actions.push({ kind, args: {} });
      }
    }
    return { iteration, fixtures: parameters.fixtures, actions, settle: [] };
  },

  async setup(db, plan, runId, _http, services) {
    const zone = DST_ZONES[plan.iteration % DST_ZONES.length]!;
    const vendor = await db.query(`INSERT INTO vendors (name, timezone) VALUES ($1, $2) RETURNING id`, [`SimCity SC-3 ${runId} #${plan.iteration}`, zone]);
    const vendorId = (vendor.rows[0] as { id: string }).id;
    const slotIds: Record<string, string> = {
      P: await insertSlot(db, vendorId, '-2 hours', 60, 1),
      R: await insertSlot(db, vendorId, '2 days', 60, 1),
      H: await insertSlot(db, vendorId, '3 days', 60, 1),
      A1: await insertSlot(db, vendorId, '3 days 2 hours', 60, 1),
      A2: await insertSlot(db, vendorId, '3 days 4 hours', 60, 1),
      K: await insertSlot(db, vendorId, '67 minutes', 10, 1),
    };
    for (const [index, name] of NEAR_SLOTS.entries()) slotIds[name] = await insertSlot(db, vendorId, `${(index + 1) * 10} minutes`, 10, 2);
    const customerIds: Record<string, string> = {};
    for (const name of CUSTOMERS) customerIds[name] = await insertCustomer(db, name, runId);
    return {
      vendorId,
      slotIds,
      customerIds,
      keyPrefix: `sc3-${runId}-${plan.iteration}-`,
      services: services as SkewServices,
      startedBeforeClaim: new Map(),
      dstWeeks: [],
      appHolds: [],
      webhooks: [],
      mustBeReleased: [],
      reconciledAt: null,
      time: { now: new Date(0).toISOString(), transitions: [], holds: [] },
      storedEvents: new Set(),
      names: { V: vendorId, ...slotIds, ...customerIds },
    };
  },

  async perform(action, fixture, session) {
    const pool = session.pool;
    switch (action.kind) {
      case 'no_client_time':
        return noClientTime(pool);
      case 'past_claims':
        return pastClaims(fixture, pool);
      case 'now_boundary':
        return nowBoundary(fixture, pool);
      case 'boundary_race':
        return boundaryRace(fixture, pool);
      case 'expired_hold_claim':
        return expiredHoldClaim(fixture, pool);
      case 'skewed_clients':
        return skewedClients(fixture, pool);
      case 'dst_weeks':
        return dstWeeks(fixture, pool);
      case 'app_skew':
        return appSkew(fixture, pool);
      case 'advance_clock':
        return { now: (await advanceClock(pool, Number(action.args.seconds) * 1000)).toISOString() };
      case 'claim': {
        const name = String(action.args.customer);
        const hold = action.args.hold === 1;
        const args = [
          fixture.slotIds[String(action.args.slot)],
          fixture.customerIds[name],
          hold,
          hold ? Number(action.args.ttl) : null,
          null,
          null,
          ...actorArgs(actorFor(name, 'claim')),
        ];
        const booking = await zonedClaim(pool, String(action.args.zone), args);
        return { booking: booking.id, state: booking.state };
      }
      default:
        throw new BookijiError('INTERNAL_ERROR', `SC-3 has no action ${action.kind}`);
    }
  },

  async readTruth(db, fixture) {
    const eventIds = fixture.webhooks.map((w) => w.eventId);
    const { truth, time, stored } = await inSnapshot(db, async (client) => ({
      truth: await readVendorTruth(client, fixture.vendorId),
      time: await readTimeTruth(client, fixture.vendorId),
      stored: (await client.query('SELECT event_id FROM stripe_events WHERE event_id = ANY($1)', [eventIds])).rows as Array<{ event_id: string }>,
    }));
    fixture.time = time;
    fixture.storedEvents = new Set(stored.map((row) => row.event_id));
    return truth;
  },

  observe(truth, fixture, events) {
    return allChecks(truth, fixture, events);
  },

  async beforeTerminal(fixture, observer) {
    // Reconcile once the chaos is over: every hold past its TTL on the database's clock must go.
    fixture.reconciledAt = (await databaseNowOn(observer)).toISOString();
    await expireHolds(observer, { dryRun: false, actor: RECONCILE_ACTOR });
  },

  terminal(truth, fixture, events) {
    return { findings: allChecks(truth, fixture, events) };
  },

  exercised(event, fixture) {
    if (event.type === 'invoke') return [];
    const reached: string[] = [];
    if (['past_claims', 'now_boundary', 'boundary_race', 'skewed_clients'].includes(event.action) || event.error === 'PAST_SLOT') reached.push('I5');
    if (event.action === 'claim' && event.type === 'ok') {
      // A claim that won a slot on which a hold had already run out (as of the last read): a broken engine would have refused it.
      const slot = fixture.slotIds[String(event.args.slot)];
      if (fixture.time.holds.some((h) => h.slotId === slot && h.holdExpiresAt && Date.parse(h.holdExpiresAt) <= Date.parse(fixture.time.now)))
        reached.push('I9');
    }
    if (event.action === 'expired_hold_claim' || event.action === 'app_skew') reached.push('I9');
    if (event.action === 'expired_hold_claim' && event.type === 'ok') reached.push('I8');
    return reached;
  },
};
