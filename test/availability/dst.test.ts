import { describe, expect, it } from 'vitest';
import { generateSlots } from '../../src/availability/slots.js';
import type { ScheduleRules, TimeRange } from '../../src/availability/types.js';
import { wallClockGridSlots } from './fixtures/brokenSlots.js';
import { MIN, assertWellFormed, isoStarts, localStarts, rules, utc } from './helpers.js';

type Generate = typeof generateSlots;

const NOW = utc('2026-01-01T00:00:00Z');

/** Slots of one local date, its hours given as an override. */
function day(timezone: string, date: string, hours: TimeRange[], extra: Partial<ScheduleRules> = {}, generate: Generate = generateSlots) {
  const r = rules({ timezone, overrides: [{ date, hours }], ...extra });
  const midnightUtc = Date.parse(`${date}T00:00:00Z`);
  const window = { now: NOW, from: new Date(midnightUtc - 86_400_000), to: new Date(midnightUtc + 2 * 86_400_000) };
  const slots = generate(r, window).filter((s) => s.localDate === date);
  assertWellFormed(slots, r);
  return slots;
}

// The four DST checks the brief names, written once so that the twin tests
// at the end can run them against a broken generator.

function parisSpringDay(generate: Generate): void {
  const slots = day('Europe/Paris', '2026-03-29', [{ start: '00:00', end: '06:00' }], {}, generate);
  expect(isoStarts(slots)).toEqual([
    '2026-03-28T23:00:00.000Z',
    '2026-03-29T00:00:00.000Z',
    '2026-03-29T01:00:00.000Z',
    '2026-03-29T02:00:00.000Z',
    '2026-03-29T03:00:00.000Z',
  ]);
  expect(localStarts(slots)).toEqual(['00:00', '01:00', '03:00', '04:00', '05:00']);
}

function parisFallDay(generate: Generate): void {
  const slots = day('Europe/Paris', '2026-10-25', [{ start: '00:00', end: '06:00' }], {}, generate);
  expect(isoStarts(slots)).toEqual([
    '2026-10-24T22:00:00.000Z',
    '2026-10-24T23:00:00.000Z',
    '2026-10-25T00:00:00.000Z',
    '2026-10-25T01:00:00.000Z',
    '2026-10-25T02:00:00.000Z',
    '2026-10-25T03:00:00.000Z',
    '2026-10-25T04:00:00.000Z',
  ]);
  expect(localStarts(slots)).toEqual(['00:00', '01:00', '02:00', '02:00', '03:00', '04:00', '05:00']);
  expect(new Set(isoStarts(slots)).size).toBe(7);
}

function newYorkSpringDay(generate: Generate): void {
  const slots = day('America/New_York', '2026-03-08', [{ start: '00:00', end: '04:00' }], {}, generate);
  expect(localStarts(slots)).toEqual(['00:00', '01:00', '03:00']);
  expect(isoStarts(slots)).toEqual(['2026-03-08T05:00:00.000Z', '2026-03-08T06:00:00.000Z', '2026-03-08T07:00:00.000Z']);
}

function newYorkFallDay(generate: Generate): void {
  const slots = day('America/New_York', '2026-11-01', [{ start: '00:00', end: '04:00' }], {}, generate);
  expect(localStarts(slots)).toEqual(['00:00', '01:00', '01:00', '02:00', '03:00']);
  expect(isoStarts(slots)).toEqual([
    '2026-11-01T04:00:00.000Z',
    '2026-11-01T05:00:00.000Z',
    '2026-11-01T06:00:00.000Z',
    '2026-11-01T07:00:00.000Z',
    '2026-11-01T08:00:00.000Z',
  ]);
}

describe('Europe/Paris spring forward, 2026-03-29 (02:00 → 03:00)', () => {
  // Proves a 00:00–06:00 day has five real hours, so five hourly slots, none in the gap.
  it('proves a 00:00–06:00 day has five real hours, so five hourly slots, none in the gap', () => {
    parisSpringDay(generateSlots);
  });

  // Proves 30-minute slots over 01:00–04:00 skip the missing 02:00–02:59 instead of shifting them.
  it('proves 30-minute slots over 01:00–04:00 skip the missing 02:00–02:59 instead of shifting them', () => {
    const slots = day('Europe/Paris', '2026-03-29', [{ start: '01:00', end: '04:00' }], { slotDurationMin: 30 });
    expect(localStarts(slots)).toEqual(['01:00', '01:30', '03:00', '03:30']);
    expect(isoStarts(slots)).toEqual(['2026-03-29T00:00:00.000Z', '2026-03-29T00:30:00.000Z', '2026-03-29T01:00:00.000Z', '2026-03-29T01:30:00.000Z']);
  });

  // Proves a step that does not divide the gap is laid out in real time: 45-minute slots give 01:00 and 01:45 (ending 03:30 local).
  it('proves a step that does not divide the gap is laid out in real time: 45-minute slots give 01:00 and 01:45 (ending 03:30 local)', () => {
    const slots = day('Europe/Paris', '2026-03-29', [{ start: '01:00', end: '04:00' }], { slotDurationMin: 45 });
    expect(isoStarts(slots)).toEqual(['2026-03-29T00:00:00.000Z', '2026-03-29T00:45:00.000Z']);
    expect(slots[1]!.endsAt.toISOString()).toBe('2026-03-29T01:30:00.000Z');
  });

  // Proves a range lying wholly inside the gap yields no slot at all.
  it('proves a range lying wholly inside the gap yields no slot at all', () => {
    expect(day('Europe/Paris', '2026-03-29', [{ start: '02:00', end: '03:00' }], { slotDurationMin: 15 })).toEqual([]);
  });

  // Proves a range starting inside the gap starts at the transition (03:00 local), not at 03:30.
  it('proves a range starting inside the gap starts at the transition (03:00 local), not at 03:30', () => {
    const slots = day('Europe/Paris', '2026-03-29', [{ start: '02:30', end: '05:00' }]);
    expect(localStarts(slots)).toEqual(['03:00', '04:00']);
    expect(isoStarts(slots)).toEqual(['2026-03-29T01:00:00.000Z', '2026-03-29T02:00:00.000Z']);
  });

  // Proves a whole-day weekly schedule has 23 hourly slots that day and 24 on the days around it.
  it('proves a whole-day weekly schedule has 23 hourly slots that day and 24 on the days around it', () => {
    const r = rules({
      timezone: 'Europe/Paris',
      weeklyHours: { 6: [{ start: '00:00', end: '24:00' }], 7: [{ start: '00:00', end: '24:00' }], 1: [{ start: '00:00', end: '24:00' }] },
    });
    const slots = generateSlots(r, { now: NOW, from: utc('2026-03-27T00:00:00Z'), to: utc('2026-03-31T00:00:00Z') });
    assertWellFormed(slots, r);
    const count = (date: string) => slots.filter((s) => s.localDate === date).length;
    expect([count('2026-03-28'), count('2026-03-29'), count('2026-03-30')]).toEqual([24, 23, 24]);
    // Back to back across midnights and the transition: every real hour once.
    for (let i = 1; i < slots.length; i++) expect(slots[i]!.startsAt.getTime() - slots[i - 1]!.startsAt.getTime()).toBe(60 * MIN);
  });
});

describe('Europe/Paris fall back, 2026-10-25 (03:00 → 02:00)', () => {
  // Proves a 00:00–06:00 day has seven real hours, so seven hourly slots, 02:00 twice with distinct instants.
  it('proves a 00:00–06:00 day has seven real hours, so seven hourly slots, 02:00 twice with distinct instants', () => {
    parisFallDay(generateSlots);
  });

  // Proves 30-minute slots over 01:00–04:00 cover the repeated hour once per occurrence (8 slots).
  it('proves 30-minute slots over 01:00–04:00 cover the repeated hour once per occurrence (8 slots)', () => {
    const slots = day('Europe/Paris', '2026-10-25', [{ start: '01:00', end: '04:00' }], { slotDurationMin: 30 });
    expect(localStarts(slots)).toEqual(['01:00', '01:30', '02:00', '02:30', '02:00', '02:30', '03:00', '03:30']);
    expect(slots[0]!.startsAt.toISOString()).toBe('2026-10-24T23:00:00.000Z');
    expect(slots[7]!.endsAt.toISOString()).toBe('2026-10-25T03:00:00.000Z');
  });

  // Proves ranges split inside the repeated hour (00:00–02:30, 02:30–04:00) tile real time with no gap and no double.
  it('proves ranges split inside the repeated hour (00:00–02:30, 02:30–04:00) tile real time with no gap and no double', () => {
    const slots = day(
      'Europe/Paris',
      '2026-10-25',
      [
        { start: '00:00', end: '02:30' },
        { start: '02:30', end: '04:00' },
      ],
      { slotDurationMin: 30 },
    );
    expect(slots).toHaveLength(10);
    expect(slots[0]!.startsAt.toISOString()).toBe('2026-10-24T22:00:00.000Z');
    for (let i = 1; i < slots.length; i++) expect(slots[i]!.startsAt.getTime() - slots[i - 1]!.startsAt.getTime()).toBe(30 * MIN);
    // The boundary 02:30 is read as its first occurrence (02:30+02:00).
    expect(slots[5]!.startsAt.toISOString()).toBe('2026-10-25T00:30:00.000Z');
  });

  // Proves buffers are real time across the change: 50-minute slots with a 10-minute buffer after give 4 slots over 01:00–04:00.
  it('proves buffers are real time across the change: 50-minute slots with a 10-minute buffer after give 4 slots over 01:00–04:00', () => {
    const slots = day('Europe/Paris', '2026-10-25', [{ start: '01:00', end: '04:00' }], { slotDurationMin: 50, bufferAfterMin: 10 });
    expect(isoStarts(slots)).toEqual(['2026-10-24T23:00:00.000Z', '2026-10-25T00:00:00.000Z', '2026-10-25T01:00:00.000Z', '2026-10-25T02:00:00.000Z']);
  });

  // Proves a whole-day weekly schedule has 25 hourly slots that day.
  it('proves a whole-day weekly schedule has 25 hourly slots that day', () => {
    const r = rules({ timezone: 'Europe/Paris', weeklyHours: { 7: [{ start: '00:00', end: '24:00' }] } });
    const slots = generateSlots(r, { now: NOW, from: utc('2026-10-24T00:00:00Z'), to: utc('2026-10-27T00:00:00Z') });
    assertWellFormed(slots, r);
    expect(slots).toHaveLength(25);
    expect(slots.every((s) => s.localDate === '2026-10-25')).toBe(true);
  });
});

describe('America/New_York, 2026-03-08 (02:00 → 03:00) and 2026-11-01 (02:00 → 01:00)', () => {
  // Proves 00:00–04:00 on the spring-forward day has three hourly slots: 00:00, 01:00, 03:00.
  it('proves 00:00–04:00 on the spring-forward day has three hourly slots: 00:00, 01:00, 03:00', () => {
    newYorkSpringDay(generateSlots);
  });

  // Proves 00:00–04:00 on the fall-back day has five hourly slots, 01:00 EDT and 01:00 EST both present.
  it('proves 00:00–04:00 on the fall-back day has five hourly slots, 01:00 EDT and 01:00 EST both present', () => {
    newYorkFallDay(generateSlots);
  });

  // Proves 20-minute slots over 01:00–03:00 give 3 slots in spring (one real hour) and 9 in autumn (three real hours).
  it('proves 20-minute slots over 01:00–03:00 give 3 slots in spring (one real hour) and 9 in autumn (three real hours)', () => {
    expect(day('America/New_York', '2026-03-08', [{ start: '01:00', end: '03:00' }], { slotDurationMin: 20 })).toHaveLength(3);
    const autumn = day('America/New_York', '2026-11-01', [{ start: '01:00', end: '03:00' }], { slotDurationMin: 20 });
    expect(localStarts(autumn)).toEqual(['01:00', '01:20', '01:40', '01:00', '01:20', '01:40', '02:00', '02:20', '02:40']);
  });
});

describe('other zones', () => {
  // Proves a half-hour DST shift (Australia/Lord_Howe, 2026-10-04 02:00 → 02:30) removes exactly 30 minutes.
  it('proves a half-hour DST shift (Australia/Lord_Howe, 2026-10-04 02:00 → 02:30) removes exactly 30 minutes', () => {
    const slots = day('Australia/Lord_Howe', '2026-10-04', [{ start: '01:00', end: '04:00' }], { slotDurationMin: 30 });
    expect(localStarts(slots)).toEqual(['01:00', '01:30', '02:30', '03:00', '03:30']);
  });

  // Proves a midnight transition (America/Santiago, 2026-09-06 00:00 → 01:00) starts the day at 01:00.
  it('proves a midnight transition (America/Santiago, 2026-09-06 00:00 → 01:00) starts the day at 01:00', () => {
    const slots = day('America/Santiago', '2026-09-06', [{ start: '00:00', end: '03:00' }]);
    expect(localStarts(slots)).toEqual(['01:00', '02:00']);
  });
});

describe('twins: the same DST checks fail against a wall-clock-grid generator (luxon defaults)', () => {
  // Proves the checks above can fail: a generator that shifts gap times and collapses the repeated hour is caught on every DST day.
  it.each([
    ['Paris spring', parisSpringDay],
    ['Paris autumn', parisFallDay],
    ['New York spring', newYorkSpringDay],
    ['New York autumn', newYorkFallDay],
  ])('proves the %s check rejects the wall-clock grid', (_name, check) => {
    expect(() => check(wallClockGridSlots)).toThrow();
  });

  // Proves the twins fail for the DST reason and not by accident: on an ordinary day the broken generator passes the same kind of check.
  it('proves the wall-clock grid is right on an ordinary day', () => {
    const slots = day('Europe/Paris', '2026-06-14', [{ start: '00:00', end: '06:00' }], {}, wallClockGridSlots);
    expect(localStarts(slots)).toEqual(['00:00', '01:00', '02:00', '03:00', '04:00', '05:00']);
  });
});
