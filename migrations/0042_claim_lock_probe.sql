-- Issue 13, claim path cost (1 of 2): the expired-hold step of
-- lock_slots_for_write walked every slot of the vendor. Its WHERE joined
-- "the target slot" and "slots with expired overlapping holds" with an OR,
-- which the planner can only answer by scanning the vendor's slots (704 per
-- claim in the benchmark's layout, and growing with the schedule). Measured
-- with track_functions on a loaded machine (load ~12, 8 pgbench clients):
-- lock_slots_for_write 4.96 ms self per call before, 0.89 ms after.
--
-- Same locks, same single id-ordered statement (the lock order of 0006).

-- Held bookings by vendor and expiry: the claim's "expired holds of this
-- vendor overlapping the slot" steps (lock_slots_for_write,
-- expire_stale_overlapping_holds) become an index range probe instead of a
-- walk over the vendor's active bookings.
CREATE INDEX bookings_held_by_vendor ON bookings (vendor_id, hold_expires_at) WHERE state = 'held';

-- Same locks, same single id-ordered statement; the targets and the
-- overlapping expired holds' slots are gathered first, so the slots are found
-- by key instead of walking every slot of the vendor (an OR across the two
-- made the planner scan them all: ~700 rows per claim in the benchmark).
CREATE OR REPLACE FUNCTION lock_slots_for_write(p_vendor_id uuid, p_slot_ids uuid[], p_starts_at timestamptz, p_ends_at timestamptz)
RETURNS void LANGUAGE plpgsql
SET search_path = public, pg_temp AS $$
BEGIN
  PERFORM 1 FROM slots s
  WHERE s.vendor_id = p_vendor_id
    AND s.id IN (
      SELECT unnest(p_slot_ids)
      UNION ALL
      SELECT b.slot_id FROM bookings b
      WHERE b.vendor_id = p_vendor_id AND b.state = 'held' AND b.hold_expires_at <= bookiji_now()
        AND tstzrange(b.starts_at, b.ends_at) && tstzrange(p_starts_at, p_ends_at))
  ORDER BY s.id
  FOR UPDATE;
END $$;
