-- An owed cancel is never sent on the strength of a stale decision.
--
-- SimCity SC-2 (seeds loop-4, loop-5) found this interleaving: a decline
-- cancels the booking and owes the intent a cancel; the customer pays again
-- at once on the same PaymentIntent (Stripe lets a declined intent, back in
-- requires_payment_method, be confirmed again); the authorization is applied
-- and re-claims the slot (booking confirmed, capture owed); the cancel that
-- was decided before the retry is sent anyway and voids the authorization.
-- We then hold a confirmed booking with no money behind it (I4), and the
-- cancel's answer could not even be applied: moving a confirmed booking to
-- cancelled with payment_status still 'authorized' tripped
-- bookings_payment_verified (BK009) inside cancel_booking_for_payment, so
-- reconcile failed on that payment for ever.
--
-- Stripe has no conditional cancel: between any check of ours and the
-- provider's cancel, the customer's browser can still confirm the intent.
-- Re-reading the provider before the call narrows that window but cannot
-- close it, so the decision is made binding in our database instead:
--
--   claim_owed_cancel  under the same locks as apply_payment_state, re-checks
--                      that the cancel is still owed (the payment may have
--                      been authorized and its slot re-claimed since the
--                      decision) and records cancel_sent_at before the call.
--   apply_payment_state  money verified after cancel_sent_at is about to be
--                      voided by our own call: it is owed back and never
--                      confirms or re-claims a booking.
--
-- Whichever commits first wins: the authorization (the cancel is withdrawn,
-- the retry keeps its booking) or the claim (the retry's money is released,
-- its booking stays cancelled). Either way the booking and the money agree.
-- And a provider fact that takes the money away from a confirmed booking
-- (canceled, refunded) now moves the booking's payment status in the same
-- statement as its state, so it cancels the booking instead of failing.

ALTER TABLE payments ADD COLUMN cancel_sent_at timestamptz;

COMMENT ON COLUMN payments.cancel_sent_at IS
  'When an owed cancel was claimed for sending to the provider (claim_owed_cancel); from then on money of this intent is owed back, never used to confirm a booking.';

-- Once a cancel may have reached the provider, nothing can pretend it did not.
CREATE FUNCTION payments_cancel_sent_is_final() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF OLD.cancel_sent_at IS NOT NULL AND NEW.cancel_sent_at IS DISTINCT FROM OLD.cancel_sent_at THEN
    PERFORM raise_error('BK011', format('payment %s: a cancel sent to the provider stays sent', OLD.id), jsonb_build_object('payment_id', OLD.id));
  END IF;
  RETURN NEW;
END $$;

CREATE TRIGGER payments_cancel_sent_is_final BEFORE UPDATE OF cancel_sent_at ON payments
  FOR EACH ROW EXECUTE FUNCTION payments_cancel_sent_is_final();

-- Cancels a capacity-holding booking whose money is gone or never came, and
-- writes the payment's new status in the same statement: a confirmed card
-- booking can only leave 'authorized'/'captured' by leaving 'confirmed' at the
-- same time (bookings_confirmed_is_paid and bookings_payment_verified each see
-- one consistent row). The caller holds the slot and booking locks.
CREATE FUNCTION cancel_booking_for_payment(p_vendor_id uuid, p_booking_id uuid, p_reason text, p_payment_status text)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  v_booking bookings%ROWTYPE;
BEGIN
  SELECT * INTO v_booking FROM bookings WHERE vendor_id = p_vendor_id AND id = p_booking_id;
  IF NOT booking_state_holds_capacity(v_booking.state) THEN
    RETURN;
  END IF;
  PERFORM set_config('bookiji.reason', 'cancelled: ' || p_reason, true);
  UPDATE bookings SET state = 'cancelled', cancel_reason = p_reason, hold_expires_at = NULL, payment_status = p_payment_status
  WHERE vendor_id = p_vendor_id AND id = p_booking_id;
  UPDATE slots SET booked_count = booked_count - 1 WHERE vendor_id = p_vendor_id AND id = v_booking.slot_id;
END $$;

-- Called by the worker that is about to send an owed cancel, holding the
-- payment's advisory lock, right before the provider call. Takes the locks in
-- apply_payment_state's order (slot, booking, payment) so the two serialize.
-- Returns {claimed, payment}: claimed false means no cancel may be sent (the
-- decision went stale: nothing is owed any more, or the payment's booking holds
-- its slot again and the owed call is corrected here).
CREATE FUNCTION claim_owed_cancel(p_vendor_id uuid, p_payment_id uuid, p_actor_kind text, p_actor_id text, p_source text)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  v_payment payments%ROWTYPE;
  v_booking bookings%ROWTYPE;
BEGIN
  PERFORM set_actor(p_actor_kind, p_actor_id, p_source, 'owed cancel re-checked before the provider call', NULL);
  LOOP
    SELECT * INTO v_payment FROM payments WHERE vendor_id = p_vendor_id AND id = p_payment_id;
    IF NOT FOUND THEN
      PERFORM raise_error('BK003', format('payment %s not found', p_payment_id), jsonb_build_object('payment_id', p_payment_id));
    END IF;
    v_booking := lock_booking_for_change(v_payment.booking_id, NULL);
    SELECT * INTO v_payment FROM payments WHERE vendor_id = p_vendor_id AND id = p_payment_id FOR UPDATE;
    EXIT WHEN v_payment.booking_id = v_booking.id;
  END LOOP;
  IF v_payment.pending_action <> 'cancel' OR v_payment.provider_intent_id IS NULL THEN
    RETURN jsonb_build_object('claimed', false, 'payment', to_jsonb(v_payment));
  END IF;
  IF v_payment.cancel_sent_at IS NULL AND v_payment.purpose = 'booking' AND booking_state_holds_capacity(v_booking.state) THEN
    -- The booking holds its slot with this payment: the cancel was decided
    -- before that and must not be sent.
    UPDATE payments SET pending_action = CASE WHEN status = 'authorized' THEN 'capture' ELSE 'none' END
    WHERE vendor_id = p_vendor_id AND id = p_payment_id;
    RETURN jsonb_build_object('claimed', false, 'payment', payment_json(p_vendor_id, p_payment_id));
  END IF;
  IF v_payment.cancel_sent_at IS NULL THEN
    UPDATE payments SET cancel_sent_at = bookiji_now() WHERE vendor_id = p_vendor_id AND id = p_payment_id;
  END IF;
  RETURN jsonb_build_object('claimed', true, 'payment', payment_json(p_vendor_id, p_payment_id));
END $$;

-- apply_payment_state as in 0013, with the cancel fence and the booking's
-- payment status moved together with its state.
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
