-- Review finding (after issue 12): a reservation's booking could be moved
-- outside the reservation. `booking reschedule <booking> --slot S2`
-- (reschedule_booking) moved the booking that holds a reservation's slot to
-- another slot of the same price: the reservation still named the first slot
-- and time while its booking held the second, so a committed reservation's
-- captured money paid for a time the partner never reserved, and an open
-- one's revalidation failed for a reason nobody asked for.
--
-- The rule, like 0031's for payments: the booking that holds a reservation's
-- slot moves only with its reservation, and a reservation has no reschedule
-- (its time is the partner's request; to change it, cancel the reservation
-- and reserve the new time). So moving that booking to another slot is
-- refused with INVALID_TRANSITION (BK011), whoever writes the row.

CREATE FUNCTION bookings_reservation_booking_not_moved_alone() RETURNS trigger LANGUAGE plpgsql
SET search_path = public, pg_temp AS $$
DECLARE
  v_reservation_id uuid;
BEGIN
  SELECT r.id INTO v_reservation_id FROM reservations r WHERE r.vendor_id = NEW.vendor_id AND r.booking_id = NEW.id LIMIT 1;
  IF FOUND THEN
    PERFORM raise_error('BK011',
      format('booking %s holds the slot of reservation %s: it moves only with the reservation, which keeps the time the partner reserved (cancel the reservation and reserve the new time)', NEW.id, v_reservation_id),
      jsonb_build_object('booking_id', NEW.id, 'reservation_id', v_reservation_id, 'from', OLD.state, 'to', 'rescheduled outside the reservation',
                         'slot_id', OLD.slot_id, 'new_slot_id', NEW.slot_id));
  END IF;
  RETURN NEW;
END $$;

CREATE TRIGGER bookings_reservation_booking_not_moved_alone BEFORE UPDATE OF slot_id ON bookings
  FOR EACH ROW WHEN (NEW.slot_id IS DISTINCT FROM OLD.slot_id) EXECUTE FUNCTION bookings_reservation_booking_not_moved_alone();
