import fc from 'fast-check';
import { DateTime } from 'luxon';
import { describe, expect, it } from 'vitest';
import { generateSlots } from '../../src/availability/slots.js';
import type { BusyInterval, GeneratedSlot, IsoWeekday, ScheduleRules, TimeRange } from '../../src/availability/types.js';
import { busyIgnoringBuffers, wallClockGridSlots } from './fixtures/brokenSlots.js';
import { MIN, assertWellFormed, rules } from './helpers.js';

const DAY = 86_400_000;
// Each zone with its 2026 DST change days (where it has any) and a quiet day.
const ZONE_DAYS: Array<[string, string]> = [
  ['Europe/Paris', '2026-03-29'],
  ['Europe/Paris', '2026-10-25'],
  ['America/New_York', '2026-03-08'],
  ['America/New_York', '2026-11-01'],
  ['Australia/Lord_Howe', '2026-04-05'],
  ['Australia/Lord_Howe', '2026-10-04'],
  ['America/Santiago', '2026-04-05'],
  ['America/Santiago', '2026-09-06'],
  ['Australia/Sydney', '2026-04-05'],
  ['Pacific/Chatham', '2026-09-27'],
  ['Asia/Kathmandu', '2026-06-15'],
  ['UTC', '2026-06-15'],
  ['Europe/Paris', '2026-06-15'],
];
const NOW = new Date('2026-01-01T00:00:00Z');

const hhmm = (minutes: number) =>
  minutes === 1440 ? '24:00' : `${String(Math.floor(minutes / 60)).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`;

/** Up to three sorted, disjoint ranges from distinct boundaries. */
const rangesArb: fc.Arbitrary<TimeRange[]> = fc
  // Boundaries are drawn mostly from 00:00–04:00, where transitions happen.
  .uniqueArray(fc.oneof({ arbitrary: fc.integer({ min: 0, max: 1440 }), weight: 1 }, { arbitrary: fc.integer({ min: 0, max: 240 }), weight: 2 }), {
    maxLength: 6,
  })
  .map((bounds) => {
    const sorted = [...bounds].sort((a, b) => a - b);
    const ranges: TimeRange[] = [];
    for (let i = 0; i + 1 < sorted.length; i += 2) ranges.push({ start: hhmm(sorted[i]!), end: hhmm(sorted[i + 1]!) });
    return ranges;
  });

const scenarioArb = fc.record({
  zoneDay: fc.constantFrom(...ZONE_DAYS),
  weekly: fc.array(rangesArb, { minLength: 7, maxLength: 7 }),
  anchorOverride: fc.option(rangesArb, { nil: undefined }),
  slotDurationMin: fc.integer({ min: 5, max: 180 }),
  bufferBeforeMin: fc.integer({ min: 0, max: 30 }),
  bufferAfterMin: fc.integer({ min: 0, max: 30 }),
});
type Scenario = (typeof scenarioArb extends fc.Arbitrary<infer T> ? T : never) & { timezone: string; anchor: string };
const scenarios = scenarioArb.map((s): Scenario => ({ ...s, timezone: s.zoneDay[0], anchor: s.zoneDay[1] }));

function rulesOf(s: Scenario): ScheduleRules {
  const weeklyHours: Partial<Record<IsoWeekday, TimeRange[]>> = {};
  for (const [i, ranges] of s.weekly.entries()) weeklyHours[(i + 1) as IsoWeekday] = ranges;
  return rules({
    timezone: s.timezone,
    weeklyHours,
    overrides: s.anchorOverride ? [{ date: s.anchor, hours: s.anchorOverride }] : [],
    slotDurationMin: s.slotDurationMin,
    bufferBeforeMin: s.bufferBeforeMin,
    bufferAfterMin: s.bufferAfterMin,
  });
}

/** Five UTC days around the anchor; the three middle local days lie wholly inside. */
function windowOf(s: Scenario) {
  const anchor = Date.parse(`${s.anchor}T00:00:00Z`);
  return { now: NOW, from: new Date(anchor - 2 * DAY), to: new Date(anchor + 3 * DAY) };
}

function rangesOn(r: ScheduleRules, date: string): TimeRange[] {
  const override = r.overrides.find((o) => o.date === date);
  if (override) return override.hours;
  const weekday = DateTime.fromISO(date, { zone: 'UTC' }).weekday as IsoWeekday;
  return r.weeklyHours[weekday] ?? [];
}

/**
 * Oracle, independent of the engine: the first instant at which the clock in
 * `zone` reads `date time` or later, by scanning real time (15-minute steps,
 * then minutes; every offset and transition of these zones is on a whole minute).
 */
function firstReading(zone: string, date: string, time: string): number {
  const target = Date.parse(`${date}T${time === '24:00' ? '00:00' : time}:00Z`) + (time === '24:00' ? DAY : 0);
  const reading = (u: number) => {
    const d = DateTime.fromMillis(u, { zone });
    return Date.UTC(d.year, d.month - 1, d.day, d.hour, d.minute);
  };
  const coarse = 15 * MIN;
  let u = target - 15 * 3_600_000;
  while (reading(u) < target) u += coarse;
  let v = u - coarse + MIN;
  while (reading(v) < target) v += MIN;
  return v;
}

function occupied(slot: GeneratedSlot, r: ScheduleRules): [number, number] {
  return [slot.startsAt.getTime() - r.bufferBeforeMin * MIN, slot.endsAt.getTime() + r.bufferAfterMin * MIN];
}

const plusDays = (date: string, days: number) => DateTime.fromISO(date, { zone: 'UTC' }).plus({ days }).toISODate()!;

type Generate = typeof generateSlots;

/** Exact, disjoint, inside working hours (by the scanning oracle), and as many as each range's real length allows. */
function layoutProperty(generate: Generate) {
  return fc.property(scenarios, (s) => {
    const r = rulesOf(s);
    const slots = generate(r, windowOf(s));
    assertWellFormed(slots, r);
    expect(new Set(slots.map((x) => x.startsAt.getTime())).size).toBe(slots.length);

    const step = (r.slotDurationMin + r.bufferBeforeMin + r.bufferAfterMin) * MIN;
    for (const date of [plusDays(s.anchor, -1), s.anchor, plusDays(s.anchor, 1)]) {
      const ofDay = slots.filter((x) => x.localDate === date);
      let expected = 0;
      for (const range of rangesOn(r, date)) {
        const rangeStart = firstReading(s.timezone, date, range.start);
        const rangeEnd = firstReading(s.timezone, date, range.end);
        const inside = ofDay.filter((x) => occupied(x, r)[0] >= rangeStart && occupied(x, r)[1] <= rangeEnd);
        const count = Math.max(0, Math.floor((rangeEnd - rangeStart) / step));
        expect(inside.length).toBe(count);
        // Packed from the range's start, one block after another.
        for (const [k, x] of inside.entries()) expect(occupied(x, r)[0]).toBe(rangeStart + k * step);
        expected += count;
      }
      // No slot of the day lies outside its ranges.
      expect(ofDay.length).toBe(expected);
    }
  });
}

/** With busy intervals, the result is the free result minus the slots whose occupied interval (buffers included) overlaps one. */
function busyProperty(generate: Generate) {
  const busyArb = fc.array(fc.tuple(fc.integer({ min: 0, max: 5 * 24 * 60 }), fc.integer({ min: 0, max: 600 })), { maxLength: 8 });
  return fc.property(scenarios, busyArb, (s, raw) => {
    const r = rulesOf(s);
    const window = windowOf(s);
    const busy: BusyInterval[] = raw.map(([offsetMin, lengthMin]) => ({
      startsAt: new Date(window.from.getTime() + offsetMin * MIN),
      endsAt: new Date(window.from.getTime() + (offsetMin + lengthMin) * MIN),
      source: 'prop',
    }));
    const free = generateSlots(r, window);
    const withBusy = generate(r, { ...window, busy });
    const expected = free.filter((x) => {
      const [a, b] = occupied(x, r);
      return !busy.some((i) => i.startsAt.getTime() < b && a < i.endsAt.getTime() && i.endsAt.getTime() > i.startsAt.getTime());
    });
    expect(withBusy).toEqual(expected);
  });
}

describe('generateSlots properties', () => {
  // Proves, over DST days of eight zones, that every slot is exact, disjoint and inside hours, and that none is missing.
  it('proves slots are exact, disjoint, inside working hours, and as many as the real length of each range allows', () => {
    fc.assert(layoutProperty(generateSlots), { numRuns: 150 });
  });

  // Proves the busy check is exactly "occupied interval overlaps a busy one", no more and no less.
  it('proves busy intervals remove exactly the slots whose occupied interval overlaps one, and nothing else', () => {
    fc.assert(busyProperty(generateSlots), { numRuns: 100 });
  });

  // Proves notice and window are pure filters on one underlying schedule.
  it('proves notice, from and to only filter: the result equals the wide result restricted to the allowed starts', () => {
    fc.assert(
      fc.property(
        scenarios,
        fc.integer({ min: 0, max: 5 * 1440 }),
        fc.integer({ min: 0, max: 5 * 1440 }),
        fc.integer({ min: 0, max: 3000 }),
        (s, a, b, noticeMin) => {
          const r = rulesOf(s);
          const wide = windowOf(s);
          const base = wide.from.getTime();
          const from = new Date(base + Math.min(a, b) * MIN);
          const to = new Date(base + Math.max(a, b) * MIN);
          // `now` sits at the start of the wide window so the notice bites inside it.
          const now = new Date(base);
          const all = generateSlots(r, { now, from: new Date(base + 1), to: wide.to });
          const narrowed = generateSlots({ ...r, minNoticeMin: noticeMin }, { now, from, to });
          const earliest = Math.max(base + noticeMin * MIN, from.getTime(), base + 1);
          expect(narrowed).toEqual(all.filter((x) => x.startsAt.getTime() >= earliest && x.startsAt < to));
        },
      ),
      { numRuns: 100 },
    );
  });
});

describe('twins: the same properties fail against broken generators', () => {
  // Proves the layout property can fail: a wall-clock-grid generator is caught on DST days.
  it('proves the layout property rejects a wall-clock-grid generator', () => {
    expect(fc.check(layoutProperty(wallClockGridSlots), { numRuns: 200, seed: 20260329 }).failed).toBe(true);
  });

  // Proves the busy property can fail: forgetting buffers when checking busy time is caught.
  it('proves the busy property rejects a generator that ignores buffers for busy time', () => {
    expect(fc.check(busyProperty(busyIgnoringBuffers), { numRuns: 200, seed: 20261025 }).failed).toBe(true);
  });
});
