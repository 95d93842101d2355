import { BookijiError, validationError } from '../errors.js';
import { queryWithRetry, type Pool } from '../db/pool.js';
import { actorArgs } from './actor.js';
import { toSlot } from './rows.js';
import type { Actor, Slot } from './types.js';
import { getVendor } from './vendors.js';
import { requireCurrency, requireInt, requireIsoTime, requireUuid } from './validate.js';

export interface SlotInput {
  vendor: unknown;
  start: unknown;
  end: unknown;
  capacity?: unknown;
  priceCents?: unknown;
  currency?: unknown;
}

/** A slot as people and scripts see it: with what is free now (expired holds count as free, I9). */
export interface SlotView extends Slot {
  available: number;
}

export async function addSlot(pool: Pool, input: SlotInput, actor: Actor): Promise<Slot> {
  const vendorId = requireUuid('vendor', input.vendor);
  const startsAt = requireIsoTime('start', input.start);
  const endsAt = requireIsoTime('end', input.end);
  if (endsAt <= startsAt) throw validationError('end', 'must be after start');
  if (endsAt.getTime() - startsAt.getTime() > 24 * 3600_000) throw validationError('end', 'a slot lasts at most 24 hours');
  const capacity = input.capacity === undefined ? 1 : requireInt('capacity', input.capacity, 1, 10_000);
  const priceCents = input.priceCents === undefined ? 0 : requireInt('price-cents', input.priceCents, 0, 100_000_000);
  const currency = input.currency === undefined ? 'EUR' : requireCurrency('currency', input.currency);
  await getVendor(pool, vendorId);
  try {
    const result = await queryWithRetry(
      pool,
      `WITH who AS (SELECT set_actor($6, $7, $8, 'slot added', $9))
       INSERT INTO slots (vendor_id, starts_at, ends_at, capacity, price_cents, currency)
       SELECT $1, $2, $3, $4, $5, $10 FROM who RETURNING *`,
      [vendorId, startsAt, endsAt, capacity, priceCents, ...actorArgs(actor), currency],
    );
    return toSlot(result.rows[0]!);
  } catch (error) {
    if (error instanceof BookijiError && error.details.constraint === 'slots_vendor_range_unique') {
      throw new BookijiError('VALIDATION_ERROR', `start: vendor ${vendorId} already has a slot from ${startsAt.toISOString()} to ${endsAt.toISOString()}`, {
        details: { field: 'start' },
        cause: error,
      });
    }
    throw error;
  }
}

// Expired holds are counted once per listing (a grouped join), not with a
// subquery per slot: measured 2.5 ms vs 90-360 ms for 1,440 slots, against
// 1.4 ms for a plain indexed SELECT of the same rows.
const SLOT_VIEW = `
  SELECT s.*, s.capacity - s.booked_count + coalesce(stale.n, 0) AS available
  FROM slots s
  LEFT JOIN (
    SELECT b.vendor_id, b.slot_id, count(*) AS n FROM bookings b
    WHERE b.state = 'held' AND b.hold_expires_at <= bookiji_now()
    GROUP BY b.vendor_id, b.slot_id
  ) stale ON stale.vendor_id = s.vendor_id AND stale.slot_id = s.id`;

function toSlotView(row: Record<string, unknown>): SlotView {
  return { ...toSlot(row), available: Number(row.available) };
}

export async function listSlots(
  pool: Pool,
  input: { vendor: unknown; from?: unknown; to?: unknown; includeLegacy?: boolean; limit?: number },
): Promise<SlotView[]> {
  const vendorId = requireUuid('vendor', input.vendor);
  const from = input.from === undefined ? null : requireIsoTime('from', input.from);
  const to = input.to === undefined ? null : requireIsoTime('to', input.to);
  const result = await queryWithRetry(
    pool,
    `${SLOT_VIEW}
     WHERE s.vendor_id = $1 AND ($2::timestamptz IS NULL OR s.starts_at >= $2) AND ($3::timestamptz IS NULL OR s.starts_at < $3)
       AND ($4 OR NOT s.legacy)
     ORDER BY s.starts_at, s.id LIMIT $5`,
    [vendorId, from, to, input.includeLegacy ?? false, input.limit ?? 1000],
  );
  // Only an empty answer needs the second round trip: no slots, or no vendor?
  if (result.rowCount === 0) await getVendor(pool, vendorId);
  return result.rows.map(toSlotView);
}

export async function getSlot(pool: Pool, slotId: unknown): Promise<SlotView> {
  const id = requireUuid('slot', slotId);
  const result = await queryWithRetry(pool, `${SLOT_VIEW} WHERE s.id = $1`, [id]);
  if (result.rowCount === 0) throw new BookijiError('SLOT_NOT_FOUND', `slot ${id} not found`, { details: { slotId: id } });
  return toSlotView(result.rows[0]!);
}

export interface WantedSlot {
  startsAt: Date;
  endsAt: Date;
  capacity: number;
  priceCents: number;
  currency: string;
}

export interface RefreshResult {
  created: number;
  kept: number;
  madeLegacy: number;
  restored: number;
  deleted: number;
}

/** Replaces the vendor's live slots in [from, to) by `wanted`, never deleting a booked slot (I7). */
export async function refreshVendorSlots(
  pool: Pool,
  vendorId: string,
  window: { from: Date; to: Date },
  wanted: WantedSlot[],
  actor: Actor,
): Promise<RefreshResult> {
  const payload = wanted.map((slot) => ({
    starts_at: slot.startsAt.toISOString(),
    ends_at: slot.endsAt.toISOString(),
    capacity: slot.capacity,
    price_cents: slot.priceCents,
    currency: slot.currency,
  }));
  const result = await queryWithRetry(pool, 'SELECT * FROM refresh_vendor_slots($1, $2, $3, $4, $5, $6, $7)', [
    requireUuid('vendor', vendorId),
    window.from,
    window.to,
    JSON.stringify(payload),
    actor.kind,
    actor.id ?? null,
    actor.source,
  ]);
  const row = result.rows[0]!;
  return { created: row.created, kept: row.kept, madeLegacy: row.made_legacy, restored: row.restored, deleted: row.deleted };
}
