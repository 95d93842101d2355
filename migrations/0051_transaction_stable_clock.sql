-- One clock reading per transaction, in simulation too.
--
-- bookiji_now() is now() plus the simulation offset. now() is fixed for the
-- whole transaction, but the offset was read again by every statement, so a
-- transaction that ran while a simulation moved its clock saw two different
-- "nows": claim_slot checked the slot's start at the first (and re-checked
-- against the fresh clock), then its INSERT and the transition log stamped
-- the booking at the second, minutes later. certify's quick profile showed
-- it (SC-3, 20 iterations): a hold logged five minutes after its slot began,
-- which verify_invariants() rightly calls an I5 violation. On a production
-- database the offset never moves, so nothing changes there.
--
-- The offset is now read once per transaction and kept in a transaction-local
-- setting (reset by COMMIT and ROLLBACK); advance_clock forgets it after
-- moving the clock. bookiji_clock_now() stays the fresh reading, for the
-- NOW-boundary re-check.

CREATE OR REPLACE FUNCTION bookiji_now() RETURNS timestamptz
LANGUAGE plpgsql STABLE SET search_path = public, pg_temp AS $$
DECLARE
  v_offset text := current_setting('bookiji.transaction_clock_offset', true);
BEGIN
  IF v_offset IS NULL OR v_offset = '' THEN
    SELECT "offset"::text INTO v_offset FROM public.clock;
    PERFORM set_config('bookiji.transaction_clock_offset', v_offset, true);
  END IF;
  RETURN now() + v_offset::interval;
END $$;

CREATE OR REPLACE FUNCTION advance_clock(p_by interval) RETURNS timestamptz
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
BEGIN
  IF p_by IS NULL OR p_by < interval '0' THEN
    RAISE EXCEPTION 'advance_clock: the clock only moves forward' USING ERRCODE = 'BK006';
  END IF;
  UPDATE public.clock SET "offset" = "offset" + p_by;
  PERFORM set_config('bookiji.transaction_clock_offset', '', true);
  RETURN bookiji_now();
END $$;
