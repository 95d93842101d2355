import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseBusyIntervals } from '../../src/availability/ics.js';
import { generateSlots } from '../../src/availability/slots.js';
import { BookijiError } from '../../src/errors.js';
import { parseIgnoringExceptions } from './fixtures/brokenIcs.js';
import { rules, utc, validationField } from './helpers.js';

const fixture = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');
const MARCH_APRIL = { from: utc('2026-03-01T00:00:00Z'), to: utc('2026-05-01T00:00:00Z'), timezone: 'Europe/Paris' };
const spans = (intervals: { startsAt: Date; endsAt: Date }[]) => intervals.map((i) => `${i.startsAt.toISOString()} ${i.endsAt.toISOString()}`);

/** The VALIDATION_ERROR message of fn (fails if fn does not throw one on field 'ics'). */
function icsError(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    if (error instanceof BookijiError && error.code === 'VALIDATION_ERROR' && error.details['field'] === 'ics') return error.message;
    throw error;
  }
  throw new Error('expected a VALIDATION_ERROR on ics');
}

type Parse = typeof parseBusyIntervals;

/** The series check, written once so the twin test can run it against a broken importer. */
function weeklySeriesCheck(parse: Parse): void {
  const busy = parse(fixture('weekly-exdate-overrides.ics'), MARCH_APRIL);
  expect(spans(busy)).toEqual([
    '2026-03-16T09:00:00.000Z 2026-03-16T10:00:00.000Z', // 10:00 CET
    '2026-03-30T08:00:00.000Z 2026-03-30T09:00:00.000Z', // 10:00 CEST, after the change
    '2026-04-07T13:00:00.000Z 2026-04-07T14:30:00.000Z', // Apr 6 moved to Tue 15:00–16:30
    '2026-04-20T08:00:00.000Z 2026-04-20T09:00:00.000Z',
  ]);
  expect(busy.every((b) => b.uid === 'team-sync@example.com' && b.source === 'ics')).toBe(true);
}

describe('parseBusyIntervals: recurring events', () => {
  const weekly = fixture('weekly-exdate-overrides.ics');

  // Proves a weekly series drops its EXDATE, moves an overridden occurrence, drops a cancelled one, and follows its VTIMEZONE across DST.
  it('proves a weekly series drops its EXDATE, moves an overridden occurrence, drops a cancelled one, and follows its VTIMEZONE across DST', () => {
    weeklySeriesCheck(parseBusyIntervals);
  });

  // Proves the check above can fail: an importer that only expands the RRULE (no EXDATE, no overrides) is caught.
  it('proves the series check rejects an importer that ignores EXDATE and overrides (twin)', () => {
    expect(() => weeklySeriesCheck(parseIgnoringExceptions)).toThrow();
    // The broken importer does see the series itself: six weekly occurrences.
    expect(parseIgnoringExceptions(weekly, MARCH_APRIL)).toHaveLength(6);
  });

  // Proves an override moved into the window from outside its original date is found, and the window cuts the rest.
  it('proves an override moved into the window from outside its original date is found, and the window cuts the rest', () => {
    const busy = parseBusyIntervals(weekly, { from: utc('2026-04-07T00:00:00Z'), to: utc('2026-04-08T00:00:00Z') });
    expect(spans(busy)).toEqual(['2026-04-07T13:00:00.000Z 2026-04-07T14:30:00.000Z']);
  });

  // Proves the busy times feed slot generation: the 10:00 slot disappears on Mondays except the excluded, moved and cancelled ones.
  it('proves the busy times feed slot generation: the 10:00 slot disappears on Mondays except the excluded, moved and cancelled ones', () => {
    const r = rules({ timezone: 'Europe/Paris', weeklyHours: { 1: [{ start: '09:00', end: '12:00' }] } });
    const busy = parseBusyIntervals(weekly, { ...MARCH_APRIL, source: 'google:vendor-1' });
    const slots = generateSlots(r, { now: utc('2026-03-01T00:00:00Z'), from: utc('2026-03-16T00:00:00Z'), to: utc('2026-04-21T00:00:00Z'), busy });
    const byDate = new Map<string, string[]>();
    for (const s of slots) byDate.set(s.localDate, [...(byDate.get(s.localDate) ?? []), s.localStart]);
    expect(Object.fromEntries(byDate)).toEqual({
      '2026-03-16': ['09:00', '11:00'],
      '2026-03-23': ['09:00', '10:00', '11:00'],
      '2026-03-30': ['09:00', '11:00'],
      '2026-04-06': ['09:00', '10:00', '11:00'],
      '2026-04-13': ['09:00', '10:00', '11:00'],
      '2026-04-20': ['09:00', '11:00'],
    });
    expect(busy[0]!.source).toBe('google:vendor-1');
  });

  // Proves CRLF and LF line endings give the same result.
  it('proves CRLF and LF line endings give the same result', () => {
    expect(parseBusyIntervals(weekly.replace(/\r?\n/g, '\r\n'), MARCH_APRIL)).toEqual(parseBusyIntervals(weekly, MARCH_APRIL));
  });

  // Proves an IANA TZID without VTIMEZONE recurs at 09:00 local on both sides of a DST change.
  it('proves an IANA TZID without VTIMEZONE recurs at 09:00 local on both sides of a DST change', () => {
    const busy = parseBusyIntervals(fixture('daily-since-2010.ics'), { from: utc('2026-03-27T00:00:00Z'), to: utc('2026-03-31T00:00:00Z') });
    expect(busy.map((b) => b.startsAt.toISOString())).toEqual([
      '2026-03-27T08:00:00.000Z',
      '2026-03-28T08:00:00.000Z',
      '2026-03-29T07:00:00.000Z',
      '2026-03-30T07:00:00.000Z',
    ]);
    expect(busy.every((b) => b.endsAt.getTime() - b.startsAt.getTime() === 15 * 60_000)).toBe(true);
  });

  // Proves expansion is bounded: sixteen years of a daily series exceed expansionMax 1000 with a clear error, and fit the default.
  it('proves expansion is bounded: sixteen years of a daily series exceed expansionMax 1000 with a clear error, and fit the default', () => {
    const daily = fixture('daily-since-2010.ics');
    const window = { from: utc('2026-03-01T00:00:00Z'), to: utc('2026-03-08T00:00:00Z') };
    expect(icsError(() => parseBusyIntervals(daily, { ...window, expansionMax: 1000 }))).toMatch(/exceeded 1000 occurrences .*standup@example.com/);
    expect(parseBusyIntervals(daily, window)).toHaveLength(7);
  });
});

describe('parseBusyIntervals: single events', () => {
  // Proves all-day, floating, TZID-without-VTIMEZONE and DURATION events are placed exactly; transparent, cancelled, endless and out-of-window ones are not busy.
  it('proves all-day, floating, TZID-without-VTIMEZONE and DURATION events are placed exactly; transparent, cancelled, endless and out-of-window ones are not busy', () => {
    const busy = parseBusyIntervals(fixture('mixed-events.ics'), MARCH_APRIL);
    expect(busy.map((b) => `${b.uid} ${b.startsAt.toISOString()} ${b.endsAt.toISOString()}`)).toEqual([
      'iana-no-vtimezone@example.com 2026-03-10T13:00:00.000Z 2026-03-10T13:30:00.000Z', // 09:00 EDT
      'floating@example.com 2026-03-10T13:00:00.000Z 2026-03-10T14:00:00.000Z', // 14:00 Paris (CET)
      'duration@example.com 2026-03-11T16:00:00.000Z 2026-03-11T16:45:00.000Z',
      'all-day-two-days@example.com 2026-03-17T23:00:00.000Z 2026-03-19T23:00:00.000Z', // Paris midnight to midnight, DTEND exclusive
      'all-day-dst@example.com 2026-03-28T23:00:00.000Z 2026-03-29T22:00:00.000Z', // a 23-hour local day
    ]);
  });

  // Proves floating and all-day times follow the timezone option (UTC by default).
  it('proves floating and all-day times follow the timezone option (UTC by default)', () => {
    const busy = parseBusyIntervals(fixture('mixed-events.ics'), { from: MARCH_APRIL.from, to: MARCH_APRIL.to });
    expect(busy.find((b) => b.uid === 'floating@example.com')!.startsAt.toISOString()).toBe('2026-03-10T14:00:00.000Z');
    expect(busy.find((b) => b.uid === 'all-day-dst@example.com')!.endsAt.toISOString()).toBe('2026-03-30T00:00:00.000Z');
  });

  // Proves VFREEBUSY periods are busy unless FBTYPE=FREE.
  it('proves VFREEBUSY periods are busy unless FBTYPE=FREE', () => {
    const busy = parseBusyIntervals(fixture('freebusy.ics'), MARCH_APRIL);
    expect(spans(busy)).toEqual([
      '2026-03-10T09:00:00.000Z 2026-03-10T10:00:00.000Z',
      '2026-03-10T14:00:00.000Z 2026-03-10T14:30:00.000Z',
      '2026-03-10T16:00:00.000Z 2026-03-10T17:00:00.000Z',
    ]);
  });
});

describe('parseBusyIntervals: malformed input', () => {
  const wrap = (body: string) => `BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:x\n${body}\nEND:VCALENDAR\n`;

  // Proves each listed case is a VALIDATION_ERROR on ics.
  it.each([
    ['an unterminated VEVENT', fixture('malformed-unterminated.ics'), /malformed/],
    ['text that is not iCalendar', 'hello world', /malformed/],
    ['an empty text', '', /no VCALENDAR/],
    ['a vCard', 'BEGIN:VCARD\nVERSION:4.0\nFN:A\nEND:VCARD\n', /VCARD, expected VCALENDAR/],
    ['a VEVENT without DTSTART', wrap('BEGIN:VEVENT\nUID:a\nDTEND:20260310T100000Z\nEND:VEVENT'), /no DTSTART/],
    ['a VEVENT ending before it starts', wrap('BEGIN:VEVENT\nUID:a\nDTSTART:20260310T100000Z\nDTEND:20260310T090000Z\nEND:VEVENT'), /ends before it starts/],
    [
      'an unknown TZID without VTIMEZONE',
      wrap('BEGIN:VEVENT\nUID:a\nDTSTART;TZID=Nowhere Standard Time:20260310T100000\nDTEND;TZID=Nowhere Standard Time:20260310T110000\nEND:VEVENT'),
      /TZID "Nowhere Standard Time"/,
    ],
    ['an invalid date-time', wrap('BEGIN:VEVENT\nUID:a\nDTSTART:2026031X\nEND:VEVENT'), /./],
  ])('proves %s is a VALIDATION_ERROR on ics', (_what, text, message) => {
    expect(icsError(() => parseBusyIntervals(text, MARCH_APRIL))).toMatch(message);
  });

  // Proves bad options are refused with the option named.
  it('proves bad options are refused with the option named', () => {
    const text = fixture('freebusy.ics');
    expect(validationField(() => parseBusyIntervals(text, { from: utc('2026-05-01T00:00:00Z'), to: utc('2026-03-01T00:00:00Z') }))).toBe('to');
    expect(validationField(() => parseBusyIntervals(text, { ...MARCH_APRIL, expansionMax: 0 }))).toBe('expansionMax');
    expect(validationField(() => parseBusyIntervals(text, { ...MARCH_APRIL, timezone: 'Paris' }))).toBe('timezone');
  });
});
