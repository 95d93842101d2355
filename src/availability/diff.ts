// The pure planning half of a schedule refresh. Someone else applies the plan
// inside one SQL transaction; this file only decides.
//
// An existing slot "is produced" when a generated slot has exactly the same
// [startsAt, endsAt) (compared to the millisecond). Then, for every existing
// slot in the window, exactly one of:
//
//   produced                         → keep       (and revive if legacy)
//   not produced, activeBookings > 0 → markLegacy (never deleted: SPEC I7)
//   not produced, no active bookings → delete     (legacy ones included: their
//                                                  last booking has gone)
//
// Decision on legacy slots the new rules produce again: they are kept AND
// revived (legacy = false), because the vendor offers that time again and the
// slot's existing bookings are exactly what a fresh slot there would hold.
// Creating a second slot at the same time instead would split one
// appointment's capacity across two rows. `revive` lists them so the applier
// can update only those rows; `keep` ⊇ `revive`.
//
// Generated slots with no existing twin are created, except those that
// overlap a slot being marked legacy: the vendor is still booked then, so
// offering the new slot would double-book them. Those are reported in
// `blocked` instead. (Overlap is on [startsAt, endsAt) without buffers; to
// respect buffers too, pass the legacy slots as busy intervals to
// generateSlots, which makes this a backstop.)
//
// Applying order inside the transaction: delete, markLegacy, keep/revive,
// then create, so a deleted slot never collides with its replacement.
//
// Scope: when `window` is given, only existing and generated slots starting
// in [window.from, window.to) are planned; the others are left out of every
// list. Pass the window you generated for, or a refresh of next week would
// delete last month's slots.

import { validationError } from '../errors.js';
import type { ExistingSlot, GeneratedSlot, SchedulePlan } from './types.js';

export interface PlanWindow {
  from: Date;
  to: Date;
}

export function diffSchedule<Id>(existing: ReadonlyArray<ExistingSlot<Id>>, generated: readonly GeneratedSlot[], window?: PlanWindow): SchedulePlan<Id> {
  const inWindow = windowFilter(window);
  const existingSorted = existing
    .map((slot, index) => checkExisting(slot, index))
    .filter((slot) => inWindow(slot.startsAt.getTime()))
    .sort((a, b) => a.startsAt.getTime() - b.startsAt.getTime() || a.endsAt.getTime() - b.endsAt.getTime() || compareIds(a.id, b.id));

  // Generated slots by exact key; the first of any duplicates wins.
  const generatedByKey = new Map<string, GeneratedSlot>();
  for (const slot of [...generated].sort((a, b) => a.startsAt.getTime() - b.startsAt.getTime())) {
    if (!inWindow(slot.startsAt.getTime())) continue;
    const key = keyOf(slot);
    if (!generatedByKey.has(key)) generatedByKey.set(key, slot);
  }

  const plan: SchedulePlan<Id> = { create: [], keep: [], revive: [], markLegacy: [], delete: [], blocked: [] };
  const matchedKeys = new Set<string>();
  const legacyIntervals: Array<[number, number]> = [];
  for (const slot of existingSorted) {
    const key = keyOf(slot);
    if (generatedByKey.has(key) && !matchedKeys.has(key)) {
      matchedKeys.add(key);
      plan.keep.push(slot.id);
      if (slot.legacy) plan.revive.push(slot.id);
    } else if (slot.activeBookings > 0) {
      plan.markLegacy.push(slot.id);
      legacyIntervals.push([slot.startsAt.getTime(), slot.endsAt.getTime()]);
    } else {
      plan.delete.push(slot.id);
    }
  }

  for (const [key, slot] of generatedByKey) {
    if (matchedKeys.has(key)) continue;
    const start = slot.startsAt.getTime();
    const end = slot.endsAt.getTime();
    const clashes = legacyIntervals.some(([legacyStart, legacyEnd]) => legacyStart < end && start < legacyEnd);
    (clashes ? plan.blocked : plan.create).push(slot);
  }
  return plan;
}

function keyOf(slot: { startsAt: Date; endsAt: Date }): string {
  return `${slot.startsAt.getTime()}/${slot.endsAt.getTime()}`;
}

function windowFilter(window: PlanWindow | undefined): (startMs: number) => boolean {
  if (window === undefined) return () => true;
  const from = window.from?.getTime?.();
  const to = window.to?.getTime?.();
  if (typeof from !== 'number' || Number.isNaN(from)) throw validationError('window.from', 'must be a valid Date');
  if (typeof to !== 'number' || Number.isNaN(to)) throw validationError('window.to', 'must be a valid Date');
  if (to < from) throw validationError('window.to', 'must not be before window.from');
  return (startMs) => startMs >= from && startMs < to;
}

function checkExisting<Id>(slot: ExistingSlot<Id>, index: number): ExistingSlot<Id> {
  const field = `existing[${index}]`;
  if (!(slot.startsAt instanceof Date) || Number.isNaN(slot.startsAt.getTime())) throw validationError(`${field}.startsAt`, 'must be a valid Date');
  if (!(slot.endsAt instanceof Date) || Number.isNaN(slot.endsAt.getTime())) throw validationError(`${field}.endsAt`, 'must be a valid Date');
  if (!Number.isInteger(slot.activeBookings) || slot.activeBookings < 0) throw validationError(`${field}.activeBookings`, 'must be a non-negative integer');
  return slot;
}

/** A total order on ids of any primitive type, so ties sort deterministically. */
function compareIds(a: unknown, b: unknown): number {
  const x = String(a);
  const y = String(b);
  return x < y ? -1 : x > y ? 1 : 0;
}
