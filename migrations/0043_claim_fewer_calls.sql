-- Issue 13, claim path cost (2 of 2): fewer function calls per claim, same
-- checks, same rows written.
--  * audit_append and the transition log read the actor settings with
--    current_setting directly: actor_setting() is a pinned SQL function (it
--    cannot be inlined), and they called it 10 times per claim.
--  * expire_stale_holds_on_slot probes for expired holds before reading the
--    five actor settings it saves: on the claim path there is usually none.
--  * claim_slot: the default TTL is looked up only for a hold; the request
--    hash is computed only with an idempotency key; the booking is returned
--    from INSERT … RETURNING instead of being read again (booking_json); the
--    replay of a key's first outcome is one function (claim_replay) instead of
--    three copies.

CREATE OR REPLACE FUNCTION audit_append(p_vendor_id uuid, p_entity text, p_entity_id uuid, p_action text, p_before jsonb, p_after jsonb)
RETURNS void LANGUAGE plpgsql
SET search_path = public, pg_temp AS $$
DECLARE
  v_prev_hash text;
  v_seq bigint;
  v_hash text;
  v_at timestamptz := bookiji_now();
  v_actor_kind text := coalesce(nullif(current_setting('bookiji.actor_kind', true), ''), 'system');
  v_actor_id text := nullif(current_setting('bookiji.actor_id', true), '');
  v_source text := coalesce(nullif(current_setting('bookiji.source', true), ''), 'system');
  v_reason text := nullif(current_setting('bookiji.reason', true), '');
  v_request_id text := nullif(current_setting('bookiji.request_id', true), '');
BEGIN
  SELECT seq + 1, hash INTO v_seq, v_prev_hash FROM audit_chain_heads WHERE vendor_id = p_vendor_id FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'no audit chain for vendor %', p_vendor_id USING ERRCODE = 'BK004';
  END IF;
  v_hash := audit_digest(v_prev_hash, p_vendor_id, v_seq, p_entity, p_entity_id, p_action, p_before, p_after,
                         v_actor_kind, v_actor_id, v_source, v_reason, v_request_id, v_at);
  INSERT INTO audit_log (vendor_id, seq, entity, entity_id, action, before, after, actor_kind, actor_id, source, reason, request_id, at, prev_hash, hash)
  VALUES (p_vendor_id, v_seq, p_entity, p_entity_id, p_action, p_before, p_after, v_actor_kind, v_actor_id, v_source, v_reason, v_request_id, v_at, v_prev_hash, v_hash);
  UPDATE audit_chain_heads SET seq = v_seq, hash = v_hash WHERE vendor_id = p_vendor_id;
END $$;

CREATE OR REPLACE FUNCTION bookings_log_transition() RETURNS trigger LANGUAGE plpgsql
SET search_path = public, pg_temp AS $$
BEGIN
  IF TG_OP = 'INSERT' OR NEW.state <> OLD.state OR NEW.slot_id <> OLD.slot_id THEN
    INSERT INTO booking_transitions (vendor_id, booking_id, from_state, to_state, from_slot_id, to_slot_id, cause, actor_kind, actor_id, source, request_id, at)
    VALUES (NEW.vendor_id, NEW.id,
            CASE WHEN TG_OP = 'INSERT' THEN NULL ELSE OLD.state END, NEW.state,
            CASE WHEN TG_OP = 'INSERT' THEN NULL ELSE OLD.slot_id END, NEW.slot_id,
            coalesce(nullif(current_setting('bookiji.reason', true), ''), CASE WHEN TG_OP = 'INSERT' THEN 'created' ELSE 'updated' END),
            coalesce(nullif(current_setting('bookiji.actor_kind', true), ''), 'system'), nullif(current_setting('bookiji.actor_id', true), ''),
            coalesce(nullif(current_setting('bookiji.source', true), ''), 'system'), nullif(current_setting('bookiji.request_id', true), ''), NEW.updated_at);
  END IF;
  RETURN NULL;
END $$;

-- The same function, with the "anything to expire?" probe before the five
-- actor settings are read: on the claim path there is usually nothing.
CREATE OR REPLACE FUNCTION expire_stale_holds_on_slot(p_vendor_id uuid, p_slot_id uuid)
RETURNS SETOF uuid LANGUAGE plpgsql
SET search_path = public, pg_temp AS $$
DECLARE
  v_saved_kind text;
  v_saved_id text;
  v_saved_source text;
  v_saved_reason text;
  v_saved_request text;
  v_expired uuid[];
BEGIN
  IF NOT EXISTS (SELECT 1 FROM bookings WHERE vendor_id = p_vendor_id AND slot_id = p_slot_id
                 AND state = 'held' AND hold_expires_at <= bookiji_now()) THEN
    RETURN;
  END IF;
  v_saved_kind := actor_setting('actor_kind');
  v_saved_id := actor_setting('actor_id');
  v_saved_source := actor_setting('source');
  v_saved_reason := actor_setting('reason');
  v_saved_request := actor_setting('request_id');
  -- L2 (0006): expired inside somebody's claim is the system's doing; by an operator's sweep, the operator's.
  IF coalesce(v_saved_kind, 'system') NOT IN ('operator', 'system') THEN
    PERFORM set_actor('system', NULL, coalesce(v_saved_source, 'system'), 'hold expired: its TTL passed', v_saved_request);
  ELSE
    PERFORM set_actor(coalesce(v_saved_kind, 'system'), v_saved_id, coalesce(v_saved_source, 'system'), 'hold expired: its TTL passed', v_saved_request);
  END IF;
  WITH expired AS (
    UPDATE bookings SET state = 'expired'
    WHERE vendor_id = p_vendor_id AND slot_id = p_slot_id AND state = 'held' AND hold_expires_at <= bookiji_now()
    RETURNING id
  )
  SELECT array_agg(id) INTO v_expired FROM expired;
  IF v_expired IS NOT NULL THEN
    UPDATE slots SET booked_count = booked_count - cardinality(v_expired)
    WHERE vendor_id = p_vendor_id AND id = p_slot_id;
  END IF;
  IF v_saved_kind IS NOT NULL THEN
    PERFORM set_actor(v_saved_kind, v_saved_id, coalesce(v_saved_source, 'system'), v_saved_reason, v_saved_request);
  END IF;
  RETURN QUERY SELECT unnest(coalesce(v_expired, '{}'));
END $$;

-- The first outcome of an idempotency key, or NULL when the key is unused;
-- the key used for another request is IDEMPOTENCY_MISMATCH. p_must_exist:
-- called after a unique violation on the key, where "unused" cannot be.
CREATE OR REPLACE FUNCTION claim_replay(p_idempotency_key text, p_hash text, p_slot_id uuid, p_customer_id uuid, p_hold boolean, p_payment_method text, p_must_exist boolean)
RETURNS jsonb LANGUAGE plpgsql STABLE
SET search_path = public, pg_temp AS $$
DECLARE
  v_existing bookings%ROWTYPE;
BEGIN
  SELECT * INTO v_existing FROM bookings WHERE idempotency_key = p_idempotency_key;
  IF NOT FOUND AND NOT p_must_exist THEN
    RETURN NULL;
  END IF;
  IF NOT FOUND OR NOT claim_request_matches(v_existing.request_hash, p_hash, p_slot_id, p_customer_id, p_hold, p_payment_method) THEN
    PERFORM raise_error('BK010', format('idempotency key %L was first used for a different request', p_idempotency_key),
      jsonb_build_object('idempotency_key', p_idempotency_key, 'booking_id', v_existing.id));
  END IF;
  RETURN to_jsonb(v_existing);
END $$;

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
  -- The default TTL is looked up only for a hold (a booking has none).
  v_ttl integer := CASE WHEN p_hold THEN coalesce(p_hold_ttl_seconds, engine_limit('hold_ttl_seconds_default')) END;
  v_hash text;
  v_replay jsonb;
  v_new bookings%ROWTYPE;
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
END $$;
