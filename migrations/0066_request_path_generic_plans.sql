-- Issue 13: the request path plans each statement once per session.
--
-- Left to plan_cache_mode = auto, PostgreSQL plans a statement's first five
-- runs for their values and then keeps doing so for any statement whose
-- generic plan it estimates dearer than those custom plans: on the claim
-- path that was planning on every call (BuildCachedPlan: 5.7% of the claim
-- backends' CPU in a perf profile of 4 pgbench clients). The generic plans
-- of these statements are the index probes 0065 made sure of
-- (test/db/requestPathPlans.test.ts checks both under generic plans), so
-- forcing them costs no plan quality. claimPathMain --cpu, claim_slot
-- with and without it, 3 rounds of 1,600 claims: 1.47x -> 1.36x of a
-- tpcb-like transaction's backend CPU, lower in each round.
--
-- The set is 0065's: the functions that carry enable_seqscan = off. As
-- with 0065, a migration that redefines one must say both settings again.
DO $$
DECLARE
  v_function regprocedure;
BEGIN
  FOR v_function IN
    SELECT p.oid::regprocedure FROM pg_proc p
    WHERE p.pronamespace = 'public'::regnamespace AND 'enable_seqscan=off' = ANY (p.proconfig)
  LOOP
    EXECUTE format('ALTER FUNCTION %s SET plan_cache_mode = force_generic_plan', v_function);
  END LOOP;
END $$;
