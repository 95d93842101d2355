-- Issue 12, defect 7 (the claim's part): the idempotency hash covered only
-- the slot, the customer, hold or not and the payment method, so the same key
-- with another hold TTL or other metadata replayed the first outcome instead
-- of IDEMPOTENCY_MISMATCH (I6: the same key with a different request is
-- rejected). The hash now covers every field of the claim request: slot,
-- customer, hold or not, the effective hold TTL (the default when none was
-- given; none for a booking) and the effective payment method. claim_slot's
-- signature is unchanged. A partner's metadata is not part of the claim (it
-- is stored beside the booking, in partner_bookings, by the API), so the API
-- compares it on a replay.
--
-- New hashes carry a 'v2:' prefix. A booking made before this migration keeps
-- its old hash, which is still compared on the fields it covered: a retry of
-- such a request is not turned into a false mismatch by an upgrade.

-- The 4-argument claim_request_hash of 0004 stays: it is the formula of the
-- hashes stored before this migration (and test fixtures call it).

CREATE FUNCTION claim_request_hash(p_slot_id uuid, p_customer_id uuid, p_hold boolean, p_hold_ttl_seconds integer, p_payment_method text)
RETURNS text LANGUAGE sql IMMUTABLE
SET search_path = public, pg_temp AS $$
  SELECT 'v2:' || encode(sha256(convert_to(jsonb_build_object(
    'slot_id', p_slot_id, 'customer_id', p_customer_id, 'hold', p_hold, 'hold_ttl_seconds', p_hold_ttl_seconds,
    'payment_method', p_payment_method)::text, 'UTF8')), 'hex')
$$;

-- Whether a stored request hash is the one of this request. A hash from
-- before 0041 (no prefix) is compared with the old formula, on its fields.
CREATE FUNCTION claim_request_matches(p_stored text, p_hash text, p_slot_id uuid, p_customer_id uuid, p_hold boolean, p_payment_method text)
RETURNS boolean LANGUAGE sql IMMUTABLE
SET search_path = public, pg_temp AS $$
  SELECT p_stored = p_hash
      OR (p_stored NOT LIKE 'v2:%' AND p_stored = claim_request_hash(p_slot_id, p_customer_id, p_hold, p_payment_method))
$$;

CREATE OR REPLACE FUNCTION claim_slot(
  p_slot_id uuid,
  p_customer_id uuid,
  p_hold boolean,
  p_hold_ttl_seconds integer,
  p_payment_method text,
  p_idempotency_key text,
  p_actor_kind text,
  p_actor_id text,
  p_source text,
  p_request_id text DEFAULT NULL
) RETURNS TABLE (booking jsonb, replayed boolean) LANGUAGE plpgsql
SET search_path = public, pg_temp AS $$
DECLARE
  v_now timestamptz := bookiji_now();
  v_slot slots%ROWTYPE;
  v_method text;
  v_ttl integer := coalesce(p_hold_ttl_seconds, engine_limit('hold_ttl_seconds_default'));
  v_hash text;
  v_existing bookings%ROWTYPE;
  v_booking_id uuid;
BEGIN
  PERFORM set_actor(p_actor_kind, p_actor_id, p_source, CASE WHEN p_hold THEN 'hold placed' ELSE 'booked' END, p_request_id);

  SELECT * INTO v_slot FROM slots WHERE id = p_slot_id;
  IF NOT FOUND THEN
    PERFORM raise_error('BK002', format('slot %s not found', p_slot_id), jsonb_build_object('slot_id', p_slot_id));
  END IF;

  v_method := coalesce(p_payment_method, CASE WHEN v_slot.price_cents = 0 THEN 'free' ELSE 'pay_on_arrival' END);
  v_hash := claim_request_hash(p_slot_id, p_customer_id, p_hold, CASE WHEN p_hold THEN v_ttl END, v_method);

  -- A retry returns the first outcome; the key with another request is a mismatch.
  IF p_idempotency_key IS NOT NULL THEN
    SELECT * INTO v_existing FROM bookings WHERE idempotency_key = p_idempotency_key;
    IF FOUND THEN
      IF NOT claim_request_matches(v_existing.request_hash, v_hash, p_slot_id, p_customer_id, p_hold, v_method) THEN
        PERFORM raise_error('BK010', format('idempotency key %L was first used for a different request', p_idempotency_key),
          jsonb_build_object('idempotency_key', p_idempotency_key, 'booking_id', v_existing.id));
      END IF;
      RETURN QUERY SELECT to_jsonb(v_existing), true;
      RETURN;
    END IF;
  END IF;

  IF v_method NOT IN ('free', 'pay_on_arrival', 'card') THEN
    PERFORM raise_error('BK006', format('payment method must be free, pay_on_arrival or card (got %L)', v_method), jsonb_build_object('field', 'payment_method'));
  END IF;
  IF v_method = 'free' AND v_slot.price_cents > 0 THEN
    PERFORM raise_error('BK006', format('payment method free is not allowed for a slot that costs %s %s', v_slot.price_cents, v_slot.currency),
      jsonb_build_object('field', 'payment_method', 'price_cents', v_slot.price_cents));
  END IF;
  IF v_method = 'card' AND NOT p_hold THEN
    PERFORM raise_error('BK009', 'a card payment must be verified before the booking is confirmed: place a hold, pay, and let the payment confirm it',
      jsonb_build_object('slot_id', p_slot_id));
  END IF;
  IF p_hold AND (v_ttl < engine_limit('hold_ttl_seconds_min') OR v_ttl > engine_limit('hold_ttl_seconds_max')) THEN
    PERFORM raise_error('BK006', format('hold TTL must be between %s and %s seconds (got %s)', engine_limit('hold_ttl_seconds_min'), engine_limit('hold_ttl_seconds_max'), v_ttl),
      jsonb_build_object('field', 'hold_ttl_seconds'));
  END IF;
  IF NOT EXISTS (SELECT 1 FROM customers WHERE id = p_customer_id) THEN
    PERFORM raise_error('BK005', format('customer %s not found', p_customer_id), jsonb_build_object('customer_id', p_customer_id));
  END IF;
  IF v_slot.legacy THEN
    PERFORM raise_error('BK001', format('slot %s was removed from the vendor''s schedule and takes no new bookings', p_slot_id),
      jsonb_build_object('slot_id', p_slot_id, 'legacy', true));
  END IF;
  IF v_slot.starts_at <= v_now THEN
    PERFORM raise_error('BK007', format('slot %s starts at %s, not after the database''s now (%s)', p_slot_id, v_slot.starts_at, v_now),
      jsonb_build_object('slot_id', p_slot_id, 'starts_at', v_slot.starts_at, 'now', v_now));
  END IF;

  -- Losers fail fast: a slot that is full and has no expired hold to free is
  -- refused from the snapshot, without queueing on the slot's lock. Safe,
  -- because "full" was true at this snapshot and capacity only frees up
  -- through a cancel, which a later claim will see.
  IF v_slot.booked_count >= v_slot.capacity AND NOT EXISTS (
       SELECT 1 FROM bookings WHERE vendor_id = v_slot.vendor_id AND slot_id = p_slot_id AND state = 'held' AND hold_expires_at <= v_now) THEN
    PERFORM raise_error('BK001', format('slot %s is full (capacity %s)', p_slot_id, v_slot.capacity),
      jsonb_build_object('slot_id', p_slot_id, 'capacity', v_slot.capacity));
  END IF;

  -- Alternatives measured for the contended path (src/bench, README
  -- Performance): SELECT … FOR UPDATE then the checks is what we ship; a
  -- conditional UPDATE … WHERE booked_count < capacity takes the same row
  -- lock; NOWAIT turns waiting winners into spurious conflicts on capacity > 1.
  PERFORM lock_slots_for_write(v_slot.vendor_id, ARRAY[p_slot_id], v_slot.starts_at, v_slot.ends_at);
  SELECT * INTO v_slot FROM slots WHERE vendor_id = v_slot.vendor_id AND id = p_slot_id;
  -- M2: a schedule refresh may have deleted the slot while we waited.
  IF NOT FOUND THEN
    PERFORM raise_error('BK002', format('slot %s was removed while this request waited for it', p_slot_id), jsonb_build_object('slot_id', p_slot_id));
  END IF;
  IF v_slot.legacy THEN
    PERFORM raise_error('BK001', format('slot %s was removed from the vendor''s schedule and takes no new bookings', p_slot_id),
      jsonb_build_object('slot_id', p_slot_id, 'legacy', true));
  END IF;
  -- H3(b): judge "in the past" by the clock now, not by when we started waiting.
  IF v_slot.starts_at <= bookiji_clock_now() THEN
    PERFORM raise_error('BK007', format('slot %s started while this request waited for it', p_slot_id),
      jsonb_build_object('slot_id', p_slot_id, 'starts_at', v_slot.starts_at));
  END IF;
  -- M1: a concurrent request with the same key may have committed while we
  -- waited; its outcome is ours, whatever the capacity now says.
  IF p_idempotency_key IS NOT NULL THEN
    SELECT * INTO v_existing FROM bookings WHERE idempotency_key = p_idempotency_key;
    IF FOUND THEN
      IF NOT claim_request_matches(v_existing.request_hash, v_hash, p_slot_id, p_customer_id, p_hold, v_method) THEN
        PERFORM raise_error('BK010', format('idempotency key %L was first used for a different request', p_idempotency_key),
          jsonb_build_object('idempotency_key', p_idempotency_key, 'booking_id', v_existing.id));
      END IF;
      RETURN QUERY SELECT to_jsonb(v_existing), true;
      RETURN;
    END IF;
  END IF;

  IF p_hold THEN
    -- Hold flooding: the customer row is locked so two concurrent holds by one
    -- customer count each other. Customers are a reference table, so this is
    -- the one lock on the path not keyed by vendor. Taken before any write.
    PERFORM 1 FROM customers WHERE id = p_customer_id FOR NO KEY UPDATE;
    IF (SELECT count(*) FROM bookings WHERE customer_id = p_customer_id AND state = 'held' AND hold_expires_at > v_now)
         >= engine_limit('holds_per_customer_max') THEN
      PERFORM raise_error('BK014', format('customer %s already has %s unexpired holds (the limit)', p_customer_id, engine_limit('holds_per_customer_max')),
        jsonb_build_object('customer_id', p_customer_id, 'limit', engine_limit('holds_per_customer_max')));
    END IF;
  END IF;

  PERFORM expire_stale_holds_on_slot(v_slot.vendor_id, p_slot_id);
  SELECT * INTO v_slot FROM slots WHERE vendor_id = v_slot.vendor_id AND id = p_slot_id;
  IF v_slot.booked_count >= v_slot.capacity THEN
    PERFORM raise_error('BK001', format('slot %s is full (capacity %s)', p_slot_id, v_slot.capacity),
      jsonb_build_object('slot_id', p_slot_id, 'capacity', v_slot.capacity));
  END IF;
  PERFORM expire_stale_overlapping_holds(v_slot.vendor_id, p_slot_id, v_slot.starts_at, v_slot.ends_at);

  BEGIN
    INSERT INTO bookings (vendor_id, slot_id, customer_id, state, starts_at, ends_at, hold_expires_at,
                          idempotency_key, request_hash, payment_method, payment_status, amount_cents, currency, created_at, updated_at)
    VALUES (v_slot.vendor_id, p_slot_id, p_customer_id, CASE WHEN p_hold THEN 'held' ELSE 'confirmed' END,
            v_slot.starts_at, v_slot.ends_at,
            -- M3: a hold never outlives its slot's start.
            CASE WHEN p_hold THEN least(v_now + make_interval(secs => v_ttl), v_slot.starts_at) END,
            p_idempotency_key, CASE WHEN p_idempotency_key IS NOT NULL THEN v_hash END,
            v_method, CASE WHEN v_method = 'card' THEN 'requires_payment' ELSE 'none' END,
            CASE WHEN v_method = 'free' THEN 0 ELSE v_slot.price_cents END, v_slot.currency, v_now, v_now)
    RETURNING id INTO v_booking_id;
  EXCEPTION
    WHEN exclusion_violation THEN
      PERFORM raise_error('BK001', format('vendor %s already has a booking overlapping %s – %s', v_slot.vendor_id, v_slot.starts_at, v_slot.ends_at),
        jsonb_build_object('slot_id', p_slot_id, 'vendor_id', v_slot.vendor_id));
    WHEN unique_violation THEN
      -- A concurrent request with the same key (at any vendor) committed first: its outcome is ours.
      SELECT * INTO v_existing FROM bookings WHERE idempotency_key = p_idempotency_key;
      IF NOT FOUND OR NOT claim_request_matches(v_existing.request_hash, v_hash, p_slot_id, p_customer_id, p_hold, v_method) THEN
        PERFORM raise_error('BK010', format('idempotency key %L was first used for a different request', p_idempotency_key),
          jsonb_build_object('idempotency_key', p_idempotency_key));
      END IF;
      RETURN QUERY SELECT to_jsonb(v_existing), true;
      RETURN;
  END;

  UPDATE slots SET booked_count = booked_count + 1 WHERE vendor_id = v_slot.vendor_id AND id = p_slot_id;
  RETURN QUERY SELECT booking_json(v_slot.vendor_id, v_booking_id), false;
END $$;
