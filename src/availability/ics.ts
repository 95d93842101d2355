// iCalendar (RFC 5545) import of busy times, with ical.js.
//
// What counts as busy:
// - every VEVENT occurrence overlapping [from, to), except TRANSP:TRANSPARENT
//   and STATUS:CANCELLED ones;
// - recurring events are expanded (RRULE, RDATE, EXDATE); an override
//   (a VEVENT with the series' UID and a RECURRENCE-ID) replaces the
//   occurrence it names, wherever it moves it, and a cancelled or transparent
//   override removes that occurrence;
// - an override whose series is missing is read as a standalone event;
// - RECURRENCE-ID;RANGE=THISANDFUTURE is read as an override of that one
//   occurrence only (later occurrences keep the series' times): the range
//   form is rare in exported calendars, and reading it narrowly never
//   invents busy time;
// - FREEBUSY periods of VFREEBUSY components, except FBTYPE=FREE.
//
// How times are read:
// - UTC times ('Z') are instants;
// - a TZID defined by a VTIMEZONE of the file is resolved by ical.js with that
//   definition (the file is authoritative about its own zones);
// - a TZID without a VTIMEZONE is read as an IANA zone (luxon); an unknown
//   one is refused rather than guessed;
// - floating times (no TZID, no 'Z') are read in `options.timezone`;
// - an all-day event (VALUE=DATE) is busy from the first instant of its first
//   local day to the first instant of the day after its last, in
//   `options.timezone` (pass the vendor's zone);
// - wall times in a DST gap or overlap follow `localTime.ts` (first instant
//   at which the clock reads that time or later).
//
// Durations follow RFC 5545 §3.3.6 and §3.8.5.3: an occurrence lasts exactly
// as long as DTEND − DTSTART of the series' first instance (real time);
// DURATION's days and weeks are nominal (calendar days), its hours, minutes
// and seconds exact; an all-day event lasts whole days. An event without end
// or duration lasts zero time and is not busy (an all-day one lasts one day).
//
// Bounded expansion: ical.js cannot jump ahead in a recurrence, so a series
// that started years ago costs one step per past occurrence. `expansionMax`
// caps the recurrence occurrences enumerated in the whole file, from each
// series' start up to `to`, and exceeding it is a VALIDATION_ERROR on 'ics'
// rather than minutes of CPU.
//
// Output: intervals overlapping [from, to), unclipped, sorted by startsAt,
// endsAt, uid; malformed input of any kind is a VALIDATION_ERROR on 'ics'.

import ICAL from 'ical.js';
import type { IANAZone } from 'luxon';
import { BookijiError, validationError } from '../errors.js';
import { DAY_MS, firstInstantAtOrAfter, ianaZone } from './localTime.js';
import type { BusyInterval } from './types.js';

export const ICS_LIMITS = {
  icsTextCharsMax: 10_000_000,
  expansionMaxDefault: 50_000,
  expansionMaxMax: 1_000_000,
} as const;

export interface ParseBusyOptions {
  from: Date;
  to: Date;
  /** Maximum recurrence occurrences enumerated in the whole file (default 50 000). */
  expansionMax?: number;
  /** IANA zone for floating times and all-day dates (default 'UTC'); pass the vendor's zone. */
  timezone?: string;
  /** Written to every interval's `source` (default 'ics'). */
  source?: string;
}

interface Context {
  fromMs: number;
  toMs: number;
  zone: IANAZone;
  source: string;
  expansionMax: number;
  expanded: number;
  out: BusyInterval[];
}

type IcalTime = InstanceType<typeof ICAL.Time>;
type IcalComponent = InstanceType<typeof ICAL.Component>;
type IcalProperty = InstanceType<typeof ICAL.Property>;

export function parseBusyIntervals(icsText: string, options: ParseBusyOptions): BusyInterval[] {
  const ctx = contextOf(options);
  if (typeof icsText !== 'string') throw validationError('ics', 'must be text');
  if (icsText.length > ICS_LIMITS.icsTextCharsMax) throw validationError('ics', `larger than ${ICS_LIMITS.icsTextCharsMax} characters`);
  try {
    for (const calendar of parseCalendars(icsText)) readCalendar(calendar, ctx);
  } catch (error) {
    if (error instanceof BookijiError) throw error;
    throw validationError('ics', `malformed iCalendar: ${error instanceof Error ? error.message : String(error)}`);
  }
  return ctx.out.sort(
    (a, b) => a.startsAt.getTime() - b.startsAt.getTime() || a.endsAt.getTime() - b.endsAt.getTime() || (a.uid ?? '').localeCompare(b.uid ?? ''),
  );
}

function contextOf(options: ParseBusyOptions): Context {
  const fromMs = options?.from instanceof Date ? options.from.getTime() : Number.NaN;
  const toMs = options?.to instanceof Date ? options.to.getTime() : Number.NaN;
  if (Number.isNaN(fromMs)) throw validationError('from', 'must be a valid Date');
  if (Number.isNaN(toMs)) throw validationError('to', 'must be a valid Date');
  if (toMs < fromMs) throw validationError('to', 'must not be before from');
  const expansionMax = options.expansionMax ?? ICS_LIMITS.expansionMaxDefault;
  if (!Number.isInteger(expansionMax) || expansionMax < 1 || expansionMax > ICS_LIMITS.expansionMaxMax) {
    throw validationError('expansionMax', `must be an integer between 1 and ${ICS_LIMITS.expansionMaxMax}`);
  }
  const zone = ianaZone(options.timezone ?? 'UTC');
  if (zone === null) throw validationError('timezone', `"${options.timezone}" is not a known IANA time zone`);
  return { fromMs, toMs, zone, source: options.source ?? 'ics', expansionMax, expanded: 0, out: [] };
}

function parseCalendars(icsText: string): IcalComponent[] {
  const parsed: unknown = ICAL.parse(icsText);
  // ICAL.parse returns one jCal component, or an array of them when the text
  // holds several top-level components (or none).
  const roots = Array.isArray(parsed) && typeof parsed[0] === 'string' ? [parsed] : (parsed as unknown[]);
  if (roots.length === 0) throw validationError('ics', 'no VCALENDAR found');
  return roots.map((root) => {
    const component = new ICAL.Component(root as unknown[]);
    if (component.name !== 'vcalendar') throw validationError('ics', `top-level component is ${component.name.toUpperCase()}, expected VCALENDAR`);
    return component;
  });
}

function readCalendar(calendar: IcalComponent, ctx: Context): void {
  const events = calendar.getAllSubcomponents('vevent');
  // Overrides by series UID, keyed by the instant of the occurrence they replace.
  const overridesByUid = new Map<string, Set<number>>();
  for (const event of events) {
    const uid = textOf(event, 'uid');
    if (!event.hasProperty('recurrence-id') || uid === undefined) continue;
    const recurrenceId = event.getFirstProperty('recurrence-id')!;
    const keys = overridesByUid.get(uid) ?? new Set<number>();
    keys.add(instantOf(timeValue(recurrenceId, uid), tzidOf(recurrenceId), ctx));
    overridesByUid.set(uid, keys);
  }
  for (const event of events) {
    const uid = textOf(event, 'uid');
    if (event.hasProperty('recurrence-id')) {
      // An override stands for one occurrence, wherever it moved it; its
      // series skips the occurrence it names. Without a series it is simply
      // one event.
      addSingle(event, uid, ctx);
    } else if (event.hasProperty('rrule') || event.hasProperty('rdate')) {
      expandSeries(event, uid, (uid !== undefined && overridesByUid.get(uid)) || new Set(), ctx);
    } else {
      addSingle(event, uid, ctx);
    }
  }
  for (const freeBusy of calendar.getAllSubcomponents('vfreebusy')) readFreeBusy(freeBusy, ctx);
}

function isBusy(event: IcalComponent): boolean {
  return textOf(event, 'transp')?.toUpperCase() !== 'TRANSPARENT' && textOf(event, 'status')?.toUpperCase() !== 'CANCELLED';
}

function addSingle(event: IcalComponent, uid: string | undefined, ctx: Context): void {
  if (!isBusy(event)) return;
  const dtstart = requireStart(event, uid);
  const start = timeValue(dtstart, uid);
  const startMs = instantOf(start, tzidOf(dtstart), ctx);
  push(startMs, endOf(event, start, startMs, exactDurationOf(event, startMs, uid, ctx), uid, ctx), uid, ctx);
}

function expandSeries(event: IcalComponent, uid: string | undefined, overridden: ReadonlySet<number>, ctx: Context): void {
  if (!isBusy(event)) return;
  const dtstart = requireStart(event, uid);
  const start = timeValue(dtstart, uid);
  const tzid = tzidOf(dtstart);
  const firstStartMs = instantOf(start, tzid, ctx);
  const exactDurationMs = exactDurationOf(event, firstStartMs, uid, ctx);
  // Converting a wall time to an instant costs several zone look-ups, and most
  // occurrences of an old series end long before `from`. An instant lies
  // within a day of its wall reading written as UTC (offsets are under 24 h),
  // and an occurrence lasts at most a day longer than the first one (DST), so
  // an occurrence whose wall reading is this far before `from` is skipped
  // unconverted.
  const skipBeforeWallMs = ctx.fromMs - (endOf(event, start, firstStartMs, exactDurationMs, uid, ctx) - firstStartMs) - 2 * DAY_MS;
  const excluded = exdatesOf(event, uid, ctx);
  const expansion = new ICAL.RecurExpansion({ component: event, dtstart: start });
  for (let occurrence = expansion.next(); occurrence; occurrence = expansion.next()) {
    ctx.expanded += 1;
    if (ctx.expanded > ctx.expansionMax) {
      throw validationError(
        'ics',
        `recurrence expansion exceeded ${ctx.expansionMax} occurrences (at event ${uid ?? 'without UID'}); narrow the window or raise expansionMax`,
      );
    }
    if (wallMsOf(occurrence) < skipBeforeWallMs) continue;
    const startMs = instantOf(occurrence, tzid, ctx);
    // Occurrences come in start order, so none after this one can overlap.
    if (startMs >= ctx.toMs) break;
    if (overridden.has(startMs) || excluded.has(startMs)) continue;
    push(startMs, endOf(event, occurrence, startMs, exactDurationMs, uid, ctx), uid, ctx);
  }
}

/** EXDATE instants, read with our own zone rules (ical.js compares them in its own; both must agree to keep an occurrence). */
function exdatesOf(event: IcalComponent, uid: string | undefined, ctx: Context): Set<number> {
  const excluded = new Set<number>();
  for (const property of event.getAllProperties('exdate')) {
    for (const value of property.getValues()) {
      if (!(value instanceof ICAL.Time)) throw validationError('ics', `EXDATE of event ${uid ?? 'without UID'} is not a date`);
      excluded.add(instantOf(value, tzidOf(property), ctx));
    }
  }
  return excluded;
}

function push(startMs: number, endMs: number, uid: string | undefined, ctx: Context): void {
  if (endMs <= startMs) return;
  if (endMs <= ctx.fromMs || startMs >= ctx.toMs) return;
  const interval: BusyInterval = { startsAt: new Date(startMs), endsAt: new Date(endMs), source: ctx.source };
  if (uid !== undefined) interval.uid = uid;
  ctx.out.push(interval);
}

/** DTEND − DTSTART in real time when the event has a DTEND; null otherwise. */
function exactDurationOf(event: IcalComponent, startMs: number, uid: string | undefined, ctx: Context): number | null {
  const dtend = event.getFirstProperty('dtend');
  if (!dtend) return null;
  const durationMs = instantOf(timeValue(dtend, uid), tzidOf(dtend), ctx) - startMs;
  if (durationMs < 0) throw validationError('ics', `event ${uid ?? 'without UID'} ends before it starts`);
  return durationMs;
}

function endOf(event: IcalComponent, start: IcalTime, startMs: number, exactDurationMs: number | null, uid: string | undefined, ctx: Context): number {
  const durationValue = event.getFirstPropertyValue('duration');
  if (durationValue !== null && !(durationValue instanceof ICAL.Duration))
    throw validationError('ics', `DURATION of event ${uid ?? 'without UID'} is not a duration`);
  if (durationValue?.isNegative) throw validationError('ics', `event ${uid ?? 'without UID'} has a negative DURATION`);
  const nominalDays = durationValue ? durationValue.weeks * 7 + durationValue.days : 0;
  const exactMs = durationValue ? ((durationValue.hours * 60 + durationValue.minutes) * 60 + durationValue.seconds) * 1000 : 0;

  if (start.isDate) {
    // All-day: whole local days. DTEND is exclusive; no end means one day.
    let days = 1;
    if (durationValue) days = nominalDays + Math.ceil(exactMs / DAY_MS);
    else if (exactDurationMs !== null) {
      const dtendValue = timeValue(event.getFirstProperty('dtend')!, uid);
      days = Math.round((plainDateMs(dtendValue) - plainDateMs(event.getFirstPropertyValue('dtstart') as IcalTime)) / DAY_MS);
    }
    return firstInstantAtOrAfter(ctx.zone, plainDateMs(start) + days * DAY_MS);
  }
  if (durationValue) {
    if (nominalDays === 0) return startMs + exactMs;
    const shifted = start.clone();
    shifted.day += nominalDays;
    const tzid = tzidOf(event.getFirstProperty('dtstart')!);
    return instantOf(shifted, tzid, ctx) + exactMs;
  }
  return exactDurationMs === null ? startMs : startMs + exactDurationMs;
}

function readFreeBusy(component: IcalComponent, ctx: Context): void {
  const uid = textOf(component, 'uid');
  for (const property of component.getAllProperties('freebusy')) {
    const kind = String(property.getParameter('fbtype') ?? 'BUSY').toUpperCase();
    if (kind === 'FREE') continue;
    for (const period of property.getValues()) {
      if (!(period instanceof ICAL.Period)) throw validationError('ics', 'FREEBUSY value is not a period');
      const startMs = instantOf(period.start, tzidOf(property), ctx);
      push(startMs, instantOf(period.getEnd(), tzidOf(property), ctx), uid, ctx);
    }
  }
}

/** The instant (epoch ms) of an ical.js time, by the rules in the header. */
function instantOf(time: IcalTime, tzid: string | undefined, ctx: Context): number {
  if (time.isDate) return firstInstantAtOrAfter(ctx.zone, plainDateMs(time));
  const zoneId = time.zone?.tzid;
  if (zoneId !== undefined && zoneId !== 'floating') return time.toUnixTime() * 1000;
  let zone = ctx.zone;
  if (tzid !== undefined) {
    const named = ianaZone(tzid);
    if (named === null) throw validationError('ics', `TZID "${tzid}" has no VTIMEZONE in the file and is not an IANA time zone`);
    zone = named;
  }
  return firstInstantAtOrAfter(zone, wallMsOf(time));
}

/** The wall reading of a time written as if it were UTC. */
function wallMsOf(time: IcalTime): number {
  return Date.UTC(time.year, time.month - 1, time.day, time.hour, time.minute, time.second);
}

function plainDateMs(time: IcalTime): number {
  return Date.UTC(time.year, time.month - 1, time.day);
}

function requireStart(event: IcalComponent, uid: string | undefined): IcalProperty {
  const dtstart = event.getFirstProperty('dtstart');
  if (!dtstart) throw validationError('ics', `VEVENT ${uid ?? 'without UID'} has no DTSTART`);
  return dtstart;
}

function timeValue(property: IcalProperty, uid: string | undefined): IcalTime {
  const value = property.getFirstValue();
  if (!(value instanceof ICAL.Time)) throw validationError('ics', `${property.name.toUpperCase()} of event ${uid ?? 'without UID'} is not a date or date-time`);
  return value;
}

function tzidOf(property: IcalProperty): string | undefined {
  const tzid = property.getParameter('tzid');
  return typeof tzid === 'string' && tzid.length > 0 ? tzid : undefined;
}

function textOf(component: IcalComponent, name: string): string | undefined {
  const value = component.getFirstPropertyValue(name);
  return typeof value === 'string' ? value : undefined;
}
