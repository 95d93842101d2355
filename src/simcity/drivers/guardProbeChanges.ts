// SC-10's change probes: what a booking must keep when it is changed after
// it exists, each probed on fresh slots of the probe vendor, one request
// after another. The rest of certify changes bookings only along one
// dimension (another customer, another slot, slots of one price, no
// expected version), so an engine that got any of these wrong passed it:
//  - stale_version: a cancel or reschedule sent with a version read before
//    the booking moved (or one it never had) is VERSION_CONFLICT (I10);
//  - card_reprice: a card hold cannot move to a slot of another price, since
//    its payment is for the first price (I4);
//  - hold_deadline: a moved hold keeps its deadline (a reschedule is not a
//    way to renew a hold), and a hold on a slot starting sooner than its TTL
//    ends at the slot's start (I9);
//  - schedule_restore: a booked slot a refresh dropped (legacy), wanted again
//    by the next refresh, is the same slot live again, its free seat
//    bookable; never a second slot at the same time beside it (I7);
//  - key_intent: one key, same slot and customer, asking for a hold instead
//    of a booking or another payment method is IDEMPOTENCY_MISMATCH, and the
//    same request again is the first booking (I6).
// Holds a probe places are cancelled before it returns, so repeated probes
// never reach the customer's hold limit.

import { randomBytes } from 'node:crypto';
import { cancelBooking, claimSlot, getBooking, rescheduleBooking } from '../../engine/bookings.js';
import { refreshVendorSlots } from '../../engine/slots.js';
import type { HistoryEvent } from '../types.js';
import type { ClientSession } from './channels.js';
import type { Finding } from './driver.js';
import type { Pool } from '../../db/pool.js';
import { codeOrOk, PROBE_ACTOR, probeSlot, type GuardProbeFixture } from './guardProbeActions.js';

export const CHANGE_PROBES = ['stale_version', 'card_reprice', 'hold_deadline', 'schedule_restore', 'key_intent'] as const;
export type ChangeProbe = (typeof CHANGE_PROBES)[number];

/** The invariant each probe reaches once it ran to an answer. */
export const CHANGE_PROBE_INVARIANT: Record<ChangeProbe, string> = {
  stale_version: 'I10',
  card_reprice: 'I4',
  hold_deadline: 'I9',
  schedule_restore: 'I7',
  key_intent: 'I6',
};

const CARD_PRICE = 3000;
const DEARER_PRICE = 20000;
const HOLD_TTL_SECONDS = 60;
/** The longest hold a caller may ask for (engine_limits hold_ttl_seconds_max): longer than the wait for the soon slot's start. */
const LONG_HOLD_TTL_SECONDS = 86_400;
/** The customer the change probes act for (the others belong to other probes' races). */
const CUSTOMER_INDEX = 3;

/** A 5-minute slot starting 20 minutes to 20.3 hours from now (6 minutes apart by the probe slots made so far, so none overlap), for a hold longer than the wait. */
async function soonSlot(pool: Pool, fixture: GuardProbeFixture): Promise<{ id: string; startsAt: Date }> {
  const result = await pool.query(
    `WITH who AS (SELECT set_actor('simcity', 'SC-10', 'simcity', 'SC-10 soon slot')),
          t AS (SELECT date_trunc('minute', bookiji_now()) + make_interval(mins => 20 + 6 * ($2 % 200)) AS start FROM who)
     INSERT INTO slots (vendor_id, starts_at, ends_at, capacity) SELECT $1, start, start + interval '5 minutes', 1 FROM t RETURNING id, starts_at`,
    [fixture.vendorId, fixture.nextHour],
  );
  fixture.nextHour += 2;
  const row = result.rows[0] as { id: string; starts_at: Date };
  return { id: row.id, startsAt: row.starts_at };
}

export async function changeProbe(fixture: GuardProbeFixture, session: ClientSession, how: ChangeProbe): Promise<Record<string, unknown>> {
  const pool = session.pool;
  const customer = fixture.customers[CUSTOMER_INDEX]!;
  if (how === 'stale_version') {
    const [first, second, third] = [await probeSlot(pool, fixture, 1), await probeSlot(pool, fixture, 1), await probeSlot(pool, fixture, 1)];
    const { booking } = await claimSlot(pool, { slot: first.id, customer }, PROBE_ACTOR);
    const moved = await rescheduleBooking(pool, { booking: booking.id, slot: second.id }, PROBE_ACTOR);
    const requests = {
      cancelAhead: await codeOrOk(cancelBooking(pool, { booking: booking.id, reason: 'SC-10 probe', expectedVersion: moved.version + 1 }, PROBE_ACTOR)),
      rescheduleStale: await codeOrOk(rescheduleBooking(pool, { booking: booking.id, slot: third.id, expectedVersion: booking.version }, PROBE_ACTOR)),
      cancelStale: await codeOrOk(cancelBooking(pool, { booking: booking.id, reason: 'SC-10 probe', expectedVersion: booking.version }, PROBE_ACTOR)),
    };
    const after = await getBooking(pool, booking.id);
    return { how, booking: booking.id, requests, expected: { state: 'confirmed', slot: second.id }, after: { state: after.state, slot: after.slotId } };
  }
  if (how === 'card_reprice') {
    const cheap = await probeSlot(pool, fixture, 1, CARD_PRICE);
    const dear = await probeSlot(pool, fixture, 1, DEARER_PRICE);
    const { booking } = await claimSlot(pool, { slot: cheap.id, customer, hold: true, paymentMethod: 'card' }, PROBE_ACTOR);
    const reschedule = await codeOrOk(rescheduleBooking(pool, { booking: booking.id, slot: dear.id }, PROBE_ACTOR));
    const after = await getBooking(pool, booking.id);
    await cancelBooking(pool, { booking: booking.id, reason: 'SC-10 probe done' }, PROBE_ACTOR);
    return {
      how,
      booking: booking.id,
      reschedule,
      expected: { slot: cheap.id, amountCents: CARD_PRICE },
      after: { slot: after.slotId, amountCents: after.amountCents },
    };
  }
  if (how === 'hold_deadline') {
    const [from, to] = [await probeSlot(pool, fixture, 1), await probeSlot(pool, fixture, 1)];
    const { booking } = await claimSlot(pool, { slot: from.id, customer, hold: true, holdTtlSeconds: HOLD_TTL_SECONDS }, PROBE_ACTOR);
    const moved = await rescheduleBooking(pool, { booking: booking.id, slot: to.id }, PROBE_ACTOR);
    await cancelBooking(pool, { booking: booking.id, reason: 'SC-10 probe done' }, PROBE_ACTOR);
    const soon = await soonSlot(pool, fixture);
    const long = await claimSlot(pool, { slot: soon.id, customer, hold: true, holdTtlSeconds: LONG_HOLD_TTL_SECONDS }, PROBE_ACTOR);
    await cancelBooking(pool, { booking: long.booking.id, reason: 'SC-10 probe done' }, PROBE_ACTOR);
    return {
      how,
      booking: booking.id,
      deadlineBefore: booking.holdExpiresAt?.toISOString() ?? null,
      deadlineAfter: moved.holdExpiresAt?.toISOString() ?? null,
      soonHold: long.booking.id,
      soonSlotStart: soon.startsAt.toISOString(),
      soonHoldDeadline: long.booking.holdExpiresAt?.toISOString() ?? null,
    };
  }
  if (how === 'schedule_restore') {
    const slot = await probeSlot(pool, fixture, 2);
    const { booking } = await claimSlot(pool, { slot: slot.id, customer }, PROBE_ACTOR);
    const window = { from: slot.startsAt, to: slot.endsAt };
    await refreshVendorSlots(pool, fixture.vendorId, window, [], PROBE_ACTOR);
    const wanted = [{ startsAt: slot.startsAt, endsAt: slot.endsAt, capacity: 2, priceCents: 0, currency: 'EUR' }];
    const refreshed = await refreshVendorSlots(pool, fixture.vendorId, window, wanted, PROBE_ACTOR);
    const live = await pool.query('SELECT id FROM slots WHERE vendor_id = $1 AND starts_at = $2 AND ends_at = $3 AND NOT legacy', [
      fixture.vendorId,
      slot.startsAt,
      slot.endsAt,
    ]);
    const newcomer = await codeOrOk(claimSlot(pool, { slot: slot.id, customer: fixture.customers[4]! }, PROBE_ACTOR));
    return { how, slot: slot.id, booking: booking.id, refreshed, live: live.rows.map((r) => String(r.id)), newcomer };
  }
  const slot = await probeSlot(pool, fixture, 3);
  const key = `sc10-intent-${randomBytes(6).toString('hex')}`;
  const claimWith = (extra: { hold?: boolean; paymentMethod?: string }) =>
    claimSlot(pool, { slot: slot.id, customer, idempotencyKey: key, ...extra }, PROBE_ACTOR);
  const first = await claimWith({});
  const requests = {
    asHold: await codeOrOk(claimWith({ hold: true })),
    otherMethod: await codeOrOk(claimWith({ paymentMethod: 'pay_on_arrival' })),
  };
  const again = await claimWith({});
  return { how, key, booking: first.booking.id, requests, again: { booking: again.booking.id, replayed: again.replayed } };
}

type Value = Record<string, unknown>;

/** Judges every change probe that ran to an answer, from what it saw. */
export function changeProbeFindings(events: HistoryEvent[]): Finding[] {
  const findings: Finding[] = [];
  for (const event of events.filter((e) => e.type === 'ok' && e.action === 'change_probe')) {
    const v = event.value as Value;
    if (v.how === 'stale_version') {
      for (const [request, got] of Object.entries(v.requests as Record<string, string>)) {
        if (got !== 'VERSION_CONFLICT')
          findings.push({
            oracle: 'versions-honoured',
            message: `${request} on booking ${String(v.booking)} answered ${got}, not VERSION_CONFLICT`,
            evidence: v,
          });
      }
      const after = v.after as Value;
      const expected = v.expected as Value;
      if (after.state !== expected.state || after.slot !== expected.slot)
        findings.push({ oracle: 'versions-honoured', message: `booking ${String(v.booking)} was changed by a request with a wrong version`, evidence: v });
    } else if (v.how === 'card_reprice') {
      const after = v.after as Value;
      const expected = v.expected as Value;
      if (v.reschedule !== 'VALIDATION_ERROR' || after.slot !== expected.slot || after.amountCents !== expected.amountCents)
        findings.push({
          oracle: 'price-kept',
          message: `a card hold of ${CARD_PRICE} cents moved to a slot priced ${DEARER_PRICE}: ${String(v.reschedule)} (now ${String(after.amountCents)} cents)`,
          evidence: v,
        });
    } else if (v.how === 'hold_deadline') {
      if (v.deadlineAfter !== v.deadlineBefore)
        findings.push({
          oracle: 'hold-deadline-kept',
          message: `a reschedule moved hold ${String(v.booking)}'s deadline from ${String(v.deadlineBefore)} to ${String(v.deadlineAfter)}`,
          evidence: v,
        });
      if (v.soonHoldDeadline === null || Date.parse(String(v.soonHoldDeadline)) > Date.parse(String(v.soonSlotStart)))
        findings.push({
          oracle: 'hold-deadline-kept',
          message: `a ${LONG_HOLD_TTL_SECONDS} s hold on a slot starting at ${String(v.soonSlotStart)} lasts until ${String(v.soonHoldDeadline)}, past the start`,
          evidence: v,
        });
    } else if (v.how === 'schedule_restore') {
      const live = v.live as string[];
      if (live.length !== 1 || live[0] !== v.slot || v.newcomer !== 'OK')
        findings.push({
          oracle: 'preservation',
          message: `booked slot ${String(v.slot)}, dropped and then wanted again by a refresh: live slots at its time ${JSON.stringify(live)}, a claim on its free seat ${String(v.newcomer)} (expected the same slot live, OK)`,
          evidence: v,
        });
    } else if (v.how === 'key_intent') {
      for (const [request, got] of Object.entries(v.requests as Record<string, string>)) {
        if (got !== 'IDEMPOTENCY_MISMATCH')
          findings.push({ oracle: 'idempotency', message: `key ${String(v.key)} reused ${request} answered ${got}, not IDEMPOTENCY_MISMATCH`, evidence: v });
      }
      const again = v.again as Value;
      if (again.booking !== v.booking || again.replayed !== true)
        findings.push({
          oracle: 'idempotency',
          message: `key ${String(v.key)} sent again with the first request did not return the first booking`,
          evidence: v,
        });
    }
  }
  return findings;
}
