-- A late payment re-claims its slot only when the booking lost it to the
-- clock (expired) or to this very payment's earlier decline (the payment was
-- 'failed' when its booking was cancelled). 0011 also looked at the cancel
-- reason's text, which a customer's own cancellation reason could imitate; a
-- booking the customer cancelled is never brought back, its money goes back.

CREATE OR REPLACE FUNCTION apply_payment_state(
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
        ELSIF v_booking.state = 'expired' OR (v_booking.state = 'cancelled' AND v_payment.status = 'failed') THEN
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

-- Everything that carries vendor_id is distributed by it, so its keys lead
-- with it (test/engine/schema.test.ts).
ALTER TABLE payment_applications DROP CONSTRAINT payment_applications_pkey, ADD PRIMARY KEY (vendor_id, id);
