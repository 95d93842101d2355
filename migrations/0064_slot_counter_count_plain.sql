-- 0053's count of a slot's capacity-holding bookings is written plainly again.
--
-- 0053 wrote it with "= ANY (ARRAY[…])" so that the planner would not read
-- the exclusion constraint's GiST index for it. Since 0063 that index's
-- predicate is a function no query implies, so no query can be planned on it
-- and the count uses bookings_slot (btree, vendor and slot) whatever it is
-- spelled like. Same result, same plan; one workaround less.

CREATE OR REPLACE FUNCTION slot_counter_change_explained(p_old slots, p_new slots) RETURNS boolean
LANGUAGE plpgsql STABLE
SET search_path = public, pg_temp AS $$
BEGIN
  IF p_new.booked_count = p_old.booked_count OR to_jsonb(p_new) - 'booked_count' <> to_jsonb(p_old) - 'booked_count' THEN
    RETURN false;
  END IF;
  RETURN p_new.booked_count = (SELECT count(*) FROM bookings b
                               WHERE b.vendor_id = p_new.vendor_id AND b.slot_id = p_new.id
                                 AND booking_state_holds_capacity(b.state));
END $$;
