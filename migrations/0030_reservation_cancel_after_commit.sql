-- Issue 12, defect 2: cancelling the booking of a COMMITTED reservation kept
-- all the captured money. bookings_end_reservation (0012) skipped terminal
-- reservations, COMMITTED among them, so the booking was cancelled while both
-- captures stayed captured with nothing owed, and verify's P2 and P3 looked at
-- purpose = 'booking' only.
--
-- The rule: a committed reservation may be cancelled (through its booking or
-- through the reservation). It moves COMMITTED → CANCELLED in the same
-- transaction as its booking, and every capture it holds is owed a refund
-- (the compensation matrix's principle: no money kept without a booking; both
-- sides' captures go back, as when a commit fails after both captured).

INSERT INTO machine_transitions (machine, from_state, to_state, description)
VALUES ('reservation', 'COMMITTED', 'CANCELLED', 'The committed booking was cancelled; both captures are owed a refund.');

-- A reservation's booking stopped holding the slot by other means (its hold
-- expired in a claim or in expire_holds, or someone cancelled it, before or
-- after commit): the reservation follows, once, and its money is owed back.
CREATE OR REPLACE FUNCTION bookings_end_reservation() RETURNS trigger LANGUAGE plpgsql
SET search_path = public, pg_temp AS $$
DECLARE
  v_res reservations%ROWTYPE;
BEGIN
  IF booking_state_holds_capacity(OLD.state) AND NOT booking_state_holds_capacity(NEW.state) THEN
    FOR v_res IN SELECT * FROM reservations r WHERE r.vendor_id = NEW.vendor_id AND r.booking_id = NEW.id
                 AND (r.state = 'COMMITTED' OR NOT (SELECT terminal FROM machine_states WHERE machine = 'reservation' AND state = r.state)) FOR UPDATE
    LOOP
      UPDATE reservations SET state = CASE
          WHEN v_res.state = 'AWAITING_VENDOR_CONFIRMATION' THEN 'FAILED_VENDOR_TIMEOUT'
          WHEN v_res.state = 'COMMIT_IN_PROGRESS' THEN 'FAILED_COMMIT'
          WHEN v_res.state = 'COMMITTED' THEN 'CANCELLED'
          WHEN NEW.state = 'expired' THEN 'EXPIRED'
          ELSE 'CANCELLED' END,
        failure_reason = CASE WHEN v_res.state = 'COMMITTED' THEN format('its booking was %s after commit: both captures are owed a refund', NEW.state)
                              ELSE format('its booking was %s', NEW.state) END,
        expires_at = NULL
      WHERE vendor_id = v_res.vendor_id AND id = v_res.id;
      PERFORM reservation_release_payments(v_res.vendor_id, v_res.id);
    END LOOP;
  END IF;
  RETURN NULL;
END $$;

-- verify_payments as in 0011, with P2 and P3 over every payment, a
-- reservation's included: its captures belong to a confirmed booking (or a
-- commit still in progress, whose compensation is decided when it finishes)
-- or are owed a refund; its authorizations sit on a booking that holds the
-- slot or are owed a cancel.
CREATE OR REPLACE FUNCTION verify_payments()
RETURNS TABLE (check_id text, description text, violations bigint, sample jsonb)
LANGUAGE plpgsql STABLE SET search_path = public, pg_temp AS $$
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
    SELECT p.id AS payment_id, p.purpose, p.booking_id, b.state AS booking_state, r.state AS reservation_state,
           p.amount_captured_cents - p.amount_refunded_cents AS net_cents
    FROM payments p JOIN bookings b ON b.vendor_id = p.vendor_id AND b.id = p.booking_id
    LEFT JOIN reservations r ON r.vendor_id = p.vendor_id AND r.id = p.reservation_id
    WHERE p.amount_captured_cents > p.amount_refunded_cents AND p.pending_action <> 'refund'
      AND (b.state <> 'confirmed' OR (r.id IS NOT NULL AND r.state <> 'COMMITTED'))
      AND (r.id IS NULL OR r.state <> 'COMMIT_IN_PROGRESS')
  ),
  p3 AS (
    SELECT p.id AS payment_id, p.purpose, p.booking_id, b.state AS booking_state FROM payments p
    JOIN bookings b ON b.vendor_id = p.vendor_id AND b.id = p.booking_id
    WHERE p.status = 'authorized' AND NOT booking_state_holds_capacity(b.state) AND p.pending_action <> 'cancel'
  ),
  p4 AS (
    SELECT * FROM ledger
    WHERE ledger_captured <> amount_captured_cents OR ledger_refunded <> amount_refunded_cents
       OR (status IN ('authorized', 'captured', 'refunded') AND authorizations = 0)
  )
  SELECT 'P1', 'payments: every confirmed card booking is backed by authorized or captured money (I4)', (SELECT count(*) FROM p1), (SELECT jsonb_agg(to_jsonb(x)) FROM (SELECT * FROM p1 LIMIT 5) x)
  UNION ALL SELECT 'P2', 'payments: captured money (a booking''s or a reservation''s) belongs to a confirmed booking or is being refunded (I4)', (SELECT count(*) FROM p2), (SELECT jsonb_agg(to_jsonb(x)) FROM (SELECT * FROM p2 LIMIT 5) x)
  UNION ALL SELECT 'P3', 'payments: no authorization (a booking''s or a reservation''s) is left on a booking that holds nothing', (SELECT count(*) FROM p3), (SELECT jsonb_agg(to_jsonb(x)) FROM (SELECT * FROM p3 LIMIT 5) x)
  UNION ALL SELECT 'P4', 'payments: the ledger agrees with every payment to the cent', (SELECT count(*) FROM p4), (SELECT jsonb_agg(to_jsonb(x)) FROM (SELECT * FROM p4 LIMIT 5) x);
END $$;
