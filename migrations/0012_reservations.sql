-- The reservation machine (core-infrastructure-design): 17 states as rows,
-- vendor confirmation, dual authorization (vendor deposit + requester
-- payment, both manual capture), staged TTLs, revalidation before commit,
-- atomic commit and compensation.
--
-- A reservation's slot is held by a booking in state 'held' whose
-- hold_expires_at follows the stage's TTL, so capacity (I1), vendor
-- exclusivity (I2), holds that never block past their TTL (I9) and the audit
-- chain (I8) are the booking engine's. COMMITTED confirms that booking; every
-- failure state cancels it (or it expired) and records what its money is owed.

INSERT INTO machine_states (machine, state, holds_capacity, terminal, initial, description) VALUES
  ('reservation', 'INTENT_CREATED',               false, false, true,  'Request accepted, slot not yet held.'),
  ('reservation', 'HELD',                         true,  false, false, 'The slot is held by the reservation''s booking.'),
  ('reservation', 'AWAITING_VENDOR_CONFIRMATION', true,  false, false, 'Waiting for the vendor to accept (first TTL stage).'),
  ('reservation', 'CONFIRMED_BY_VENDOR',          true,  false, false, 'The vendor accepted; authorizations may start (second TTL stage).'),
  ('reservation', 'AWAITING_VENDOR_AUTH',         true,  false, false, 'The vendor''s deposit is being authorized.'),
  ('reservation', 'VENDOR_AUTHORIZED',            true,  false, false, 'The vendor''s deposit is authorized.'),
  ('reservation', 'AWAITING_REQUESTER_AUTH',      true,  false, false, 'The requester''s payment is being authorized.'),
  ('reservation', 'AUTHORIZED_BOTH',              true,  false, false, 'Both authorized; commit must happen (third TTL stage).'),
  ('reservation', 'COMMIT_IN_PROGRESS',           true,  false, false, 'Availability revalidated; both captures owed.'),
  ('reservation', 'COMMITTED',                    true,  true,  false, 'Both captured; the booking is confirmed.'),
  ('reservation', 'FAILED_VENDOR_TIMEOUT',        false, true,  false, 'The vendor did not accept in time.'),
  ('reservation', 'FAILED_VENDOR_AUTH',           false, true,  false, 'The vendor''s deposit was declined.'),
  ('reservation', 'FAILED_REQUESTER_AUTH',        false, true,  false, 'The requester''s payment was declined.'),
  ('reservation', 'FAILED_AVAILABILITY_CHANGED',  false, true,  false, 'The slot was no longer available at revalidation.'),
  ('reservation', 'FAILED_COMMIT',                false, true,  false, 'A capture failed; the other was compensated.'),
  ('reservation', 'EXPIRED',                      false, true,  false, 'A stage''s TTL passed.'),
  ('reservation', 'CANCELLED',                    false, true,  false, 'Cancelled by the partner or an operator.');

INSERT INTO machine_transitions (machine, from_state, to_state, description)
SELECT 'reservation', f, t, d FROM (VALUES
  ('INTENT_CREATED', 'HELD', 'The slot was claimed.'),
  ('INTENT_CREATED', 'CANCELLED', 'Cancelled before the slot was held.'),
  ('HELD', 'AWAITING_VENDOR_CONFIRMATION', 'The vendor was asked.'),
  ('AWAITING_VENDOR_CONFIRMATION', 'CONFIRMED_BY_VENDOR', 'The vendor accepted.'),
  ('AWAITING_VENDOR_CONFIRMATION', 'FAILED_VENDOR_TIMEOUT', 'The vendor did not accept in time.'),
  ('CONFIRMED_BY_VENDOR', 'AWAITING_VENDOR_AUTH', 'The deposit authorization started.'),
  ('AWAITING_VENDOR_AUTH', 'VENDOR_AUTHORIZED', 'The deposit was authorized.'),
  ('AWAITING_VENDOR_AUTH', 'FAILED_VENDOR_AUTH', 'The deposit was declined.'),
  ('VENDOR_AUTHORIZED', 'AWAITING_REQUESTER_AUTH', 'The requester authorization started.'),
  ('AWAITING_REQUESTER_AUTH', 'AUTHORIZED_BOTH', 'The requester payment was authorized.'),
  ('AWAITING_REQUESTER_AUTH', 'FAILED_REQUESTER_AUTH', 'The requester payment was declined.'),
  ('AUTHORIZED_BOTH', 'COMMIT_IN_PROGRESS', 'Availability revalidated; capturing both.'),
  ('AUTHORIZED_BOTH', 'FAILED_AVAILABILITY_CHANGED', 'Revalidation found the slot gone.'),
  ('COMMIT_IN_PROGRESS', 'COMMITTED', 'Both captures succeeded.'),
  ('COMMIT_IN_PROGRESS', 'FAILED_COMMIT', 'A capture failed, or the hold was lost mid-commit.')
) AS moves(f, t, d)
UNION ALL
SELECT 'reservation', s, 'EXPIRED', 'The stage''s TTL passed.' FROM unnest(ARRAY['HELD', 'CONFIRMED_BY_VENDOR', 'AWAITING_VENDOR_AUTH', 'VENDOR_AUTHORIZED', 'AWAITING_REQUESTER_AUTH', 'AUTHORIZED_BOTH']) s
UNION ALL
SELECT 'reservation', s, 'CANCELLED', 'Cancelled by the partner or an operator.' FROM unnest(ARRAY['HELD', 'AWAITING_VENDOR_CONFIRMATION', 'CONFIRMED_BY_VENDOR', 'AWAITING_VENDOR_AUTH', 'VENDOR_AUTHORIZED', 'AWAITING_REQUESTER_AUTH', 'AUTHORIZED_BOTH']) s;

INSERT INTO engine_limits (name, value, description) VALUES
  ('reservation_ttl_seconds_vendor_confirmation', 600, 'Reservation stage 1: time for the vendor to accept.'),
  ('reservation_ttl_seconds_authorization', 1800, 'Reservation stage 2: time for both authorizations.'),
  ('reservation_ttl_seconds_commit', 900, 'Reservation stage 3: time to commit once both are authorized.'),
  ('reservation_deposit_percent', 10, 'The vendor''s deposit, as a percentage of the price (at least 50 minor units).');

CREATE TABLE reservations (
  vendor_id        uuid NOT NULL REFERENCES vendors (id),
  id               uuid NOT NULL DEFAULT gen_random_uuid(),
  partner_id       text NOT NULL CHECK (length(partner_id) BETWEEN 1 AND 200),
  requester_id     uuid NOT NULL REFERENCES customers (id),
  booking_id       uuid,
  slot_id          uuid NOT NULL,
  state            text NOT NULL,
  starts_at        timestamptz NOT NULL,
  ends_at          timestamptz NOT NULL,
  expires_at       timestamptz,
  amount_cents     integer NOT NULL CHECK (amount_cents > 0),
  deposit_cents    integer NOT NULL CHECK (deposit_cents > 0),
  currency         char(3) NOT NULL,
  metadata         jsonb NOT NULL DEFAULT '{}',
  idempotency_key  text NOT NULL CHECK (length(idempotency_key) BETWEEN 1 AND 200),
  request_hash     text NOT NULL,
  failure_reason   text,
  version          integer NOT NULL DEFAULT 1,
  created_at       timestamptz NOT NULL,
  updated_at       timestamptz NOT NULL,
  PRIMARY KEY (vendor_id, id),
  FOREIGN KEY (vendor_id, booking_id) REFERENCES bookings (vendor_id, id),
  FOREIGN KEY (vendor_id, slot_id) REFERENCES slots (vendor_id, id),
  CONSTRAINT reservations_held_has_booking CHECK (state = 'INTENT_CREATED' OR booking_id IS NOT NULL)
);
CREATE INDEX reservations_id ON reservations (id);
CREATE INDEX reservations_booking ON reservations (vendor_id, booking_id);
CREATE UNIQUE INDEX reservations_idempotency ON reservations (vendor_id, partner_id, idempotency_key);
CREATE INDEX reservations_partner_key ON reservations (partner_id, idempotency_key);
CREATE INDEX reservations_open ON reservations (state) WHERE state IN ('COMMIT_IN_PROGRESS');

CREATE TABLE reservation_transitions (
  vendor_id       uuid NOT NULL,
  id              bigint GENERATED ALWAYS AS IDENTITY,
  reservation_id  uuid NOT NULL,
  from_state      text,
  to_state        text NOT NULL,
  cause           text NOT NULL,
  actor_kind      text NOT NULL,
  actor_id        text,
  source          text NOT NULL,
  at              timestamptz NOT NULL,
  PRIMARY KEY (vendor_id, id)
);
CREATE INDEX reservation_transitions_reservation ON reservation_transitions (reservation_id, id);
CREATE TRIGGER reservation_transitions_append_only BEFORE UPDATE OR DELETE ON reservation_transitions FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER reservation_transitions_no_truncate BEFORE TRUNCATE ON reservation_transitions FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();

ALTER TABLE payments ADD CONSTRAINT payments_reservation_purpose CHECK ((purpose = 'booking') = (reservation_id IS NULL));

CREATE FUNCTION reservations_state_machine() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  v_now timestamptz := bookiji_now();
BEGIN
  IF TG_OP = 'INSERT' THEN
    IF NEW.state <> 'INTENT_CREATED' THEN
      PERFORM raise_error('BK011', format('a reservation cannot start in state %s', NEW.state), jsonb_build_object('to', NEW.state));
    END IF;
    NEW.version := 1;
    NEW.created_at := v_now;
    NEW.updated_at := v_now;
    RETURN NEW;
  END IF;
  IF NEW.vendor_id <> OLD.vendor_id OR NEW.id <> OLD.id OR NEW.partner_id <> OLD.partner_id OR NEW.requester_id <> OLD.requester_id
     OR NEW.idempotency_key <> OLD.idempotency_key OR NEW.created_at <> OLD.created_at
     OR (OLD.booking_id IS NOT NULL AND NEW.booking_id IS DISTINCT FROM OLD.booking_id) THEN
    PERFORM raise_error('BK011', 'a reservation''s identity, partner, requester, key and booking never change', jsonb_build_object('reservation_id', OLD.id));
  END IF;
  IF NEW.state <> OLD.state
     AND NOT EXISTS (SELECT 1 FROM machine_transitions WHERE machine = 'reservation' AND from_state = OLD.state AND to_state = NEW.state) THEN
    PERFORM raise_error('BK011', format('reservation %s cannot move from %s to %s', OLD.id, OLD.state, NEW.state),
      jsonb_build_object('reservation_id', OLD.id, 'from', OLD.state, 'to', NEW.state));
  END IF;
  NEW.version := OLD.version + 1;
  NEW.updated_at := v_now;
  RETURN NEW;
END $$;

CREATE FUNCTION reservations_log_transition() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' OR NEW.state <> OLD.state THEN
    INSERT INTO reservation_transitions (vendor_id, reservation_id, from_state, to_state, cause, actor_kind, actor_id, source, at)
    VALUES (NEW.vendor_id, NEW.id, CASE WHEN TG_OP = 'INSERT' THEN NULL ELSE OLD.state END, NEW.state,
            coalesce(actor_setting('reason'), CASE WHEN TG_OP = 'INSERT' THEN 'created' ELSE 'updated' END),
            coalesce(actor_setting('actor_kind'), 'system'), actor_setting('actor_id'), coalesce(actor_setting('source'), 'system'), NEW.updated_at);
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER reservations_state_machine BEFORE INSERT OR UPDATE ON reservations FOR EACH ROW EXECUTE FUNCTION reservations_state_machine();
CREATE TRIGGER reservations_log_transition AFTER INSERT OR UPDATE ON reservations FOR EACH ROW EXECUTE FUNCTION reservations_log_transition();
CREATE TRIGGER reservations_audit AFTER INSERT OR UPDATE ON reservations FOR EACH ROW EXECUTE FUNCTION audit_row_change();
CREATE TRIGGER reservations_no_delete BEFORE DELETE ON reservations FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER reservations_no_truncate BEFORE TRUNCATE ON reservations FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();

CREATE FUNCTION reservation_json(p_vendor_id uuid, p_id uuid) RETURNS jsonb LANGUAGE sql STABLE AS $$
  SELECT to_jsonb(r) FROM reservations r WHERE r.vendor_id = p_vendor_id AND r.id = p_id
$$;

-- Money a failed reservation holds is owed back: an authorization a cancel,
-- a capture a refund, an intent still waiting a cancel.
CREATE FUNCTION reservation_release_payments(p_vendor_id uuid, p_reservation_id uuid) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  UPDATE payments p SET pending_action = CASE
      WHEN p.provider_intent_id IS NULL THEN p.pending_action
      WHEN p.status = 'captured' THEN 'refund'
      ELSE 'cancel' END
  WHERE p.vendor_id = p_vendor_id AND p.reservation_id = p_reservation_id
    AND p.status IN ('requires_payment', 'failed', 'authorized', 'captured');
END $$;

-- Moves a reservation to a failure state: the booking releases the slot (if it
-- still holds it) and the money is owed back. The caller holds the slot lock.
CREATE FUNCTION reservation_fail(p_vendor_id uuid, p_id uuid, p_state text, p_reason text) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  v_booking_id uuid;
BEGIN
  PERFORM set_config('bookiji.reason', p_reason, true);
  UPDATE reservations SET state = p_state, failure_reason = p_reason, expires_at = NULL
  WHERE vendor_id = p_vendor_id AND id = p_id
  RETURNING booking_id INTO v_booking_id;
  PERFORM reservation_release_payments(p_vendor_id, p_id);
  IF v_booking_id IS NOT NULL THEN
    PERFORM cancel_booking_for_payment(p_vendor_id, v_booking_id, 'reservation ' || lower(p_state) || ': ' || p_reason);
  END IF;
END $$;

-- A reservation's booking stopped holding the slot by other means (its hold
-- expired in a claim or in expire_holds, or someone cancelled it): the
-- reservation follows, once.
CREATE FUNCTION bookings_end_reservation() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  v_res reservations%ROWTYPE;
BEGIN
  IF booking_state_holds_capacity(OLD.state) AND NOT booking_state_holds_capacity(NEW.state) THEN
    FOR v_res IN SELECT * FROM reservations r WHERE r.vendor_id = NEW.vendor_id AND r.booking_id = NEW.id
                 AND NOT (SELECT terminal FROM machine_states WHERE machine = 'reservation' AND state = r.state) FOR UPDATE
    LOOP
      UPDATE reservations SET state = CASE
          WHEN v_res.state = 'AWAITING_VENDOR_CONFIRMATION' THEN 'FAILED_VENDOR_TIMEOUT'
          WHEN v_res.state = 'COMMIT_IN_PROGRESS' THEN 'FAILED_COMMIT'
          WHEN NEW.state = 'expired' THEN 'EXPIRED'
          ELSE 'CANCELLED' END,
        failure_reason = format('its booking was %s', NEW.state), expires_at = NULL
      WHERE vendor_id = v_res.vendor_id AND id = v_res.id;
      PERFORM reservation_release_payments(v_res.vendor_id, v_res.id);
    END LOOP;
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER bookings_end_reservation AFTER UPDATE OF state ON bookings FOR EACH ROW EXECUTE FUNCTION bookings_end_reservation();

-- Locks a reservation for a change: slot, booking, reservation (the lock order).
CREATE FUNCTION lock_reservation(p_id uuid) RETURNS reservations LANGUAGE plpgsql AS $$
DECLARE
  v_res reservations%ROWTYPE;
BEGIN
  SELECT * INTO v_res FROM reservations WHERE id = p_id;
  IF NOT FOUND THEN
    PERFORM raise_error('BK015', format('reservation %s not found', p_id), jsonb_build_object('reservation_id', p_id));
  END IF;
  IF v_res.booking_id IS NOT NULL THEN
    PERFORM lock_booking_for_change(v_res.booking_id, NULL);
  END IF;
  SELECT * INTO v_res FROM reservations WHERE vendor_id = v_res.vendor_id AND id = p_id FOR UPDATE;
  RETURN v_res;
END $$;

-- Sets the stage's TTL on the reservation and its booking's hold.
CREATE FUNCTION reservation_set_stage(p_res reservations, p_state text, p_ttl_limit text, p_reason text) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  v_expires timestamptz := CASE WHEN p_ttl_limit IS NULL THEN p_res.expires_at ELSE bookiji_now() + make_interval(secs => engine_limit(p_ttl_limit)) END;
BEGIN
  PERFORM set_config('bookiji.reason', p_reason, true);
  UPDATE reservations SET state = p_state, expires_at = v_expires WHERE vendor_id = p_res.vendor_id AND id = p_res.id;
  IF p_ttl_limit IS NOT NULL THEN
    UPDATE bookings SET hold_expires_at = v_expires WHERE vendor_id = p_res.vendor_id AND id = p_res.booking_id AND state = 'held';
  END IF;
END $$;

-- A stage's TTL passed (checked by the clock, before the hold is swept).
CREATE FUNCTION reservation_check_alive(p_res reservations) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  IF p_res.expires_at IS NOT NULL AND p_res.expires_at <= bookiji_now() THEN
    PERFORM raise_error('BK008', format('reservation %s expired at %s', p_res.id, p_res.expires_at),
      jsonb_build_object('reservation_id', p_res.id, 'expires_at', p_res.expires_at));
  END IF;
END $$;

CREATE FUNCTION create_reservation(p_vendor_id uuid, p_starts_at timestamptz, p_ends_at timestamptz, p_requester_id uuid, p_partner_id text,
                                   p_metadata jsonb, p_idempotency_key text, p_actor_kind text, p_actor_id text, p_source text)
RETURNS TABLE (reservation jsonb, replayed boolean) LANGUAGE plpgsql AS $$
DECLARE
  v_hash text := encode(sha256(convert_to(jsonb_build_object('vendor_id', p_vendor_id, 'starts_at', p_starts_at, 'ends_at', p_ends_at,
                   'requester_id', p_requester_id, 'metadata', coalesce(p_metadata, '{}'))::text, 'UTF8')), 'hex');
  v_existing reservations%ROWTYPE;
  v_slot slots%ROWTYPE;
  v_booking jsonb;
  v_res reservations%ROWTYPE;
BEGIN
  PERFORM set_actor(p_actor_kind, p_actor_id, p_source, 'reservation requested', NULL);
  SELECT * INTO v_existing FROM reservations WHERE partner_id = p_partner_id AND idempotency_key = p_idempotency_key LIMIT 1;
  IF FOUND THEN
    IF v_existing.request_hash <> v_hash THEN
      PERFORM raise_error('BK010', format('idempotency key %L was first used for a different reservation', p_idempotency_key),
        jsonb_build_object('idempotency_key', p_idempotency_key, 'reservation_id', v_existing.id));
    END IF;
    RETURN QUERY SELECT to_jsonb(v_existing), true;
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
    -- A concurrent request with the same key committed first: its outcome is ours.
    SELECT * INTO v_existing FROM reservations WHERE vendor_id = p_vendor_id AND partner_id = p_partner_id AND idempotency_key = p_idempotency_key;
    RETURN QUERY SELECT to_jsonb(v_existing), true;
    RETURN;
  END;
  PERFORM set_config('bookiji.reason', 'slot held', true);
  UPDATE reservations SET state = 'HELD', booking_id = (v_booking->>'id')::uuid, expires_at = (v_booking->>'hold_expires_at')::timestamptz
  WHERE vendor_id = p_vendor_id AND id = v_res.id;
  PERFORM set_config('bookiji.reason', 'vendor asked to confirm', true);
  UPDATE reservations SET state = 'AWAITING_VENDOR_CONFIRMATION' WHERE vendor_id = p_vendor_id AND id = v_res.id;
  RETURN QUERY SELECT reservation_json(p_vendor_id, v_res.id), false;
END $$;

CREATE FUNCTION vendor_confirm_reservation(p_id uuid, p_actor_kind text, p_actor_id text, p_source text) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  v_res reservations%ROWTYPE;
BEGIN
  PERFORM set_actor(p_actor_kind, p_actor_id, p_source, 'vendor confirmed', NULL);
  v_res := lock_reservation(p_id);
  IF v_res.state <> 'AWAITING_VENDOR_CONFIRMATION' THEN
    IF v_res.state IN ('CONFIRMED_BY_VENDOR', 'AWAITING_VENDOR_AUTH', 'VENDOR_AUTHORIZED', 'AWAITING_REQUESTER_AUTH', 'AUTHORIZED_BOTH', 'COMMIT_IN_PROGRESS', 'COMMITTED') THEN
      RETURN to_jsonb(v_res);
    END IF;
    PERFORM raise_error('BK011', format('reservation %s is %s and cannot be confirmed by the vendor', p_id, v_res.state),
      jsonb_build_object('reservation_id', p_id, 'from', v_res.state, 'to', 'CONFIRMED_BY_VENDOR'));
  END IF;
  PERFORM reservation_check_alive(v_res);
  PERFORM reservation_set_stage(v_res, 'CONFIRMED_BY_VENDOR', 'reservation_ttl_seconds_authorization', 'vendor confirmed');
  RETURN reservation_json(v_res.vendor_id, p_id);
END $$;

CREATE FUNCTION cancel_reservation(p_id uuid, p_reason text, p_actor_kind text, p_actor_id text, p_source text) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  v_res reservations%ROWTYPE;
BEGIN
  IF p_reason IS NULL OR length(btrim(p_reason)) = 0 OR length(p_reason) > 500 THEN
    PERFORM raise_error('BK006', 'reason: give a reason of 1 to 500 characters', jsonb_build_object('field', 'reason'));
  END IF;
  PERFORM set_actor(p_actor_kind, p_actor_id, p_source, 'cancelled: ' || p_reason, NULL);
  v_res := lock_reservation(p_id);
  IF v_res.state = 'CANCELLED' THEN
    RETURN to_jsonb(v_res);
  END IF;
  IF NOT EXISTS (SELECT 1 FROM machine_transitions WHERE machine = 'reservation' AND from_state = v_res.state AND to_state = 'CANCELLED') THEN
    PERFORM raise_error('BK011', format('reservation %s is %s and cannot be cancelled', p_id, v_res.state),
      jsonb_build_object('reservation_id', p_id, 'from', v_res.state, 'to', 'CANCELLED'));
  END IF;
  PERFORM reservation_fail(v_res.vendor_id, p_id, 'CANCELLED', p_reason);
  RETURN reservation_json(v_res.vendor_id, p_id);
END $$;

-- Starts one side's authorization: the state moves to AWAITING_*_AUTH and the
-- payment row (recovery point 'create') is committed before the provider call.
CREATE FUNCTION reservation_begin_authorization(p_id uuid, p_role text, p_actor_kind text, p_actor_id text, p_source text) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  v_res reservations%ROWTYPE;
  v_purpose text := CASE p_role WHEN 'vendor_deposit' THEN 'reservation_vendor_deposit' WHEN 'requester' THEN 'reservation_requester' END;
  v_from text := CASE p_role WHEN 'vendor_deposit' THEN 'CONFIRMED_BY_VENDOR' ELSE 'VENDOR_AUTHORIZED' END;
  v_awaiting text := CASE p_role WHEN 'vendor_deposit' THEN 'AWAITING_VENDOR_AUTH' ELSE 'AWAITING_REQUESTER_AUTH' END;
  v_payment_id uuid;
BEGIN
  IF v_purpose IS NULL THEN
    PERFORM raise_error('BK006', 'role: vendor_deposit or requester', jsonb_build_object('field', 'role'));
  END IF;
  PERFORM set_actor(p_actor_kind, p_actor_id, p_source, p_role || ' authorization started', NULL);
  v_res := lock_reservation(p_id);
  SELECT id INTO v_payment_id FROM payments WHERE vendor_id = v_res.vendor_id AND reservation_id = p_id AND purpose = v_purpose;
  IF FOUND AND v_res.state = v_awaiting THEN
    RETURN payment_json(v_res.vendor_id, v_payment_id);
  END IF;
  IF v_res.state <> v_from THEN
    PERFORM raise_error('BK011', format('reservation %s is %s: the %s authorization needs %s', p_id, v_res.state, p_role, v_from),
      jsonb_build_object('reservation_id', p_id, 'from', v_res.state, 'to', v_awaiting));
  END IF;
  PERFORM reservation_check_alive(v_res);
  PERFORM reservation_set_stage(v_res, v_awaiting, NULL, p_role || ' authorization started');
  INSERT INTO payments (vendor_id, booking_id, first_booking_id, purpose, reservation_id, idempotency_prefix, amount_cents, currency, created_at, updated_at)
  VALUES (v_res.vendor_id, v_res.booking_id, v_res.booking_id, v_purpose, p_id, 'bookiji:' || p_id::text || ':' || p_role,
          CASE p_role WHEN 'vendor_deposit' THEN v_res.deposit_cents ELSE v_res.amount_cents END, v_res.currency, bookiji_now(), bookiji_now())
  RETURNING id INTO v_payment_id;
  RETURN payment_json(v_res.vendor_id, v_payment_id);
END $$;

-- Moves an awaiting reservation on from its payment's verified state.
CREATE FUNCTION reservation_apply_authorization(p_id uuid, p_role text, p_actor_kind text, p_actor_id text, p_source text) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  v_res reservations%ROWTYPE;
  v_payment payments%ROWTYPE;
  v_awaiting text := CASE p_role WHEN 'vendor_deposit' THEN 'AWAITING_VENDOR_AUTH' ELSE 'AWAITING_REQUESTER_AUTH' END;
BEGIN
  PERFORM set_actor(p_actor_kind, p_actor_id, p_source, p_role || ' authorization verified', NULL);
  v_res := lock_reservation(p_id);
  IF v_res.state <> v_awaiting THEN
    RETURN to_jsonb(v_res);
  END IF;
  SELECT * INTO v_payment FROM payments WHERE vendor_id = v_res.vendor_id AND reservation_id = p_id
    AND purpose = CASE p_role WHEN 'vendor_deposit' THEN 'reservation_vendor_deposit' ELSE 'reservation_requester' END;
  IF v_payment.status = 'authorized' THEN
    IF p_role = 'vendor_deposit' THEN
      PERFORM reservation_set_stage(v_res, 'VENDOR_AUTHORIZED', NULL, 'vendor deposit authorized');
    ELSE
      PERFORM reservation_set_stage(v_res, 'AUTHORIZED_BOTH', 'reservation_ttl_seconds_commit', 'requester payment authorized');
    END IF;
  ELSIF v_payment.status IN ('failed', 'canceled') THEN
    PERFORM reservation_fail(v_res.vendor_id, p_id, CASE p_role WHEN 'vendor_deposit' THEN 'FAILED_VENDOR_AUTH' ELSE 'FAILED_REQUESTER_AUTH' END,
      format('%s payment %s (%s)', p_role, v_payment.status, coalesce(v_payment.failure_code, 'no code')));
  END IF;
  RETURN reservation_json(v_res.vendor_id, p_id);
END $$;

-- Revalidates availability immediately before commit and records both
-- captures as owed (the recovery point) in the same transaction.
CREATE FUNCTION reservation_begin_commit(p_id uuid, p_actor_kind text, p_actor_id text, p_source text) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  v_res reservations%ROWTYPE;
  v_booking bookings%ROWTYPE;
  v_slot slots%ROWTYPE;
BEGIN
  PERFORM set_actor(p_actor_kind, p_actor_id, p_source, 'commit started', NULL);
  v_res := lock_reservation(p_id);
  IF v_res.state IN ('COMMIT_IN_PROGRESS', 'COMMITTED', 'FAILED_COMMIT', 'FAILED_AVAILABILITY_CHANGED') THEN
    RETURN to_jsonb(v_res);
  END IF;
  IF v_res.state <> 'AUTHORIZED_BOTH' THEN
    PERFORM raise_error('BK011', format('reservation %s is %s: commit needs both authorizations', p_id, v_res.state),
      jsonb_build_object('reservation_id', p_id, 'from', v_res.state, 'to', 'COMMIT_IN_PROGRESS'));
  END IF;
  SELECT * INTO v_booking FROM bookings WHERE vendor_id = v_res.vendor_id AND id = v_res.booking_id;
  SELECT * INTO v_slot FROM slots WHERE vendor_id = v_res.vendor_id AND id = v_booking.slot_id;
  IF v_booking.state <> 'held' OR v_booking.hold_expires_at <= bookiji_now() OR v_slot.legacy OR v_slot.starts_at <= bookiji_now()
     OR v_slot.starts_at <> v_res.starts_at OR v_slot.ends_at <> v_res.ends_at THEN
    PERFORM reservation_fail(v_res.vendor_id, p_id, 'FAILED_AVAILABILITY_CHANGED', 'the slot was no longer available at revalidation');
    RETURN reservation_json(v_res.vendor_id, p_id);
  END IF;
  PERFORM reservation_set_stage(v_res, 'COMMIT_IN_PROGRESS', NULL, 'availability revalidated; capturing both');
  UPDATE payments SET pending_action = 'capture' WHERE vendor_id = v_res.vendor_id AND reservation_id = p_id AND status = 'authorized';
  RETURN reservation_json(v_res.vendor_id, p_id);
END $$;

-- After the captures: both captured ⇒ COMMITTED and the booking confirmed;
-- any capture failed ⇒ FAILED_COMMIT and the other one compensated (refund
-- a capture, release an authorization); still owed ⇒ stays in progress.
CREATE FUNCTION reservation_finish_commit(p_id uuid, p_actor_kind text, p_actor_id text, p_source text) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  v_res reservations%ROWTYPE;
  v_captured integer;
  v_failed integer;
BEGIN
  PERFORM set_actor(p_actor_kind, p_actor_id, p_source, 'commit finished', NULL);
  v_res := lock_reservation(p_id);
  IF v_res.state <> 'COMMIT_IN_PROGRESS' THEN
    RETURN to_jsonb(v_res);
  END IF;
  SELECT count(*) FILTER (WHERE status = 'captured'), count(*) FILTER (WHERE status IN ('failed', 'canceled', 'refunded'))
  INTO v_captured, v_failed
  FROM payments WHERE vendor_id = v_res.vendor_id AND reservation_id = p_id;
  IF v_captured = 2 THEN
    PERFORM set_config('bookiji.reason', 'both captured: committed', true);
    UPDATE reservations SET state = 'COMMITTED', expires_at = NULL WHERE vendor_id = v_res.vendor_id AND id = p_id;
    UPDATE bookings SET payment_status = 'captured', state = 'confirmed', hold_expires_at = NULL
    WHERE vendor_id = v_res.vendor_id AND id = v_res.booking_id AND state = 'held';
  ELSIF v_failed > 0 THEN
    PERFORM reservation_fail(v_res.vendor_id, p_id, 'FAILED_COMMIT', format('%s capture(s) failed; the other was compensated', v_failed));
  END IF;
  RETURN reservation_json(v_res.vendor_id, p_id);
END $$;

-- The reservation checks, same columns as verify_invariants().
CREATE FUNCTION verify_reservations()
RETURNS TABLE (check_id text, description text, violations bigint, sample jsonb)
LANGUAGE plpgsql STABLE AS $$
BEGIN
  RETURN QUERY
  WITH r1 AS (
    SELECT r.id, r.state, b.state AS booking_state FROM reservations r JOIN bookings b ON b.vendor_id = r.vendor_id AND b.id = r.booking_id
    WHERE (r.state = 'COMMITTED' AND b.state <> 'confirmed')
       OR (b.state = 'confirmed' AND r.state <> 'COMMITTED')
  ),
  r2 AS (
    SELECT r.id, r.state FROM reservations r
    WHERE r.state = 'COMMITTED' AND (SELECT count(*) FROM payments p WHERE p.vendor_id = r.vendor_id AND p.reservation_id = r.id AND p.status = 'captured') <> 2
  ),
  r3 AS (
    SELECT r.id, r.state, p.id AS payment_id, p.status FROM reservations r
    JOIN payments p ON p.vendor_id = r.vendor_id AND p.reservation_id = r.id
    JOIN machine_states m ON m.machine = 'reservation' AND m.state = r.state
    WHERE r.state <> 'COMMITTED' AND m.terminal AND p.status IN ('authorized', 'captured') AND p.pending_action NOT IN ('cancel', 'refund')
  ),
  r4 AS (
    SELECT t.reservation_id, t.id, t.from_state, t.to_state FROM (
      SELECT tr.*, lag(tr.to_state) OVER (PARTITION BY tr.reservation_id ORDER BY tr.id) AS prev_to FROM reservation_transitions tr
    ) t
    WHERE t.from_state IS DISTINCT FROM t.prev_to
       OR (t.from_state IS NOT NULL AND NOT EXISTS (SELECT 1 FROM machine_transitions m WHERE m.machine = 'reservation' AND m.from_state = t.from_state AND m.to_state = t.to_state))
  )
  SELECT 'R1', 'reservations: COMMITTED exactly when the booking is confirmed', (SELECT count(*) FROM r1), (SELECT jsonb_agg(to_jsonb(x)) FROM (SELECT * FROM r1 LIMIT 5) x)
  UNION ALL SELECT 'R2', 'reservations: a committed reservation has both payments captured', (SELECT count(*) FROM r2), (SELECT jsonb_agg(to_jsonb(x)) FROM (SELECT * FROM r2 LIMIT 5) x)
  UNION ALL SELECT 'R3', 'reservations: a failed reservation keeps no money without owing it back', (SELECT count(*) FROM r3), (SELECT jsonb_agg(to_jsonb(x)) FROM (SELECT * FROM r3 LIMIT 5) x)
  UNION ALL SELECT 'R4', 'reservations: every transition allowed and logged in order', (SELECT count(*) FROM r4), (SELECT jsonb_agg(to_jsonb(x)) FROM (SELECT * FROM r4 LIMIT 5) x);
END $$;
