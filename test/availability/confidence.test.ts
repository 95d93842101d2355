import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { scoreSlotConfidence, type SlotConfidenceInput } from '../../src/availability/confidence.js';
import { scoreRewardingHolds } from './fixtures/brokenConfidence.js';
import { validationField } from './helpers.js';

const HOUR = 3_600_000;
const calm: SlotConfidenceInput = { calendarDataAgeMs: 0, holdsInFlight: 0, capacityLeft: 1, capacity: 1, minutesUntilStart: 24 * 60 };
const score = (patch: Partial<SlotConfidenceInput>) => scoreSlotConfidence({ ...calm, ...patch }).score;

const inputArb = fc
  .record({
    calendarDataAgeMs: fc.oneof(fc.integer({ min: 0, max: 30 * 24 * HOUR }), fc.constant(Number.POSITIVE_INFINITY)),
    holdsInFlight: fc.integer({ min: 0, max: 50 }),
    capacity: fc.integer({ min: 1, max: 50 }),
    capacityLeftRatio: fc.double({ min: 0, max: 1, noNaN: true }),
    minutesUntilStart: fc.double({ min: -120, max: 10_000, noNaN: true }),
  })
  .map(({ capacityLeftRatio, ...rest }) => ({ ...rest, capacityLeft: Math.round(capacityLeftRatio * rest.capacity) }));

/** More holds never raise the score; written once so the twin test can run it against a broken score. */
function holdsProperty(score: typeof scoreSlotConfidence) {
  return fc.property(inputArb, fc.integer({ min: 0, max: 20 }), (input, extra) => {
    expect(score({ ...input, holdsInFlight: input.holdsInFlight + extra }).score).toBeLessThanOrEqual(score(input).score);
  });
}

describe('scoreSlotConfidence', () => {
  // Proves the documented formula at known points.
  it('proves the documented formula at known points', () => {
    expect(scoreSlotConfidence(calm)).toEqual({ score: 1, reasons: [] });
    expect(score({ calendarDataAgeMs: 6 * HOUR })).toBe(0.5);
    expect(score({ calendarDataAgeMs: 24 * HOUR })).toBe(0.2);
    expect(score({ holdsInFlight: 1 })).toBe(0.5);
    expect(score({ holdsInFlight: 1, capacityLeft: 3, capacity: 4 })).toBe(0.75);
    expect(score({ minutesUntilStart: 30 })).toBe(0.9);
    expect(score({ minutesUntilStart: 60 })).toBe(1);
    expect(score({ calendarDataAgeMs: 6 * HOUR, holdsInFlight: 1, minutesUntilStart: 30 })).toBe(0.225);
    expect(score({ capacityLeft: 0 })).toBe(0);
    expect(score({ minutesUntilStart: 0 })).toBe(0);
    expect(score({ calendarDataAgeMs: Number.POSITIVE_INFINITY })).toBe(0);
  });

  // Proves every factor below 1 is explained.
  it('proves every factor below 1 is explained', () => {
    const { reasons } = scoreSlotConfidence({ calendarDataAgeMs: 3 * HOUR, holdsInFlight: 2, capacityLeft: 1, capacity: 4, minutesUntilStart: 10 });
    expect(reasons).toEqual(['calendar data is 3 hour(s) old', '2 hold(s) in flight for 1 of 4 seat(s) left', 'starts in 10 minute(s)']);
  });

  // Proves the score stays within [0, 1].
  it('proves the score stays within [0, 1]', () => {
    fc.assert(
      fc.property(inputArb, (input) => {
        const { score: s } = scoreSlotConfidence(input);
        expect(s).toBeGreaterThanOrEqual(0);
        expect(s).toBeLessThanOrEqual(1);
      }),
    );
  });

  // Proves older calendar data never raises the score.
  it('proves older calendar data never raises the score', () => {
    fc.assert(
      fc.property(inputArb, fc.integer({ min: 0, max: 30 * 24 * HOUR }), (input, extra) => {
        expect(scoreSlotConfidence({ ...input, calendarDataAgeMs: input.calendarDataAgeMs + extra }).score).toBeLessThanOrEqual(
          scoreSlotConfidence(input).score,
        );
      }),
    );
  });

  // Proves more holds in flight never raise the score.
  it('proves more holds in flight never raise the score', () => {
    fc.assert(holdsProperty(scoreSlotConfidence));
  });

  // Proves the monotonicity check can fail: a score that rewards holds is caught.
  it('proves the holds property rejects a score that rises with holds (twin)', () => {
    expect(fc.check(holdsProperty(scoreRewardingHolds), { seed: 11 }).failed).toBe(true);
  });

  // Proves fewer seats left never raise the score.
  it('proves fewer seats left never raise the score', () => {
    fc.assert(
      fc.property(inputArb, fc.integer({ min: 0, max: 50 }), (input, fewer) => {
        const capacityLeft = Math.max(0, input.capacityLeft - fewer);
        expect(scoreSlotConfidence({ ...input, capacityLeft }).score).toBeLessThanOrEqual(scoreSlotConfidence(input).score);
      }),
    );
  });

  // Proves a later start never lowers the score.
  it('proves a later start never lowers the score', () => {
    fc.assert(
      fc.property(inputArb, fc.double({ min: 0, max: 10_000, noNaN: true }), (input, later) => {
        expect(scoreSlotConfidence({ ...input, minutesUntilStart: input.minutesUntilStart + later }).score).toBeGreaterThanOrEqual(
          scoreSlotConfidence(input).score,
        );
      }),
    );
  });

  // Proves the "very soon" penalty is slight: one minute before the start keeps at least 80% of the score an hour ahead.
  it('proves the "very soon" penalty is slight: one minute before the start keeps at least 80% of the score an hour ahead', () => {
    fc.assert(
      fc.property(inputArb, (input) => {
        const far = scoreSlotConfidence({ ...input, minutesUntilStart: 60 }).score;
        expect(scoreSlotConfidence({ ...input, minutesUntilStart: 1 }).score).toBeGreaterThanOrEqual(far * 0.8 - 0.001);
      }),
    );
  });

  // Proves impossible inputs are refused with the field named.
  it('proves impossible inputs are refused with the field named', () => {
    expect(validationField(() => scoreSlotConfidence({ ...calm, capacityLeft: 2 }))).toBe('capacityLeft');
    expect(validationField(() => scoreSlotConfidence({ ...calm, calendarDataAgeMs: -1 }))).toBe('calendarDataAgeMs');
    expect(validationField(() => scoreSlotConfidence({ ...calm, holdsInFlight: 0.5 }))).toBe('holdsInFlight');
    expect(validationField(() => scoreSlotConfidence({ ...calm, capacity: 0 }))).toBe('capacity');
    expect(validationField(() => scoreSlotConfidence({ ...calm, minutesUntilStart: Number.NaN }))).toBe('minutesUntilStart');
  });
});
