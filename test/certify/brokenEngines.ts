// Deliberately broken engines, one per certification phase, made in a test
// database by rewriting one function (or dropping one guard). Each names the
// protection it removes; the twin tests show the phase that relies on it
// FAILS. Every rewrite checks that the text it replaces is there, so a change
// to the real function cannot silently turn a broken engine into a sound one.

import type { Pool } from '../../src/db/pool.js';

async function rewriteFunction(pool: Pool, signature: string, edits: Array<[string, string]>): Promise<void> {
  const { rows } = await pool.query(`SELECT pg_get_functiondef($1::regprocedure) AS def`, [signature]);
  let definition = String(rows[0].def);
  for (const [from, to] of edits) {
    if (!definition.includes(from)) throw new Error(`broken-engine fixture: ${signature} no longer contains ${JSON.stringify(from)}`);
    definition = definition.split(from).join(to);
  }
  await pool.query(definition);
}

const CLAIM = 'claim_slot(uuid, uuid, boolean, integer, text, text, text, text, text, text)';

export const BROKEN_ENGINES: Record<number, { what: string; apply: (pool: Pool) => Promise<void> }> = {
  1: {
    what: 'claim_slot without the slot lock, writing a counter computed from a stale read, and no CHECK on the counter',
    async apply(pool) {
      await pool.query('ALTER TABLE slots DROP CONSTRAINT slots_capacity_counter');
      await rewriteFunction(pool, CLAIM, [
        [
          'PERFORM lock_slots_for_write(v_slot.vendor_id, ARRAY[p_slot_id], v_slot.starts_at, v_slot.ends_at);\n  SELECT * INTO v_slot FROM slots WHERE vendor_id = v_slot.vendor_id AND id = p_slot_id;',
          'SELECT * INTO v_slot FROM slots WHERE vendor_id = v_slot.vendor_id AND id = p_slot_id;\n  PERFORM pg_sleep(0.05);',
        ],
        [
          'UPDATE slots SET booked_count = booked_count + 1 WHERE vendor_id = v_slot.vendor_id AND id = p_slot_id;',
          'UPDATE slots SET booked_count = v_slot.booked_count + 1 WHERE vendor_id = v_slot.vendor_id AND id = p_slot_id;',
        ],
      ]);
    },
  },
  2: {
    what: "confirm_booking that takes the client's word for the payment, with the guards tying confirmed to verified money removed",
    async apply(pool) {
      await pool.query('ALTER TABLE bookings DROP CONSTRAINT bookings_confirmed_is_paid');
      // The payments module's own guard, when installed.
      const guard = await pool.query(`SELECT 1 FROM pg_trigger WHERE tgname = 'bookings_payment_verified' AND tgrelid = 'bookings'::regclass`);
      if (guard.rowCount) await pool.query('ALTER TABLE bookings DISABLE TRIGGER bookings_payment_verified');
      await rewriteFunction(pool, 'confirm_booking(uuid, integer, text, text, text, text)', [
        ["IF v_booking.payment_method = 'card' AND v_booking.payment_status NOT IN ('authorized', 'captured') THEN", 'IF false THEN'],
      ]);
    },
  },
  3: {
    what: 'claim_slot that trusts any slot start, past or not',
    async apply(pool) {
      await rewriteFunction(pool, CLAIM, [
        ['IF v_slot.starts_at <= v_now THEN', "IF v_slot.starts_at <= v_now - interval '100 years' THEN"],
        ['IF v_slot.starts_at <= bookiji_clock_now() THEN', "IF v_slot.starts_at <= bookiji_clock_now() - interval '100 years' THEN"],
      ]);
    },
  },
  4: {
    what: 'claim_slot without the per-customer hold limit',
    async apply(pool) {
      await rewriteFunction(pool, CLAIM, [[">= engine_limit('holds_per_customer_max') THEN", ">= engine_limit('holds_per_customer_max') AND false THEN"]]);
    },
  },
  5: {
    what: 'hold expiry that marks holds expired but never gives their capacity back',
    async apply(pool) {
      await rewriteFunction(pool, 'expire_stale_holds_on_slot(uuid, uuid)', [
        ['SET booked_count = booked_count - cardinality(v_expired)', 'SET booked_count = booked_count'],
      ]);
    },
  },
  6: {
    what: 'bookings changed without audit rows (both audit triggers disabled)',
    async apply(pool) {
      await pool.query('ALTER TABLE bookings DISABLE TRIGGER bookings_zz_audit_insert');
      await pool.query('ALTER TABLE bookings DISABLE TRIGGER bookings_audit');
    },
  },
  7: {
    what: 'a reconcile job that finds holds past their TTL but never expires them',
    async apply(pool) {
      await rewriteFunction(pool, 'expire_holds(integer, boolean, text, text, text)', [
        ['WHERE s.vendor_id = v_vendor', 'WHERE false AND s.vendor_id = v_vendor'],
      ]);
    },
  },
};
