-- Issue 13: the request path's queries are planned as index probes whatever
-- the statistics say.
--
-- PL/pgSQL caches a generic plan per statement for the life of the session.
-- Planned while bookings is small (a new database, or the minute after a
-- VACUUM ANALYZE of an empty table, before autovacuum analyzes it again),
-- the probes below become sequential scans of bookings, and a pooled
-- session (serve, pgbench) keeps them: a claim then reads every booking
-- three times (the expired-hold probes and the slot's recount). Measured on
-- one session, 4,000 claims after VACUUM ANALYZE of an empty bookings
-- table: 2.4 ms per claim in the first 500, 5.9 ms in the last 500 (with
-- this setting: 1.9 and 1.4). Every probe here has an index made for it
-- (bookings_held_by_vendor, bookings_slot, the primary keys), so turning
-- sequential scans off for these functions only removes the wrong plan;
-- a table without a usable index is still scanned. Reports and sweeps
-- (verify_*, expire_holds, refresh_vendor_slots) keep the planner's choice.
--
-- CREATE OR REPLACE resets a function's settings: a migration that
-- redefines one of these must say SET enable_seqscan = off again
-- (test/db/requestPathPlans.test.ts fails otherwise).
DO $$
DECLARE
  v_function regprocedure;
BEGIN
  FOR v_function IN
    SELECT p.oid::regprocedure FROM pg_proc p
    WHERE p.pronamespace = 'public'::regnamespace
      AND p.proname IN ('claim_slot', 'claim_replay', 'lock_slots_for_write', 'slot_counter_change_explained',
                        'expire_stale_holds_on_slot', 'expire_stale_overlapping_holds',
                        'lock_booking_for_change', 'cancel_booking', 'confirm_booking', 'reschedule_booking', 'booking_json',
                        'reclaim_slot_for_payment', 'cancel_booking_for_payment', 'apply_payment_state', 'record_payment_intent')
  LOOP
    EXECUTE format('ALTER FUNCTION %s SET enable_seqscan = off', v_function);
  END LOOP;
END $$;
