import { describe, expect, it } from 'vitest';
import { generateSlots } from '../../src/availability/slots.js';
import { busyIgnoringBuffers } from './fixtures/brokenSlots.js';
import { assertWellFormed, isoStarts, localStarts, rules, utc, validationField } from './helpers.js';

// 2026-06-01 is a Monday; Europe/Paris is at +02:00 all June.
const MONDAY_NOON_UTC = utc('2026-06-01T10:00:00Z'); // 12:00 in Paris
const paris = (partial: Parameters<typeof rules>[0] = {}) =>
  rules({ timezone: 'Europe/Paris', weeklyHours: { 1: [{ start: '09:00', end: '12:00' }] }, ...partial });
const NOW = utc('2026-05-01T00:00:00Z');
const MONDAY = { now: NOW, from: utc('2026-06-01T00:00:00Z'), to: utc('2026-06-02T00:00:00Z') };

type Generate = typeof generateSlots;
const busy = (start: string, end: string) => ({ startsAt: utc(start), endsAt: utc(end), source: 'test' });

// Buffer checks, written once so the twin test can run them against a broken generator.
function bufferAfterBlocks(generate: Generate): void {
  const r = paris({ slotDurationMin: 50, bufferAfterMin: 10 });
  expect(localStarts(generate(r, MONDAY))).toEqual(['09:00', '10:00', '11:00']);
  // 09:55–10:00 Paris lies in the buffer of the 09:00 slot and touches (does not overlap) the 10:00 slot's block.
  expect(localStarts(generate(r, { ...MONDAY, busy: [busy('2026-06-01T07:55:00Z', '2026-06-01T08:00:00Z')] }))).toEqual(['10:00', '11:00']);
}

function bufferBeforeBlocks(generate: Generate): void {
  const r = paris({ slotDurationMin: 45, bufferBeforeMin: 15 });
  expect(localStarts(generate(r, MONDAY))).toEqual(['09:15', '10:15', '11:15']);
  expect(localStarts(generate(r, { ...MONDAY, busy: [busy('2026-06-01T07:50:00Z', '2026-06-01T08:05:00Z')] }))).toEqual(['11:15']);
}

describe('generateSlots: cutting ranges', () => {
  // Proves a 09:00–12:00 range with 60-minute slots gives exactly 09:00, 10:00, 11:00 local, in UTC instants.
  it('proves a 09:00–12:00 range with 60-minute slots gives exactly 09:00, 10:00, 11:00 local, in UTC instants', () => {
    const slots = generateSlots(paris(), MONDAY);
    expect(isoStarts(slots)).toEqual(['2026-06-01T07:00:00.000Z', '2026-06-01T08:00:00.000Z', '2026-06-01T09:00:00.000Z']);
    expect(slots.map((s) => [s.localDate, s.localStart, s.capacity])).toEqual([
      ['2026-06-01', '09:00', 1],
      ['2026-06-01', '10:00', 1],
      ['2026-06-01', '11:00', 1],
    ]);
  });

  // Proves a range too short for a whole slot yields nothing and a remainder is dropped.
  it('proves a range too short for a whole slot yields nothing and a remainder is dropped', () => {
    expect(generateSlots(paris({ weeklyHours: { 1: [{ start: '09:00', end: '09:40' }] }, slotDurationMin: 45 }), MONDAY)).toEqual([]);
    expect(localStarts(generateSlots(paris({ slotDurationMin: 50 }), MONDAY))).toEqual(['09:00', '09:50', '10:40']);
  });

  // Proves buffers occupy working time: 45 min + 15 before + 10 after packs 70-minute blocks from 09:00.
  it('proves buffers occupy working time: 45 min + 15 before + 10 after packs 70-minute blocks from 09:00', () => {
    const r = paris({ slotDurationMin: 45, bufferBeforeMin: 15, bufferAfterMin: 10 });
    const slots = generateSlots(r, MONDAY);
    // Blocks 09:00–10:10, 10:10–11:20; the third would end 12:30 > 12:00.
    expect(localStarts(slots)).toEqual(['09:15', '10:25']);
    expect(slots[1]!.endsAt.toISOString()).toBe('2026-06-01T09:10:00.000Z');
    assertWellFormed(slots, r);
  });

  // Proves an end of 24:00 closes the day at midnight and the next day continues back to back.
  it('proves an end of 24:00 closes the day at midnight and the next day continues back to back', () => {
    const r = paris({ weeklyHours: { 1: [{ start: '22:00', end: '24:00' }], 2: [{ start: '00:00', end: '01:00' }] } });
    const slots = generateSlots(r, { now: NOW, from: utc('2026-06-01T00:00:00Z'), to: utc('2026-06-03T00:00:00Z') });
    expect(slots.map((s) => `${s.localDate} ${s.localStart}`)).toEqual(['2026-06-01 22:00', '2026-06-01 23:00', '2026-06-02 00:00']);
  });

  // Proves output is sorted by startsAt across days and ranges given out of order.
  it('proves output is sorted by startsAt across days and ranges given out of order', () => {
    const r = paris({
      weeklyHours: {
        1: [
          { start: '14:00', end: '15:00' },
          { start: '09:00', end: '10:00' },
        ],
        2: [{ start: '08:00', end: '09:00' }],
      },
    });
    const slots = generateSlots(r, { now: NOW, from: utc('2026-06-01T00:00:00Z'), to: utc('2026-06-03T00:00:00Z') });
    expect(slots.map((s) => `${s.localDate} ${s.localStart}`)).toEqual(['2026-06-01 09:00', '2026-06-01 14:00', '2026-06-02 08:00']);
  });
});

describe('generateSlots: closures and overrides', () => {
  // Proves an empty override closes a date that weekly hours would open, and only that date.
  it('proves an empty override closes a date that weekly hours would open, and only that date', () => {
    const r = paris({ overrides: [{ date: '2026-06-01', hours: [] }] });
    const slots = generateSlots(r, { now: NOW, from: utc('2026-06-01T00:00:00Z'), to: utc('2026-06-09T00:00:00Z') });
    expect(slots.map((s) => s.localDate)).toEqual(['2026-06-08', '2026-06-08', '2026-06-08']);
  });

  // Proves an override replaces the weekday hours instead of adding to them, and can open a closed weekday.
  it('proves an override replaces the weekday hours instead of adding to them, and can open a closed weekday', () => {
    const r = paris({
      overrides: [
        { date: '2026-06-01', hours: [{ start: '15:00', end: '16:00' }] },
        { date: '2026-06-02', hours: [{ start: '08:00', end: '09:00' }] },
      ],
    });
    const slots = generateSlots(r, { now: NOW, from: utc('2026-06-01T00:00:00Z'), to: utc('2026-06-03T00:00:00Z') });
    expect(slots.map((s) => `${s.localDate} ${s.localStart}`)).toEqual(['2026-06-01 15:00', '2026-06-02 08:00']);
  });

  // Proves a weekday without hours is closed.
  it('proves a weekday without hours is closed', () => {
    expect(generateSlots(paris(), { now: NOW, from: utc('2026-06-02T00:00:00Z'), to: utc('2026-06-08T00:00:00Z') })).toEqual([]);
  });
});

describe('generateSlots: notice, horizon and window', () => {
  // Proves min notice drops slots starting before now + minNotice and keeps one starting exactly then.
  it('proves min notice drops slots starting before now + minNotice and keeps one starting exactly then', () => {
    // now = 08:00 Paris; 60 min notice ⇒ earliest 09:00: all three remain; 61 ⇒ 09:00 goes.
    const window = { now: utc('2026-06-01T06:00:00Z'), to: utc('2026-06-02T00:00:00Z') };
    expect(localStarts(generateSlots(paris({ minNoticeMin: 60 }), window))).toEqual(['09:00', '10:00', '11:00']);
    expect(localStarts(generateSlots(paris({ minNoticeMin: 61 }), window))).toEqual(['10:00', '11:00']);
  });

  // Proves a slot starting exactly at now is never offered, even without notice (SPEC I5).
  it('proves a slot starting exactly at now is never offered, even without notice (SPEC I5)', () => {
    const slots = generateSlots(paris(), { now: utc('2026-06-01T08:00:00Z') });
    expect(localStarts(slots).slice(0, 1)).toEqual(['11:00']);
    expect(slots[0]!.localDate).toBe('2026-06-01');
  });

  // Proves the horizon is maxDaysAhead local days: a slot exactly at the horizon is kept, a later one is not.
  it('proves the horizon is maxDaysAhead local days: a slot exactly at the horizon is kept, a later one is not', () => {
    // now = Monday 09:00 Paris; horizon 7 days = next Monday 09:00.
    const now = utc('2026-06-01T07:00:00Z');
    const slots = generateSlots(paris({ maxDaysAhead: 7 }), { now });
    expect(slots.map((s) => `${s.localDate} ${s.localStart}`)).toEqual(['2026-06-01 10:00', '2026-06-01 11:00', '2026-06-08 09:00']);
  });

  // Proves the horizon counts calendar days, not 24-hour periods, across a DST change.
  it('proves the horizon counts calendar days, not 24-hour periods, across a DST change', () => {
    // now = Saturday 2026-03-28 10:00 Paris (+01:00); 2 days ahead = Monday 10:00 (+02:00), 47 real hours later.
    const r = rules({ timezone: 'Europe/Paris', weeklyHours: { 1: [{ start: '09:00', end: '12:00' }] }, maxDaysAhead: 2 });
    expect(localStarts(generateSlots(r, { now: utc('2026-03-28T09:00:00Z') }))).toEqual(['09:00', '10:00']);
  });

  // Proves from is inclusive and to exclusive.
  it('proves from is inclusive and to exclusive', () => {
    const slots = generateSlots(paris(), { now: NOW, from: utc('2026-06-01T08:00:00Z'), to: utc('2026-06-01T09:00:00Z') });
    expect(isoStarts(slots)).toEqual(['2026-06-01T08:00:00.000Z']);
  });

  // Proves bad options are refused with the field named.
  it('proves bad options are refused with the field named', () => {
    expect(validationField(() => generateSlots(paris(), { now: new Date('nope') }))).toBe('now');
    expect(validationField(() => generateSlots(paris(), { now: NOW, from: utc('2026-06-02T00:00:00Z'), to: utc('2026-06-01T00:00:00Z') }))).toBe('to');
    expect(validationField(() => generateSlots(paris({ slotDurationMin: 0 }), { now: NOW }))).toBe('slotDurationMin');
  });
});

describe('generateSlots: busy intervals', () => {
  // Proves a busy interval removes exactly the slots it overlaps; touching is not overlapping.
  it('proves a busy interval removes exactly the slots it overlaps; touching is not overlapping', () => {
    // Busy 10:00–10:30 Paris: removes 10:00 only; busy ending at 09:00 local and starting at 12:00 local remove nothing.
    const slots = generateSlots(paris(), {
      ...MONDAY,
      busy: [
        busy('2026-06-01T08:00:00Z', '2026-06-01T08:30:00Z'),
        busy('2026-06-01T06:00:00Z', '2026-06-01T07:00:00Z'),
        busy('2026-06-01T10:00:00Z', '2026-06-01T11:00:00Z'),
      ],
    });
    expect(localStarts(slots)).toEqual(['09:00', '11:00']);
  });

  // Proves buffers count for busy overlap: a meeting during the 10-minute clean-up after 09:00–09:50 removes that slot.
  it('proves buffers count for busy overlap: a meeting during the 10-minute clean-up after 09:00–09:50 removes that slot', () => {
    bufferAfterBlocks(generateSlots);
  });

  // Proves a buffer before is checked too: a meeting ending at 10:05 removes a slot starting 10:15 with a 15-minute buffer.
  it('proves a buffer before is checked too: a meeting ending at 10:05 removes a slot starting 10:15 with a 15-minute buffer', () => {
    bufferBeforeBlocks(generateSlots);
  });

  // Proves the two buffer checks above can fail: a generator that checks busy time against the bare slot passes neither.
  it('proves the buffer checks reject a generator that ignores buffers for busy time (twin)', () => {
    expect(() => bufferAfterBlocks(busyIgnoringBuffers)).toThrow();
    expect(() => bufferBeforeBlocks(busyIgnoringBuffers)).toThrow();
  });

  // Proves one long busy interval hides every slot under it even when listed among short ones, and an empty one blocks nothing.
  it('proves one long busy interval hides every slot under it even when listed among short ones, and an empty one blocks nothing', () => {
    const slots = generateSlots(paris({ weeklyHours: { 1: [{ start: '08:00', end: '18:00' }] } }), {
      ...MONDAY,
      busy: [
        busy('2026-06-01T06:30:00Z', '2026-06-01T12:10:00Z'),
        busy('2026-06-01T07:00:00Z', '2026-06-01T07:05:00Z'),
        busy('2026-06-01T14:30:00Z', '2026-06-01T14:30:00Z'),
      ],
    });
    expect(localStarts(slots)).toEqual(['15:00', '16:00', '17:00']);
  });

  // Proves a busy interval ending before it starts is refused.
  it('proves a busy interval ending before it starts is refused', () => {
    expect(validationField(() => generateSlots(paris(), { ...MONDAY, busy: [busy('2026-06-01T09:00:00Z', '2026-06-01T08:00:00Z')] }))).toBe('busy[0].endsAt');
  });
});
