import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { diffSchedule } from '../../src/availability/diff.js';
import type { ExistingSlot, GeneratedSlot, SchedulePlan } from '../../src/availability/types.js';
import { diffDeletingBookedSlots } from './fixtures/brokenDiff.js';
import { MIN, validationField } from './helpers.js';

const BASE = Date.parse('2026-06-01T07:00:00Z');
const at = (offsetMin: number, lengthMin = 60) => ({ startsAt: new Date(BASE + offsetMin * MIN), endsAt: new Date(BASE + (offsetMin + lengthMin) * MIN) });
const gen = (offsetMin: number, lengthMin = 60): GeneratedSlot => ({ ...at(offsetMin, lengthMin), capacity: 1, localDate: '2026-06-01', localStart: 'xx:xx' });
const slot = (id: string, offsetMin: number, activeBookings = 0, legacy = false, lengthMin = 60): ExistingSlot<string> => ({
  id,
  ...at(offsetMin, lengthMin),
  activeBookings,
  legacy,
});

type Diff = (existing: ExistingSlot<string>[], generated: GeneratedSlot[]) => SchedulePlan<string>;

/** The planning invariants, written once so the twin test can run them against a broken planner. */
function planProperty(diff: Diff) {
  const existingArb = fc.array(
    fc.record({ offset: fc.integer({ min: 0, max: 40 }), length: fc.constantFrom(30, 60), bookings: fc.integer({ min: 0, max: 2 }), legacy: fc.boolean() }),
    { maxLength: 20 },
  );
  const generatedArb = fc.array(fc.record({ offset: fc.integer({ min: 0, max: 40 }), length: fc.constantFrom(30, 60) }), { maxLength: 20 });
  return fc.property(existingArb, generatedArb, (rawExisting, rawGenerated) => {
    const existing = rawExisting.map((e, i) => slot(`s${i}`, e.offset * 15, e.bookings, e.legacy, e.length));
    const generated = rawGenerated.map((g) => gen(g.offset * 15, g.length));
    const plan = diff(existing, generated);
    const listed = [...plan.keep, ...plan.markLegacy, ...plan.delete];
    expect([...listed].sort()).toEqual(existing.map((e) => e.id).sort());
    const byId = new Map(existing.map((e) => [e.id, e]));
    for (const id of plan.delete) expect(byId.get(id)!.activeBookings).toBe(0);
    for (const id of plan.markLegacy) expect(byId.get(id)!.activeBookings).toBeGreaterThan(0);
    for (const id of plan.revive) expect(plan.keep).toContain(id);
    for (const c of plan.create) {
      for (const id of plan.markLegacy) {
        const l = byId.get(id)!;
        expect(c.startsAt < l.endsAt && l.startsAt < c.endsAt).toBe(false);
      }
      // Nothing is created twice or next to an identical kept slot.
      const twins = existing.filter(
        (e) => plan.keep.includes(e.id) && e.startsAt.getTime() === c.startsAt.getTime() && e.endsAt.getTime() === c.endsAt.getTime(),
      );
      expect(twins).toEqual([]);
    }
    const createdKeys = plan.create.map((c) => `${c.startsAt.getTime()}/${c.endsAt.getTime()}`);
    expect(new Set(createdKeys).size).toBe(createdKeys.length);
    // Every distinct generated slot is kept, created or blocked.
    const distinct = new Set(generated.map((g) => `${g.startsAt.getTime()}/${g.endsAt.getTime()}`));
    expect(plan.keep.length + plan.create.length + plan.blocked.length).toBe(distinct.size);
  });
}

describe('diffSchedule', () => {
  // Proves the four outcomes: kept when produced, created when new, legacy when booked and gone, deleted when empty and gone.
  it('proves the four outcomes: kept when produced, created when new, legacy when booked and gone, deleted when empty and gone', () => {
    const plan = diffSchedule([slot('keep', 0), slot('booked', 120, 2), slot('empty', 240)], [gen(0), gen(60), gen(360)]);
    expect(plan).toEqual({ create: [gen(60), gen(360)], keep: ['keep'], revive: [], markLegacy: ['booked'], delete: ['empty'], blocked: [] });
  });

  // Proves a booked slot whose duration changed is not "produced": same start, new end ⇒ legacy, and the new slot over it is blocked.
  it('proves a booked slot whose duration changed is not "produced": same start, new end ⇒ legacy, and the new slot over it is blocked', () => {
    const plan = diffSchedule([slot('old', 0, 1)], [gen(0, 45), gen(60, 45)]);
    expect(plan.markLegacy).toEqual(['old']);
    expect(plan.delete).toEqual([]);
    expect(plan.blocked).toEqual([gen(0, 45)]);
    expect(plan.create).toEqual([gen(60, 45)]);
  });

  // Proves a legacy slot the rules produce again is kept and revived, and a legacy one without bookings left is deleted.
  it('proves a legacy slot the rules produce again is kept and revived, and a legacy one without bookings left is deleted', () => {
    const plan = diffSchedule([slot('back', 0, 1, true), slot('drained', 120, 0, true), slot('still', 240, 3, true)], [gen(0)]);
    expect(plan.keep).toEqual(['back']);
    expect(plan.revive).toEqual(['back']);
    expect(plan.delete).toEqual(['drained']);
    expect(plan.markLegacy).toEqual(['still']);
  });

  // Proves only overlap blocks: a new slot touching a legacy one is created.
  it('proves only overlap blocks: a new slot touching a legacy one is created', () => {
    const plan = diffSchedule([slot('legacy', 0, 1)], [gen(60), gen(30)]);
    expect(plan.create).toEqual([gen(60)]);
    expect(plan.blocked).toEqual([gen(30)]);
  });

  // Proves an empty slot that is no longer produced never blocks its replacement (it is deleted first).
  it('proves an empty slot that is no longer produced never blocks its replacement (it is deleted first)', () => {
    const plan = diffSchedule([slot('gone', 0)], [gen(30)]);
    expect(plan).toMatchObject({ create: [gen(30)], delete: ['gone'], blocked: [] });
  });

  // Proves the window limits the plan: slots starting outside it are in no list.
  it('proves the window limits the plan: slots starting outside it are in no list', () => {
    const plan = diffSchedule([slot('past', -1440), slot('inside', 0), slot('later', 2 * 1440)], [gen(0), gen(2 * 1440 + 60)], {
      from: new Date(BASE - 60 * MIN),
      to: new Date(BASE + 1440 * MIN),
    });
    expect(plan).toEqual({ create: [], keep: ['inside'], revive: [], markLegacy: [], delete: [], blocked: [] });
  });

  // Proves duplicates are resolved deterministically: one existing twin is kept, the other is planned as not produced.
  it('proves duplicates are resolved deterministically: one existing twin is kept, the other is planned as not produced', () => {
    const plan = diffSchedule([slot('b', 0, 1), slot('a', 0)], [gen(0), gen(0)]);
    expect(plan.keep).toEqual(['a']);
    expect(plan.markLegacy).toEqual(['b']);
    expect(plan.create).toEqual([]);
  });

  // Proves malformed existing slots are refused.
  it('proves malformed existing slots are refused', () => {
    expect(validationField(() => diffSchedule([{ ...slot('x', 0), activeBookings: -1 }], []))).toBe('existing[0].activeBookings');
    expect(validationField(() => diffSchedule([{ ...slot('x', 0), startsAt: new Date('bad') }], []))).toBe('existing[0].startsAt');
  });

  // Proves the planning invariants for arbitrary existing and generated slots.
  it('proves, for any inputs: every existing slot lands in exactly one list, a booked slot is never deleted, and no created slot overlaps a legacy one', () => {
    fc.assert(planProperty(diffSchedule), { numRuns: 300 });
  });

  // Proves the invariants can fail: a planner that deletes booked slots (breaking I7) is caught.
  it('proves the planning invariants reject a planner that deletes booked slots (twin)', () => {
    expect(fc.check(planProperty(diffDeletingBookedSlots), { numRuns: 300, seed: 7 }).failed).toBe(true);
  });
});
