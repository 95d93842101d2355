-- Hardening after an adversarial review of 0001–0005. Each change names the
-- finding it closes; tests in test/engine/hardening.test.ts reproduce them.
--
-- The lock order, now kept by every path: (1) all slot rows a change needs,
-- in one id-ordered statement; (2) the customer row (hold limit); (3) booking
-- rows; (4) the vendor's audit head, which the first write takes. Nothing
-- takes a slot lock after it has written.

-- H3: a session's temporary table named "clock" must not stand in for ours.
-- Qualified names here; `search_path` pinned on every function below (last
-- statement of this file) so no unqualified name resolves to pg_temp first.
CREATE OR REPLACE FUNCTION bookiji_now() RETURNS timestamptz LANGUAGE sql STABLE AS $$
  SELECT now() + "offset" FROM public.clock
$$;

-- The wall-clock instant, for checks made *after* waiting on a lock: a
-- transaction that started long ago (or waited long) must not judge "is this
-- slot in the past" by its start time.
CREATE FUNCTION bookiji_clock_now() RETURNS timestamptz LANGUAGE sql VOLATILE AS $$
  SELECT clock_timestamp() + "offset" FROM public.clock
$$;

CREATE OR REPLACE FUNCTION advance_clock(p_by interval) RETURNS timestamptz LANGUAGE plpgsql AS $$
BEGIN
  IF p_by IS NULL OR p_by < interval '0' THEN
    RAISE EXCEPTION 'advance_clock: the clock only moves forward' USING ERRCODE = 'BK006';
  END IF;
  UPDATE public.clock SET "offset" = "offset" + p_by;
  RETURN now() + (SELECT "offset" FROM public.clock);
END $$;

-- H4: one idempotency key, one booking — across vendors too. A key belongs to
-- the client, not to a vendor; when distributed, keys would live in a table
-- distributed by key. This is the one unique index on the booking path that
-- does not carry vendor_id (the schema test names it as the exception).
DROP INDEX bookings_idempotency_unique;
DROP INDEX bookings_idempotency_key;
CREATE UNIQUE INDEX bookings_idempotency_key_unique ON bookings (idempotency_key) WHERE idempotency_key IS NOT NULL;

-- L2: a hold expired inside somebody's claim is the system's doing; one
-- expired by an operator's sweep stays the operator's.
CREATE OR REPLACE FUNCTION expire_stale_holds_on_slot(p_vendor_id uuid, p_slot_id uuid)
RETURNS SETOF uuid LANGUAGE plpgsql AS $$
DECLARE
  v_saved_kind text := actor_setting('actor_kind');
  v_saved_id text := actor_setting('actor_id');
  v_saved_source text := actor_setting('source');
  v_saved_reason text := actor_setting('reason');
  v_saved_request text := actor_setting('request_id');
  v_as_system boolean := coalesce(v_saved_kind, 'system') NOT IN ('operator', 'system');
  v_expired uuid[];
BEGIN
  IF NOT EXISTS (SELECT 1 FROM bookings WHERE vendor_id = p_vendor_id AND slot_id = p_slot_id
                 AND state = 'held' AND hold_expires_at <= bookiji_now()) THEN
    RETURN;
  END IF;
  IF v_as_system THEN
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

-- Locks, in one id-ordered statement, the slots a claim or reschedule will
-- write: the target(s), plus the vendor's other slots holding expired holds
-- that overlap the target's range (they must be freed first, I9). Taking them
-- all before any write keeps the lock order (M6, H2).
CREATE FUNCTION lock_slots_for_write(p_vendor_id uuid, p_slot_ids uuid[], p_starts_at timestamptz, p_ends_at timestamptz)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  PERFORM 1 FROM slots s
  WHERE s.vendor_id = p_vendor_id
    AND (s.id = ANY (p_slot_ids) OR s.id IN (
      SELECT b.slot_id FROM bookings b
      WHERE b.vendor_id = p_vendor_id AND b.state = 'held' AND b.hold_expires_at <= bookiji_now()
        AND tstzrange(b.starts_at, b.ends_at) && tstzrange(p_starts_at, p_ends_at)))
  ORDER BY s.id
  FOR UPDATE;
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
) RETURNS TABLE (booking jsonb, replayed boolean) LANGUAGE plpgsql AS $$
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
  v_hash := claim_request_hash(p_slot_id, p_customer_id, p_hold, v_method);

  -- A retry returns the first outcome; the key with another request is a mismatch.
  IF p_idempotency_key IS NOT NULL THEN
    SELECT * INTO v_existing FROM bookings WHERE idempotency_key = p_idempotency_key;
    IF FOUND THEN
      IF v_existing.request_hash <> v_hash THEN
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
      IF v_existing.request_hash <> v_hash THEN
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
      IF NOT FOUND OR v_existing.request_hash <> v_hash THEN
        PERFORM raise_error('BK010', format('idempotency key %L was first used for a different request', p_idempotency_key),
          jsonb_build_object('idempotency_key', p_idempotency_key));
      END IF;
      RETURN QUERY SELECT to_jsonb(v_existing), true;
      RETURN;
  END;

  UPDATE slots SET booked_count = booked_count + 1 WHERE vendor_id = v_slot.vendor_id AND id = p_slot_id;
  RETURN QUERY SELECT booking_json(v_slot.vendor_id, v_booking_id), false;
END $$;

-- M3: a hold is not confirmed once its slot has started, whatever its TTL said.
CREATE OR REPLACE FUNCTION confirm_booking(p_booking_id uuid, p_expected_version integer, p_actor_kind text, p_actor_id text, p_source text, p_request_id text DEFAULT NULL)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  v_booking bookings%ROWTYPE;
BEGIN
  PERFORM set_actor(p_actor_kind, p_actor_id, p_source, 'confirmed', p_request_id);
  v_booking := lock_booking_for_change(p_booking_id, p_expected_version);
  IF v_booking.state = 'confirmed' THEN
    RETURN to_jsonb(v_booking);
  END IF;
  IF v_booking.state <> 'held' THEN
    PERFORM raise_error('BK011', format('booking %s is %s and cannot be confirmed', p_booking_id, v_booking.state),
      jsonb_build_object('booking_id', p_booking_id, 'from', v_booking.state, 'to', 'confirmed'));
  END IF;
  IF v_booking.starts_at <= bookiji_clock_now() THEN
    PERFORM raise_error('BK007', format('booking %s''s slot started at %s: too late to confirm', p_booking_id, v_booking.starts_at),
      jsonb_build_object('booking_id', p_booking_id, 'starts_at', v_booking.starts_at));
  END IF;
  IF v_booking.hold_expires_at <= bookiji_now() THEN
    PERFORM raise_error('BK008', format('the hold on booking %s expired at %s', p_booking_id, v_booking.hold_expires_at),
      jsonb_build_object('booking_id', p_booking_id, 'hold_expires_at', v_booking.hold_expires_at));
  END IF;
  IF v_booking.payment_method = 'card' AND v_booking.payment_status NOT IN ('authorized', 'captured') THEN
    PERFORM raise_error('BK009', format('booking %s needs a verified card payment before it is confirmed (payment status: %s)', p_booking_id, v_booking.payment_status),
      jsonb_build_object('booking_id', p_booking_id, 'payment_status', v_booking.payment_status));
  END IF;
  UPDATE bookings SET state = 'confirmed', hold_expires_at = NULL
  WHERE vendor_id = v_booking.vendor_id AND id = p_booking_id;
  RETURN booking_json(v_booking.vendor_id, p_booking_id);
END $$;

CREATE OR REPLACE FUNCTION reschedule_booking(p_booking_id uuid, p_new_slot_id uuid, p_expected_version integer, p_actor_kind text, p_actor_id text, p_source text, p_request_id text DEFAULT NULL)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  v_booking bookings%ROWTYPE;
  v_new slots%ROWTYPE;
  v_old_slot_id uuid;
BEGIN
  PERFORM set_actor(p_actor_kind, p_actor_id, p_source, 'rescheduled', p_request_id);
  LOOP
    SELECT * INTO v_booking FROM bookings WHERE id = p_booking_id;
    IF NOT FOUND THEN
      PERFORM raise_error('BK003', format('booking %s not found', p_booking_id), jsonb_build_object('booking_id', p_booking_id));
    END IF;
    SELECT * INTO v_new FROM slots WHERE id = p_new_slot_id;
    IF NOT FOUND THEN
      PERFORM raise_error('BK002', format('slot %s not found', p_new_slot_id), jsonb_build_object('slot_id', p_new_slot_id));
    END IF;
    IF v_new.vendor_id <> v_booking.vendor_id THEN
      PERFORM raise_error('BK006', 'slot: a booking can only move to another slot of the same vendor', jsonb_build_object('field', 'slot'));
    END IF;
    IF v_booking.slot_id = p_new_slot_id THEN
      PERFORM raise_error('BK006', 'slot: the booking is already on that slot', jsonb_build_object('field', 'slot'));
    END IF;
    v_old_slot_id := v_booking.slot_id;
    -- Both slots and any overlapping expired-hold slots, in one id-ordered statement, then the booking.
    PERFORM lock_slots_for_write(v_booking.vendor_id, ARRAY[v_old_slot_id, p_new_slot_id], v_new.starts_at, v_new.ends_at);
    SELECT * INTO v_booking FROM bookings WHERE vendor_id = v_booking.vendor_id AND id = p_booking_id FOR UPDATE;
    EXIT WHEN v_booking.slot_id = v_old_slot_id;
  END LOOP;
  IF p_expected_version IS NOT NULL AND v_booking.version <> p_expected_version THEN
    PERFORM raise_error('BK012', format('booking %s is at version %s, not %s: it changed since you read it', p_booking_id, v_booking.version, p_expected_version),
      jsonb_build_object('booking_id', p_booking_id, 'version', v_booking.version, 'expected_version', p_expected_version));
  END IF;
  IF NOT booking_state_holds_capacity(v_booking.state) THEN
    PERFORM raise_error('BK011', format('booking %s is %s and cannot be rescheduled', p_booking_id, v_booking.state),
      jsonb_build_object('booking_id', p_booking_id, 'from', v_booking.state));
  END IF;
  IF v_booking.state = 'held' AND v_booking.hold_expires_at <= bookiji_now() THEN
    PERFORM raise_error('BK008', format('the hold on booking %s expired at %s', p_booking_id, v_booking.hold_expires_at),
      jsonb_build_object('booking_id', p_booking_id));
  END IF;
  SELECT * INTO v_new FROM slots WHERE vendor_id = v_booking.vendor_id AND id = p_new_slot_id;
  IF NOT FOUND THEN
    PERFORM raise_error('BK002', format('slot %s was removed while this request waited for it', p_new_slot_id), jsonb_build_object('slot_id', p_new_slot_id));
  END IF;
  IF v_new.legacy THEN
    PERFORM raise_error('BK001', format('slot %s was removed from the vendor''s schedule and takes no new bookings', p_new_slot_id),
      jsonb_build_object('slot_id', p_new_slot_id, 'legacy', true));
  END IF;
  IF v_new.starts_at <= bookiji_clock_now() THEN
    PERFORM raise_error('BK007', format('slot %s starts at %s, not after the database''s now', p_new_slot_id, v_new.starts_at),
      jsonb_build_object('slot_id', p_new_slot_id));
  END IF;
  IF v_new.price_cents <> v_booking.amount_cents AND v_booking.payment_method <> 'pay_on_arrival' THEN
    PERFORM raise_error('BK006', format('slot: a %s booking of %s cents cannot move to a slot priced %s cents', v_booking.payment_method, v_booking.amount_cents, v_new.price_cents),
      jsonb_build_object('field', 'slot'));
  END IF;
  PERFORM expire_stale_holds_on_slot(v_booking.vendor_id, p_new_slot_id);
  SELECT * INTO v_new FROM slots WHERE vendor_id = v_booking.vendor_id AND id = p_new_slot_id;
  IF v_new.booked_count >= v_new.capacity THEN
    PERFORM raise_error('BK001', format('slot %s is full (capacity %s)', p_new_slot_id, v_new.capacity),
      jsonb_build_object('slot_id', p_new_slot_id, 'capacity', v_new.capacity));
  END IF;
  PERFORM expire_stale_overlapping_holds(v_booking.vendor_id, p_new_slot_id, v_new.starts_at, v_new.ends_at);
  BEGIN
    UPDATE bookings SET slot_id = p_new_slot_id, starts_at = v_new.starts_at, ends_at = v_new.ends_at, amount_cents = v_new.price_cents,
                        hold_expires_at = CASE WHEN state = 'held' THEN least(hold_expires_at, v_new.starts_at) END
    WHERE vendor_id = v_booking.vendor_id AND id = p_booking_id;
  EXCEPTION WHEN exclusion_violation THEN
    PERFORM raise_error('BK001', format('vendor %s already has a booking overlapping %s – %s', v_booking.vendor_id, v_new.starts_at, v_new.ends_at),
      jsonb_build_object('slot_id', p_new_slot_id));
  END;
  UPDATE slots SET booked_count = booked_count - 1 WHERE vendor_id = v_booking.vendor_id AND id = v_old_slot_id;
  UPDATE slots SET booked_count = booked_count + 1 WHERE vendor_id = v_booking.vendor_id AND id = p_new_slot_id;
  RETURN booking_json(v_booking.vendor_id, p_booking_id);
END $$;

-- H1, L1: sweep one vendor at a time (vendor order), skipping slots someone
-- else holds *before* the batch limit is applied. Two sweepers then take
-- audit heads in the same order and never deadlock; a busy slot never hides
-- the rest of the backlog.
CREATE OR REPLACE FUNCTION expire_holds(p_batch_max integer, p_dry_run boolean, p_actor_kind text, p_actor_id text, p_source text)
RETURNS TABLE (booking_id uuid, vendor_id uuid, slot_id uuid, customer_id uuid, hold_expires_at timestamptz, expired boolean)
LANGUAGE plpgsql AS $$
DECLARE
  v_slot record;
  v_vendor uuid;
BEGIN
  IF p_batch_max IS NULL OR p_batch_max < 1 OR p_batch_max > 10000 THEN
    PERFORM raise_error('BK006', 'batch: give a batch size from 1 to 10000', jsonb_build_object('field', 'batch'));
  END IF;
  PERFORM set_actor(p_actor_kind, p_actor_id, p_source, 'hold expired: its TTL passed', NULL);
  IF p_dry_run THEN
    RETURN QUERY
      SELECT b.id, b.vendor_id, b.slot_id, b.customer_id, b.hold_expires_at, false
      FROM bookings b WHERE b.state = 'held' AND b.hold_expires_at <= bookiji_now()
      ORDER BY b.hold_expires_at, b.id LIMIT p_batch_max;
    RETURN;
  END IF;
  -- The vendor whose oldest expired hold is oldest, among slots nobody holds.
  SELECT s.vendor_id INTO v_vendor FROM slots s
  WHERE EXISTS (SELECT 1 FROM bookings b WHERE b.vendor_id = s.vendor_id AND b.slot_id = s.id AND b.state = 'held' AND b.hold_expires_at <= bookiji_now())
  ORDER BY (SELECT min(b.hold_expires_at) FROM bookings b WHERE b.vendor_id = s.vendor_id AND b.slot_id = s.id AND b.state = 'held')
  LIMIT 1
  FOR UPDATE OF s SKIP LOCKED;
  IF v_vendor IS NULL THEN
    RETURN;
  END IF;
  FOR v_slot IN
    SELECT s.vendor_id, s.id FROM slots s
    WHERE s.vendor_id = v_vendor
      AND EXISTS (SELECT 1 FROM bookings b WHERE b.vendor_id = s.vendor_id AND b.slot_id = s.id AND b.state = 'held' AND b.hold_expires_at <= bookiji_now())
    ORDER BY s.id
    LIMIT p_batch_max
    FOR UPDATE OF s SKIP LOCKED
  LOOP
    RETURN QUERY
      SELECT b.id, b.vendor_id, b.slot_id, b.customer_id, b.hold_expires_at, true
      FROM bookings b
      WHERE b.vendor_id = v_slot.vendor_id
        AND b.id IN (SELECT expire_stale_holds_on_slot(v_slot.vendor_id, v_slot.id));
  END LOOP;
END $$;

-- H2: lock every slot of the window first (fully, in id order), then change.
CREATE OR REPLACE FUNCTION refresh_vendor_slots(p_vendor_id uuid, p_from timestamptz, p_to timestamptz, p_slots jsonb,
                                                p_actor_kind text, p_actor_id text, p_source text)
RETURNS TABLE (created integer, kept integer, made_legacy integer, restored integer, deleted integer)
LANGUAGE plpgsql AS $$
DECLARE
  v_created integer := 0;
  v_kept integer := 0;
  v_legacy integer := 0;
  v_restored integer := 0;
  v_deleted integer := 0;
  v_slot slots%ROWTYPE;
  v_wanted record;
  v_locked uuid[];
BEGIN
  PERFORM set_actor(p_actor_kind, p_actor_id, p_source, 'schedule refresh', NULL);
  IF NOT EXISTS (SELECT 1 FROM vendors WHERE id = p_vendor_id) THEN
    PERFORM raise_error('BK004', format('vendor %s not found', p_vendor_id), jsonb_build_object('vendor_id', p_vendor_id));
  END IF;
  IF p_to <= p_from THEN
    PERFORM raise_error('BK006', 'to: the window must end after it starts', jsonb_build_object('field', 'to'));
  END IF;
  IF jsonb_typeof(p_slots) IS DISTINCT FROM 'array' THEN
    PERFORM raise_error('BK006', 'slots: expected a JSON array', jsonb_build_object('field', 'slots'));
  END IF;
  CREATE TEMP TABLE IF NOT EXISTS wanted_slots (starts_at timestamptz, ends_at timestamptz, capacity integer, price_cents integer, currency char(3)) ON COMMIT DROP;
  TRUNCATE wanted_slots;
  INSERT INTO wanted_slots
    SELECT (e->>'starts_at')::timestamptz, (e->>'ends_at')::timestamptz, coalesce((e->>'capacity')::integer, 1),
           coalesce((e->>'price_cents')::integer, 0), coalesce(e->>'currency', 'EUR')
    FROM jsonb_array_elements(p_slots) e;
  IF EXISTS (SELECT 1 FROM wanted_slots WHERE starts_at < p_from OR ends_at > p_to) THEN
    PERFORM raise_error('BK006', 'slots: every slot must lie inside the refreshed window', jsonb_build_object('field', 'slots'));
  END IF;

  SELECT array_agg(id ORDER BY id) INTO v_locked FROM (
    SELECT id FROM slots WHERE vendor_id = p_vendor_id AND starts_at >= p_from AND starts_at < p_to ORDER BY id FOR UPDATE
  ) locked;

  FOR v_slot IN SELECT * FROM slots WHERE vendor_id = p_vendor_id AND id = ANY (coalesce(v_locked, '{}')) ORDER BY id LOOP
    IF EXISTS (SELECT 1 FROM wanted_slots w WHERE w.starts_at = v_slot.starts_at AND w.ends_at = v_slot.ends_at) THEN
      IF v_slot.legacy AND NOT EXISTS (SELECT 1 FROM slots o WHERE o.vendor_id = p_vendor_id AND NOT o.legacy
                                       AND o.starts_at = v_slot.starts_at AND o.ends_at = v_slot.ends_at) THEN
        UPDATE slots SET legacy = false WHERE vendor_id = p_vendor_id AND id = v_slot.id;
        v_restored := v_restored + 1;
      ELSIF NOT v_slot.legacy THEN
        v_kept := v_kept + 1;
      END IF;
    ELSIF v_slot.legacy THEN
      CONTINUE;
    ELSIF EXISTS (SELECT 1 FROM bookings b WHERE b.vendor_id = p_vendor_id AND b.slot_id = v_slot.id)
       OR EXISTS (SELECT 1 FROM booking_transitions t WHERE t.vendor_id = p_vendor_id AND (t.from_slot_id = v_slot.id OR t.to_slot_id = v_slot.id)) THEN
      UPDATE slots SET legacy = true WHERE vendor_id = p_vendor_id AND id = v_slot.id;
      v_legacy := v_legacy + 1;
    ELSE
      DELETE FROM slots WHERE vendor_id = p_vendor_id AND id = v_slot.id;
      v_deleted := v_deleted + 1;
    END IF;
  END LOOP;

  FOR v_wanted IN SELECT * FROM wanted_slots w
    WHERE NOT EXISTS (SELECT 1 FROM slots s WHERE s.vendor_id = p_vendor_id AND NOT s.legacy AND s.starts_at = w.starts_at AND s.ends_at = w.ends_at)
    ORDER BY w.starts_at
  LOOP
    INSERT INTO slots (vendor_id, starts_at, ends_at, capacity, price_cents, currency)
    VALUES (p_vendor_id, v_wanted.starts_at, v_wanted.ends_at, v_wanted.capacity, v_wanted.price_cents, v_wanted.currency);
    v_created := v_created + 1;
  END LOOP;
  RETURN QUERY SELECT v_created, v_kept, v_legacy, v_restored, v_deleted;
END $$;

-- M4: the chain head only moves forward, one row at a time, and is never
-- deleted; a vendor without a head is itself a finding.
CREATE FUNCTION audit_head_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    RAISE EXCEPTION 'audit chain heads are never deleted' USING ERRCODE = 'BK011';
  END IF;
  IF NEW.vendor_id <> OLD.vendor_id OR NEW.seq <> OLD.seq + 1 THEN
    RAISE EXCEPTION 'an audit chain head only advances one row at a time (seq % to %)', OLD.seq, NEW.seq USING ERRCODE = 'BK011';
  END IF;
  IF NOT EXISTS (SELECT 1 FROM audit_log a WHERE a.vendor_id = NEW.vendor_id AND a.seq = NEW.seq AND a.hash = NEW.hash AND a.prev_hash = OLD.hash) THEN
    RAISE EXCEPTION 'an audit chain head must point at the row just appended' USING ERRCODE = 'BK011';
  END IF;
  RETURN NEW;
END $$;

CREATE TRIGGER audit_chain_heads_guard BEFORE UPDATE OR DELETE ON audit_chain_heads FOR EACH ROW EXECUTE FUNCTION audit_head_guard();
CREATE TRIGGER audit_chain_heads_no_truncate BEFORE TRUNCATE ON audit_chain_heads FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();

CREATE OR REPLACE FUNCTION audit_verify(p_vendor_id uuid DEFAULT NULL)
RETURNS TABLE (vendor_id uuid, seq bigint, problem text) LANGUAGE sql STABLE AS $$
  WITH chain AS (
    SELECT a.*,
           lag(a.seq) OVER w AS prev_seq,
           lag(a.hash) OVER w AS prev_row_hash
    FROM audit_log a
    WHERE p_vendor_id IS NULL OR a.vendor_id = p_vendor_id
    WINDOW w AS (PARTITION BY a.vendor_id ORDER BY a.seq)
  )
  SELECT c.vendor_id, c.seq, 'row edited: its hash does not match its content'
  FROM chain c
  WHERE c.hash <> audit_digest(c.prev_hash, c.vendor_id, c.seq, c.entity, c.entity_id, c.action, c.before, c.after,
                               c.actor_kind, c.actor_id, c.source, c.reason, c.request_id, c.at)
  UNION ALL
  SELECT c.vendor_id, c.seq, format('row(s) missing before seq %s (previous seq %s)', c.seq, coalesce(c.prev_seq, 0))
  FROM chain c
  WHERE c.seq <> coalesce(c.prev_seq, 0) + 1
  UNION ALL
  SELECT c.vendor_id, c.seq, 'chain broken: prev_hash is not the previous row''s hash'
  FROM chain c
  WHERE c.prev_hash <> coalesce(c.prev_row_hash, audit_genesis_hash(c.vendor_id))
  UNION ALL
  SELECT h.vendor_id, h.seq, format('tail missing: the chain head is at seq %s but the last row is %s', h.seq, coalesce(t.last_seq, 0))
  FROM audit_chain_heads h
  LEFT JOIN LATERAL (
    SELECT max(a.seq) AS last_seq, (array_agg(a.hash ORDER BY a.seq DESC))[1] AS last_hash
    FROM audit_log a WHERE a.vendor_id = h.vendor_id
  ) t ON true
  WHERE (p_vendor_id IS NULL OR h.vendor_id = p_vendor_id)
    AND (h.seq <> coalesce(t.last_seq, 0) OR h.hash <> coalesce(t.last_hash, audit_genesis_hash(h.vendor_id)))
  UNION ALL
  SELECT v.id, 0::bigint, 'chain head missing: the vendor''s whole chain may have been removed'
  FROM vendors v
  WHERE (p_vendor_id IS NULL OR v.id = p_vendor_id)
    AND NOT EXISTS (SELECT 1 FROM audit_chain_heads h WHERE h.vendor_id = v.id)
  ORDER BY 1, 2
$$;

-- I5 and I7 checks, sharpened: a hold confirmed after its slot started is a
-- time violation (M3); a legacy slot that only ever had a booking moved away
-- is legitimate history, not an orphan (M5).
CREATE OR REPLACE FUNCTION verify_invariants()
RETURNS TABLE (check_id text, description text, violations bigint, sample jsonb)
LANGUAGE plpgsql STABLE AS $$
BEGIN
  RETURN QUERY
  WITH truth AS (
    SELECT s.vendor_id, s.id AS slot_id, s.capacity, s.booked_count,
           count(b.id) FILTER (WHERE booking_state_holds_capacity(b.state)) AS active
    FROM slots s LEFT JOIN bookings b ON b.vendor_id = s.vendor_id AND b.slot_id = s.id
    GROUP BY s.vendor_id, s.id
  ),
  c1 AS (SELECT * FROM truth WHERE booked_count > 0 AND active = 0),
  c2 AS (SELECT * FROM truth WHERE active > capacity),
  c3 AS (
    SELECT b.id, b.slot_id FROM bookings b LEFT JOIN slots s ON s.vendor_id = b.vendor_id AND s.id = b.slot_id
    WHERE booking_state_holds_capacity(b.state) AND (s.id IS NULL OR s.starts_at <> b.starts_at OR s.ends_at <> b.ends_at)
  ),
  c4 AS (
    SELECT a.id AS booking_a, b.id AS booking_b FROM bookings a JOIN bookings b
      ON a.vendor_id = b.vendor_id AND a.id < b.id AND a.slot_id <> b.slot_id
     AND tstzrange(a.starts_at, a.ends_at) && tstzrange(b.starts_at, b.ends_at)
    WHERE booking_state_holds_capacity(a.state) AND booking_state_holds_capacity(b.state)
  ),
  i3 AS (SELECT * FROM truth WHERE booked_count <> active),
  i4 AS (
    SELECT id, payment_method, payment_status FROM bookings
    WHERE state = 'confirmed' AND payment_method = 'card' AND payment_status NOT IN ('authorized', 'captured')
  ),
  i5 AS (
    SELECT t.booking_id, t.at, s.starts_at, t.from_state, t.to_state FROM booking_transitions t
    JOIN slots s ON s.vendor_id = t.vendor_id AND s.id = t.to_slot_id
    WHERE t.at >= s.starts_at
      AND ((t.to_state IN ('held', 'confirmed') AND t.from_slot_id IS DISTINCT FROM t.to_slot_id)
           OR (t.from_state = 'held' AND t.to_state = 'confirmed'))
  ),
  i6 AS (
    SELECT idempotency_key, count(*) AS n FROM bookings WHERE idempotency_key IS NOT NULL
    GROUP BY idempotency_key HAVING count(*) > 1
  ),
  i7 AS (
    SELECT s.id FROM slots s WHERE s.legacy
      AND NOT EXISTS (SELECT 1 FROM bookings b WHERE b.vendor_id = s.vendor_id AND b.slot_id = s.id)
      AND NOT EXISTS (SELECT 1 FROM booking_transitions t WHERE t.vendor_id = s.vendor_id AND (t.from_slot_id = s.id OR t.to_slot_id = s.id))
  ),
  i8_chain AS (SELECT * FROM audit_verify()),
  i8_missing AS (
    SELECT b.id FROM bookings b
    WHERE NOT EXISTS (SELECT 1 FROM audit_log a WHERE a.entity_id = b.id AND a.vendor_id = b.vendor_id AND a.entity = 'bookings' AND a.action = 'insert')
  ),
  i9 AS (
    SELECT booking_id, count(*) AS releases FROM booking_transitions
    WHERE to_state IN ('expired', 'cancelled') GROUP BY booking_id HAVING count(*) > 1
  ),
  i10 AS (
    SELECT t.booking_id, t.id, t.from_state, t.to_state, t.prev_to FROM (
      SELECT tr.*, lag(tr.to_state) OVER (PARTITION BY tr.booking_id ORDER BY tr.id) AS prev_to
      FROM booking_transitions tr
    ) t
    WHERE t.from_state IS DISTINCT FROM t.prev_to
       OR (t.from_state IS NOT NULL AND NOT EXISTS (SELECT 1 FROM machine_transitions m
             WHERE m.machine = 'booking' AND m.from_state = t.from_state AND m.to_state = t.to_state))
    UNION ALL
    SELECT b.id, NULL, NULL, b.state, NULL FROM bookings b
    WHERE b.state IS DISTINCT FROM (SELECT tr.to_state FROM booking_transitions tr WHERE tr.booking_id = b.id ORDER BY tr.id DESC LIMIT 1)
  )
  SELECT 'C1', 'slots marked taken with no active booking', (SELECT count(*) FROM c1), (SELECT jsonb_agg(to_jsonb(x)) FROM (SELECT * FROM c1 LIMIT 5) x)
  UNION ALL SELECT 'C2', 'slots with more active bookings than capacity (double booking)', (SELECT count(*) FROM c2), (SELECT jsonb_agg(to_jsonb(x)) FROM (SELECT * FROM c2 LIMIT 5) x)
  UNION ALL SELECT 'C3', 'active bookings without a matching slot', (SELECT count(*) FROM c3), (SELECT jsonb_agg(to_jsonb(x)) FROM (SELECT * FROM c3 LIMIT 5) x)
  UNION ALL SELECT 'C4', 'overlapping active bookings of one vendor', (SELECT count(*) FROM c4), (SELECT jsonb_agg(to_jsonb(x)) FROM (SELECT * FROM c4 LIMIT 5) x)
  UNION ALL SELECT 'I1', 'capacity: active bookings per slot within capacity', (SELECT count(*) FROM c2), (SELECT jsonb_agg(to_jsonb(x)) FROM (SELECT * FROM c2 LIMIT 5) x)
  UNION ALL SELECT 'I2', 'vendor exclusivity: no overlap across a vendor''s slots', (SELECT count(*) FROM c4), (SELECT jsonb_agg(to_jsonb(x)) FROM (SELECT * FROM c4 LIMIT 5) x)
  UNION ALL SELECT 'I3', 'slot coherence: booked count equals active bookings', (SELECT count(*) FROM i3), (SELECT jsonb_agg(to_jsonb(x)) FROM (SELECT * FROM i3 LIMIT 5) x)
  UNION ALL SELECT 'I4', 'payment consistency: confirmed card bookings have verified money', (SELECT count(*) FROM i4), (SELECT jsonb_agg(to_jsonb(x)) FROM (SELECT * FROM i4 LIMIT 5) x)
  UNION ALL SELECT 'I5', 'time: nothing held, booked or confirmed into a slot at or after its start', (SELECT count(*) FROM i5), (SELECT jsonb_agg(to_jsonb(x)) FROM (SELECT * FROM i5 LIMIT 5) x)
  UNION ALL SELECT 'I6', 'idempotency: one key, at most one booking', (SELECT count(*) FROM i6), (SELECT jsonb_agg(to_jsonb(x)) FROM (SELECT * FROM i6 LIMIT 5) x)
  UNION ALL SELECT 'I7', 'preservation: legacy slots are kept only for bookings', (SELECT count(*) FROM i7), (SELECT jsonb_agg(to_jsonb(x)) FROM (SELECT * FROM i7 LIMIT 5) x)
  UNION ALL SELECT 'I8', 'audit: hash chains intact and every booking audited', (SELECT count(*) FROM i8_chain) + (SELECT count(*) FROM i8_missing),
            (SELECT jsonb_agg(to_jsonb(x)) FROM (SELECT vendor_id, seq, problem FROM i8_chain LIMIT 5) x)
  UNION ALL SELECT 'I9', 'holds: each hold released at most once', (SELECT count(*) FROM i9), (SELECT jsonb_agg(to_jsonb(x)) FROM (SELECT * FROM i9 LIMIT 5) x)
  UNION ALL SELECT 'I10', 'transitions: every move allowed, log agrees with state', (SELECT count(*) FROM i10), (SELECT jsonb_agg(to_jsonb(x)) FROM (SELECT * FROM i10 LIMIT 5) x);
END $$;

-- H3(a): pin search_path on every function of ours, so a session's temporary
-- objects are searched last, never first. (Functions added by later
-- migrations pin theirs in their own files.)
DO $$
DECLARE
  v_fn regprocedure;
BEGIN
  FOR v_fn IN
    SELECT p.oid::regprocedure FROM pg_proc p
    WHERE p.pronamespace = 'public'::regnamespace
      AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')
  LOOP
    EXECUTE format('ALTER FUNCTION %s SET search_path = public, pg_temp', v_fn);
  END LOOP;
END $$;
