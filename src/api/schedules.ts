// The availability engine wired to the database: a vendor's schedule rules,
// the busy times imported from its calendar, and the schedule refresh that
// turns both into slots (I7: booked slots become legacy, never deleted).
// The rules themselves are interpreted by src/availability (pure).

import { readFile } from 'node:fs/promises';
import { BookijiError, validationError } from '../errors.js';
import { queryWithRetry, withTransaction, type Pool, type Queryable } from '../db/pool.js';
import type { RefreshResult } from '../engine/slots.js';
import type { Actor } from '../engine/types.js';
import { requireCurrency, requireInt, requireUuid } from '../engine/validate.js';
import { getVendor } from '../engine/vendors.js';
import {
  diffSchedule,
  generateSlots,
  parseBusyIntervals,
  validateScheduleRules,
  type BusyInterval,
  type ExistingSlot,
  type ScheduleRules,
} from '../availability/index.js';

const DAY_MS = 86_400_000;
/** How far back an ICS import keeps events: a slot refresh never looks into the past. */
const ICS_LOOKBACK_DAYS = 1;
/** How far ahead an ICS import expands events: the longest schedule horizon plus a margin. */
const ICS_LOOKAHEAD_DAYS = 368;

export interface StoredSchedule {
  vendorId: string;
  rules: ScheduleRules;
  priceCents: number;
  currency: string;
  updatedAt: Date;
}

export async function setSchedule(
  pool: Pool,
  vendorInput: unknown,
  rulesInput: unknown,
  pricing: { priceCents?: unknown; currency?: unknown },
  actor: Actor,
): Promise<StoredSchedule> {
  const vendor = await getVendor(pool, vendorInput);
  const rules = validateScheduleRules(rulesInput);
  if (rules.timezone !== vendor.timezone) {
    throw validationError('timezone', `the rules are in ${rules.timezone} but the vendor is in ${vendor.timezone}; write the rules in the vendor's zone`);
  }
  const priceCents = pricing.priceCents === undefined ? 0 : requireInt('price-cents', pricing.priceCents, 0, 100_000_000);
  const currency = pricing.currency === undefined ? 'EUR' : requireCurrency('currency', pricing.currency);
  return withTransaction(pool, async (client) => {
    await client.query('SELECT set_actor($1, $2, $3, $4, $5)', [actor.kind, actor.id ?? null, actor.source, 'schedule rules set', actor.requestId ?? null]);
    const result = await client.query(
      `INSERT INTO vendor_schedules (vendor_id, rules, price_cents, currency, updated_at) VALUES ($1, $2, $3, $4, bookiji_now())
       ON CONFLICT (vendor_id) DO UPDATE SET rules = EXCLUDED.rules, price_cents = EXCLUDED.price_cents, currency = EXCLUDED.currency, updated_at = EXCLUDED.updated_at
       RETURNING *`,
      [vendor.id, JSON.stringify(rules), priceCents, currency],
    );
    return toSchedule(result.rows[0]!);
  });
}

export async function getSchedule(pool: Pool, vendorInput: unknown): Promise<StoredSchedule> {
  const vendorId = requireUuid('vendor', vendorInput);
  await getVendor(pool, vendorId);
  const result = await queryWithRetry(pool, 'SELECT * FROM vendor_schedules WHERE vendor_id = $1', [vendorId]);
  const row = result.rows[0];
  if (!row)
    throw new BookijiError('VALIDATION_ERROR', `vendor: ${vendorId} has no schedule rules yet`, {
      details: { field: 'vendor' },
      hint: 'Set them with `bookiji schedule set V --file rules.json`.',
    });
  return toSchedule(row);
}

function toSchedule(row: Record<string, unknown>): StoredSchedule {
  return {
    vendorId: row.vendor_id as string,
    rules: validateScheduleRules(row.rules),
    priceCents: Number(row.price_cents),
    currency: String(row.currency),
    updatedAt: row.updated_at as Date,
  };
}

export interface ImportResult {
  importId: string;
  intervals: number;
  importedAt: Date;
}

/** Replaces the vendor's busy intervals with those of an iCalendar file (recurring events expanded). */
export async function importIcsFile(pool: Pool, vendorInput: unknown, filePath: string, actor: Actor): Promise<ImportResult> {
  let text: string;
  try {
    text = await readFile(filePath, 'utf8');
  } catch (error) {
    throw new BookijiError('VALIDATION_ERROR', `file: cannot read ${filePath}: ${(error as Error).message}`, { details: { field: 'file' }, cause: error });
  }
  return importIcsText(pool, vendorInput, text, filePath, actor);
}

export async function importIcsText(pool: Pool, vendorInput: unknown, icsText: string, sourceName: string, actor: Actor): Promise<ImportResult> {
  const vendor = await getVendor(pool, vendorInput);
  return withTransaction(pool, async (client) => {
    await client.query('SELECT set_actor($1, $2, $3, $4, $5)', [actor.kind, actor.id ?? null, actor.source, 'calendar imported', actor.requestId ?? null]);
    const now = (await client.query('SELECT bookiji_now() AS now')).rows[0]!.now as Date;
    const busy = parseBusyIntervals(icsText, {
      from: new Date(now.getTime() - ICS_LOOKBACK_DAYS * DAY_MS),
      to: new Date(now.getTime() + ICS_LOOKAHEAD_DAYS * DAY_MS),
      timezone: vendor.timezone,
      source: 'ics',
    });
    const imported = await client.query(
      'INSERT INTO vendor_calendar_imports (vendor_id, source_name, interval_count, imported_at) VALUES ($1, $2, $3, $4) RETURNING id',
      [vendor.id, sourceName.slice(0, 500), busy.length, now],
    );
    const importId = imported.rows[0]!.id as string;
    await client.query('DELETE FROM vendor_busy_intervals WHERE vendor_id = $1', [vendor.id]);
    await client.query(
      `INSERT INTO vendor_busy_intervals (vendor_id, import_id, starts_at, ends_at, source, uid)
       SELECT $1, $2, s, e, src, uid FROM unnest($3::timestamptz[], $4::timestamptz[], $5::text[], $6::text[]) AS t(s, e, src, uid)`,
      [vendor.id, importId, busy.map((b) => b.startsAt), busy.map((b) => b.endsAt), busy.map((b) => b.source), busy.map((b) => b.uid ?? null)],
    );
    return { importId, intervals: busy.length, importedAt: now };
  });
}

export interface ScheduleRefreshResult extends RefreshResult {
  window: { from: Date; to: Date };
  /** Generated slots not offered because they overlap a booked slot the rules dropped. */
  blocked: number;
}

/** The vendor's busy times (imported calendars) overlapping the window. */
async function busyIntervalsIn(client: Queryable, vendorId: string, window: { from: Date; to: Date }): Promise<BusyInterval[]> {
  const busyRows = await client.query(
    'SELECT starts_at, ends_at, source, uid FROM vendor_busy_intervals WHERE vendor_id = $1 AND ends_at > $2 AND starts_at < $3 ORDER BY starts_at',
    [vendorId, window.from, window.to],
  );
  return busyRows.rows.map((row) => ({
    startsAt: row.starts_at,
    endsAt: row.ends_at,
    source: row.source,
    ...(row.uid ? { uid: row.uid } : {}),
  }));
}

/** The vendor's slots starting in the window, with their active (confirmed or live held) bookings. */
async function slotsIn(client: Queryable, vendorId: string, window: { from: Date; to: Date }): Promise<ExistingSlot<string>[]> {
  const existing = await client.query(
    `SELECT s.id, s.starts_at, s.ends_at, s.legacy,
            (SELECT count(*) FROM bookings b WHERE b.vendor_id = s.vendor_id AND b.slot_id = s.id
               AND (b.state = 'confirmed' OR (b.state = 'held' AND b.hold_expires_at > bookiji_now()))) AS active
     FROM slots s WHERE s.vendor_id = $1 AND s.starts_at >= $2 AND s.starts_at < $3`,
    [vendorId, window.from, window.to],
  );
  return existing.rows.map((row) => ({
    id: row.id as string,
    startsAt: row.starts_at as Date,
    endsAt: row.ends_at as Date,
    activeBookings: Number(row.active),
    legacy: row.legacy as boolean,
  }));
}

/**
 * Regenerates the vendor's slots from its rules and busy times, from now to
 * its horizon, in one transaction. Two refreshes of one vendor queue on a
 * per-vendor advisory lock, so neither plans from slots the other is
 * replacing. I7 itself does not depend on the plan: refresh_vendor_slots
 * locks each slot and never deletes one with a booking.
 */
export async function refreshSchedule(pool: Pool, vendorInput: unknown, actor: Actor): Promise<ScheduleRefreshResult> {
  const { vendorId } = await getSchedule(pool, vendorInput);
  return withTransaction(pool, async (client) => {
    await client.query(`SELECT pg_advisory_xact_lock(hashtextextended('bookiji.schedule_refresh:' || $1::text, 0))`, [vendorId]);
    const stored = await client.query('SELECT *, bookiji_now() AS now FROM vendor_schedules WHERE vendor_id = $1', [vendorId]);
    const schedule = toSchedule(stored.rows[0]!);
    const now = stored.rows[0]!.now as Date;
    // The window reaches a day past the horizon so that every generated slot,
    // which starts by the horizon, also ends inside it.
    const window = { from: now, to: new Date(now.getTime() + (schedule.rules.maxDaysAhead + 2) * DAY_MS) };
    const busy = await busyIntervalsIn(client, vendorId, window);
    const generated = generateSlots(schedule.rules, { now, from: window.from, to: window.to, busy });
    const plan = diffSchedule(await slotsIn(client, vendorId, window), generated, window);
    // Generated slots overlapping a booked slot the rules drop would offer
    // time the vendor is already booked for.
    const blocked = new Set(plan.blocked.map((slot) => slot.startsAt.getTime()));
    const wanted = generated
      .filter((slot) => !blocked.has(slot.startsAt.getTime()))
      .map((slot) => ({
        starts_at: slot.startsAt.toISOString(),
        ends_at: slot.endsAt.toISOString(),
        capacity: slot.capacity,
        price_cents: schedule.priceCents,
        currency: schedule.currency,
      }));
    const refreshed = await client.query('SELECT * FROM refresh_vendor_slots($1, $2, $3, $4, $5, $6, $7)', [
      vendorId,
      window.from,
      window.to,
      JSON.stringify(wanted),
      actor.kind,
      actor.id ?? null,
      actor.source,
    ]);
    const row = refreshed.rows[0]!;
    return {
      created: row.created,
      kept: row.kept,
      madeLegacy: row.made_legacy,
      restored: row.restored,
      deleted: row.deleted,
      window,
      blocked: plan.blocked.length,
    };
  });
}
