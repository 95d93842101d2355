// The time half of a vendor's truth, for the scenarios that judge time (SC-3
// time hostility, SC-6 degraded reality, SC-8 soak): the database's clock at
// the read, every transition with the instant it was logged, every booking's
// hold expiry. Read in the same REPEATABLE READ snapshot as the vendor's
// slots and bookings, so one instant is judged.

import { withTransaction, type Pool, type Queryable } from '../../db/pool.js';
import { readVendorTruth, type VendorTruth } from '../truth.js';
import type { Finding } from './driver.js';

export interface TransitionTruth {
  bookingId: string;
  fromState: string | null;
  toState: string;
  fromSlotId: string | null;
  toSlotId: string;
  cause: string;
  at: string;
}

export interface HoldTruth {
  bookingId: string;
  slotId: string;
  state: string;
  createdAt: string;
  holdExpiresAt: string | null;
}

export interface TimeTruth {
  /** bookiji_now() at the read. */
  now: string;
  transitions: TransitionTruth[];
  holds: HoldTruth[];
}

const TIME_SQL = `
SELECT bookiji_now() AS now,
  (SELECT coalesce(jsonb_agg(jsonb_build_object('bookingId', t.booking_id, 'fromState', t.from_state, 'toState', t.to_state,
      'fromSlotId', t.from_slot_id, 'toSlotId', t.to_slot_id, 'cause', t.cause, 'at', t.at) ORDER BY t.id), '[]'::jsonb)
   FROM booking_transitions t WHERE t.vendor_id = $1) AS transitions,
  (SELECT coalesce(jsonb_agg(jsonb_build_object('bookingId', b.id, 'slotId', b.slot_id, 'state', b.state, 'createdAt', b.created_at,
      'holdExpiresAt', b.hold_expires_at) ORDER BY b.created_at, b.id), '[]'::jsonb)
   FROM bookings b WHERE b.vendor_id = $1) AS holds`;

/** Runs `read` in one REPEATABLE READ snapshot. */
export function inSnapshot<T>(db: Pool, read: (client: Queryable) => Promise<T>): Promise<T> {
  return withTransaction(db, read, { isolation: 'repeatable read' });
}

export async function readTimeTruth(db: Queryable, vendorId: string): Promise<TimeTruth> {
  const row = (await db.query(TIME_SQL, [vendorId])).rows[0] as { now: Date; transitions: TransitionTruth[]; holds: HoldTruth[] };
  return { now: row.now.toISOString(), transitions: row.transitions, holds: row.holds };
}

export async function readVendorAndTime(db: Pool, vendorId: string): Promise<{ truth: VendorTruth; time: TimeTruth }> {
  return inSnapshot(db, async (client) => ({ truth: await readVendorTruth(client, vendorId), time: await readTimeTruth(client, vendorId) }));
}

const ms = (iso: string): number => Date.parse(iso);

/**
 * I5 over the transition log: a booking may only enter a slot (created
 * there, or moved there) at a database instant before the slot starts. The
 * log's `at` is the database's clock, never the client's.
 */
export function nothingIntoThePast(truth: VendorTruth, time: TimeTruth, oracle = 'nothing-into-the-past'): Finding[] {
  const starts = new Map(truth.slots.map((slot) => [slot.id, ms(slot.startsAt)]));
  const findings: Finding[] = [];
  for (const t of time.transitions) {
    const entered = t.fromState === null || (t.fromSlotId !== null && t.fromSlotId !== t.toSlotId);
    if (!entered || (t.toState !== 'held' && t.toState !== 'confirmed')) continue;
    const start = starts.get(t.toSlotId);
    if (start !== undefined && ms(t.at) >= start) {
      findings.push({
        oracle,
        message: `booking ${t.bookingId} entered slot ${t.toSlotId} (${t.fromState ?? 'new'} → ${t.toState}) at ${t.at}, when the slot had already started (${new Date(start).toISOString()})`,
        evidence: t,
      });
    }
  }
  return findings;
}

/**
 * I9, the release side: a hold is released as expired only once its TTL has
 * passed on the database's clock, and only once; and no hold that expired
 * before a reconcile began is still held after it (`reconciledAt`: the
 * database's clock when the last completed reconcile started).
 */
export function holdExpiryChecks(time: TimeTruth, reconciledAt: string | null): Finding[] {
  const findings: Finding[] = [];
  const holds = new Map(time.holds.map((hold) => [hold.bookingId, hold]));
  const releases = new Map<string, number>();
  for (const t of time.transitions) {
    if (t.toState !== 'expired' && t.toState !== 'cancelled') continue;
    releases.set(t.bookingId, (releases.get(t.bookingId) ?? 0) + 1);
    const hold = holds.get(t.bookingId);
    if (t.toState === 'expired' && hold?.holdExpiresAt && ms(t.at) < ms(hold.holdExpiresAt)) {
      findings.push({
        oracle: 'expired-only-after-ttl',
        message: `booking ${t.bookingId} was expired at ${t.at}, before its hold ran out at ${hold.holdExpiresAt} on the database's clock`,
        evidence: { transition: t, hold },
      });
    }
  }
  for (const [bookingId, count] of releases) {
    if (count > 1) findings.push({ oracle: 'released-exactly-once', message: `booking ${bookingId} was released ${count} times` });
  }
  if (reconciledAt) {
    for (const hold of time.holds) {
      if (hold.state === 'held' && hold.holdExpiresAt && ms(hold.holdExpiresAt) <= ms(reconciledAt)) {
        findings.push({
          oracle: 'reconcile-releases-expired',
          message: `hold ${hold.bookingId} ran out at ${hold.holdExpiresAt}, before the reconcile that started at ${reconciledAt}, and is still held`,
          evidence: hold,
        });
      }
    }
  }
  return findings;
}
