// The actions of SC-10 (guard probes): each one drives the engine into the
// state a missing guard would get wrong, and returns what the engine did.
// Attempts to write what must never be written (audit rows, chain heads,
// transition rows, forbidden states) run as the application's own role in a
// transaction that is always rolled back: the oracle judges the refusal, and
// a broken engine's acceptance leaves nothing behind.

import { randomBytes } from 'node:crypto';
import pg from '../../db/pg.js';
import type { Pool } from '../../db/pool.js';
import { cancelBooking, claimSlot, confirmBooking, rescheduleBooking } from '../../engine/bookings.js';
import { refreshVendorSlots } from '../../engine/slots.js';
import type { Actor } from '../../engine/types.js';
import { BookijiError } from '../../errors.js';
import type { Fixture } from './driver.js';
import type { ClientSession } from './channels.js';

export interface GuardProbeFixture extends Fixture {
  slots: Record<'S1' | 'S2', string>;
  customers: string[];
  keys: Record<'K1' | 'K2', string>;
  /** Each probe makes slots of its own, at distinct times: the next free hour offset. */
  nextHour: number;
  /** Key bursts so far: each burst uses a fresh key, so each one is a fresh race. */
  keyBursts: number;
  /** The observer's memory: slots currently holding an active booking. */
  activeSlots: Set<string>;
}

export const PROBE_ACTOR: Actor = { kind: 'simcity', id: 'SC-10', source: 'simcity' };
/** Requests per burst, released together behind one barrier. */
export const BURST_SIZE = 4;
/** Requests per idempotency-key burst: half the same request, half another slot. */
const KEY_BURST_SIZE = 6;
/** Long enough to wait out the claims in flight (a TRUNCATE queues behind them), short enough never to hang. */
const PROBE_LOCK_TIMEOUT = '10s';

export function codeOf(error: unknown): string {
  if (error instanceof BookijiError) return error.code;
  const code = (error as { code?: string }).code;
  return code ? `SQLSTATE ${code}` : 'ERROR';
}

/** 'OK', or the code the request was refused with. */
export const codeOrOk = (work: Promise<unknown>): Promise<string> => work.then(() => 'OK', codeOf);

/**
 * Runs `n` requests released together behind one barrier, each on a
 * connection of its own opened beforehand: the client pool may be smaller
 * than the burst, and a connection still logging in would stagger the race.
 */
async function burst<T>(session: ClientSession, n: number, work: (pool: Pool, index: number) => Promise<T>): Promise<Array<PromiseSettledResult<T>>> {
  const pools = Array.from({ length: n }, () => new pg.Pool({ ...session.pool.options, max: 1 }));
  for (const pool of pools) pool.on('error', () => undefined);
  try {
    await Promise.all(pools.map(async (pool) => (await pool.connect()).release()));
    let release!: () => void;
    const barrier = new Promise<void>((resolve) => (release = resolve));
    const running = pools.map(async (pool, i) => {
      await barrier;
      return work(pool, i);
    });
    release();
    return await Promise.allSettled(running);
  } finally {
    await Promise.all(pools.map((pool) => pool.end().catch(() => undefined)));
  }
}

/** I2: claims on S1 and S2 (overlapping, same vendor) at once, by different customers. */
export async function claimOverlapBurst(fixture: GuardProbeFixture, session: ClientSession): Promise<Record<string, unknown>> {
  const slotOf = (i: number): 'S1' | 'S2' => (i % 2 === 0 ? 'S1' : 'S2');
  const results = await burst(session, BURST_SIZE, (pool, i) =>
    claimSlot(pool, { slot: fixture.slots[slotOf(i)], customer: fixture.customers[i]! }, PROBE_ACTOR),
  );
  const claims = results.map((r, i) => ({
    slot: slotOf(i),
    outcome: r.status === 'fulfilled' ? 'OK' : codeOf(r.reason),
    booking: r.status === 'fulfilled' ? r.value.booking.id : null,
  }));
  return { claims, activeBefore: [...fixture.activeSlots] };
}

/** I6: one key, on two fresh slots of capacity 3, sent at once with the same request and with the other slot. */
export async function retryKeyBurst(fixture: GuardProbeFixture, session: ClientSession, intent: 'K1' | 'K2'): Promise<Record<string, unknown>> {
  // Fresh slots with room to spare: only the key can keep a second booking out.
  const slots = { same: await probeSlot(session.pool, fixture, 3), other: await probeSlot(session.pool, fixture, 3) };
  const customer = fixture.customers[intent === 'K1' ? 0 : 1]!;
  fixture.keyBursts += 1;
  const key = `${fixture.keys[intent]}-b${fixture.keyBursts}`;
  const variantOf = (i: number): 'same' | 'other' => (i % 2 === 0 ? 'same' : 'other');
  const results = await burst(session, KEY_BURST_SIZE, (pool, i) =>
    claimSlot(pool, { slot: slots[variantOf(i)].id, customer, idempotencyKey: key }, PROBE_ACTOR),
  );
  const requests = results.map((r, i) => ({
    slot: variantOf(i),
    slotId: slots[variantOf(i)].id,
    outcome: r.status === 'fulfilled' ? 'OK' : codeOf(r.reason),
    booking: r.status === 'fulfilled' ? r.value.booking.id : null,
    bookingSlot: r.status === 'fulfilled' ? r.value.booking.slotId : null,
  }));
  return { intent, key, requests };
}

/** A fresh slot of the probe vendor at the next free hour (free unless `priceCents` is given). */
export async function probeSlot(
  pool: Pool,
  fixture: GuardProbeFixture,
  capacity: number,
  priceCents = 0,
): Promise<{ id: string; startsAt: Date; endsAt: Date }> {
  fixture.nextHour += 2;
  const result = await pool.query(
    `WITH who AS (SELECT set_actor('simcity', 'SC-10', 'simcity', 'SC-10 probe slot'))
     INSERT INTO slots (vendor_id, starts_at, ends_at, capacity, price_cents)
     SELECT $1, date_trunc('hour', bookiji_now()) + make_interval(hours => $2), date_trunc('hour', bookiji_now()) + make_interval(hours => $2 + 1), $3, $4 FROM who
     RETURNING id, starts_at, ends_at`,
    [fixture.vendorId, fixture.nextHour, capacity, priceCents],
  );
  const row = result.rows[0] as { id: string; starts_at: Date; ends_at: Date };
  return { id: row.id, startsAt: row.starts_at, endsAt: row.ends_at };
}

/** I7: a schedule refresh that drops a booked slot (or one whose booking moved away); then a newcomer tries the dropped slot. */
export async function refreshDrop(fixture: GuardProbeFixture, session: ClientSession, variant: 'booked' | 'moved'): Promise<Record<string, unknown>> {
  const pool = session.pool;
  const dropped = await probeSlot(pool, fixture, 2);
  const { booking } = await claimSlot(pool, { slot: dropped.id, customer: fixture.customers[2]! }, PROBE_ACTOR);
  if (variant === 'moved') {
    const elsewhere = await probeSlot(pool, fixture, 1);
    await rescheduleBooking(pool, { booking: booking.id, slot: elsewhere.id }, PROBE_ACTOR);
  }
  await refreshVendorSlots(pool, fixture.vendorId, { from: dropped.startsAt, to: dropped.endsAt }, [], PROBE_ACTOR);
  const newcomer = await codeOrOk(claimSlot(pool, { slot: dropped.id, customer: fixture.customers[3]! }, PROBE_ACTOR));
  return { variant, slot: dropped.id, booking: booking.id, newcomer };
}

/** Runs `sql` in a transaction that is always rolled back: 'refused (code)' or 'ACCEPTED'. */
export async function attemptRolledBack(pool: Pool, statements: Array<{ sql: string; params?: unknown[] }>): Promise<string> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query(`SET LOCAL lock_timeout = '${PROBE_LOCK_TIMEOUT}'`);
    for (const s of statements) await client.query(s.sql, s.params ?? []);
    return 'ACCEPTED';
  } catch (error) {
    return `refused (${codeOf(error)})`;
  } finally {
    await client.query('ROLLBACK').catch(() => undefined);
    client.release();
  }
}

const TAMPERING: Record<string, string> = {
  update: `UPDATE audit_log SET reason = 'tampered' WHERE vendor_id = $1`,
  delete: 'DELETE FROM audit_log WHERE vendor_id = $1',
  truncate: 'TRUNCATE audit_log',
  head: 'UPDATE audit_chain_heads SET seq = seq + 1 WHERE vendor_id = $1',
};

/** I8: the audit log edited, deleted, truncated, its head moved (must be refused), or forged with triggers bypassed (must be detected). */
export async function tamperAudit(fixture: GuardProbeFixture, session: ClientSession, how: string): Promise<Record<string, unknown>> {
  if (how !== 'forge') {
    const sql = TAMPERING[how]!;
    return { how, outcome: await attemptRolledBack(session.pool, [{ sql, params: sql.includes('$1') ? [fixture.vendorId] : [] }]) };
  }
  // A booking row of its own, cancelled, so an updated row to forge exists whatever ran before (the opening's order is seeded).
  const slot = await probeSlot(session.pool, fixture, 1);
  const { booking } = await claimSlot(session.pool, { slot: slot.id, customer: fixture.customers[4]! }, PROBE_ACTOR);
  await cancelBooking(session.pool, { booking: booking.id, reason: 'SC-10 forge probe' }, PROBE_ACTOR);
  const client = await session.pool.connect();
  try {
    await client.query('BEGIN');
    const bypass = await client.query(`SET LOCAL session_replication_role = replica`).then(
      () => true,
      () => false,
    );
    if (!bypass) return { how, outcome: 'not attempted: the role cannot bypass triggers' };
    const forged = await client.query(
      `UPDATE audit_log SET before = coalesce(before, '{}'::jsonb) || '{"forged": true}'::jsonb
       WHERE vendor_id = $1 AND seq = (SELECT max(seq) FROM audit_log WHERE vendor_id = $1 AND action = 'update')`,
      [fixture.vendorId],
    );
    if (forged.rowCount !== 1) return { how, outcome: 'not attempted: no updated row to forge yet' };
    const found = await client.query('SELECT count(*)::int AS problems FROM audit_verify($1)', [fixture.vendorId]);
    return { how, outcome: Number(found.rows[0].problems) > 0 ? 'detected' : 'UNDETECTED' };
  } finally {
    await client.query('ROLLBACK').catch(() => undefined);
    client.release();
  }
}

/** I10: moves the machine forbids, through the engine and by a direct UPDATE, and erasing the transition log. */
export async function forbiddenTransition(fixture: GuardProbeFixture, session: ClientSession, how: string): Promise<Record<string, unknown>> {
  const pool = session.pool;
  const slot = await probeSlot(pool, fixture, 1);
  const { booking } = await claimSlot(
    pool,
    { slot: slot.id, customer: fixture.customers[4]!, idempotencyKey: `sc10-${randomBytes(6).toString('hex')}` },
    PROBE_ACTOR,
  );
  if (how !== 'direct_unconfirm') await cancelBooking(pool, { booking: booking.id, reason: 'SC-10 probe' }, PROBE_ACTOR);
  let outcome: string;
  if (how === 'engine_confirm_cancelled') {
    outcome = await confirmBooking(pool, { booking: booking.id }, PROBE_ACTOR).then(
      () => 'ACCEPTED',
      (error: unknown) => `refused (${codeOf(error)})`,
    );
  } else if (how === 'direct_revive') {
    outcome = await attemptRolledBack(pool, [
      { sql: `UPDATE bookings SET state = 'confirmed' WHERE vendor_id = $1 AND id = $2`, params: [fixture.vendorId, booking.id] },
    ]);
  } else if (how === 'direct_unconfirm') {
    outcome = await attemptRolledBack(pool, [
      {
        sql: `UPDATE bookings SET state = 'held', hold_expires_at = bookiji_now() + interval '1 hour' WHERE vendor_id = $1 AND id = $2`,
        params: [fixture.vendorId, booking.id],
      },
    ]);
  } else {
    outcome = await attemptRolledBack(pool, [
      { sql: 'DELETE FROM booking_transitions WHERE vendor_id = $1 AND booking_id = $2', params: [fixture.vendorId, booking.id] },
    ]);
  }
  return { how, booking: booking.id, outcome };
}
