-- Issue 12, defect 6: functions created after 0006 ran without a pinned
-- search_path, so a session's temporary table could stand in for one of
-- ours. PostgreSQL searches pg_temp *first* for relations unless the path
-- names it, so `CREATE TEMP TABLE payments (...)` with one fake captured row
-- made bookings_payment_verified() find "verified money" and let a plain
-- UPDATE confirm a card booking nobody paid for.
--
-- Pins `search_path = public, pg_temp` (pg_temp named last, so it is searched
-- last) on every function of ours that exists now. Functions created by later
-- migrations pin theirs in their own files; test/engine/searchPath.test.ts
-- fails for any function in the schema without it.
DO $$
DECLARE
  v_fn regprocedure;
BEGIN
  FOR v_fn IN
    SELECT p.oid::regprocedure FROM pg_proc p
    WHERE p.pronamespace = 'public'::regnamespace
      AND p.prokind IN ('f', 'p')
      AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')
  LOOP
    EXECUTE format('ALTER FUNCTION %s SET search_path = public, pg_temp', v_fn);
  END LOOP;
END $$;
