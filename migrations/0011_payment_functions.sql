-- The payment functions: start a card payment (recording the recovery point
-- before the provider is called), record the provider's intent, and apply a
-- verified provider state to the payment, the ledger and the booking, in one
-- transaction, never backwards.

CREATE FUNCTION payment_json(p_vendor_id uuid, p_payment_id uuid) RETURNS jsonb LANGUAGE sql STABLE AS $$
  SELECT to_jsonb(p) FROM payments p WHERE p.vendor_id = p_vendor_id AND p.id = p_payment_id
$$;

-- Starts (or finds) the card payment of a held booking. The payment row with
-- pending_action 'create' is committed before the provider is called, so a
-- crash after this point is found and finished by reconcile with the same
-- idempotency key.
CREATE FUNCTION begin_card_payment(p_booking_id uuid, p_actor_kind text, p_actor_id text, p_source text, p_request_id text DEFAULT NULL)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  v_booking bookings%ROWTYPE;
  v_payment_id uuid;
BEGIN
  PERFORM set_actor(p_actor_kind, p_actor_id, p_source, 'card payment started', p_request_id);
  v_booking := lock_booking_for_change(p_booking_id, NULL);
  SELECT id INTO v_payment_id FROM payments
  WHERE vendor_id = v_booking.vendor_id AND first_booking_id = p_booking_id AND purpose = 'booking';
  IF FOUND THEN
    RETURN payment_json(v_booking.vendor_id, v_payment_id);
  END IF;
  IF v_booking.payment_method <> 'card' THEN
    PERFORM raise_error('BK006', format('booking %s is paid %s, not by card: it needs no card payment', p_booking_id, v_booking.payment_method),
      jsonb_build_object('field', 'booking', 'payment_method', v_booking.payment_method));
  END IF;
  IF v_booking.state <> 'held' THEN
    PERFORM raise_error('BK011', format('booking %s is %s: only a held booking can be paid', p_booking_id, v_booking.state),
      jsonb_build_object('booking_id', p_booking_id, 'from', v_booking.state));
  END IF;
  IF v_booking.hold_expires_at <= bookiji_now() THEN
    PERFORM raise_error('BK008', format('the hold on booking %s expired at %s', p_booking_id, v_booking.hold_expires_at),
      jsonb_build_object('booking_id', p_booking_id, 'hold_expires_at', v_booking.hold_expires_at));
  END IF;
  INSERT INTO payments (vendor_id, booking_id, first_booking_id, purpose, idempotency_prefix, amount_cents, currency, created_at, updated_at)
  VALUES (v_booking.vendor_id, p_booking_id, p_booking_id, 'booking', 'bookiji:' || p_booking_id::text,
          v_booking.amount_cents, v_booking.currency, bookiji_now(), bookiji_now())
  RETURNING id INTO v_payment_id;
  RETURN payment_json(v_booking.vendor_id, v_payment_id);
END $$;

-- The provider created the intent: remember its id. If the booking stopped
-- holding capacity meanwhile (the hold expired while we were calling), the
-- intent is owed a cancel.
CREATE FUNCTION record_payment_intent(p_vendor_id uuid, p_payment_id uuid, p_intent_id text, p_actor_kind text, p_actor_id text, p_source text)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  v_payment payments%ROWTYPE;
  v_active boolean;
BEGIN
  PERFORM set_actor(p_actor_kind, p_actor_id, p_source, 'payment intent created', NULL);
  SELECT * INTO v_payment FROM payments WHERE vendor_id = p_vendor_id AND id = p_payment_id FOR UPDATE;
  IF NOT FOUND THEN
    PERFORM raise_error('BK003', format('payment %s not found', p_payment_id), jsonb_build_object('payment_id', p_payment_id));
  END IF;
  IF v_payment.provider_intent_id IS NOT NULL THEN
    IF v_payment.provider_intent_id <> p_intent_id THEN
      PERFORM raise_error('BK011', format('payment %s already has intent %s, not %s', p_payment_id, v_payment.provider_intent_id, p_intent_id),
        jsonb_build_object('payment_id', p_payment_id));
    END IF;
    RETURN to_jsonb(v_payment);
  END IF;
  SELECT booking_state_holds_capacity(b.state) INTO v_active FROM bookings b WHERE b.vendor_id = p_vendor_id AND b.id = v_payment.booking_id;
  UPDATE payments SET provider_intent_id = p_intent_id,
         pending_action = CASE WHEN v_payment.purpose <> 'booking' OR v_active THEN 'none' ELSE 'cancel' END
  WHERE vendor_id = p_vendor_id AND id = p_payment_id;
  RETURN payment_json(p_vendor_id, p_payment_id);
END $$;

-- What a provider PaymentIntent status means for us.
CREATE FUNCTION payment_status_from_provider(p_provider_status text, p_failure_code text, p_amount_received integer, p_amount_refunded integer)
RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE
    WHEN p_provider_status = 'succeeded' AND p_amount_received > 0 AND coalesce(p_amount_refunded, 0) >= p_amount_received THEN 'refunded'
    WHEN p_provider_status = 'succeeded' THEN 'captured'
    WHEN p_provider_status = 'requires_capture' THEN 'authorized'
    WHEN p_provider_status = 'canceled' THEN 'canceled'
    WHEN p_provider_status = 'requires_payment_method' AND p_failure_code IS NOT NULL THEN 'failed'
    ELSE 'requires_payment'
  END
$$;

-- Cancels a capacity-holding booking whose money is gone or never came; the
-- caller holds the slot and booking locks.
CREATE FUNCTION cancel_booking_for_payment(p_vendor_id uuid, p_booking_id uuid, p_reason text)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  v_booking bookings%ROWTYPE;
BEGIN
  SELECT * INTO v_booking FROM bookings WHERE vendor_id = p_vendor_id AND id = p_booking_id;
  IF NOT booking_state_holds_capacity(v_booking.state) THEN
    RETURN;
  END IF;
  PERFORM set_config('bookiji.reason', 'cancelled: ' || p_reason, true);
  UPDATE bookings SET state = 'cancelled', cancel_reason = p_reason, hold_expires_at = NULL
  WHERE vendor_id = p_vendor_id AND id = p_booking_id;
  UPDATE slots SET booked_count = booked_count - 1 WHERE vendor_id = p_vendor_id AND id = v_booking.slot_id;
END $$;

-- A payment verified after its booking stopped holding capacity (the hold
-- expired, or a decline cancelled it and a later attempt succeeded): take the
-- same slot again for the same customer if it is still free, atomically under
-- the slot lock the caller holds. Returns the new booking id, or NULL if the
-- slot is gone (full, started, removed, or the vendor's time is taken).
CREATE FUNCTION reclaim_slot_for_payment(p_vendor_id uuid, p_old_booking_id uuid)
RETURNS uuid LANGUAGE plpgsql AS $$
DECLARE
  v_old bookings%ROWTYPE;
  v_slot slots%ROWTYPE;
  v_new_id uuid;
BEGIN
  SELECT * INTO v_old FROM bookings WHERE vendor_id = p_vendor_id AND id = p_old_booking_id;
  PERFORM expire_stale_holds_on_slot(p_vendor_id, v_old.slot_id);
  SELECT * INTO v_slot FROM slots WHERE vendor_id = p_vendor_id AND id = v_old.slot_id;
  IF v_slot.legacy OR v_slot.starts_at <= bookiji_now() OR v_slot.booked_count >= v_slot.capacity
     OR v_slot.price_cents <> v_old.amount_cents THEN
    RETURN NULL;
  END IF;
  PERFORM expire_stale_overlapping_holds(p_vendor_id, v_slot.id, v_slot.starts_at, v_slot.ends_at);
  PERFORM set_config('bookiji.reason', format('late payment re-claimed the slot of booking %s', p_old_booking_id), true);
  BEGIN
    INSERT INTO bookings (vendor_id, slot_id, customer_id, state, starts_at, ends_at, hold_expires_at,
                          payment_method, payment_status, amount_cents, currency, created_at, updated_at)
    VALUES (p_vendor_id, v_slot.id, v_old.customer_id, 'held', v_slot.starts_at, v_slot.ends_at,
            bookiji_now() + interval '1 minute', 'card', 'requires_payment', v_old.amount_cents, v_old.currency,
            bookiji_now(), bookiji_now())
    RETURNING id INTO v_new_id;
  EXCEPTION WHEN exclusion_violation THEN
    RETURN NULL;
  END;
  UPDATE slots SET booked_count = booked_count + 1 WHERE vendor_id = p_vendor_id AND id = v_slot.id;
  RETURN v_new_id;
END $$;

-- ---------------------------------------------------------------------------
-- apply_payment_state: the one place a provider's word becomes our state.
-- Called with a PaymentIntent as a signed webhook event carried it, or as a
-- server-side retrieve returned it; both converge, in any order, any number
-- of times: a state the payment machine does not allow from where we are is
-- a late or duplicate fact, logged in payment_applications and not applied.
--
-- Effects on the booking (purpose 'booking'):
--   authorized / captured  held → confirmed (even past its TTL: its capacity
--                          is still counted, nobody else can have it); a
--                          booking that stopped holding capacity re-claims
--                          its slot if free; otherwise the money is owed back
--                          (pending_action cancel / refund)
--   failed / canceled      active booking → cancelled, slot released
--   refunded               active booking → cancelled
-- Returns {outcome, payment, booking}.
-- ---------------------------------------------------------------------------
CREATE FUNCTION apply_payment_state(
  p_vendor_id uuid, p_payment_id uuid,
  p_provider_status text, p_amount_capturable integer, p_amount_received integer, p_amount_refunded integer,
  p_failure_code text, p_failure_message text, p_provider_ref text, p_event_id text,
  p_actor_kind text, p_actor_id text, p_source text
) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  v_payment payments%ROWTYPE;
  v_booking bookings%ROWTYPE;
  v_slot slots%ROWTYPE;
  v_new text;
  v_outcome text;
  v_pending text;
  v_new_booking uuid;
  v_refund_delta integer;
  v_ref text;
BEGIN
  PERFORM set_actor(p_actor_kind, p_actor_id, p_source, format('payment verified with the provider: %s%s', p_provider_status,
    CASE WHEN p_event_id IS NOT NULL THEN ' (event ' || p_event_id || ')' ELSE '' END), NULL);
  -- Lock order: slot, booking, payment. The payment's booking can change (a
  -- late re-claim) between the read and the locks, hence the loop.
  LOOP
    SELECT * INTO v_payment FROM payments WHERE vendor_id = p_vendor_id AND id = p_payment_id;
    IF NOT FOUND THEN
      PERFORM raise_error('BK003', format('payment %s not found', p_payment_id), jsonb_build_object('payment_id', p_payment_id));
    END IF;
    v_booking := lock_booking_for_change(v_payment.booking_id, NULL);
    SELECT * INTO v_payment FROM payments WHERE vendor_id = p_vendor_id AND id = p_payment_id FOR UPDATE;
    EXIT WHEN v_payment.booking_id = v_booking.id;
  END LOOP;

  v_new := payment_status_from_provider(p_provider_status, p_failure_code, p_amount_received, p_amount_refunded);
  IF v_new = v_payment.status OR NOT EXISTS (
       SELECT 1 FROM machine_transitions WHERE machine = 'payment' AND from_state = v_payment.status AND to_state = v_new) THEN
    v_outcome := CASE WHEN v_new = v_payment.status THEN 'unchanged' ELSE 'stale' END;
    INSERT INTO payment_applications (vendor_id, payment_id, event_id, source, provider_status, from_status, to_status, outcome)
    VALUES (p_vendor_id, p_payment_id, p_event_id, p_source, p_provider_status, v_payment.status, v_new, v_outcome);
    RETURN jsonb_build_object('outcome', v_outcome, 'payment', to_jsonb(v_payment), 'booking', to_jsonb(v_booking));
  END IF;

  v_ref := coalesce(v_payment.provider_intent_id, p_provider_ref);
  -- The ledger first: what money moved, to the cent, once per fact.
  IF v_new IN ('authorized', 'captured', 'refunded') AND v_payment.status NOT IN ('authorized', 'captured') THEN
    INSERT INTO ledger_entries (vendor_id, payment_id, booking_id, kind, amount_cents, currency, provider_ref, event_id, source, at)
    VALUES (p_vendor_id, p_payment_id, v_payment.booking_id, 'authorization',
            CASE WHEN v_new = 'authorized' THEN coalesce(nullif(p_amount_capturable, 0), v_payment.amount_cents) ELSE coalesce(nullif(p_amount_received, 0), v_payment.amount_cents) END,
            v_payment.currency, v_ref, p_event_id, p_source, bookiji_now())
    ON CONFLICT DO NOTHING;
  END IF;
  IF v_new IN ('captured', 'refunded') AND v_payment.status <> 'captured' THEN
    INSERT INTO ledger_entries (vendor_id, payment_id, booking_id, kind, amount_cents, currency, provider_ref, event_id, source, at)
    VALUES (p_vendor_id, p_payment_id, v_payment.booking_id, 'capture', p_amount_received, v_payment.currency, v_ref, p_event_id, p_source, bookiji_now())
    ON CONFLICT DO NOTHING;
  END IF;
  IF v_new = 'refunded' THEN
    v_refund_delta := p_amount_refunded - v_payment.amount_refunded_cents;
    INSERT INTO ledger_entries (vendor_id, payment_id, booking_id, kind, amount_cents, currency, provider_ref, event_id, source, at)
    VALUES (p_vendor_id, p_payment_id, v_payment.booking_id, 'refund', v_refund_delta, v_payment.currency,
            coalesce(p_provider_ref, v_ref), p_event_id, p_source, bookiji_now())
    ON CONFLICT DO NOTHING;
  END IF;
  IF v_new = 'canceled' THEN
    INSERT INTO ledger_entries (vendor_id, payment_id, booking_id, kind, amount_cents, currency, provider_ref, event_id, source, at)
    VALUES (p_vendor_id, p_payment_id, v_payment.booking_id, 'cancellation',
            CASE WHEN v_payment.status = 'authorized' THEN v_payment.amount_capturable_cents ELSE 0 END,
            v_payment.currency, coalesce(v_ref, 'none'), p_event_id, p_source, bookiji_now())
    ON CONFLICT DO NOTHING;
  END IF;

  v_pending := CASE
    WHEN v_new = 'authorized' AND v_payment.purpose = 'booking' THEN 'capture'
    WHEN v_new IN ('authorized', 'captured') THEN 'none'
    WHEN v_new = 'failed' THEN 'cancel'
    ELSE 'none' END;
  UPDATE payments SET status = v_new,
         amount_capturable_cents = CASE WHEN v_new = 'authorized' THEN coalesce(p_amount_capturable, amount_cents) ELSE 0 END,
         amount_captured_cents = greatest(amount_captured_cents, CASE WHEN v_new IN ('captured', 'refunded') THEN coalesce(p_amount_received, 0) ELSE 0 END),
         amount_refunded_cents = greatest(amount_refunded_cents, CASE WHEN v_new = 'refunded' THEN coalesce(p_amount_refunded, 0) ELSE 0 END),
         failure_code = CASE WHEN v_new = 'failed' THEN p_failure_code ELSE failure_code END,
         failure_message = CASE WHEN v_new = 'failed' THEN p_failure_message ELSE failure_message END,
         pending_action = v_pending
  WHERE vendor_id = p_vendor_id AND id = p_payment_id;

  v_outcome := 'applied';
  IF v_payment.purpose = 'booking' THEN
    IF v_new IN ('authorized', 'captured') THEN
      SELECT * INTO v_slot FROM slots WHERE vendor_id = p_vendor_id AND id = v_booking.slot_id;
      IF v_booking.state = 'confirmed' THEN
        UPDATE bookings SET payment_status = v_new WHERE vendor_id = p_vendor_id AND id = v_booking.id;
      ELSIF v_booking.state = 'held' AND v_slot.starts_at > bookiji_now() THEN
        UPDATE bookings SET payment_status = v_new, state = 'confirmed', hold_expires_at = NULL
        WHERE vendor_id = p_vendor_id AND id = v_booking.id;
        v_outcome := CASE WHEN v_booking.hold_expires_at <= bookiji_now() THEN 'confirmed_after_ttl' ELSE 'confirmed' END;
      ELSE
        IF v_booking.state = 'held' THEN
          PERFORM cancel_booking_for_payment(p_vendor_id, v_booking.id, 'payment arrived after the slot started');
        ELSIF v_booking.state = 'expired' OR v_booking.cancel_reason LIKE 'payment %' THEN
          v_new_booking := reclaim_slot_for_payment(p_vendor_id, v_booking.id);
        END IF;
        IF v_new_booking IS NOT NULL THEN
          UPDATE payments SET booking_id = v_new_booking WHERE vendor_id = p_vendor_id AND id = p_payment_id;
          UPDATE bookings SET payment_status = v_new, state = 'confirmed', hold_expires_at = NULL
          WHERE vendor_id = p_vendor_id AND id = v_new_booking;
          v_outcome := 'reclaimed';
        ELSE
          -- No booking for this money: it goes back.
          UPDATE payments SET pending_action = CASE WHEN v_new = 'captured' THEN 'refund' ELSE 'cancel' END
          WHERE vendor_id = p_vendor_id AND id = p_payment_id;
          v_outcome := CASE WHEN v_new = 'captured' THEN 'refund_owed' ELSE 'release_owed' END;
        END IF;
      END IF;
    ELSE
      IF booking_state_holds_capacity(v_booking.state) THEN
        PERFORM cancel_booking_for_payment(p_vendor_id, v_booking.id,
          CASE v_new WHEN 'failed' THEN 'payment failed: ' || coalesce(p_failure_code, 'declined')
                     WHEN 'canceled' THEN 'payment canceled at the provider'
                     WHEN 'refunded' THEN 'payment refunded'
                     ELSE 'payment not completed' END);
        v_outcome := 'cancelled';
      END IF;
      -- Cancelling the booking records what the intent is owed; a settled
      -- payment owes nothing more.
      UPDATE payments SET pending_action = CASE WHEN v_new = 'failed' THEN 'cancel' ELSE 'none' END
      WHERE vendor_id = p_vendor_id AND id = p_payment_id;
      UPDATE bookings SET payment_status = v_new WHERE vendor_id = p_vendor_id AND id = v_booking.id AND payment_status <> v_new;
    END IF;
  END IF;

  INSERT INTO payment_applications (vendor_id, payment_id, event_id, source, provider_status, from_status, to_status, outcome)
  VALUES (p_vendor_id, p_payment_id, p_event_id, p_source, p_provider_status, v_payment.status, v_new, v_outcome);
  SELECT * INTO v_payment FROM payments WHERE vendor_id = p_vendor_id AND id = p_payment_id;
  RETURN jsonb_build_object('outcome', v_outcome, 'payment', to_jsonb(v_payment),
                            'booking', booking_json(p_vendor_id, v_payment.booking_id));
END $$;

-- ---------------------------------------------------------------------------
-- verify_payments(): the money checks of `bookiji verify`, same columns as
-- verify_invariants(). Run after reconcile: a refund or release that is owed
-- (recorded as pending_action) is not a violation, forgotten money is.
-- ---------------------------------------------------------------------------
CREATE FUNCTION verify_payments()
RETURNS TABLE (check_id text, description text, violations bigint, sample jsonb)
LANGUAGE plpgsql STABLE AS $$
BEGIN
  RETURN QUERY
  WITH ledger AS (
    SELECT p.vendor_id, p.id AS payment_id, p.status, p.amount_captured_cents, p.amount_refunded_cents,
           coalesce(sum(l.amount_cents) FILTER (WHERE l.kind = 'capture'), 0) AS ledger_captured,
           coalesce(sum(l.amount_cents) FILTER (WHERE l.kind = 'refund'), 0) AS ledger_refunded,
           count(l.id) FILTER (WHERE l.kind = 'authorization') AS authorizations
    FROM payments p LEFT JOIN ledger_entries l ON l.vendor_id = p.vendor_id AND l.payment_id = p.id
    GROUP BY p.vendor_id, p.id
  ),
  p1 AS (
    SELECT b.id AS booking_id, b.payment_status FROM bookings b
    WHERE b.state = 'confirmed' AND b.payment_method = 'card'
      AND NOT EXISTS (SELECT 1 FROM payments p WHERE p.vendor_id = b.vendor_id AND p.booking_id = b.id
                      AND p.status IN ('authorized', 'captured') AND p.provider_intent_id IS NOT NULL)
  ),
  p2 AS (
    SELECT p.id AS payment_id, p.booking_id, b.state AS booking_state, p.amount_captured_cents - p.amount_refunded_cents AS net_cents
    FROM payments p JOIN bookings b ON b.vendor_id = p.vendor_id AND b.id = p.booking_id
    WHERE p.purpose = 'booking' AND p.amount_captured_cents > p.amount_refunded_cents
      AND b.state <> 'confirmed' AND p.pending_action <> 'refund'
  ),
  p3 AS (
    SELECT p.id AS payment_id, p.booking_id, b.state AS booking_state FROM payments p
    JOIN bookings b ON b.vendor_id = p.vendor_id AND b.id = p.booking_id
    WHERE p.purpose = 'booking' AND p.status = 'authorized' AND NOT booking_state_holds_capacity(b.state) AND p.pending_action <> 'cancel'
  ),
  p4 AS (
    SELECT * FROM ledger
    WHERE ledger_captured <> amount_captured_cents OR ledger_refunded <> amount_refunded_cents
       OR (status IN ('authorized', 'captured', 'refunded') AND authorizations = 0)
  )
  SELECT 'P1', 'payments: every confirmed card booking is backed by authorized or captured money (I4)', (SELECT count(*) FROM p1), (SELECT jsonb_agg(to_jsonb(x)) FROM (SELECT * FROM p1 LIMIT 5) x)
  UNION ALL SELECT 'P2', 'payments: captured money belongs to a confirmed booking or is being refunded (I4)', (SELECT count(*) FROM p2), (SELECT jsonb_agg(to_jsonb(x)) FROM (SELECT * FROM p2 LIMIT 5) x)
  UNION ALL SELECT 'P3', 'payments: no authorization is left on a booking that holds nothing', (SELECT count(*) FROM p3), (SELECT jsonb_agg(to_jsonb(x)) FROM (SELECT * FROM p3 LIMIT 5) x)
  UNION ALL SELECT 'P4', 'payments: the ledger agrees with every payment to the cent', (SELECT count(*) FROM p4), (SELECT jsonb_agg(to_jsonb(x)) FROM (SELECT * FROM p4 LIMIT 5) x);
END $$;
