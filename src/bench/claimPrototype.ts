// `claimPathMain --prototype`: issue 13's prototype claim, rebuilt in the
// measured database beside the engine, so the claim path can be compared
// with it and with tpcb-like in the same alternating rounds. The issue
// describes it as a claim with a row lock, a CHECK, an exclusion
// constraint, one audit row and a per-vendor hash chain, at 1.18x TPC-B.
// It is a yardstick, not an engine: it has no transition log, no state
// machine, no foreign keys, no audit trigger (a direct INSERT bypasses its
// audit), none of claim_slot's refusals (customer, removed slot, past
// slot, idempotency, expired holds) and one index per table, so the gap
// between it and claim_slot is what those guarantees cost.

import { CUSTOMER_ID, SLOT_ID, writeSlotScript } from './pgbench.js';

/** The prototype's tables (a copy of the seeded slots, one chain head per vendor) and its claim function. Run after the slots are seeded. */
export const PROTOTYPE_SQL = `
DROP TABLE IF EXISTS prototype_audit, prototype_heads, prototype_bookings, prototype_slots;
CREATE TABLE prototype_slots (
  vendor_id uuid NOT NULL, id uuid NOT NULL, starts_at timestamptz NOT NULL, ends_at timestamptz NOT NULL,
  capacity int NOT NULL, booked_count int NOT NULL DEFAULT 0,
  PRIMARY KEY (vendor_id, id), CHECK (booked_count >= 0 AND booked_count <= capacity));
CREATE TABLE prototype_bookings (
  vendor_id uuid NOT NULL, id uuid NOT NULL DEFAULT gen_random_uuid(), slot_id uuid NOT NULL, customer_id uuid NOT NULL,
  state text NOT NULL, starts_at timestamptz NOT NULL, ends_at timestamptz NOT NULL, created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (vendor_id, id),
  EXCLUDE USING gist (vendor_id WITH =, tstzrange(starts_at, ends_at) WITH &&, slot_id WITH <>) WHERE (state IN ('held', 'confirmed')));
CREATE TABLE prototype_heads (vendor_id uuid PRIMARY KEY, seq bigint NOT NULL, hash text NOT NULL);
CREATE TABLE prototype_audit (
  vendor_id uuid NOT NULL, seq bigint NOT NULL, entity_id uuid NOT NULL, action text NOT NULL, after jsonb NOT NULL,
  prev_hash text NOT NULL, hash text NOT NULL, PRIMARY KEY (vendor_id, seq));
INSERT INTO prototype_slots (vendor_id, id, starts_at, ends_at, capacity) SELECT vendor_id, id, starts_at, ends_at, capacity FROM slots;
INSERT INTO prototype_heads SELECT id, 0, '' FROM vendors;
CREATE OR REPLACE FUNCTION prototype_claim(p_slot_id uuid, p_customer_id uuid) RETURNS jsonb
 LANGUAGE plpgsql SET search_path TO 'public', 'pg_temp' AS $function$
DECLARE
  v_slot prototype_slots%ROWTYPE;
  v_booking prototype_bookings%ROWTYPE;
  v_head prototype_heads%ROWTYPE;
  v_after jsonb;
  v_hash text;
BEGIN
  -- The slot is found by id through the engine's slots_id index, as claim_slot finds it.
  SELECT * INTO v_slot FROM prototype_slots
  WHERE vendor_id = (SELECT vendor_id FROM slots WHERE id = p_slot_id) AND id = p_slot_id FOR UPDATE;
  IF NOT FOUND THEN RAISE EXCEPTION 'slot % not found', p_slot_id; END IF;
  IF v_slot.booked_count >= v_slot.capacity THEN RAISE EXCEPTION 'slot % is full', p_slot_id; END IF;
  INSERT INTO prototype_bookings (vendor_id, slot_id, customer_id, state, starts_at, ends_at)
  VALUES (v_slot.vendor_id, p_slot_id, p_customer_id, 'confirmed', v_slot.starts_at, v_slot.ends_at) RETURNING * INTO v_booking;
  UPDATE prototype_slots SET booked_count = booked_count + 1 WHERE vendor_id = v_slot.vendor_id AND id = p_slot_id;
  SELECT * INTO v_head FROM prototype_heads WHERE vendor_id = v_slot.vendor_id FOR UPDATE;
  v_after := to_jsonb(v_booking);
  v_hash := encode(sha256(convert_to(v_head.hash || v_after::text, 'UTF8')), 'hex');
  INSERT INTO prototype_audit VALUES (v_slot.vendor_id, v_head.seq + 1, v_booking.id, 'insert', v_after, v_head.hash, v_hash);
  UPDATE prototype_heads SET seq = v_head.seq + 1, hash = v_hash WHERE vendor_id = v_slot.vendor_id;
  RETURN v_after;
END $function$;`;

/** The prototype's pgbench script: the claim script's slot numbering and customers (writeClaimScript), on the prototype's copy of the slots. */
export function writePrototypeScript(dir: string, customers: number): string {
  return writeSlotScript(dir, 'prototype.sql', `SELECT prototype_claim(${SLOT_ID(':n')}, ${CUSTOMER_ID(`(:n % ${customers})`)});`);
}
