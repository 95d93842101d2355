-- Issue 12, defect 3: a reservation's booking could be paid and confirmed
-- outside the reservation machine. `payment pay <booking>` started a card
-- payment (purpose 'booking') on the reservation's held booking, and its
-- authorization confirmed the booking while the reservation still waited for
-- the vendor; the reservation could then never expire (its booking no longer
-- held a TTL) and R1 was broken.
--
-- The rule, in the database: the booking that holds a reservation's slot is
-- paid only through the reservation (the vendor deposit and the requester
-- payment), and becomes confirmed only when its reservation commits.

CREATE FUNCTION payments_reservation_booking_not_paid_alone() RETURNS trigger LANGUAGE plpgsql
SET search_path = public, pg_temp AS $$
DECLARE
  v_reservation_id uuid;
BEGIN
  SELECT r.id INTO v_reservation_id FROM reservations r WHERE r.vendor_id = NEW.vendor_id AND r.booking_id = NEW.booking_id LIMIT 1;
  IF FOUND THEN
    PERFORM raise_error('BK011',
      format('booking %s holds the slot of reservation %s: it is paid through the reservation (vendor deposit and requester authorization), never on its own', NEW.booking_id, v_reservation_id),
      jsonb_build_object('booking_id', NEW.booking_id, 'reservation_id', v_reservation_id, 'from', 'held', 'to', 'paid outside the reservation'));
  END IF;
  RETURN NEW;
END $$;

CREATE TRIGGER payments_reservation_booking_not_paid_alone BEFORE INSERT OR UPDATE OF booking_id ON payments
  FOR EACH ROW WHEN (NEW.purpose = 'booking') EXECUTE FUNCTION payments_reservation_booking_not_paid_alone();

CREATE FUNCTION bookings_reservation_confirms_on_commit() RETURNS trigger LANGUAGE plpgsql
SET search_path = public, pg_temp AS $$
DECLARE
  v_res reservations%ROWTYPE;
BEGIN
  SELECT * INTO v_res FROM reservations r WHERE r.vendor_id = NEW.vendor_id AND r.booking_id = NEW.id LIMIT 1;
  IF FOUND AND v_res.state <> 'COMMITTED' THEN
    PERFORM raise_error('BK011',
      format('booking %s holds the slot of reservation %s, which is %s: it is confirmed only when the reservation commits', NEW.id, v_res.id, v_res.state),
      jsonb_build_object('booking_id', NEW.id, 'reservation_id', v_res.id, 'from', OLD.state, 'to', NEW.state, 'reservation_state', v_res.state));
  END IF;
  RETURN NEW;
END $$;

CREATE TRIGGER bookings_reservation_confirms_on_commit BEFORE UPDATE OF state ON bookings
  FOR EACH ROW WHEN (NEW.state = 'confirmed' AND OLD.state IS DISTINCT FROM 'confirmed') EXECUTE FUNCTION bookings_reservation_confirms_on_commit();
