// Deliberately broken engine functions, installed with CREATE OR REPLACE into
// one test database only. Each keeps the real function's signature so the
// engine's TypeScript layer, SimCity and the explorer call it unchanged.

import type { Pool } from '../../src/db/pool.js';

/**
 * claim_slot without the slot lock (idempotency kept as the real one keeps it): it reads the slot's counter, checks it,
 * inserts, and writes back the counter it read (+1). Two concurrent claims
 * both pass the check and the second write loses the first's update: two
 * winners on a slot of capacity 1 and a counter that says 1. The 50 ms pause
 * stands for the work a real engine does between its read and its write; it
 * widens the window so SimCity's random schedule hits it in a few iterations.
 */
export const UNSAFE_CLAIM_SQL = `
CREATE OR REPLACE FUNCTION claim_slot(
  p_slot_id uuid, p_customer_id uuid, p_hold boolean, p_hold_ttl_seconds integer, p_payment_method text,
  p_idempotency_key text, p_actor_kind text, p_actor_id text, p_source text, p_request_id text DEFAULT NULL
) RETURNS TABLE (booking jsonb, replayed boolean) LANGUAGE plpgsql AS $$
DECLARE
  v_now timestamptz := bookiji_now();
  v_slot slots%ROWTYPE;
  v_existing bookings%ROWTYPE;
  v_hash text := claim_request_hash(p_slot_id, p_customer_id, p_hold, 'free');
  v_id uuid;
BEGIN
  PERFORM set_actor(p_actor_kind, p_actor_id, p_source, 'booked (unsafe fixture)', p_request_id);
  IF p_idempotency_key IS NOT NULL THEN
    SELECT * INTO v_existing FROM bookings WHERE idempotency_key = p_idempotency_key LIMIT 1;
    IF FOUND THEN
      IF v_existing.request_hash <> v_hash THEN
        PERFORM raise_error('BK010', 'idempotency key used for a different request', jsonb_build_object('idempotency_key', p_idempotency_key));
      END IF;
      RETURN QUERY SELECT to_jsonb(v_existing), true;
      RETURN;
    END IF;
  END IF;
  SELECT * INTO v_slot FROM slots WHERE id = p_slot_id;
  IF v_slot.booked_count >= v_slot.capacity THEN
    PERFORM raise_error('BK001', format('slot %s is full', p_slot_id), jsonb_build_object('slot_id', p_slot_id));
  END IF;
  PERFORM pg_sleep(0.05);
  BEGIN
  INSERT INTO bookings (vendor_id, slot_id, customer_id, state, starts_at, ends_at, hold_expires_at, idempotency_key, request_hash,
                        payment_method, payment_status, amount_cents, currency, created_at, updated_at)
  VALUES (v_slot.vendor_id, p_slot_id, p_customer_id, CASE WHEN p_hold THEN 'held' ELSE 'confirmed' END, v_slot.starts_at, v_slot.ends_at,
          CASE WHEN p_hold THEN v_now + make_interval(secs => coalesce(p_hold_ttl_seconds, 600)) END,
          p_idempotency_key, CASE WHEN p_idempotency_key IS NOT NULL THEN v_hash END, 'free', 'none', 0, v_slot.currency, v_now, v_now)
  RETURNING id INTO v_id;
  EXCEPTION WHEN unique_violation THEN
    -- Idempotency as the real engine keeps it: the broken part is the lock alone.
    SELECT * INTO v_existing FROM bookings WHERE idempotency_key = p_idempotency_key;
    IF NOT FOUND OR v_existing.request_hash <> v_hash THEN
      PERFORM raise_error('BK010', 'idempotency key used for a different request', jsonb_build_object('idempotency_key', p_idempotency_key));
    END IF;
    RETURN QUERY SELECT to_jsonb(v_existing), true;
    RETURN;
  END;
  UPDATE slots SET booked_count = v_slot.booked_count + 1 WHERE vendor_id = v_slot.vendor_id AND id = p_slot_id;
  RETURN QUERY SELECT to_jsonb(b), false FROM bookings b WHERE b.vendor_id = v_slot.vendor_id AND b.id = v_id;
END $$;`;

/**
 * reschedule_booking as two separate read-modify-writes: it checks the new
 * slot from an unlocked read, moves the booking, then writes both counters
 * from what it read. Racing a claim or another reschedule into the same slot,
 * the release and the claim no longer happen as one: the new slot ends up
 * over capacity with a counter that disagrees.
 */
export const UNSAFE_RESCHEDULE_SQL = `
CREATE OR REPLACE FUNCTION reschedule_booking(p_booking_id uuid, p_new_slot_id uuid, p_expected_version integer,
  p_actor_kind text, p_actor_id text, p_source text, p_request_id text DEFAULT NULL)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  v_booking bookings%ROWTYPE;
  v_old slots%ROWTYPE;
  v_new slots%ROWTYPE;
BEGIN
  PERFORM set_actor(p_actor_kind, p_actor_id, p_source, 'rescheduled (unsafe fixture)', p_request_id);
  SELECT * INTO v_booking FROM bookings WHERE id = p_booking_id;
  IF NOT FOUND THEN
    PERFORM raise_error('BK003', format('booking %s not found', p_booking_id), '{}');
  END IF;
  IF v_booking.state NOT IN ('held', 'confirmed') THEN
    PERFORM raise_error('BK011', format('booking %s is %s', p_booking_id, v_booking.state), '{}');
  END IF;
  IF v_booking.slot_id = p_new_slot_id THEN
    PERFORM raise_error('BK006', 'slot: the booking is already on that slot', '{}');
  END IF;
  SELECT * INTO v_old FROM slots WHERE vendor_id = v_booking.vendor_id AND id = v_booking.slot_id;
  SELECT * INTO v_new FROM slots WHERE vendor_id = v_booking.vendor_id AND id = p_new_slot_id;
  IF v_new.booked_count >= v_new.capacity THEN
    PERFORM raise_error('BK001', format('slot %s is full', p_new_slot_id), '{}');
  END IF;
  PERFORM pg_sleep(0.01);
  UPDATE bookings SET slot_id = p_new_slot_id, starts_at = v_new.starts_at, ends_at = v_new.ends_at
  WHERE vendor_id = v_booking.vendor_id AND id = p_booking_id;
  UPDATE slots SET booked_count = v_old.booked_count - 1 WHERE vendor_id = v_booking.vendor_id AND id = v_old.id;
  UPDATE slots SET booked_count = v_new.booked_count + 1 WHERE vendor_id = v_booking.vendor_id AND id = v_new.id;
  RETURN to_jsonb(b) FROM bookings b WHERE b.vendor_id = v_booking.vendor_id AND b.id = p_booking_id;
END $$;`;

export async function installUnsafe(pool: Pool, sql: string): Promise<void> {
  await pool.query(sql);
}

/**
 * confirm_booking that takes the client's word: a card booking is confirmed
 * and marked authorized without asking the provider, and the trigger that
 * would refuse a paid status without a payment behind it is off.
 */
export const CLIENT_WORD_CONFIRM_SQL = `
CREATE OR REPLACE FUNCTION confirm_booking(p_booking_id uuid, p_expected_version integer, p_actor_kind text, p_actor_id text, p_source text, p_request_id text DEFAULT NULL)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  v_booking bookings%ROWTYPE;
BEGIN
  PERFORM set_actor(p_actor_kind, p_actor_id, p_source, 'confirmed on the client''s word (unsafe fixture)', p_request_id);
  v_booking := lock_booking_for_change(p_booking_id, p_expected_version);
  IF v_booking.state = 'held' THEN
    UPDATE bookings SET state = 'confirmed', hold_expires_at = NULL,
           payment_status = CASE WHEN payment_method = 'card' THEN 'authorized' ELSE payment_status END
    WHERE vendor_id = v_booking.vendor_id AND id = p_booking_id;
  END IF;
  RETURN booking_json(v_booking.vendor_id, p_booking_id);
END $$;
ALTER TABLE bookings DISABLE TRIGGER bookings_payment_verified;`;

/**
 * apply_payment_state without its ordering: every provider state is applied
 * however late, so a payment_failed event delivered after the success
 * cancels a confirmed, paid booking. The two triggers that would still
 * refuse the backwards move are off, as they would be in an engine that
 * never had them.
 */
export async function installLateFailureCancels(pool: Pool): Promise<void> {
  const signature = 'apply_payment_state(uuid, uuid, text, integer, integer, integer, text, text, text, text, text, text, text)';
  const definition = String((await pool.query('SELECT pg_get_functiondef($1::regprocedure) AS def', [signature])).rows[0].def);
  const guard = 'IF v_new = v_payment.status OR NOT EXISTS (';
  if (!definition.includes(guard)) throw new Error('apply_payment_state changed: the fixture cannot find its ordering check');
  await pool.query(definition.replace(guard, 'IF v_new = v_payment.status OR false AND NOT EXISTS ('));
  await pool.query('ALTER TABLE payments DISABLE TRIGGER payments_state_machine');
  await pool.query('ALTER TABLE bookings DISABLE TRIGGER bookings_payment_verified');
}

/**
 * The shipped claim_slot with one change: a stored key is replayed whatever
 * request comes with it (the request-hash comparisons read `false`), so the
 * same key with a different request gets the first booking back instead of
 * IDEMPOTENCY_MISMATCH (I6). Made from the installed function's own text.
 */
export async function installIdempotencyWithoutRequestHash(pool: Pool): Promise<void> {
  // Since 0043 the replay decision lives in claim_replay, which claim_slot calls.
  const found = await pool.query(`SELECT pg_get_functiondef('claim_replay(text,text,uuid,uuid,boolean,text,boolean)'::regprocedure) AS def`);
  const definition = (found.rows[0] as { def: string }).def;
  const mutated = definition.replace(/ OR NOT claim_request_matches\([^)]*\)/g, '');
  if (mutated === definition) throw new Error('claim_replay has no request-hash comparison to remove');
  await pool.query(mutated);
}

/** Rewrites one engine function from its live definition; fails loudly if the text it needs to change is gone. */
export async function rewriteFunction(pool: Pool, signature: string, edits: Array<[string, string]>): Promise<void> {
  let definition = String((await pool.query('SELECT pg_get_functiondef($1::regprocedure) AS def', [signature])).rows[0].def);
  for (const [from, to] of edits) {
    if (!definition.includes(from)) throw new Error(`${signature} changed: the fixture cannot find ${JSON.stringify(from)}`);
    definition = definition.split(from).join(to);
  }
  await pool.query(definition);
}

/** confirm_booking without its payment check (mutant confirm-skips-payment-check): only the bookings_confirmed_is_paid constraint still refuses an unpaid confirm. */
export async function installConfirmWithoutPaymentCheck(pool: Pool): Promise<void> {
  await rewriteFunction(pool, 'confirm_booking(uuid, integer, text, text, text, text)', [
    ["IF v_booking.payment_method = 'card' AND v_booking.payment_status NOT IN ('authorized', 'captured') THEN", 'IF false THEN'],
  ]);
}

const CLAIM_SIGNATURE = 'claim_slot(uuid, uuid, boolean, integer, text, text, text, text, text, text)';

/** claim_slot that trusts the slot's start to be in the future: both of its "starts at or before now" checks are gone. */
export async function installClaimIntoThePast(pool: Pool): Promise<void> {
  await rewriteFunction(pool, CLAIM_SIGNATURE, [
    ['IF v_slot.starts_at <= v_now THEN', 'IF false THEN'],
    ['IF v_slot.starts_at <= bookiji_clock_now() THEN', 'IF false THEN'],
  ]);
}

/** claim_slot that counts an expired hold as taking capacity until reconcile has run: it never frees stale holds itself. */
export async function installExpiredHoldBlocks(pool: Pool): Promise<void> {
  await rewriteFunction(pool, CLAIM_SIGNATURE, [
    ["AND state = 'held' AND hold_expires_at <= v_now) THEN", 'AND false) THEN'],
    ['PERFORM expire_stale_holds_on_slot(v_slot.vendor_id, p_slot_id);', ''],
  ]);
}

/** expire_holds that finds nothing to do: a process that dies leaves its holds held until a claim happens to free them. */
export const RECONCILE_FORGETS_HOLDS_SQL = `
CREATE OR REPLACE FUNCTION expire_holds(p_batch_max integer, p_dry_run boolean, p_actor_kind text, p_actor_id text, p_source text)
RETURNS TABLE (booking_id uuid, vendor_id uuid, slot_id uuid, customer_id uuid, hold_expires_at timestamptz, expired boolean)
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
BEGIN
  RETURN;
END $$;`;

/** audit_verify that trusts the log: it never reports a broken chain. */
export const BLIND_AUDIT_VERIFY_SQL = `
CREATE OR REPLACE FUNCTION audit_verify(p_vendor_id uuid DEFAULT NULL)
RETURNS TABLE (vendor_id uuid, seq bigint, problem text) LANGUAGE sql STABLE SET search_path = public, pg_temp AS $$
  SELECT NULL::uuid, NULL::bigint, NULL::text WHERE false
$$;`;
