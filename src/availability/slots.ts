// Slot generation: schedule rules → concrete slots, in real time.
//
// How a day becomes slots (all decisions in one place):
//
// 1. Local calendar days are walked in the vendor's zone. A date's ranges are
//    its override's hours when it has one (an empty override closes it),
//    otherwise its ISO weekday's weekly hours.
// 2. Each range [start, end) becomes the real interval [start⁺, end⁺) with
//    the rule of `localTime.ts`: t⁺ is the first instant at which the local
//    clock reads t or later. A range inside a spring-forward gap is empty; a
//    range across a fall-back keeps the repeated hour, once per occurrence.
// 3. The real interval is cut into back-to-back *occupied* intervals of
//    bufferBefore + slotDuration + bufferAfter real minutes starting at
//    start⁺; slot k starts bufferBefore after the k-th occupied interval
//    starts. An occupied interval that would end after end⁺ is dropped. So
//    buffers count as working time: with 09:00–17:00 and a 15-minute buffer
//    before, the first slot starts at 09:15.
// 4. Every step is real elapsed time; no slot start is computed from a wall
//    time, so nothing is ever shifted by a DST gap and every slot lasts
//    exactly slotDurationMin. The price: after a transition whose length is
//    not a multiple of the step, starts leave the wall-clock grid (a
//    01:00–04:00 range with 45-minute slots on a spring-forward day gives
//    01:00 and 01:45–03:30+02:00). On a fall-back day a range 01:00–04:00 has
//    four real hours and gives four hourly slots, two of which read 02:00.
// 5. A slot is offered when it starts after `now`, at or after
//    now + minNotice and `from`, before `to`, at or before the horizon
//    (`now` plus maxDaysAhead local calendar days, by luxon), and its occupied
//    interval overlaps no busy interval (half-open intervals: touching is not
//    overlapping, and an empty busy interval blocks nothing).
//
// The output is sorted by startsAt and depends only on the arguments.

import { DateTime } from 'luxon';
import { validationError } from '../errors.js';
import { DAY_MS, MINUTE_MS, formatDateKey, ianaZone, isoWeekdayOfKey, localDateKey, wallMinutes, wallParts, wallTimeToInstant } from './localTime.js';
import type { BusyInterval, GenerateSlotsOptions, GeneratedSlot, IsoWeekday, ScheduleRules, TimeRange } from './types.js';
import { validateScheduleRules } from './validate.js';

export function generateSlots(rulesInput: ScheduleRules, options: GenerateSlotsOptions): GeneratedSlot[] {
  // Re-validating is cheap and gives the invariants the walk relies on
  // (sorted, non-overlapping ranges; a known zone; bounded numbers).
  const rules = validateScheduleRules(rulesInput);
  const zone = ianaZone(rules.timezone)!;
  const nowMs = instantOf(options.now, 'now');
  const fromMs = options.from === undefined ? nowMs : instantOf(options.from, 'from');
  const toMs = options.to === undefined ? Number.POSITIVE_INFINITY : instantOf(options.to, 'to');
  if (toMs < fromMs) throw validationError('to', 'must not be before from');

  const horizonMs = DateTime.fromMillis(nowMs, { zone }).plus({ days: rules.maxDaysAhead }).toMillis();
  const lowestStartMs = Math.max(fromMs, nowMs + rules.minNoticeMin * MINUTE_MS, nowMs + 1);
  const highestStartMs = Math.min(horizonMs, toMs - 1);
  if (highestStartMs < lowestStartMs) return [];

  const busy = BusyIndex.from(options.busy ?? []);
  const overrides = new Map(rules.overrides.map((o) => [o.date, o.hours]));
  const bufferBeforeMs = rules.bufferBeforeMin * MINUTE_MS;
  const durationMs = rules.slotDurationMin * MINUTE_MS;
  const occupiedMs = bufferBeforeMs + durationMs + rules.bufferAfterMin * MINUTE_MS;

  const slots: GeneratedSlot[] = [];
  // One day of margin each side: a range's real interval lies within its own
  // date's [00:00⁺, 24:00⁺], but a wall clock that goes back across midnight
  // can make an instant's local date differ from the day that produced it.
  const firstDay = localDateKey(zone, lowestStartMs) - DAY_MS;
  const lastDay = localDateKey(zone, highestStartMs) + DAY_MS;
  for (let day = firstDay; day <= lastDay; day += DAY_MS) {
    for (const range of rangesOf(rules, overrides, day)) {
      const rangeStartMs = wallTimeToInstant(zone, day, wallMinutes(range.start));
      const rangeEndMs = wallTimeToInstant(zone, day, wallMinutes(range.end));
      if (rangeEndMs <= rangeStartMs) continue;
      // Zone look-ups cost microseconds each; a range without a transition
      // inside (offsets equal at both ends; zones never change twice in a
      // day) shares one offset for every slot's local date and time.
      const offsetAtStartMin = zone.offset(rangeStartMs);
      const offsetConstant = offsetAtStartMin === zone.offset(rangeEndMs - 1);
      for (let occupiedStart = rangeStartMs; occupiedStart + occupiedMs <= rangeEndMs; occupiedStart += occupiedMs) {
        const startMs = occupiedStart + bufferBeforeMs;
        if (startMs < lowestStartMs || startMs > highestStartMs) continue;
        if (busy.overlaps(occupiedStart, occupiedStart + occupiedMs)) continue;
        const offsetMin = offsetConstant ? offsetAtStartMin : zone.offset(startMs);
        slots.push(slotAt(startMs, offsetMin, durationMs, rules.capacityPerSlot));
      }
    }
  }
  return slots.sort((a, b) => a.startsAt.getTime() - b.startsAt.getTime());
}

function rangesOf(rules: ScheduleRules, overrides: Map<string, TimeRange[]>, day: number): TimeRange[] {
  return overrides.get(formatDateKey(day)) ?? rules.weeklyHours[isoWeekdayOfKey(day) as IsoWeekday] ?? [];
}

function slotAt(startMs: number, offsetMin: number, durationMs: number, capacity: number): GeneratedSlot {
  const { localDate, localTime } = wallParts(startMs, offsetMin);
  return { startsAt: new Date(startMs), endsAt: new Date(startMs + durationMs), capacity, localDate, localStart: localTime };
}

function instantOf(value: unknown, field: string): number {
  if (!(value instanceof Date) || Number.isNaN(value.getTime())) throw validationError(field, 'must be a valid Date');
  return value.getTime();
}

/**
 * Busy intervals sorted by start with a running maximum of ends, so "does
 * [a, b) overlap any busy interval" is one binary search instead of a scan.
 */
class BusyIndex {
  private constructor(
    private readonly starts: number[],
    private readonly maxEndUpTo: number[],
  ) {}

  static from(busy: readonly BusyInterval[]): BusyIndex {
    if (!Array.isArray(busy)) throw validationError('busy', 'must be an array');
    const intervals: Array<[number, number]> = [];
    busy.forEach((interval, index) => {
      const startMs = instantOf(interval?.startsAt, `busy[${index}].startsAt`);
      const endMs = instantOf(interval?.endsAt, `busy[${index}].endsAt`);
      if (endMs < startMs) throw validationError(`busy[${index}].endsAt`, 'must not be before startsAt');
      if (endMs > startMs) intervals.push([startMs, endMs]);
    });
    intervals.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    const maxEndUpTo: number[] = [];
    let maxEnd = Number.NEGATIVE_INFINITY;
    for (const [, end] of intervals) {
      maxEnd = Math.max(maxEnd, end);
      maxEndUpTo.push(maxEnd);
    }
    return new BusyIndex(
      intervals.map(([start]) => start),
      maxEndUpTo,
    );
  }

  overlaps(startMs: number, endMs: number): boolean {
    // Count the busy intervals starting before endMs; one of them overlaps
    // iff the latest end among them is after startMs.
    let lo = 0;
    let hi = this.starts.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.starts[mid]! < endMs) lo = mid + 1;
      else hi = mid;
    }
    return lo > 0 && this.maxEndUpTo[lo - 1]! > startMs;
  }
}
