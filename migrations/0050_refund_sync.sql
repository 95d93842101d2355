-- Refunds made at the provider are synced to the cent (issue 12, defect 10).
--
-- apply_payment_state derived the status from the provider's facts and
-- stopped at 'unchanged' when the status did not move. A partial refund made
-- at the provider (Stripe's dashboard, a support agent) leaves the intent
-- succeeded with money still captured, so it mapped to 'captured' again: the
-- refund was never written to the ledger nor to amount_refunded_cents, and
-- reconcile's drift report disagreed with the provider for ever. And when the
-- rest was refunded later, the full refund's ledger row reused the intent id
-- as provider_ref, collided with nothing or with the earlier one, and could be
-- dropped by ON CONFLICT DO NOTHING.
--
-- Now: a further refund on a captured payment is recorded as its delta
-- (outcome 'refund_synced'), and every later refund row without a refund id
-- of its own (or with one already used) gets a reference naming the refunded
-- total it brings the payment to, so successive refunds never collide.

-- Writes the ledger row of a refund that brings the payment from
-- p_refunded_before to p_refunded_after cents. Its reference is the
-- provider's refund id when the fact came with one not yet used here; else
-- the intent for a first refund (as before) and
-- '<intent>:refunded-to:<cents>' for each later one. The caller holds the
-- payment's row lock and moves amount_refunded_cents in the same transaction,
-- so a fact arriving twice finds no delta the second time.
CREATE FUNCTION record_refund_entry(p_payment payments, p_booking_id uuid, p_provider_ref text, p_refunded_before integer, p_refunded_after integer,
                                    p_event_id text, p_source text)
RETURNS void LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
  v_intent_ref text := coalesce(p_payment.provider_intent_id, p_provider_ref);
  v_fallback text;
BEGIN
  IF p_refunded_after <= p_refunded_before THEN
    RETURN;
  END IF;
  v_fallback := CASE WHEN p_refunded_before = 0 THEN v_intent_ref ELSE v_intent_ref || ':refunded-to:' || p_refunded_after END;
  IF p_provider_ref IS NOT NULL THEN
    INSERT INTO ledger_entries (vendor_id, payment_id, booking_id, kind, amount_cents, currency, provider_ref, event_id, source, at)
    VALUES (p_payment.vendor_id, p_payment.id, p_booking_id, 'refund', p_refunded_after - p_refunded_before, p_payment.currency,
            p_provider_ref, p_event_id, p_source, bookiji_now())
    ON CONFLICT DO NOTHING;
    IF FOUND THEN
      RETURN;
    END IF;
  END IF;
  INSERT INTO ledger_entries (vendor_id, payment_id, booking_id, kind, amount_cents, currency, provider_ref, event_id, source, at)
  VALUES (p_payment.vendor_id, p_payment.id, p_booking_id, 'refund', p_refunded_after - p_refunded_before, p_payment.currency,
          v_fallback, p_event_id, p_source, bookiji_now())
  ON CONFLICT DO NOTHING;
END $$;

-- apply_payment_state as in 0014, with the refund sync above.
CREATE OR REPLACE FUNCTION apply_payment_state(
  p_vendor_id uuid, p_payment_id uuid,
  p_provider_status text, p_amount_capturable integer, p_amount_received integer, p_amount_refunded integer,
  p_failure_code text, p_failure_message text, p_provider_ref text, p_event_id text,
  p_actor_kind text, p_actor_id text, p_source text
) RETURNS jsonb LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
  v_payment payments%ROWTYPE;
  v_booking bookings%ROWTYPE;
  v_slot slots%ROWTYPE;
  v_new text;
  v_outcome text;
  v_pending text;
  v_new_booking uuid;
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
  -- A refund made at the provider that leaves money captured (a partial
  -- refund, or a further one) keeps the status but moves money: the ledger
  -- and amount_refunded_cents follow it to the cent. Under the payment's lock,
  -- so each cent is recorded once however often the fact arrives.
  IF v_new = v_payment.status AND v_new = 'captured'
     AND coalesce(p_amount_refunded, 0) > v_payment.amount_refunded_cents
     AND p_amount_refunded <= v_payment.amount_captured_cents THEN
    PERFORM record_refund_entry(v_payment, v_payment.booking_id, p_provider_ref, v_payment.amount_refunded_cents, p_amount_refunded, p_event_id, p_source);
    UPDATE payments SET amount_refunded_cents = p_amount_refunded WHERE vendor_id = p_vendor_id AND id = p_payment_id;
    INSERT INTO payment_applications (vendor_id, payment_id, event_id, source, provider_status, from_status, to_status, outcome)
    VALUES (p_vendor_id, p_payment_id, p_event_id, p_source, p_provider_status, v_payment.status, v_new, 'refund_synced');
    SELECT * INTO v_payment FROM payments WHERE vendor_id = p_vendor_id AND id = p_payment_id;
    RETURN jsonb_build_object('outcome', 'refund_synced', 'payment', to_jsonb(v_payment), 'booking', to_jsonb(v_booking));
  END IF;
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
    PERFORM record_refund_entry(v_payment, v_payment.booking_id, p_provider_ref, v_payment.amount_refunded_cents, p_amount_refunded, p_event_id, p_source);
  END IF;
  IF v_new = 'canceled' THEN
    INSERT INTO ledger_entries (vendor_id, payment_id, booking_id, kind, amount_cents, currency, provider_ref, event_id, source, at)
    VALUES (p_vendor_id, p_payment_id, v_payment.booking_id, 'cancellation',
            CASE WHEN v_payment.status = 'authorized' THEN v_payment.amount_capturable_cents ELSE 0 END,
            v_payment.currency, coalesce(v_ref, 'none'), p_event_id, p_source, bookiji_now())
    ON CONFLICT DO NOTHING;
  END IF;

  -- Fenced: a cancel was sent (or is being sent) for this intent, so money
  -- that arrives now is about to be voided by it: it is owed back, never
  -- used to confirm a booking.
  v_pending := CASE
    WHEN v_payment.cancel_sent_at IS NOT NULL AND v_new = 'authorized' THEN 'cancel'
    WHEN v_payment.cancel_sent_at IS NOT NULL AND v_new = 'captured' THEN 'refund'
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
      IF v_payment.cancel_sent_at IS NOT NULL THEN
        -- The owed cancel was re-checked and claimed before this money was
        -- known (claim_owed_cancel); the provider may void it at any moment,
        -- so it confirms and re-claims nothing. v_pending already owes it back.
        v_outcome := CASE WHEN v_new = 'captured' THEN 'refund_owed' ELSE 'release_owed' END;
      ELSIF v_booking.state = 'confirmed' THEN
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
                     ELSE 'payment not completed' END, v_new);
        v_outcome := 'cancelled';
      END IF;
      -- Cancelling the booking records what the intent is owed; a settled
      -- payment owes nothing more.
      UPDATE payments SET pending_action = CASE WHEN v_new = 'failed' THEN 'cancel' ELSE 'none' END
      WHERE vendor_id = p_vendor_id AND id = p_payment_id;
      -- The booking's payment status moved with its state above (a confirmed
      -- booking whose authorization was canceled or whose capture was refunded
      -- at the provider); this catches a booking that held nothing already.
      UPDATE bookings SET payment_status = v_new WHERE vendor_id = p_vendor_id AND id = v_booking.id AND payment_status <> v_new;
    END IF;
  END IF;

  INSERT INTO payment_applications (vendor_id, payment_id, event_id, source, provider_status, from_status, to_status, outcome)
  VALUES (p_vendor_id, p_payment_id, p_event_id, p_source, p_provider_status, v_payment.status, v_new, v_outcome);
  SELECT * INTO v_payment FROM payments WHERE vendor_id = p_vendor_id AND id = p_payment_id;
  RETURN jsonb_build_object('outcome', v_outcome, 'payment', to_jsonb(v_payment),
                            'booking', booking_json(p_vendor_id, v_payment.booking_id));
END $$;
