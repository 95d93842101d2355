// Proves the claim-path variants are built from the shipped function and
// refuse to build, rather than silently measure something else, when the
// shipped function no longer has the locking step they rewrite.

import { describe, expect, it } from 'vitest';
import { CLAIM_VARIANTS, VariantAnchorMissing } from '../../src/bench/claimVariants.js';

const LOCKING_PART = `  IF v_slot.booked_count >= v_slot.capacity AND NOT EXISTS (
       SELECT 1 FROM bookings WHERE false) THEN
    PERFORM raise_error('BK001', 'full');
  END IF;
  SELECT * INTO v_slot FROM slots WHERE vendor_id = v_slot.vendor_id AND id = p_slot_id FOR UPDATE;
  PERFORM expire_stale_holds_on_slot(v_slot.vendor_id, p_slot_id);
  SELECT * INTO v_slot FROM slots WHERE vendor_id = v_slot.vendor_id AND id = p_slot_id;
  IF v_slot.booked_count >= v_slot.capacity THEN
    PERFORM raise_error('BK001', 'full');
  END IF;
  UPDATE slots SET booked_count = booked_count + 1 WHERE vendor_id = v_slot.vendor_id AND id = p_slot_id;`;

// The same step as claim_slot has it since migration 0006.
const LOCKING_PART_0006 = LOCKING_PART.replace(
  'SELECT * INTO v_slot FROM slots WHERE vendor_id = v_slot.vendor_id AND id = p_slot_id FOR UPDATE;',
  'PERFORM lock_slots_for_write(v_slot.vendor_id, ARRAY[p_slot_id], v_slot.starts_at, v_slot.ends_at);\n  SELECT * INTO v_slot FROM slots WHERE vendor_id = v_slot.vendor_id AND id = p_slot_id;',
);

const variant = (name: string) => CLAIM_VARIANTS.find((candidate) => candidate.name === name)!;

describe('claim-path variants', () => {
  it.each([
    ['0004', LOCKING_PART],
    ['0006', LOCKING_PART_0006],
  ])('rewrite only the locking step of the %s form', (_form, shipped) => {
    expect(variant('shipped').build(shipped)).toBe(shipped);
    expect(variant('for-update').build(shipped)).toContain('IF false AND v_slot.booked_count >= v_slot.capacity AND NOT EXISTS (');
    for (const name of ['nowait', 'advisory-lock', 'advisory-try-lock', 'conditional-update']) {
      const built = variant(name).build(shipped);
      expect(built, name).not.toContain('lock_slots_for_write');
      expect(built, name).not.toContain('FOR UPDATE;');
      // v_slot is read again after the rewritten step, as the rest of the function expects.
      expect(built.split('SELECT * INTO v_slot FROM slots WHERE vendor_id = v_slot.vendor_id AND id = p_slot_id;').length, name).toBe(3);
    }
    expect(variant('nowait').build(shipped)).toContain('FOR UPDATE NOWAIT;');
    expect(variant('advisory-lock').build(shipped)).toContain('pg_advisory_xact_lock(hashtextextended(p_slot_id::text, 0))');
    const conditional = variant('conditional-update').build(shipped);
    expect(conditional).toContain('AND booked_count < capacity;');
    expect(conditional).toContain('IF v_slot.booked_count > v_slot.capacity THEN');
    expect(conditional).not.toContain('UPDATE slots SET booked_count = booked_count + 1 WHERE vendor_id = v_slot.vendor_id AND id = p_slot_id;');
  });

  it('refuse to build when the shipped function lost its locking step', () => {
    const changed = LOCKING_PART.replace(' FOR UPDATE;', ' FOR SHARE;');
    for (const name of ['nowait', 'conditional-update', 'advisory-lock', 'advisory-try-lock']) {
      expect(() => variant(name).build(changed), name).toThrow(VariantAnchorMissing);
    }
  });
});
