-- Issue 13, claim path cost: the expired-hold steps run only when there is
-- an expired hold to free. Same checks, same locks, same rows written.
--  * lock_slots_for_write probes the held-bookings index (0042) for expired
--    holds overlapping the range; with none, it locks the given slots by key
--    instead of planning the UNION with the expired-hold subquery.
--  * claim_slot probes once, after the lock, for expired holds on its slot or
--    overlapping it; with none (the usual claim) it skips
--    expire_stale_holds_on_slot, the reload after it and
--    expire_stale_overlapping_holds, two function calls and three queries.
--    The probe sees what committed while the claim waited for the lock, as
--    the two steps' own queries did.

CREATE OR REPLACE FUNCTION lock_slots_for_write(p_vendor_id uuid, p_slot_ids uuid[], p_starts_at timestamptz, p_ends_at timestamptz)
RETURNS void LANGUAGE plpgsql
SET search_path = public, pg_temp AS $$
BEGIN
  -- The slots to lock are the given ones and those of the vendor's expired
  -- holds overlapping the range (the writer frees them), in id order. Most
  -- writes meet no expired hold: a probe on the held-bookings index says so,
  -- and the given slots are locked by key alone (0052).
  IF NOT EXISTS (
       SELECT 1 FROM bookings b
       WHERE b.vendor_id = p_vendor_id AND b.state = 'held' AND b.hold_expires_at <= bookiji_now()
         AND tstzrange(b.starts_at, b.ends_at) && tstzrange(p_starts_at, p_ends_at)) THEN
    PERFORM 1 FROM slots s WHERE s.vendor_id = p_vendor_id AND s.id = ANY (p_slot_ids) ORDER BY s.id FOR UPDATE;
    RETURN;
  END IF;
  PERFORM 1 FROM slots s
  WHERE s.vendor_id = p_vendor_id
    AND s.id IN (
      SELECT unnest(p_slot_ids)
      UNION ALL
      SELECT b.slot_id FROM bookings b
      WHERE b.vendor_id = p_vendor_id AND b.state = 'held' AND b.hold_expires_at <= bookiji_now()
        AND tstzrange(b.starts_at, b.ends_at) && tstzrange(p_starts_at, p_ends_at))
  ORDER BY s.id
  FOR UPDATE;
END $$;

CREATE OR REPLACE FUNCTION claim_slot(p_slot_id uuid, p_customer_id uuid, p_hold boolean, p_hold_ttl_seconds integer, p_payment_method text, p_idempotency_key text, p_actor_kind text, p_actor_id text, p_source text, p_request_id text DEFAULT NULL::text)
 RETURNS TABLE(booking jsonb, replayed boolean)
 LANGUAGE plpgsql
 SET search_path = public, pg_temp
AS $function$
DECLARE
  v_now timestamptz := bookiji_now();
  v_slot slots%ROWTYPE;
  v_method text;
  -- The default TTL is looked up only for a hold (a booking has none).
  v_ttl integer := CASE WHEN p_hold THEN coalesce(p_hold_ttl_seconds, engine_limit('hold_ttl_seconds_default')) END;
  v_hash text;
  v_replay jsonb;
  v_new bookings%ROWTYPE;
  v_expired_near boolean;
BEGIN
  PERFORM set_actor(p_actor_kind, p_actor_id, p_source, CASE WHEN p_hold THEN 'hold placed' ELSE 'booked' END, p_request_id);

  SELECT * INTO v_slot FROM slots WHERE id = p_slot_id;
  IF NOT FOUND THEN
    PERFORM raise_error('BK002', format('slot %s not found', p_slot_id), jsonb_build_object('slot_id', p_slot_id));
  END IF;

  v_method := coalesce(p_payment_method, CASE WHEN v_slot.price_cents = 0 THEN 'free' ELSE 'pay_on_arrival' END);

  -- A retry returns the first outcome; the key with another request is a mismatch.
  IF p_idempotency_key IS NOT NULL THEN
    v_hash := claim_request_hash(p_slot_id, p_customer_id, p_hold, v_ttl, v_method);
    v_replay := claim_replay(p_idempotency_key, v_hash, p_slot_id, p_customer_id, p_hold, v_method, false);
    IF v_replay IS NOT NULL THEN
      RETURN QUERY SELECT v_replay, true;
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
    v_replay := claim_replay(p_idempotency_key, v_hash, p_slot_id, p_customer_id, p_hold, v_method, false);
    IF v_replay IS NOT NULL THEN
      RETURN QUERY SELECT v_replay, true;
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

  -- I9: expired holds on this slot, or on a slot of the vendor overlapping
  -- it, are freed before the capacity check and the insert. One probe after
  -- the lock (a fresh snapshot: whatever committed while we waited is seen)
  -- finds whether there are any; usually there are none, and the two expiry
  -- steps and the reload between them are skipped (0052).
  v_expired_near := EXISTS (
    SELECT 1 FROM bookings b
    WHERE b.vendor_id = v_slot.vendor_id AND b.state = 'held' AND b.hold_expires_at <= v_now
      AND (b.slot_id = p_slot_id OR tstzrange(b.starts_at, b.ends_at) && tstzrange(v_slot.starts_at, v_slot.ends_at)));
  IF v_expired_near THEN
    PERFORM expire_stale_holds_on_slot(v_slot.vendor_id, p_slot_id);
    SELECT * INTO v_slot FROM slots WHERE vendor_id = v_slot.vendor_id AND id = p_slot_id;
  END IF;
  IF v_slot.booked_count >= v_slot.capacity THEN
    PERFORM raise_error('BK001', format('slot %s is full (capacity %s)', p_slot_id, v_slot.capacity),
      jsonb_build_object('slot_id', p_slot_id, 'capacity', v_slot.capacity));
  END IF;
  IF v_expired_near THEN
    PERFORM expire_stale_overlapping_holds(v_slot.vendor_id, p_slot_id, v_slot.starts_at, v_slot.ends_at);
  END IF;

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
    -- RETURNING gives the row as the BEFORE triggers wrote it: no second read to return it.
    RETURNING * INTO v_new;
  EXCEPTION
    WHEN exclusion_violation THEN
      PERFORM raise_error('BK001', format('vendor %s already has a booking overlapping %s – %s', v_slot.vendor_id, v_slot.starts_at, v_slot.ends_at),
        jsonb_build_object('slot_id', p_slot_id, 'vendor_id', v_slot.vendor_id));
    WHEN unique_violation THEN
      -- A concurrent request with the same key (at any vendor) committed first: its outcome is ours.
      RETURN QUERY SELECT claim_replay(p_idempotency_key, v_hash, p_slot_id, p_customer_id, p_hold, v_method, true), true;
      RETURN;
  END;

  UPDATE slots SET booked_count = booked_count + 1 WHERE vendor_id = v_slot.vendor_id AND id = p_slot_id;
  RETURN QUERY SELECT to_jsonb(v_new), false;
END $function$;
