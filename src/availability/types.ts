// Glossary of the availability engine.
//
// - Vendor zone: the IANA time zone (`ScheduleRules.timezone`) in which all of
//   a vendor's wall-clock times (weekly hours, override dates) are read.
// - Wall time: a local clock reading, 'HH:MM' on a local calendar date
//   'YYYY-MM-DD'. A wall time can be missing (skipped by a spring-forward
//   gap) or ambiguous (repeated by a fall-back); see `localTime.ts`.
// - Instant: a point in real time (a `Date`, or epoch milliseconds inside the
//   engine). Durations are always measured between instants, never between
//   wall times.
// - Working range: one `{ start, end }` pair of wall times on one local date;
//   the vendor accepts bookings inside it. Ranges of one day never overlap.
// - Weekly hours: the working ranges of each ISO weekday (Monday = 1 …
//   Sunday = 7); a weekday without ranges is closed.
// - Override: the working ranges of one specific local date; they replace that
//   weekday's weekly hours entirely, and an empty list closes the date.
// - Slot: one bookable appointment of `slotDurationMin` real minutes, for up
//   to `capacityPerSlot` customers.
// - Buffers: preparation time before (`bufferBeforeMin`) and clean-up time
//   after (`bufferAfterMin`) a slot. A slot *occupies* the vendor for
//   [startsAt − bufferBefore, endsAt + bufferAfter); the occupied interval is
//   what must fit inside a working range, what must not overlap a busy
//   interval, and what consecutive slots pack back to back.
// - Minimum notice: slots starting sooner than `now + minNoticeMin` are not
//   offered. Horizon: slots starting later than `maxDaysAhead` local calendar
//   days after `now` are not offered.
// - Busy interval: a half-open span [startsAt, endsAt) of real time in which
//   the vendor is unavailable (imported from an external calendar, or any
//   other source). An empty busy interval blocks nothing.
// - Legacy slot: a slot that the current rules no longer produce but that
//   still has active bookings; it is kept for those bookings and hidden from
//   new ones (SPEC invariant I7).

/** A local clock reading 'HH:MM' (00:00–23:59; '24:00' only as a range end). */
export type WallTime = string;

/** A local calendar date 'YYYY-MM-DD'. */
export type LocalDate = string;

/** ISO weekday: Monday = 1 … Sunday = 7. */
export type IsoWeekday = 1 | 2 | 3 | 4 | 5 | 6 | 7;

export const ISO_WEEKDAYS: readonly IsoWeekday[] = [1, 2, 3, 4, 5, 6, 7];

/** A working range [start, end) in wall time; `end` may be '24:00' (midnight ending the day). */
export interface TimeRange {
  start: WallTime;
  end: WallTime;
}

export interface DateOverride {
  date: LocalDate;
  /** Replaces the weekday's hours on this date; [] closes the date. */
  hours: TimeRange[];
}

export interface ScheduleRules {
  /** IANA zone name, e.g. 'Europe/Paris'. */
  timezone: string;
  /** Working ranges per ISO weekday; a missing or empty weekday is closed. */
  weeklyHours: Partial<Record<IsoWeekday, TimeRange[]>>;
  overrides: DateOverride[];
  slotDurationMin: number;
  bufferBeforeMin: number;
  bufferAfterMin: number;
  minNoticeMin: number;
  maxDaysAhead: number;
  capacityPerSlot: number;
}

export interface GeneratedSlot {
  startsAt: Date;
  /** Always startsAt + slotDurationMin in real time. */
  endsAt: Date;
  capacity: number;
  /** Local date of startsAt in the vendor zone. */
  localDate: LocalDate;
  /** Local clock reading of startsAt in the vendor zone (two slots may share it on a fall-back day). */
  localStart: WallTime;
}

export interface BusyInterval {
  /** Inclusive start of the busy span. */
  startsAt: Date;
  /** Exclusive end of the busy span. */
  endsAt: Date;
  /** Where the interval came from, e.g. 'ics' or a calendar feed's name. */
  source: string;
  /** The iCalendar UID of the event, when there is one. */
  uid?: string;
}

export interface GenerateSlotsOptions {
  /** The current instant (the caller's trusted clock, e.g. the database's now()). */
  now: Date;
  /** Only slots starting at or after this instant (default: now). */
  from?: Date;
  /** Only slots starting before this instant (default: the horizon). */
  to?: Date;
  busy?: BusyInterval[];
}

/** A slot as stored, as far as schedule planning needs it. */
export interface ExistingSlot<Id> {
  id: Id;
  startsAt: Date;
  endsAt: Date;
  activeBookings: number;
  legacy: boolean;
}

/** What a schedule refresh must do; see `diff.ts` for the exact rules. */
export interface SchedulePlan<Id> {
  /** Generated slots with no existing slot of the same [startsAt, endsAt). */
  create: GeneratedSlot[];
  /** Existing slots the rules produce again; the applier sets legacy = false on all of them. */
  keep: Id[];
  /** The subset of `keep` that is legacy today and becomes live again. */
  revive: Id[];
  /** Existing slots no longer produced that still have active bookings. */
  markLegacy: Id[];
  /** Existing slots no longer produced and without active bookings. */
  delete: Id[];
  /** Generated slots not created because they overlap a slot in `markLegacy`. */
  blocked: GeneratedSlot[];
}
