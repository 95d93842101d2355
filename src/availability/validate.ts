// Strict validation of a vendor's schedule rules, where they enter the
// system. Every refusal is a VALIDATION_ERROR naming the exact field
// ('weeklyHours.3[1].end', 'overrides[0].date', …) so a CLI or HTTP caller can
// point at it. Unknown fields are refused rather than ignored: a misspelt
// 'bufferAfterMins' silently ignored would publish slots with no buffer.

import { validationError } from '../errors.js';
import { ianaZone, dateKeyMs, formatDateKey, wallMinutes } from './localTime.js';
import { ISO_WEEKDAYS, type DateOverride, type IsoWeekday, type ScheduleRules, type TimeRange } from './types.js';

/** Limits, unit last (STYLE §9). */
export const SCHEDULE_LIMITS = {
  slotDurationMinMin: 5,
  slotDurationMinMax: 1440,
  bufferMinMax: 1440,
  /** slotDuration + both buffers must fit in one day. */
  occupiedMinMax: 1440,
  minNoticeMinMax: 366 * 1440,
  maxDaysAheadMax: 366,
  capacityPerSlotMax: 10_000,
  rangesPerDayMax: 48,
  overridesMax: 1000,
} as const;

const RULE_FIELDS = new Set([
  'timezone',
  'weeklyHours',
  'overrides',
  'slotDurationMin',
  'bufferBeforeMin',
  'bufferAfterMin',
  'minNoticeMin',
  'maxDaysAhead',
  'capacityPerSlot',
]);

/** Fields that may be omitted, with the value they then take. */
const DEFAULTS = { overrides: [], bufferBeforeMin: 0, bufferAfterMin: 0, minNoticeMin: 0 } as const;

const WALL_TIME = /^([01]\d|2[0-3]):[0-5]\d$/;
const LOCAL_DATE = /^\d{4}-\d{2}-\d{2}$/;

/**
 * Validates and normalises schedule rules: every weekday 1..7 is present
 * (closed days as []), ranges are sorted by start, overrides by date.
 * `overrides`, `bufferBeforeMin`, `bufferAfterMin` and `minNoticeMin` may be
 * omitted (they default to [] and 0); every other field is required.
 */
export function validateScheduleRules(input: unknown): ScheduleRules {
  const raw = requireObject(input, 'rules');
  refuseUnknownFields(raw, RULE_FIELDS, '');

  const timezone = raw['timezone'];
  if (typeof timezone !== 'string' || timezone.length === 0) throw validationError('timezone', 'must be an IANA time zone name such as "Europe/Paris"');
  if (ianaZone(timezone) === null) throw validationError('timezone', `"${timezone}" is not a known IANA time zone`);

  const slotDurationMin = integerIn(raw['slotDurationMin'], 'slotDurationMin', SCHEDULE_LIMITS.slotDurationMinMin, SCHEDULE_LIMITS.slotDurationMinMax);
  const bufferBeforeMin = integerIn(orDefault(raw['bufferBeforeMin'], DEFAULTS.bufferBeforeMin), 'bufferBeforeMin', 0, SCHEDULE_LIMITS.bufferMinMax);
  const bufferAfterMin = integerIn(orDefault(raw['bufferAfterMin'], DEFAULTS.bufferAfterMin), 'bufferAfterMin', 0, SCHEDULE_LIMITS.bufferMinMax);
  if (slotDurationMin + bufferBeforeMin + bufferAfterMin > SCHEDULE_LIMITS.occupiedMinMax) {
    throw validationError('slotDurationMin', `slot plus buffers must not exceed ${SCHEDULE_LIMITS.occupiedMinMax} minutes`);
  }
  const minNoticeMin = integerIn(orDefault(raw['minNoticeMin'], DEFAULTS.minNoticeMin), 'minNoticeMin', 0, SCHEDULE_LIMITS.minNoticeMinMax);
  const maxDaysAhead = integerIn(raw['maxDaysAhead'], 'maxDaysAhead', 1, SCHEDULE_LIMITS.maxDaysAheadMax);
  const capacityPerSlot = integerIn(raw['capacityPerSlot'], 'capacityPerSlot', 1, SCHEDULE_LIMITS.capacityPerSlotMax);

  return {
    timezone,
    weeklyHours: validateWeeklyHours(raw['weeklyHours']),
    overrides: validateOverrides(orDefault(raw['overrides'], DEFAULTS.overrides)),
    slotDurationMin,
    bufferBeforeMin,
    bufferAfterMin,
    minNoticeMin,
    maxDaysAhead,
    capacityPerSlot,
  };
}

function validateWeeklyHours(input: unknown): Record<IsoWeekday, TimeRange[]> {
  const raw = requireObject(input, 'weeklyHours');
  for (const key of Object.keys(raw)) {
    if (!/^[1-7]$/.test(key)) throw validationError(`weeklyHours.${key}`, 'unknown weekday; use ISO weekdays 1 (Monday) to 7 (Sunday)');
  }
  const result = {} as Record<IsoWeekday, TimeRange[]>;
  for (const day of ISO_WEEKDAYS) {
    const ranges = raw[String(day)];
    result[day] = ranges === undefined ? [] : validateRanges(ranges, `weeklyHours.${day}`);
  }
  return result;
}

function validateOverrides(input: unknown): DateOverride[] {
  if (!Array.isArray(input)) throw validationError('overrides', 'must be an array of { date, hours }');
  if (input.length > SCHEDULE_LIMITS.overridesMax) throw validationError('overrides', `at most ${SCHEDULE_LIMITS.overridesMax} overrides`);
  const seen = new Set<string>();
  const overrides = input.map((item: unknown, index): DateOverride => {
    const field = `overrides[${index}]`;
    const raw = requireObject(item, field);
    refuseUnknownFields(raw, new Set(['date', 'hours']), field + '.');
    const date = raw['date'];
    if (typeof date !== 'string' || !LOCAL_DATE.test(date) || formatDateKey(dateKeyMs(date)) !== date) {
      throw validationError(`${field}.date`, 'must be a real calendar date YYYY-MM-DD');
    }
    if (seen.has(date)) throw validationError(`${field}.date`, `${date} is overridden twice`);
    seen.add(date);
    if (raw['hours'] === undefined) throw validationError(`${field}.hours`, 'is required ([] closes the date)');
    return { date, hours: validateRanges(raw['hours'], `${field}.hours`) };
  });
  return overrides.sort((a, b) => (a.date < b.date ? -1 : a.date > b.date ? 1 : 0));
}

function validateRanges(input: unknown, field: string): TimeRange[] {
  if (!Array.isArray(input)) throw validationError(field, 'must be an array of { start, end }');
  if (input.length > SCHEDULE_LIMITS.rangesPerDayMax) throw validationError(field, `at most ${SCHEDULE_LIMITS.rangesPerDayMax} ranges per day`);
  const ranges = input.map((item: unknown, index): TimeRange & { index: number } => {
    const itemField = `${field}[${index}]`;
    const raw = requireObject(item, itemField);
    refuseUnknownFields(raw, new Set(['start', 'end']), itemField + '.');
    const start = raw['start'];
    const end = raw['end'];
    if (typeof start !== 'string' || !WALL_TIME.test(start)) throw validationError(`${itemField}.start`, 'must be a time HH:MM between 00:00 and 23:59');
    if (typeof end !== 'string' || !(WALL_TIME.test(end) || end === '24:00'))
      throw validationError(`${itemField}.end`, 'must be a time HH:MM between 00:01 and 24:00');
    if (wallMinutes(end) <= wallMinutes(start))
      throw validationError(`${itemField}.end`, `must be after start (${start}); a range cannot cross midnight, split it at 24:00`);
    return { start, end, index };
  });
  const sorted = [...ranges].sort((a, b) => wallMinutes(a.start) - wallMinutes(b.start));
  for (let i = 1; i < sorted.length; i++) {
    const previous = sorted[i - 1]!;
    const current = sorted[i]!;
    if (wallMinutes(current.start) < wallMinutes(previous.end)) {
      // Name the range listed later; the message names the other one.
      const [named, other] = current.index > previous.index ? [current, previous] : [previous, current];
      throw validationError(`${field}[${named.index}]`, `${named.start}-${named.end} overlaps ${other.start}-${other.end}`);
    }
  }
  return sorted.map(({ start, end }) => ({ start, end }));
}

/** Only an absent field takes its default; an explicit null is refused by the type check. */
function orDefault(value: unknown, fallback: unknown): unknown {
  return value === undefined ? fallback : value;
}

function requireObject(input: unknown, field: string): Record<string, unknown> {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) throw validationError(field, 'must be an object');
  return input as Record<string, unknown>;
}

function refuseUnknownFields(raw: Record<string, unknown>, allowed: ReadonlySet<string>, prefix: string): void {
  for (const key of Object.keys(raw)) {
    if (!allowed.has(key)) throw validationError(`${prefix}${key}`, 'unknown field');
  }
}

function integerIn(value: unknown, field: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) throw validationError(field, 'must be an integer');
  if (value < min || value > max) throw validationError(field, `must be between ${min} and ${max}`);
  return value;
}
