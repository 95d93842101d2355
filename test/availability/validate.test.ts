import { describe, expect, it } from 'vitest';
import { validateScheduleRules } from '../../src/availability/validate.js';
import { validateDroppingUnknownFields } from './fixtures/brokenValidate.js';
import { validationField } from './helpers.js';

const valid = {
  timezone: 'Europe/Paris',
  weeklyHours: {
    1: [
      { start: '13:00', end: '17:00' },
      { start: '09:00', end: '12:00' },
    ],
    5: [{ start: '18:00', end: '24:00' }],
  },
  overrides: [
    { date: '2026-12-25', hours: [] },
    { date: '2026-12-24', hours: [{ start: '09:00', end: '12:00' }] },
  ],
  slotDurationMin: 30,
  bufferBeforeMin: 5,
  bufferAfterMin: 10,
  minNoticeMin: 120,
  maxDaysAhead: 60,
  capacityPerSlot: 3,
};

/** `valid` with one field replaced (or removed when value is undefined). */
function withField(path: (string | number)[], value: unknown): unknown {
  const copy = structuredClone(valid) as Record<string, unknown>;
  let target = copy as Record<string | number, unknown>;
  for (const key of path.slice(0, -1)) target = target[key] as Record<string | number, unknown>;
  const last = path[path.length - 1]!;
  if (value === undefined) delete target[last];
  else target[last] = value;
  return copy;
}

describe('validateScheduleRules', () => {
  // Proves valid rules are normalised: all seven weekdays present, ranges and overrides sorted.
  it('proves valid rules are normalised: all seven weekdays present, ranges and overrides sorted', () => {
    const rules = validateScheduleRules(valid);
    expect(rules.weeklyHours).toEqual({
      1: [
        { start: '09:00', end: '12:00' },
        { start: '13:00', end: '17:00' },
      ],
      2: [],
      3: [],
      4: [],
      5: [{ start: '18:00', end: '24:00' }],
      6: [],
      7: [],
    });
    expect(rules.overrides.map((o) => o.date)).toEqual(['2026-12-24', '2026-12-25']);
    expect(rules.capacityPerSlot).toBe(3);
  });

  // Proves optional fields default to zero buffers, no notice and no overrides, and only those.
  it('proves optional fields default to zero buffers, no notice and no overrides, and only those', () => {
    const minimal = { timezone: 'UTC', weeklyHours: {}, slotDurationMin: 15, maxDaysAhead: 1, capacityPerSlot: 1 };
    expect(validateScheduleRules(minimal)).toMatchObject({ overrides: [], bufferBeforeMin: 0, bufferAfterMin: 0, minNoticeMin: 0 });
    expect(validationField(() => validateScheduleRules({ ...minimal, capacityPerSlot: undefined }))).toBe('capacityPerSlot');
    expect(validationField(() => validateScheduleRules({ ...minimal, bufferAfterMin: null }))).toBe('bufferAfterMin');
  });

  // Proves each listed case is refused, naming the field.
  it.each([
    ['an unknown top-level field', ['bufferAfterMins'], 5, 'bufferAfterMins'],
    ['an unknown field in a range', ['weeklyHours', 1, 0, 'label'], 'x', 'weeklyHours.1[0].label'],
    ['an unknown field in an override', ['overrides', 0, 'reason'], 'x', 'overrides[0].reason'],
    ['weekday 0', ['weeklyHours', 0], [], 'weeklyHours.0'],
    ['weekday 8', ['weeklyHours', 8], [], 'weeklyHours.8'],
    ['an unknown zone', ['timezone'], 'Mars/Olympus_Mons', 'timezone'],
    ['an offset instead of a zone', ['timezone'], '+01:00', 'timezone'],
    ['a missing zone', ['timezone'], undefined, 'timezone'],
    ['hour 25', ['weeklyHours', 1, 0, 'start'], '25:00', 'weeklyHours.1[0].start'],
    ['minute 60', ['weeklyHours', 1, 0, 'end'], '11:60', 'weeklyHours.1[0].end'],
    ['a one-digit hour', ['weeklyHours', 1, 0, 'start'], '9:00', 'weeklyHours.1[0].start'],
    ['24:00 as a start', ['weeklyHours', 1, 0, 'start'], '24:00', 'weeklyHours.1[0].start'],
    ['an end equal to the start', ['weeklyHours', 1, 0], { start: '13:00', end: '13:00' }, 'weeklyHours.1[0].end'],
    ['an end before the start (across midnight)', ['weeklyHours', 5, 0], { start: '22:00', end: '02:00' }, 'weeklyHours.5[0].end'],
    ['overlapping ranges', ['weeklyHours', 1, 1], { start: '16:00', end: '18:00' }, 'weeklyHours.1[1]'],
    [
      'overlapping override ranges',
      ['overrides', 1, 'hours'],
      [
        { start: '09:00', end: '12:00' },
        { start: '08:00', end: '09:30' },
      ],
      'overrides[1].hours[1]',
    ],
    ['a non-date override', ['overrides', 0, 'date'], '2026-02-30', 'overrides[0].date'],
    ['an override without hours', ['overrides', 0, 'hours'], undefined, 'overrides[0].hours'],
    ['a duplicate override date', ['overrides', 1, 'date'], '2026-12-25', 'overrides[1].date'],
    ['a zero slot duration', ['slotDurationMin'], 0, 'slotDurationMin'],
    ['a fractional slot duration', ['slotDurationMin'], 30.5, 'slotDurationMin'],
    ['a slot duration given as text', ['slotDurationMin'], '30', 'slotDurationMin'],
    ['a negative buffer', ['bufferBeforeMin'], -5, 'bufferBeforeMin'],
    ['a negative notice', ['minNoticeMin'], -1, 'minNoticeMin'],
    ['maxDaysAhead over 366', ['maxDaysAhead'], 367, 'maxDaysAhead'],
    ['maxDaysAhead of 0', ['maxDaysAhead'], 0, 'maxDaysAhead'],
    ['capacity 0', ['capacityPerSlot'], 0, 'capacityPerSlot'],
    ['slot plus buffers over a day', ['slotDurationMin'], 1430, 'slotDurationMin'],
    ['weekly hours as an array', ['weeklyHours'], [[]], 'weeklyHours'],
  ])('proves %s is refused, naming the field', (_what, path, value, field) => {
    expect(validationField(() => validateScheduleRules(withField(path, value)))).toBe(field);
  });

  // Proves ranges may touch (12:00–13:00 after 09:00–12:00) and more than 48 per day are refused.
  it('proves ranges may touch (12:00–13:00 after 09:00–12:00) and more than 48 per day are refused', () => {
    expect(() =>
      validateScheduleRules(
        withField(
          ['weeklyHours', 2],
          [
            { start: '09:00', end: '12:00' },
            { start: '12:00', end: '13:00' },
          ],
        ),
      ),
    ).not.toThrow();
    const many = Array.from({ length: 49 }, (_, i) => ({
      start: `${String(Math.floor(i / 2)).padStart(2, '0')}:${i % 2 ? '30' : '00'}`,
      end: `${String(Math.floor(i / 2)).padStart(2, '0')}:${i % 2 ? '59' : '29'}`,
    }));
    expect(validationField(() => validateScheduleRules(withField(['weeklyHours', 2], many)))).toBe('weeklyHours.2');
  });

  // Proves non-objects are refused.
  it('proves non-objects are refused', () => {
    expect(validationField(() => validateScheduleRules(null))).toBe('rules');
    expect(validationField(() => validateScheduleRules('{}'))).toBe('rules');
  });

  // Proves the unknown-field check can fail: a validator that drops unknown fields accepts the misspelt buffer the check refuses.
  it('proves the unknown-field check rejects a lenient validator (twin)', () => {
    const misspelt = withField(['bufferAfterMins'], 5);
    expect(validationField(() => validateScheduleRules(misspelt))).toBe('bufferAfterMins');
    expect(() => validationField(() => validateDroppingUnknownFields(misspelt))).toThrow('nothing was thrown');
    expect(validateDroppingUnknownFields(misspelt).bufferAfterMin).toBe(10);
  });
});
