-- Issue 12, defect 5: a late authorization on a failed or expired
-- reservation withdrew the owed cancel. The requester's payment was declined
-- (FAILED_REQUESTER_AUTH, a cancel owed), then the same intent was authorized
-- (decline, then retry on the same PaymentIntent): apply_payment_state set
-- pending_action 'none' for any payment that is not a booking's, so the
-- money was authorized with nothing owed on a terminal reservation (R3).
-- The cancel fence and the reclaim rule (0013, 0014) spoke of booking
-- payments only.
--
-- The reservation's version of the reclaim rule: a reservation that ended
-- without committing is never brought back by money that arrives later; that
-- money is owed back (an authorization a cancel, a capture a refund). A
-- trigger, so every writer of a payment row obeys it, whatever function moved
-- the payment. (The fence itself, cancel_sent_at, already owes back money of
-- any purpose in apply_payment_state; 0032 makes it fail the authorization.)

CREATE FUNCTION payments_reservation_money_owed_back() RETURNS trigger LANGUAGE plpgsql
SET search_path = public, pg_temp AS $$
BEGIN
  IF NEW.status IN ('authorized', 'captured') AND NEW.provider_intent_id IS NOT NULL
     AND EXISTS (SELECT 1 FROM reservations r JOIN machine_states m ON m.machine = 'reservation' AND m.state = r.state
                 WHERE r.vendor_id = NEW.vendor_id AND r.id = NEW.reservation_id AND m.terminal AND r.state <> 'COMMITTED') THEN
    NEW.pending_action := CASE WHEN NEW.status = 'captured' THEN 'refund' ELSE 'cancel' END;
  END IF;
  RETURN NEW;
END $$;

CREATE TRIGGER payments_reservation_money_owed_back BEFORE INSERT OR UPDATE ON payments
  FOR EACH ROW WHEN (NEW.reservation_id IS NOT NULL) EXECUTE FUNCTION payments_reservation_money_owed_back();
