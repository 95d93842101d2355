// Mutants of what keeps history: schedule refresh (I7), the audit log and
// its hash chain (I8), the state machine and its transition log (I10).

import { cancelBooking, claimSlot, rescheduleBooking } from '../../../engine/bookings.js';
import type { Pool } from '../../../db/pool.js';
import { expectOutcome, one, rawOutcome, refusedWrite, WITNESS_ACTOR, witnessVendor, type WitnessVendor } from '../fixtures.js';
import { alterGuard, rewriteFunction, triggerExists } from '../sqlEdit.js';
import type { Mutant, WitnessResult } from '../types.js';
import { refreshVendorSlots } from '../../../engine/slots.js';
import { AUDIT_DIGEST, BOOKING_STATE_MACHINE, REFRESH_SLOTS } from './signatures.js';

const RESTORE_GUARD = 'SELECT 1 FROM slots o WHERE o.vendor_id = p_vendor_id AND NOT o.legacy';
const MAKE_LEGACY = 'UPDATE slots SET legacy = true WHERE vendor_id = p_vendor_id AND id = v_slot.id;';
const MOVED_AWAY_HISTORY =
  'OR EXISTS (SELECT 1 FROM booking_transitions t WHERE t.vendor_id = p_vendor_id AND (t.from_slot_id = v_slot.id OR t.to_slot_id = v_slot.id))';
const DIGEST_BEFORE = "'action', p_action, 'before', p_before, 'after', p_after";
const MACHINE_CHECK = "IF NOT EXISTS (SELECT 1 FROM machine_transitions WHERE machine = 'booking' AND from_state = OLD.state AND to_state = NEW.state) THEN";

async function bookOne(pool: Pool, v: WitnessVendor, slotIndex = 0): Promise<string> {
  return (await claimSlot(pool, { slot: v.slots[slotIndex], customer: v.customers[0] }, WITNESS_ACTOR)).booking.id;
}

/** Refreshes the vendor's window around its slots to an empty schedule: every slot is dropped. */
async function dropWholeSchedule(pool: Pool, vendorId: string): Promise<void> {
  await pool.query(
    `SELECT * FROM refresh_vendor_slots($1, (SELECT min(starts_at) FROM slots WHERE vendor_id = $1), (SELECT max(ends_at) FROM slots WHERE vendor_id = $1), '[]'::jsonb, 'operator', 'witness', 'test')`,
    [vendorId],
  );
}

/** A booked audit row of the vendor edited with every trigger bypassed (as a superuser could), inside a transaction rolled back: does audit_verify see it? */
async function forgedBeforeIsDetected(pool: Pool, vendorId: string): Promise<WitnessResult> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query(`SET LOCAL session_replication_role = replica`);
    const edited = await client.query(
      `UPDATE audit_log SET before = jsonb_set(before, '{state}', '"forged"') WHERE vendor_id = $1 AND action = 'update' AND before IS NOT NULL AND seq = (SELECT max(seq) FROM audit_log WHERE vendor_id = $1 AND action = 'update')`,
      [vendorId],
    );
    const found = await client.query('SELECT count(*)::int AS n FROM audit_verify($1)', [vendorId]);
    const problems = Number(found.rows[0].n);
    return {
      held: edited.rowCount === 1 && problems > 0,
      observed: `audit_verify after forging the before image of one row: ${problems} problem(s) (the real engine: at least 1)`,
    };
  } finally {
    await client.query('ROLLBACK').catch(() => undefined);
    client.release();
  }
}

function dropTrigger(table: string, trigger: string, recreate?: string): (pool: Pool) => Promise<void> {
  return (pool) => alterGuard(pool, triggerExists(table, trigger), `DROP TRIGGER ${trigger} ON ${table}${recreate ? `; ${recreate}` : ''}`);
}

async function vendorWithHistory(pool: Pool): Promise<{ v: WitnessVendor; booking: string }> {
  const v = await witnessVendor(pool, [{ startInMinutes: 120 }], 1);
  const booking = await bookOne(pool, v);
  await cancelBooking(pool, { booking, reason: 'witness' }, WITNESS_ACTOR);
  return { v, booking };
}

export const RECORD_GUARD_MUTANTS: Mutant[] = [
  {
    id: 'refresh-leaves-dropped-slot-bookable',
    title: 'a schedule refresh keeps a dropped, booked slot live instead of legacy',
    language: 'sql',
    invariants: ['I7'],
    phase: 1,
    expectedCatcher: 'SimCity SC-10 guard probes (schedule refreshes that drop a booked slot)',
    source: { file: 'migrations/0006_engine_hardening.sql', original: MAKE_LEGACY, replacement: 'PERFORM 1;' },
    apply: (pool) => rewriteFunction(pool, REFRESH_SLOTS, MAKE_LEGACY, 'PERFORM 1;'),
    async witness({ normal }) {
      const v = await witnessVendor(normal, [{ startInMinutes: 120, capacity: 2 }], 2);
      await bookOne(normal, v);
      await dropWholeSchedule(normal, v.vendorId);
      const got = await rawOutcome(normal, `SELECT claim_slot($1, $2, false, NULL, NULL, NULL, 'operator', 'witness', 'test')`, [v.slots[0], v.customers[1]]);
      return expectOutcome('SQLSTATE BK001', got, 'a new claim on a booked slot the schedule dropped');
    },
  },
  {
    id: 'refresh-deletes-moved-bookings-slot',
    title: 'a schedule refresh deletes a slot whose booking moved away, orphaning its history',
    language: 'sql',
    invariants: ['I7'],
    phase: 1,
    expectedCatcher: 'SimCity SC-10 guard probes (refresh after a reschedule: the old slot stays as legacy)',
    source: { file: 'migrations/0006_engine_hardening.sql', original: MOVED_AWAY_HISTORY, replacement: '' },
    apply: (pool) => rewriteFunction(pool, REFRESH_SLOTS, MOVED_AWAY_HISTORY, ''),
    async witness({ normal }) {
      const v = await witnessVendor(normal, [{ startInMinutes: 120 }, { startInMinutes: 24 * 60 }], 1);
      const booking = await bookOne(normal, v);
      await rescheduleBooking(normal, { booking, slot: v.slots[1] }, WITNESS_ACTOR);
      await normal.query(
        `SELECT * FROM refresh_vendor_slots($1, (SELECT starts_at FROM slots WHERE id = $2), (SELECT ends_at FROM slots WHERE id = $2), '[]'::jsonb, 'operator', 'witness', 'test')`,
        [v.vendorId, v.slots[0]],
      );
      const kept = Number((await one<{ n: number }>(normal, 'SELECT count(*)::int AS n FROM slots WHERE id = $1', [v.slots[0]])).n);
      return {
        held: kept === 1,
        observed: `the slot a booking moved away from, after a refresh dropped it: ${kept === 1 ? 'kept as legacy' : 'DELETED'} (the real engine keeps it)`,
      };
    },
  },
  {
    id: 'bookings-not-audited',
    title: 'the audit triggers on bookings disabled',
    language: 'sql',
    invariants: ['I8'],
    phase: 1,
    expectedCatcher: 'the invariant check ending phase 1 (I8: every booking audited)',
    source: {
      file: 'migrations/0067_bookings_audit_after_transition.sql',
      original: 'CREATE TRIGGER bookings_zz_audit_insert AFTER INSERT ON bookings',
      replacement: 'ALTER TABLE bookings DISABLE TRIGGER bookings_zz_audit_insert (and bookings_audit, on UPDATE)',
    },
    apply: (pool) =>
      alterGuard(
        pool,
        triggerExists('bookings', 'bookings_zz_audit_insert'),
        'ALTER TABLE bookings DISABLE TRIGGER bookings_zz_audit_insert; ALTER TABLE bookings DISABLE TRIGGER bookings_audit',
      ),
    async witness({ normal }) {
      const v = await witnessVendor(normal, [{ startInMinutes: 120 }], 1);
      const booking = await bookOne(normal, v);
      const n = Number(
        (await one<{ n: number }>(normal, `SELECT count(*)::int AS n FROM audit_log WHERE entity = 'bookings' AND entity_id = $1`, [booking])).n,
      );
      return { held: n > 0, observed: `audit rows for a new booking: ${n} (the real engine: at least 1)` };
    },
  },
  {
    id: 'refresh-never-restores-removed-slot',
    title: 'a schedule refresh wanting a removed (legacy) slot again makes a second slot at its time instead of restoring it',
    language: 'sql',
    invariants: ['I7'],
    phase: 1,
    expectedCatcher: 'SimCity SC-10 change probes (schedule_restore: a dropped booked slot wanted again)',
    source: { file: 'migrations/0006_engine_hardening.sql', original: RESTORE_GUARD, replacement: 'SELECT 1 FROM slots o WHERE o.vendor_id = p_vendor_id' },
    apply: (pool) => rewriteFunction(pool, REFRESH_SLOTS, RESTORE_GUARD, 'SELECT 1 FROM slots o WHERE o.vendor_id = p_vendor_id'),
    async witness({ normal }) {
      const v = await witnessVendor(normal, [{ startInMinutes: 600, capacity: 2 }], 1);
      await bookOne(normal, v);
      const slot = await one<{ starts_at: Date; ends_at: Date }>(normal, 'SELECT starts_at, ends_at FROM slots WHERE id = $1', [v.slots[0]]);
      const window = { from: slot.starts_at, to: slot.ends_at };
      await refreshVendorSlots(normal, v.vendorId, window, [], WITNESS_ACTOR);
      const wanted = [{ startsAt: slot.starts_at, endsAt: slot.ends_at, capacity: 2, priceCents: 0, currency: 'EUR' }];
      const refreshed = await refreshVendorSlots(normal, v.vendorId, window, wanted, WITNESS_ACTOR);
      return {
        held: refreshed.restored === 1 && refreshed.created === 0,
        observed: `the refresh restored ${refreshed.restored} and created ${refreshed.created} (the real engine: 1 and 0)`,
      };
    },
  },
  {
    id: 'slots-not-audited',
    title: "the audit triggers on slots disabled (a slot's creation, removal and hand edits leave no audit row)",
    language: 'sql',
    invariants: ['I8'],
    phase: 1,
    expectedCatcher: 'SimCity SC-10 (every slot of the probe vendor has its insert audit row, every removed one its legacy flip)',
    source: {
      file: 'migrations/0053_slot_counter_audited_by_bookings.sql',
      original: 'CREATE TRIGGER slots_audit AFTER INSERT OR DELETE ON slots',
      replacement: 'ALTER TABLE slots DISABLE TRIGGER slots_audit (and slots_audit_update)',
    },
    apply: (pool) =>
      alterGuard(
        pool,
        triggerExists('slots', 'slots_audit'),
        'ALTER TABLE slots DISABLE TRIGGER slots_audit; ALTER TABLE slots DISABLE TRIGGER slots_audit_update',
      ),
    async witness({ normal }) {
      const v = await witnessVendor(normal, [{ startInMinutes: 120 }], 0);
      const n = Number(
        (await one<{ n: number }>(normal, `SELECT count(*)::int AS n FROM audit_log WHERE entity = 'slots' AND entity_id = $1`, [v.slots[0]])).n,
      );
      return { held: n > 0, observed: `audit rows for a new slot: ${n} (the real engine: 1)` };
    },
  },
  {
    id: 'booking-updates-not-audited',
    title: "the audit trigger on bookings' updates disabled (new bookings still audited)",
    language: 'sql',
    invariants: ['I8'],
    phase: 1,
    expectedCatcher: 'the invariant checks after each phase (I8: a booking at version v has v - 1 update rows)',
    source: {
      file: 'migrations/0067_bookings_audit_after_transition.sql',
      original: 'CREATE TRIGGER bookings_audit AFTER UPDATE ON bookings',
      replacement: 'ALTER TABLE bookings DISABLE TRIGGER bookings_audit',
    },
    apply: (pool) => alterGuard(pool, triggerExists('bookings', 'bookings_audit'), 'ALTER TABLE bookings DISABLE TRIGGER bookings_audit'),
    async witness({ normal }) {
      const v = await witnessVendor(normal, [{ startInMinutes: 120 }], 1);
      const booking = await bookOne(normal, v);
      await cancelBooking(normal, { booking, reason: 'witness' }, WITNESS_ACTOR);
      const n = Number(
        (
          await one<{ n: number }>(normal, `SELECT count(*)::int AS n FROM audit_log WHERE entity = 'bookings' AND entity_id = $1 AND action = 'update'`, [
            booking,
          ])
        ).n,
      );
      return { held: n === 1, observed: `audit rows for a booking's cancel: ${n} (the real engine: 1)` };
    },
  },
  {
    id: 'audit-rows-editable',
    title: 'audit rows may be updated (the append-only trigger now refuses only deletes)',
    language: 'sql',
    invariants: ['I8'],
    phase: 1,
    expectedCatcher: 'SimCity SC-10 guard probes (UPDATE of audit rows as the app role)',
    source: {
      file: 'migrations/0003_audit.sql',
      original: 'CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log',
      replacement: 'CREATE TRIGGER audit_log_append_only BEFORE DELETE ON audit_log',
    },
    apply: dropTrigger(
      'audit_log',
      'audit_log_append_only',
      'CREATE TRIGGER audit_log_append_only BEFORE DELETE ON audit_log FOR EACH ROW EXECUTE FUNCTION refuse_change()',
    ),
    async witness({ normal }) {
      const { v } = await vendorWithHistory(normal);
      return refusedWrite(normal, `UPDATE audit_log SET reason = 'rewritten' WHERE vendor_id = $1`, [v.vendorId], 'UPDATE of audit rows');
    },
  },
  {
    id: 'audit-rows-deletable',
    title: 'audit rows may be deleted (the append-only trigger now refuses only updates)',
    language: 'sql',
    invariants: ['I8'],
    phase: 1,
    expectedCatcher: 'SimCity SC-10 guard probes (DELETE of audit rows as the app role)',
    source: {
      file: 'migrations/0003_audit.sql',
      original: 'CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log',
      replacement: 'CREATE TRIGGER audit_log_append_only BEFORE UPDATE ON audit_log',
    },
    apply: dropTrigger(
      'audit_log',
      'audit_log_append_only',
      'CREATE TRIGGER audit_log_append_only BEFORE UPDATE ON audit_log FOR EACH ROW EXECUTE FUNCTION refuse_change()',
    ),
    async witness({ normal }) {
      const { v } = await vendorWithHistory(normal);
      return refusedWrite(normal, 'DELETE FROM audit_log WHERE vendor_id = $1', [v.vendorId], 'DELETE of audit rows');
    },
  },
  {
    id: 'audit-log-truncatable',
    title: 'the audit log may be truncated',
    language: 'sql',
    invariants: ['I8'],
    phase: 1,
    expectedCatcher: 'SimCity SC-10 guard probes (TRUNCATE of the audit log as the app role)',
    source: { file: 'migrations/0003_audit.sql', original: 'CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log', replacement: '(dropped)' },
    apply: dropTrigger('audit_log', 'audit_log_no_truncate'),
    async witness({ normal }) {
      await vendorWithHistory(normal);
      return refusedWrite(normal, 'TRUNCATE audit_log', [], 'TRUNCATE audit_log');
    },
  },
  {
    id: 'audit-head-movable',
    title: 'the audit chain head guard dropped: the head can be moved or deleted',
    language: 'sql',
    invariants: ['I8'],
    phase: 1,
    expectedCatcher: 'SimCity SC-10 guard probes (a forged chain head as the app role)',
    source: {
      file: 'migrations/0006_engine_hardening.sql',
      original: 'CREATE TRIGGER audit_chain_heads_guard BEFORE UPDATE OR DELETE ON audit_chain_heads',
      replacement: '(dropped)',
    },
    apply: dropTrigger('audit_chain_heads', 'audit_chain_heads_guard'),
    async witness({ normal }) {
      const { v } = await vendorWithHistory(normal);
      return refusedWrite(normal, 'UPDATE audit_chain_heads SET seq = seq + 1 WHERE vendor_id = $1', [v.vendorId], 'moving the audit chain head');
    },
  },
  {
    id: 'audit-digest-skips-before-image',
    title: 'the audit hash leaves out the before image, so a forged before goes unnoticed',
    language: 'sql',
    invariants: ['I8'],
    phase: 1,
    expectedCatcher: 'SimCity SC-10 guard probes (a forged chain must be found by audit verify)',
    source: { file: 'migrations/0003_audit.sql', original: DIGEST_BEFORE, replacement: "'action', p_action, 'after', p_after" },
    apply: (pool) => rewriteFunction(pool, AUDIT_DIGEST, DIGEST_BEFORE, "'action', p_action, 'after', p_after"),
    async witness({ normal }) {
      const { v } = await vendorWithHistory(normal);
      return forgedBeforeIsDetected(normal, v.vendorId);
    },
  },
  {
    id: 'cancelled-booking-revivable',
    title: 'the state machine allows cancelled → confirmed (a transition row added)',
    language: 'sql',
    invariants: ['I10'],
    phase: 1,
    expectedCatcher: 'SimCity SC-10 guard probes (forbidden transitions by a direct UPDATE)',
    source: {
      file: 'migrations/0002_slots_bookings.sql',
      original: "('booking', 'confirmed', 'cancelled', 'Cancel a confirmed booking.');",
      replacement: "('booking', 'cancelled', 'confirmed', …)",
    },
    async apply(pool) {
      await pool.query(
        `INSERT INTO machine_transitions (machine, from_state, to_state, description) VALUES ('booking', 'cancelled', 'confirmed', 'mutant: a cancelled booking comes back')`,
      );
    },
    async witness({ normal }) {
      const { booking } = await vendorWithHistory(normal);
      return refusedWrite(normal, `UPDATE bookings SET state = 'confirmed' WHERE id = $1`, [booking], 'a direct UPDATE of a cancelled booking to confirmed');
    },
  },
  {
    id: 'state-machine-unchecked',
    title: 'the bookings state-machine trigger no longer looks moves up in machine_transitions',
    language: 'sql',
    invariants: ['I10'],
    phase: 1,
    expectedCatcher: 'SimCity SC-10 guard probes (forbidden transitions through the engine and by a direct UPDATE)',
    source: { file: 'migrations/0002_slots_bookings.sql', original: MACHINE_CHECK, replacement: 'IF false THEN' },
    apply: (pool) => rewriteFunction(pool, BOOKING_STATE_MACHINE, MACHINE_CHECK, 'IF false THEN'),
    async witness({ normal }) {
      const { booking } = await vendorWithHistory(normal);
      return refusedWrite(
        normal,
        `UPDATE bookings SET state = 'held', hold_expires_at = now() + interval '1 hour' WHERE id = $1`,
        [booking],
        'a direct UPDATE of a cancelled booking back to held',
      );
    },
  },
  {
    id: 'transitions-not-logged',
    title: 'the trigger logging booking transitions disabled',
    language: 'sql',
    invariants: ['I10'],
    phase: 1,
    expectedCatcher: 'the invariant check ending phase 1 (I10: the log agrees with every state)',
    source: {
      file: 'migrations/0002_slots_bookings.sql',
      original: 'CREATE TRIGGER bookings_log_transition AFTER INSERT OR UPDATE ON bookings',
      replacement: 'ALTER TABLE bookings DISABLE TRIGGER bookings_log_transition',
    },
    apply: (pool) => alterGuard(pool, triggerExists('bookings', 'bookings_log_transition'), 'ALTER TABLE bookings DISABLE TRIGGER bookings_log_transition'),
    async witness({ normal }) {
      const v = await witnessVendor(normal, [{ startInMinutes: 120 }], 1);
      const booking = await bookOne(normal, v);
      const n = Number((await one<{ n: number }>(normal, 'SELECT count(*)::int AS n FROM booking_transitions WHERE booking_id = $1', [booking])).n);
      return { held: n === 1, observed: `transitions logged for a new booking: ${n} (the real engine: 1)` };
    },
  },
  {
    id: 'transition-log-deletable',
    title: 'booking transitions may be updated or deleted (append-only trigger dropped)',
    language: 'sql',
    invariants: ['I10'],
    phase: 1,
    expectedCatcher: 'SimCity SC-10 guard probes (DELETE of transition rows as the app role)',
    source: {
      file: 'migrations/0002_slots_bookings.sql',
      original: 'CREATE TRIGGER booking_transitions_append_only BEFORE UPDATE OR DELETE ON booking_transitions',
      replacement: '(dropped)',
    },
    apply: dropTrigger('booking_transitions', 'booking_transitions_append_only'),
    async witness({ normal }) {
      const { booking } = await vendorWithHistory(normal);
      return refusedWrite(normal, 'DELETE FROM booking_transitions WHERE booking_id = $1', [booking], "DELETE of a booking's transitions");
    },
  },
];
