// The availability query: a vendor's free slots in a window, each with a
// confidence score and a short explanation (src/availability/confidence.ts
// says how the score is computed). Reads the stored slots the schedule
// refresh produced, so what a partner sees is exactly what it can claim.

import { validationError } from '../errors.js';
import { queryWithRetry, type Pool } from '../db/pool.js';
import { requireInt, requireIsoTime, requireUuid } from '../engine/validate.js';
import { getVendor } from '../engine/vendors.js';
import { scoreSlotConfidence, type SlotConfidence } from '../availability/index.js';

/** The widest window one query may ask for. */
export const AVAILABILITY_WINDOW_DAYS_MAX = 62;

export interface AvailabilityQuery {
  vendorId: unknown;
  startTime: unknown;
  endTime: unknown;
  slotDuration?: unknown;
  includeConfidence?: boolean;
}

export interface AvailableSlot {
  slotId: string;
  startTime: string;
  endTime: string;
  capacity: number;
  available: number;
  priceCents: number;
  currency: string;
  confidence?: SlotConfidence;
  explanation: string;
}

export interface Availability {
  vendorId: string;
  timezone: string;
  startTime: string;
  endTime: string;
  computedAt: string;
  calendarImportedAt: string | null;
  slots: AvailableSlot[];
}

/**
 * An ISO 8601 time with a zone whose date exists: JavaScript reads
 * 2030-02-30 as 2 March, and a partner who sent it meant something else.
 */
export function requireCalendarTime(field: string, value: unknown): Date {
  const parsed = requireIsoTime(field, value);
  const [year, month, day] = String(value).slice(0, 10).split('-').map(Number) as [number, number, number];
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth) throw validationError(field, `no such date: ${String(value).slice(0, 10)}`);
  return parsed;
}

export async function queryAvailability(pool: Pool, query: AvailabilityQuery): Promise<Availability> {
  const vendorId = requireUuid('vendorId', query.vendorId);
  const startTime = requireCalendarTime('startTime', query.startTime);
  const endTime = requireCalendarTime('endTime', query.endTime);
  if (endTime <= startTime) throw validationError('endTime', 'must be after startTime');
  if (endTime.getTime() - startTime.getTime() > AVAILABILITY_WINDOW_DAYS_MAX * 86_400_000) {
    throw validationError('endTime', `the window may span at most ${AVAILABILITY_WINDOW_DAYS_MAX} days`);
  }
  const slotDurationMin = query.slotDuration === undefined ? null : requireInt('slotDuration', query.slotDuration, 1, 1440);
  const vendor = await getVendor(pool, vendorId);
  const result = await queryWithRetry(
    pool,
    `WITH counts AS (
       SELECT s.*,
              (SELECT count(*) FROM bookings b WHERE b.vendor_id = s.vendor_id AND b.slot_id = s.id AND b.state = 'confirmed') AS confirmed,
              (SELECT count(*) FROM bookings b WHERE b.vendor_id = s.vendor_id AND b.slot_id = s.id AND b.state = 'held'
                 AND b.hold_expires_at > bookiji_now()) AS holds
       FROM slots s
       WHERE s.vendor_id = $1 AND NOT s.legacy AND s.starts_at >= $2 AND s.starts_at < $3 AND s.starts_at > bookiji_now()
         AND ($4::integer IS NULL OR s.ends_at - s.starts_at = make_interval(mins => $4))
     )
     SELECT c.* FROM counts c WHERE c.capacity - c.confirmed - c.holds > 0
     ORDER BY c.starts_at, c.id LIMIT 5000`,
    [vendorId, startTime, endTime, slotDurationMin],
  );
  const meta = await queryWithRetry(
    pool,
    'SELECT bookiji_now() AS now, (SELECT max(imported_at) FROM vendor_calendar_imports WHERE vendor_id = $1) AS imported_at',
    [vendorId],
  );
  const now = meta.rows[0]!.now as Date;
  const importedAt = (meta.rows[0]!.imported_at as Date | null) ?? null;
  const slots = result.rows.map((row): AvailableSlot => {
    const capacity = Number(row.capacity);
    const capacityLeft = capacity - Number(row.confirmed);
    const holdsInFlight = Number(row.holds);
    const startsAt = row.starts_at as Date;
    const confidence = scoreSlotConfidence({
      // A vendor without an imported calendar has no calendar data to go
      // stale: its slots are the whole truth.
      calendarDataAgeMs: importedAt ? Math.max(0, now.getTime() - importedAt.getTime()) : 0,
      holdsInFlight,
      capacityLeft,
      capacity,
      minutesUntilStart: (startsAt.getTime() - now.getTime()) / 60_000,
    });
    const available = capacityLeft - holdsInFlight;
    const seats = `${available} of ${capacity} seat(s) free`;
    return {
      slotId: row.id,
      startTime: startsAt.toISOString(),
      endTime: (row.ends_at as Date).toISOString(),
      capacity,
      available,
      priceCents: Number(row.price_cents),
      currency: String(row.currency).trim(),
      ...(query.includeConfidence ? { confidence } : {}),
      explanation: confidence.reasons.length === 0 ? `${seats}; no holds in flight, calendar data current` : `${seats}; ${confidence.reasons.join('; ')}`,
    };
  });
  return {
    vendorId,
    timezone: vendor.timezone,
    startTime: startTime.toISOString(),
    endTime: endTime.toISOString(),
    computedAt: now.toISOString(),
    calendarImportedAt: importedAt ? importedAt.toISOString() : null,
    slots,
  };
}
