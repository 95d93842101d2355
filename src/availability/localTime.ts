// Wall time ↔ instant conversion, with one precise rule for the two DST
// anomalies.
//
// The rule: a wall time t on local date D maps to t⁺, the FIRST INSTANT at
// which the vendor's clock reads t or later on D.
//
// - An ordinary wall time occurs once; t⁺ is that instant.
// - An ambiguous wall time (fall back, e.g. 02:30 on 2026-10-25 in
//   Europe/Paris occurs at 02:30+02:00 and again at 02:30+01:00) maps to its
//   first occurrence.
// - A missing wall time (spring forward, e.g. 02:30 on 2026-03-29 in
//   Europe/Paris never occurs) maps to the transition instant, when the clock
//   jumps from 01:59:59.999+01:00 to 03:00+02:00. It is NOT shifted by the
//   gap's length (luxon's default would give 03:30+02:00).
//
// Why this rule: t ↦ t⁺ is monotone (non-decreasing), so working ranges that
// are disjoint or adjacent in wall time stay disjoint or adjacent in real
// time. Ranges 00:00–02:30 and 02:30–04:00 on a fall-back day tile real time
// exactly, with no instant covered twice and none lost; a range lying wholly
// inside a spring-forward gap (02:00–03:00) becomes empty.

import { DateTime, IANAZone } from 'luxon';
import type { LocalDate, WallTime } from './types.js';

export const MINUTE_MS = 60_000;
export const DAY_MS = 86_400_000;

// Validating a zone builds an Intl.DateTimeFormat (milliseconds); an ICS
// import asks once per occurrence, so answers are memoised. Bounded, as the
// names come from user input.
const zoneCache = new Map<string, IANAZone | null>();
const zoneCacheSizeMax = 1000;

/** A validated IANA zone, or null when luxon (and the runtime's Intl) does not know the name. */
export function ianaZone(name: string): IANAZone | null {
  const cached = zoneCache.get(name);
  if (cached !== undefined) return cached;
  // Intl accepts some names that are not IANA zone identifiers (offsets such
  // as '+01:00' on newer runtimes); zone names are letters, digits and _+-/.
  const zone = /^[A-Za-z][A-Za-z0-9_+\-]*(\/[A-Za-z0-9_+\-]+)*$/.test(name) && IANAZone.isValidZone(name) ? IANAZone.create(name) : null;
  if (zoneCache.size >= zoneCacheSizeMax) zoneCache.clear();
  zoneCache.set(name, zone);
  return zone;
}

/** Minutes since local midnight of an 'HH:MM' string (validated elsewhere); '24:00' → 1440. */
export function wallMinutes(wall: WallTime): number {
  return Number(wall.slice(0, 2)) * 60 + Number(wall.slice(3, 5));
}

/** The plain calendar date as epoch ms of its UTC midnight; used only for date arithmetic. */
export function dateKeyMs(date: LocalDate): number {
  return Date.UTC(Number(date.slice(0, 4)), Number(date.slice(5, 7)) - 1, Number(date.slice(8, 10)));
}

export function formatDateKey(ms: number): LocalDate {
  return new Date(ms).toISOString().slice(0, 10);
}

/** ISO weekday (Monday = 1 … Sunday = 7) of a plain calendar date given by `dateKeyMs`. */
export function isoWeekdayOfKey(keyMs: number): number {
  const day = new Date(keyMs).getUTCDay();
  return day === 0 ? 7 : day;
}

/**
 * The first instant (epoch ms) at which the clock in `zone` reads the wall
 * reading `wallMs` or later. `wallMs` is the reading written as if it were UTC
 * (Date.UTC(year, month - 1, day, hour, minute, second)).
 */
export function firstInstantAtOrAfter(zone: IANAZone, wallMs: number): number {
  // A wall reading can only correspond to the offsets in force around it;
  // real zones never change offset twice within two days, so the offsets one
  // day before and one day after are the only candidates.
  const offsetBefore = zone.offset(wallMs - DAY_MS);
  const offsetAfter = zone.offset(wallMs + DAY_MS);
  let best: number | null = null;
  for (const offset of offsetBefore === offsetAfter ? [offsetBefore] : [offsetBefore, offsetAfter]) {
    const candidate = wallMs - offset * MINUTE_MS;
    if (zone.offset(candidate) === offset && (best === null || candidate < best)) best = candidate;
  }
  if (best !== null) return best;
  if (offsetBefore === offsetAfter) {
    // Two transitions within two days: not seen in real zones; fall back on luxon.
    const d = new Date(wallMs);
    return DateTime.fromObject(
      {
        year: d.getUTCFullYear(),
        month: d.getUTCMonth() + 1,
        day: d.getUTCDate(),
        hour: d.getUTCHours(),
        minute: d.getUTCMinutes(),
        second: d.getUTCSeconds(),
        millisecond: d.getUTCMilliseconds(),
      },
      { zone },
    ).toMillis();
  }
  // The reading falls in a gap: find the transition instant. At
  // `wallMs - offsetAfter` the old offset is still in force, at
  // `wallMs - offsetBefore` the new one already is (offsets grow in a gap).
  let lo = wallMs - offsetAfter * MINUTE_MS;
  let hi = wallMs - offsetBefore * MINUTE_MS;
  while (hi - lo > 1) {
    const mid = lo + Math.floor((hi - lo) / 2);
    if (zone.offset(mid) === offsetBefore) lo = mid;
    else hi = mid;
  }
  return hi;
}

/** t⁺ for a wall time in minutes since midnight (0–1440) on a plain date. */
export function wallTimeToInstant(zone: IANAZone, dateKey: number, minutesOfDay: number): number {
  return firstInstantAtOrAfter(zone, dateKey + minutesOfDay * MINUTE_MS);
}

/** The local date and clock reading of an instant under a known offset (minutes east of UTC). */
export function wallParts(instantMs: number, offsetMin: number): { localDate: LocalDate; localTime: WallTime } {
  const iso = new Date(instantMs + offsetMin * MINUTE_MS).toISOString();
  return { localDate: iso.slice(0, 10), localTime: iso.slice(11, 16) };
}

/** The local plain date (as `dateKeyMs`) of an instant. */
export function localDateKey(zone: IANAZone, instantMs: number): number {
  const wall = instantMs + zone.offset(instantMs) * MINUTE_MS;
  return wall - (((wall % DAY_MS) + DAY_MS) % DAY_MS);
}
