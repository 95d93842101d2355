-- The booking engine's writes, each one function = one transaction.
--
-- Lock order, everywhere: slot rows first (in id order when there are two),
-- then booking rows, then the vendor's audit head (taken by the audit
-- trigger). Claims, cancels, reschedules and hold expiry all follow it, so
-- they queue instead of deadlocking; the TypeScript layer still retries
-- 40P01/40001 in case a future path breaks the rule.

CREATE TABLE engine_limits (
  name        text PRIMARY KEY,
  value       integer NOT NULL CHECK (value > 0),
  description text NOT NULL
);

INSERT INTO engine_limits (name, value, description) VALUES
  ('hold_ttl_seconds_default', 600, 'A hold''s time to live when the caller gives none.'),
  ('hold_ttl_seconds_min', 30, 'The shortest hold a caller may ask for.'),
  ('hold_ttl_seconds_max', 86400, 'The longest hold a caller may ask for.'),
  ('holds_per_customer_max', 5, 'Unexpired holds one customer may have at once (hold flooding).');

CREATE FUNCTION engine_limit(p_name text) RETURNS integer LANGUAGE sql STABLE AS $$
  SELECT value FROM engine_limits WHERE name = p_name
$$;

-- The canonical form of a claim request, for idempotency (I6): the same key
-- with a different canonical request is a mismatch.
CREATE FUNCTION claim_request_hash(p_slot_id uuid, p_customer_id uuid, p_hold boolean, p_payment_method text)
RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT encode(sha256(convert_to(jsonb_build_object(
    'slot_id', p_slot_id, 'customer_id', p_customer_id, 'hold', p_hold, 'payment_method', p_payment_method)::text, 'UTF8')), 'hex')
$$;

-- Expires every hold on one slot whose TTL passed, and gives their capacity
-- back, exactly once: the UPDATE only matches rows still 'held', and the
-- caller holds the slot's lock. Attributed to the system, whoever triggered it.
CREATE FUNCTION expire_stale_holds_on_slot(p_vendor_id uuid, p_slot_id uuid)
RETURNS SETOF uuid LANGUAGE plpgsql AS $$
DECLARE
  v_saved_kind text := actor_setting('actor_kind');
  v_saved_id text := actor_setting('actor_id');
  v_saved_source text := actor_setting('source');
  v_saved_reason text := actor_setting('reason');
  v_saved_request text := actor_setting('request_id');
  v_expired uuid[];
BEGIN
  IF NOT EXISTS (SELECT 1 FROM bookings WHERE vendor_id = p_vendor_id AND slot_id = p_slot_id
                 AND state = 'held' AND hold_expires_at <= bookiji_now()) THEN
    RETURN;
  END IF;
  PERFORM set_actor('system', NULL, coalesce(v_saved_source, 'system'), 'hold expired: its TTL passed', v_saved_request);
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

-- Expired holds on the vendor's *other* slots that overlap a range: the
-- exclusion constraint would still see them, so a claim frees them first
-- (I9: an expired hold never blocks anyone). Slots are locked in id order.
CREATE FUNCTION expire_stale_overlapping_holds(p_vendor_id uuid, p_except_slot_id uuid, p_starts_at timestamptz, p_ends_at timestamptz)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  v_slot_id uuid;
BEGIN
  FOR v_slot_id IN
    SELECT DISTINCT b.slot_id FROM bookings b
    WHERE b.vendor_id = p_vendor_id AND b.state = 'held' AND b.hold_expires_at <= bookiji_now()
      AND b.slot_id <> p_except_slot_id
      AND tstzrange(b.starts_at, b.ends_at) && tstzrange(p_starts_at, p_ends_at)
    ORDER BY b.slot_id
  LOOP
    PERFORM 1 FROM slots WHERE vendor_id = p_vendor_id AND id = v_slot_id FOR UPDATE;
    PERFORM expire_stale_holds_on_slot(p_vendor_id, v_slot_id);
  END LOOP;
END $$;

CREATE FUNCTION booking_json(p_vendor_id uuid, p_booking_id uuid) RETURNS jsonb LANGUAGE sql STABLE AS $$
  SELECT to_jsonb(b) FROM bookings b WHERE b.vendor_id = p_vendor_id AND b.id = p_booking_id
$$;

-- ---------------------------------------------------------------------------
-- claim_slot: the atomic claim. One call, one transaction, one round trip.
-- Locks the slot, checks time against the database clock (I5), frees expired
-- holds (I9), checks capacity (I1) and vendor exclusivity (I2, by the
-- exclusion constraint), writes the booking, the counter (I3), the transition
-- (I10, trigger) and the audit rows (I8, triggers) together. With an
-- idempotency key, a retry returns the first outcome (I6).
-- ---------------------------------------------------------------------------
CREATE FUNCTION claim_slot(
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

  -- A retry returns the first outcome; the key at another vendor or with
  -- another request is a mismatch.
  IF p_idempotency_key IS NOT NULL THEN
    SELECT * INTO v_existing FROM bookings WHERE idempotency_key = p_idempotency_key LIMIT 1;
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

  -- Measured alternatives for the contended path (see README, Performance):
  -- SELECT … FOR UPDATE here, then the checks, is what we ship. A conditional
  -- UPDATE … WHERE booked_count < capacity takes the same row lock; NOWAIT
  -- would turn waiting winners into spurious conflicts on capacity > 1.
  SELECT * INTO v_slot FROM slots WHERE vendor_id = v_slot.vendor_id AND id = p_slot_id FOR UPDATE;
  IF v_slot.legacy THEN
    PERFORM raise_error('BK001', format('slot %s was removed from the vendor''s schedule and takes no new bookings', p_slot_id),
      jsonb_build_object('slot_id', p_slot_id, 'legacy', true));
  END IF;
  PERFORM expire_stale_holds_on_slot(v_slot.vendor_id, p_slot_id);
  SELECT * INTO v_slot FROM slots WHERE vendor_id = v_slot.vendor_id AND id = p_slot_id;
  IF v_slot.booked_count >= v_slot.capacity THEN
    PERFORM raise_error('BK001', format('slot %s is full (capacity %s)', p_slot_id, v_slot.capacity),
      jsonb_build_object('slot_id', p_slot_id, 'capacity', v_slot.capacity));
  END IF;

  IF p_hold THEN
    -- Hold flooding: the customer row is locked so two concurrent holds by one
    -- customer count each other. Customers are a reference table, so this is
    -- the one lock on the path not keyed by vendor.
    PERFORM 1 FROM customers WHERE id = p_customer_id FOR NO KEY UPDATE;
    IF (SELECT count(*) FROM bookings WHERE customer_id = p_customer_id AND state = 'held' AND hold_expires_at > v_now)
         >= engine_limit('holds_per_customer_max') THEN
      PERFORM raise_error('BK014', format('customer %s already has %s unexpired holds (the limit)', p_customer_id, engine_limit('holds_per_customer_max')),
        jsonb_build_object('customer_id', p_customer_id, 'limit', engine_limit('holds_per_customer_max')));
    END IF;
  END IF;

  PERFORM expire_stale_overlapping_holds(v_slot.vendor_id, p_slot_id, v_slot.starts_at, v_slot.ends_at);

  BEGIN
    INSERT INTO bookings (vendor_id, slot_id, customer_id, state, starts_at, ends_at, hold_expires_at,
                          idempotency_key, request_hash, payment_method, payment_status, amount_cents, currency, created_at, updated_at)
    VALUES (v_slot.vendor_id, p_slot_id, p_customer_id, CASE WHEN p_hold THEN 'held' ELSE 'confirmed' END,
            v_slot.starts_at, v_slot.ends_at, CASE WHEN p_hold THEN v_now + make_interval(secs => v_ttl) END,
            p_idempotency_key, CASE WHEN p_idempotency_key IS NOT NULL THEN v_hash END,
            v_method, CASE WHEN v_method = 'card' THEN 'requires_payment' ELSE 'none' END,
            CASE WHEN v_method = 'free' THEN 0 ELSE v_slot.price_cents END, v_slot.currency, v_now, v_now)
    RETURNING id INTO v_booking_id;
  EXCEPTION
    WHEN exclusion_violation THEN
      PERFORM raise_error('BK001', format('vendor %s already has a booking overlapping %s – %s', v_slot.vendor_id, v_slot.starts_at, v_slot.ends_at),
        jsonb_build_object('slot_id', p_slot_id, 'vendor_id', v_slot.vendor_id));
    WHEN unique_violation THEN
      -- A concurrent request with the same key committed first: its outcome is ours.
      SELECT * INTO v_existing FROM bookings WHERE vendor_id = v_slot.vendor_id AND idempotency_key = p_idempotency_key;
      IF v_existing.request_hash <> v_hash THEN
        PERFORM raise_error('BK010', format('idempotency key %L was first used for a different request', p_idempotency_key),
          jsonb_build_object('idempotency_key', p_idempotency_key, 'booking_id', v_existing.id));
      END IF;
      RETURN QUERY SELECT to_jsonb(v_existing), true;
      RETURN;
  END;

  UPDATE slots SET booked_count = booked_count + 1 WHERE vendor_id = v_slot.vendor_id AND id = p_slot_id;
  RETURN QUERY SELECT booking_json(v_slot.vendor_id, v_booking_id), false;
END $$;

-- Locks a booking for a change, slot first (the lock order), and checks the
-- version the caller saw. Loops if a concurrent reschedule moved the booking
-- to another slot between the read and the lock.
CREATE FUNCTION lock_booking_for_change(p_booking_id uuid, p_expected_version integer)
RETURNS bookings LANGUAGE plpgsql AS $$
DECLARE
  v_booking bookings%ROWTYPE;
  v_slot_id uuid;
BEGIN
  LOOP
    SELECT * INTO v_booking FROM bookings WHERE id = p_booking_id;
    IF NOT FOUND THEN
      PERFORM raise_error('BK003', format('booking %s not found', p_booking_id), jsonb_build_object('booking_id', p_booking_id));
    END IF;
    v_slot_id := v_booking.slot_id;
    PERFORM 1 FROM slots WHERE vendor_id = v_booking.vendor_id AND id = v_slot_id FOR UPDATE;
    SELECT * INTO v_booking FROM bookings WHERE vendor_id = v_booking.vendor_id AND id = p_booking_id FOR UPDATE;
    EXIT WHEN v_booking.slot_id = v_slot_id;
  END LOOP;
  IF p_expected_version IS NOT NULL AND v_booking.version <> p_expected_version THEN
    PERFORM raise_error('BK012', format('booking %s is at version %s, not %s: it changed since you read it', p_booking_id, v_booking.version, p_expected_version),
      jsonb_build_object('booking_id', p_booking_id, 'version', v_booking.version, 'expected_version', p_expected_version));
  END IF;
  RETURN v_booking;
END $$;

-- hold → confirmed, for bookings whose method needs no verified payment here.
-- A card booking is confirmed only by its verified payment (payments work);
-- the CHECK bookings_confirmed_is_paid refuses anything else (I4).
CREATE FUNCTION confirm_booking(p_booking_id uuid, p_expected_version integer, p_actor_kind text, p_actor_id text, p_source text, p_request_id text DEFAULT NULL)
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

CREATE FUNCTION cancel_booking(p_booking_id uuid, p_expected_version integer, p_reason text, p_actor_kind text, p_actor_id text, p_source text, p_request_id text DEFAULT NULL)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  v_booking bookings%ROWTYPE;
BEGIN
  IF p_reason IS NULL OR length(btrim(p_reason)) = 0 OR length(p_reason) > 500 THEN
    PERFORM raise_error('BK006', 'reason: give a reason of 1 to 500 characters', jsonb_build_object('field', 'reason'));
  END IF;
  PERFORM set_actor(p_actor_kind, p_actor_id, p_source, 'cancelled: ' || p_reason, p_request_id);
  v_booking := lock_booking_for_change(p_booking_id, p_expected_version);
  IF NOT booking_state_holds_capacity(v_booking.state) THEN
    PERFORM raise_error('BK011', format('booking %s is already %s', p_booking_id, v_booking.state),
      jsonb_build_object('booking_id', p_booking_id, 'from', v_booking.state, 'to', 'cancelled'));
  END IF;
  UPDATE bookings SET state = 'cancelled', cancel_reason = p_reason, hold_expires_at = NULL
  WHERE vendor_id = v_booking.vendor_id AND id = p_booking_id;
  UPDATE slots SET booked_count = booked_count - 1 WHERE vendor_id = v_booking.vendor_id AND id = v_booking.slot_id;
  RETURN booking_json(v_booking.vendor_id, p_booking_id);
END $$;

-- Moves a booking to another slot of the same vendor: the release and the new
-- claim happen together or not at all (SC-4).
CREATE FUNCTION reschedule_booking(p_booking_id uuid, p_new_slot_id uuid, p_expected_version integer, p_actor_kind text, p_actor_id text, p_source text, p_request_id text DEFAULT NULL)
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
    -- Both slots, in id order, then the booking.
    PERFORM 1 FROM slots WHERE vendor_id = v_booking.vendor_id AND id IN (v_old_slot_id, p_new_slot_id) ORDER BY id FOR UPDATE;
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
  IF v_new.legacy THEN
    PERFORM raise_error('BK001', format('slot %s was removed from the vendor''s schedule and takes no new bookings', p_new_slot_id),
      jsonb_build_object('slot_id', p_new_slot_id, 'legacy', true));
  END IF;
  IF v_new.starts_at <= bookiji_now() THEN
    PERFORM raise_error('BK007', format('slot %s starts at %s, not after the database''s now (%s)', p_new_slot_id, v_new.starts_at, bookiji_now()),
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
    UPDATE bookings SET slot_id = p_new_slot_id, starts_at = v_new.starts_at, ends_at = v_new.ends_at, amount_cents = v_new.price_cents
    WHERE vendor_id = v_booking.vendor_id AND id = p_booking_id;
  EXCEPTION WHEN exclusion_violation THEN
    PERFORM raise_error('BK001', format('vendor %s already has a booking overlapping %s – %s', v_booking.vendor_id, v_new.starts_at, v_new.ends_at),
      jsonb_build_object('slot_id', p_new_slot_id));
  END;
  UPDATE slots SET booked_count = booked_count - 1 WHERE vendor_id = v_booking.vendor_id AND id = v_old_slot_id;
  UPDATE slots SET booked_count = booked_count + 1 WHERE vendor_id = v_booking.vendor_id AND id = p_new_slot_id;
  RETURN booking_json(v_booking.vendor_id, p_booking_id);
END $$;

-- Ops and reconcile: expire holds whose TTL passed, a batch at a time.
-- FOR UPDATE SKIP LOCKED on the slot: a slot some claim or another reconciler
-- is working on is skipped, not waited for (that worker frees its expired
-- holds itself), so concurrent runs never expire a hold twice nor queue.
-- Alternatives measured: plain FOR UPDATE made two concurrent runs queue
-- behind each other slot by slot; NOWAIT turned contention into errors.
CREATE FUNCTION expire_holds(p_batch_max integer, p_dry_run boolean, p_actor_kind text, p_actor_id text, p_source text)
RETURNS TABLE (booking_id uuid, vendor_id uuid, slot_id uuid, customer_id uuid, hold_expires_at timestamptz, expired boolean)
LANGUAGE plpgsql AS $$
DECLARE
  v_slot record;
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
  FOR v_slot IN
    SELECT s.vendor_id, s.id FROM slots s
    WHERE (s.vendor_id, s.id) IN (
      SELECT b.vendor_id, b.slot_id FROM bookings b
      WHERE b.state = 'held' AND b.hold_expires_at <= bookiji_now()
      ORDER BY b.hold_expires_at LIMIT p_batch_max)
    ORDER BY s.id
    FOR UPDATE OF s SKIP LOCKED
  LOOP
    RETURN QUERY
      SELECT b.id, b.vendor_id, b.slot_id, b.customer_id, b.hold_expires_at, true
      FROM bookings b
      WHERE b.vendor_id = v_slot.vendor_id
        AND b.id IN (SELECT expire_stale_holds_on_slot(v_slot.vendor_id, v_slot.id));
  END LOOP;
END $$;

-- Schedule refresh (I7): the vendor's live slots in [p_from, p_to) become
-- exactly p_slots, except that a slot with any booking is never deleted: one
-- with a capacity-holding booking becomes legacy (kept for it, hidden from new
-- claims), as does one with only past bookings (their history needs it).
-- p_slots: [{"starts_at": ..., "ends_at": ..., "capacity": n, "price_cents": n, "currency": "EUR"}]
CREATE FUNCTION refresh_vendor_slots(p_vendor_id uuid, p_from timestamptz, p_to timestamptz, p_slots jsonb,
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
BEGIN
  PERFORM set_actor(p_actor_kind, p_actor_id, p_source, 'schedule refresh', NULL);
  IF NOT EXISTS (SELECT 1 FROM vendors WHERE id = p_vendor_id) THEN
    PERFORM raise_error('BK004', format('vendor %s not found', p_vendor_id), jsonb_build_object('vendor_id', p_vendor_id));
  END IF;
  IF p_to <= p_from THEN
    PERFORM raise_error('BK006', 'to: the window must end after it starts', jsonb_build_object('field', 'to'));
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

  -- Existing slots of the window, locked in id order (the lock order).
  FOR v_slot IN
    SELECT * FROM slots WHERE vendor_id = p_vendor_id AND starts_at >= p_from AND starts_at < p_to ORDER BY id FOR UPDATE
  LOOP
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
    ELSIF EXISTS (SELECT 1 FROM bookings b WHERE b.vendor_id = p_vendor_id AND b.slot_id = v_slot.id) THEN
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
