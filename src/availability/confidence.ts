// How sure we are that a slot shown as free can really be booked.
//
// ## Slot confidence (copy to the README)
//
//     freshness  = 1 / (1 + calendarDataAgeMs / 6 h)
//                  1 with fresh calendar data, ½ at 6 hours old, ⅕ at a day.
//     contention = capacityLeft / (capacityLeft + holdsInFlight)
//                  1 without holds; ½ when as many holds as seats are in
//                  flight; 0 when no seat is left.
//     lead       = 1 − 0.2 × max(0, 1 − minutesUntilStart / 60)
//                  1 an hour or more ahead, down to 0.8 just before the start.
//     score      = round(freshness × contention × lead, 3 decimals)
//                  and 0 once the slot has started (minutesUntilStart ≤ 0).
//
// Every factor lies in [0, 1] and moves in one direction only, so the score
// is monotone: never higher with older calendar data, more holds in flight or
// fewer seats left, never lower with more time until the start (rounding to 3
// decimals preserves this). `capacity` bounds `capacityLeft` and is otherwise
// informational. `reasons` names each factor below 1, in the order above.

import { validationError } from '../errors.js';

export const CONFIDENCE_CONSTANTS = {
  calendarAgeHalfMs: 6 * 3_600_000,
  soonWindowMin: 60,
  soonPenalty: 0.2,
} as const;

export interface SlotConfidenceInput {
  /** Time since the vendor's external calendar was last imported (0 without one); Infinity if never. */
  calendarDataAgeMs: number;
  /** Unexpired holds on the slot that are not yet bookings. */
  holdsInFlight: number;
  /** Seats not taken by bookings. */
  capacityLeft: number;
  capacity: number;
  minutesUntilStart: number;
}

export interface SlotConfidence {
  score: number;
  reasons: string[];
}

export function scoreSlotConfidence(input: SlotConfidenceInput): SlotConfidence {
  const { calendarDataAgeMs, holdsInFlight, capacityLeft, capacity, minutesUntilStart } = checked(input);
  const { calendarAgeHalfMs, soonWindowMin, soonPenalty } = CONFIDENCE_CONSTANTS;
  const reasons: string[] = [];

  if (minutesUntilStart <= 0) return { score: 0, reasons: ['the slot has already started'] };
  if (capacityLeft === 0) return { score: 0, reasons: ['no seat left'] };

  const freshness = 1 / (1 + calendarDataAgeMs / calendarAgeHalfMs);
  if (calendarDataAgeMs > 0) reasons.push(describeAge(calendarDataAgeMs));

  const contention = capacityLeft / (capacityLeft + holdsInFlight);
  if (holdsInFlight > 0) reasons.push(`${holdsInFlight} hold(s) in flight for ${capacityLeft} of ${capacity} seat(s) left`);

  const lead = 1 - soonPenalty * Math.max(0, 1 - minutesUntilStart / soonWindowMin);
  if (minutesUntilStart < soonWindowMin) reasons.push(`starts in ${Math.ceil(minutesUntilStart)} minute(s)`);

  return { score: Math.round(freshness * contention * lead * 1000) / 1000, reasons };
}

function checked(input: SlotConfidenceInput): SlotConfidenceInput {
  const { calendarDataAgeMs, holdsInFlight, capacityLeft, capacity, minutesUntilStart } = input;
  if (typeof calendarDataAgeMs !== 'number' || Number.isNaN(calendarDataAgeMs) || calendarDataAgeMs < 0) {
    throw validationError('calendarDataAgeMs', 'must be a non-negative number (Infinity if never imported)');
  }
  if (!Number.isInteger(capacity) || capacity < 1) throw validationError('capacity', 'must be a positive integer');
  if (!Number.isInteger(capacityLeft) || capacityLeft < 0 || capacityLeft > capacity)
    throw validationError('capacityLeft', `must be an integer between 0 and capacity (${capacity})`);
  if (!Number.isInteger(holdsInFlight) || holdsInFlight < 0) throw validationError('holdsInFlight', 'must be a non-negative integer');
  if (typeof minutesUntilStart !== 'number' || Number.isNaN(minutesUntilStart)) throw validationError('minutesUntilStart', 'must be a number');
  return input;
}

function describeAge(ageMs: number): string {
  if (!Number.isFinite(ageMs)) return 'calendar data was never imported';
  const minutes = Math.round(ageMs / 60_000);
  if (minutes < 120) return `calendar data is ${minutes} minute(s) old`;
  const hours = Math.round(minutes / 60);
  return `calendar data is ${hours < 48 ? `${hours} hour(s)` : `${Math.round(hours / 24)} day(s)`} old`;
}
