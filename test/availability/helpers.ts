// Shared builders for the availability tests.

import { BookijiError } from '../../src/errors.js';
import type { GeneratedSlot, ScheduleRules } from '../../src/availability/types.js';

export const MIN = 60_000;

/** Rules with every field at a neutral value, overridden by `partial`. */
export function rules(partial: Partial<ScheduleRules> = {}): ScheduleRules {
  return {
    timezone: 'UTC',
    weeklyHours: {},
    overrides: [],
    slotDurationMin: 60,
    bufferBeforeMin: 0,
    bufferAfterMin: 0,
    minNoticeMin: 0,
    maxDaysAhead: 366,
    capacityPerSlot: 1,
    ...partial,
  };
}

export function utc(iso: string): Date {
  return new Date(iso);
}

export function isoStarts(slots: GeneratedSlot[]): string[] {
  return slots.map((s) => s.startsAt.toISOString());
}

export function localStarts(slots: GeneratedSlot[]): string[] {
  return slots.map((s) => s.localStart);
}

/** Runs fn and returns the VALIDATION_ERROR's field, failing if fn does not throw one. */
export function validationField(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    if (error instanceof BookijiError && error.code === 'VALIDATION_ERROR') return String(error.details['field']);
    throw error;
  }
  throw new Error('expected a VALIDATION_ERROR, nothing was thrown');
}

/** Asserts the slot invariants that must hold on any day: exact duration, distinct and non-overlapping occupied intervals. */
export function assertWellFormed(slots: GeneratedSlot[], r: ScheduleRules): void {
  for (const slot of slots) {
    if (slot.endsAt.getTime() - slot.startsAt.getTime() !== r.slotDurationMin * MIN) {
      throw new Error(`slot ${slot.startsAt.toISOString()} lasts ${(slot.endsAt.getTime() - slot.startsAt.getTime()) / MIN} min`);
    }
  }
  for (let i = 1; i < slots.length; i++) {
    const previousOccupiedEnd = slots[i - 1]!.endsAt.getTime() + r.bufferAfterMin * MIN;
    const occupiedStart = slots[i]!.startsAt.getTime() - r.bufferBeforeMin * MIN;
    if (occupiedStart < previousOccupiedEnd) throw new Error(`slots ${i - 1} and ${i} overlap`);
  }
}
