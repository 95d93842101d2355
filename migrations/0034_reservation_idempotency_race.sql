-- Issue 12, defect 7 (the reservation part): create_reservation's
-- unique-violation path (a concurrent request with the same key committed
-- first) replayed that reservation without comparing requests, so the same
-- key with a different request could come back as a "replay" of another
-- reservation. Both paths now compare the whole request's hash (vendor, slot
-- times, requester, metadata; the partner and key are the lookup) and refuse
-- a different one with IDEMPOTENCY_MISMATCH (I6).
--
-- And defect 4's first stage: the vendor-confirmation TTL is capped at the
-- slot's start like every later stage (0032).

CREATE FUNCTION reservation_request_hash(p_vendor_id uuid, p_starts_at timestamptz, p_ends_at timestamptz, p_requester_id uuid, p_metadata jsonb)
RETURNS text LANGUAGE sql IMMUTABLE SET search_path = public, pg_temp AS $$
  -- The same text as 0012 hashed, so keys stored before this migration still replay.
  SELECT encode(sha256(convert_to(jsonb_build_object('vendor_id', p_vendor_id, 'starts_at', p_starts_at, 'ends_at', p_ends_at,
                'requester_id', p_requester_id, 'metadata', coalesce(p_metadata, '{}'))::text, 'UTF8')), 'hex')
$$;

-- The first outcome of a key, or IDEMPOTENCY_MISMATCH when the request differs.
CREATE FUNCTION reservation_replay(p_existing reservations, p_hash text) RETURNS jsonb LANGUAGE plpgsql
SET search_path = public, pg_temp AS $$
BEGIN
  IF p_existing.request_hash <> p_hash THEN
    PERFORM raise_error('BK010', format('idempotency key %L was first used for a different reservation', p_existing.idempotency_key),
      jsonb_build_object('idempotency_key', p_existing.idempotency_key, 'reservation_id', p_existing.id));
  END IF;
  RETURN to_jsonb(p_existing);
END $$;

CREATE OR REPLACE FUNCTION create_reservation(p_vendor_id uuid, p_starts_at timestamptz, p_ends_at timestamptz, p_requester_id uuid, p_partner_id text,
                                              p_metadata jsonb, p_idempotency_key text, p_actor_kind text, p_actor_id text, p_source text)
RETURNS TABLE (reservation jsonb, replayed boolean) LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
  v_hash text := reservation_request_hash(p_vendor_id, p_starts_at, p_ends_at, p_requester_id, p_metadata);
  v_existing reservations%ROWTYPE;
  v_slot slots%ROWTYPE;
  v_booking jsonb;
  v_res reservations%ROWTYPE;
  v_expires timestamptz;
BEGIN
  PERFORM set_actor(p_actor_kind, p_actor_id, p_source, 'reservation requested', NULL);
  SELECT * INTO v_existing FROM reservations WHERE partner_id = p_partner_id AND idempotency_key = p_idempotency_key LIMIT 1;
  IF FOUND THEN
    RETURN QUERY SELECT reservation_replay(v_existing, v_hash), true;
    RETURN;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM vendors WHERE id = p_vendor_id) THEN
    PERFORM raise_error('BK004', format('vendor %s not found', p_vendor_id), jsonb_build_object('vendor_id', p_vendor_id));
  END IF;
  SELECT * INTO v_slot FROM slots WHERE vendor_id = p_vendor_id AND starts_at = p_starts_at AND ends_at = p_ends_at AND NOT legacy;
  IF NOT FOUND THEN
    PERFORM raise_error('BK002', format('vendor %s has no slot from %s to %s', p_vendor_id, p_starts_at, p_ends_at),
      jsonb_build_object('vendor_id', p_vendor_id));
  END IF;
  IF v_slot.price_cents <= 0 THEN
    PERFORM raise_error('BK006', 'slot: a reservation needs a priced slot (both parties authorize money)', jsonb_build_object('field', 'slot'));
  END IF;
  -- The claim: all of the booking engine's rules (time, capacity, exclusivity, hold limits, idempotency).
  SELECT c.booking INTO v_booking FROM claim_slot(v_slot.id, p_requester_id, true, engine_limit('reservation_ttl_seconds_vendor_confirmation'), 'card',
    'reservation:' || p_partner_id || ':' || p_idempotency_key, p_actor_kind, p_actor_id, p_source, NULL) c;
  PERFORM set_actor(p_actor_kind, p_actor_id, p_source, 'reservation requested', NULL);
  BEGIN
    INSERT INTO reservations (vendor_id, partner_id, requester_id, slot_id, state, starts_at, ends_at, amount_cents, deposit_cents, currency,
                              metadata, idempotency_key, request_hash, created_at, updated_at)
    VALUES (p_vendor_id, p_partner_id, p_requester_id, v_slot.id, 'INTENT_CREATED', v_slot.starts_at, v_slot.ends_at, v_slot.price_cents,
            greatest(50, ceil(v_slot.price_cents * engine_limit('reservation_deposit_percent') / 100.0)::integer), v_slot.currency,
            coalesce(p_metadata, '{}'), p_idempotency_key, v_hash, bookiji_now(), bookiji_now())
    RETURNING * INTO v_res;
  EXCEPTION WHEN unique_violation THEN
    -- A concurrent request with the same key committed first: its outcome is
    -- ours if it asked for the same thing.
    SELECT * INTO v_existing FROM reservations WHERE vendor_id = p_vendor_id AND partner_id = p_partner_id AND idempotency_key = p_idempotency_key;
    RETURN QUERY SELECT reservation_replay(v_existing, v_hash), true;
    RETURN;
  END;
  -- The first stage's deadline, like every later one, never outlives the slot's start.
  v_expires := least((v_booking->>'hold_expires_at')::timestamptz, v_slot.starts_at);
  UPDATE bookings SET hold_expires_at = v_expires
  WHERE vendor_id = p_vendor_id AND id = (v_booking->>'id')::uuid AND state = 'held' AND hold_expires_at > v_expires;
  PERFORM set_config('bookiji.reason', 'slot held', true);
  UPDATE reservations SET state = 'HELD', booking_id = (v_booking->>'id')::uuid, expires_at = v_expires
  WHERE vendor_id = p_vendor_id AND id = v_res.id;
  PERFORM set_config('bookiji.reason', 'vendor asked to confirm', true);
  UPDATE reservations SET state = 'AWAITING_VENDOR_CONFIRMATION' WHERE vendor_id = p_vendor_id AND id = v_res.id;
  RETURN QUERY SELECT reservation_json(p_vendor_id, v_res.id), false;
END $$;
