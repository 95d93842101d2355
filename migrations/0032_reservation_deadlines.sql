-- Issue 12, defect 4: reservations confirmed after their slot started and
-- after their hold's TTL. Stage TTLs were now + TTL with no cap at the slot's
-- start, and reservation_finish_commit checked neither the start nor the
-- hold's expiry: a commit whose captures were left owed by a provider outage
-- and resumed by reconcile later confirmed the booking whenever it ran.
--
-- Every stage's deadline is now capped at the slot's start (a hold never
-- outlives the slot it holds, so expire_holds and every claim end it there,
-- I5/I9), and finishing a commit refuses a reservation past its deadline: it
-- fails (FAILED_COMMIT) and both sides are compensated, a capture refunded and
-- an authorization released. An authorization applied after its stage's TTL
-- expires the reservation instead of starting the next stage (which would
-- have lengthened a hold that had already run out).
--
-- Defect 5's fence is here too: an authorization the engine already decided
-- to cancel (cancel_sent_at, 0014) is about to be voided by our own call, so it
-- fails the reservation's authorization instead of moving the reservation on.

-- Sets the stage's state and deadline: the TTL from now, never past the slot's start.
CREATE OR REPLACE FUNCTION reservation_set_stage(p_res reservations, p_state text, p_ttl_limit text, p_reason text) RETURNS void LANGUAGE plpgsql
SET search_path = public, pg_temp AS $$
DECLARE
  v_expires timestamptz := CASE WHEN p_ttl_limit IS NULL THEN p_res.expires_at
                                ELSE least(bookiji_now() + make_interval(secs => engine_limit(p_ttl_limit)), p_res.starts_at) END;
BEGIN
  PERFORM set_config('bookiji.reason', p_reason, true);
  UPDATE reservations SET state = p_state, expires_at = v_expires WHERE vendor_id = p_res.vendor_id AND id = p_res.id;
  IF p_ttl_limit IS NOT NULL THEN
    UPDATE bookings SET hold_expires_at = v_expires WHERE vendor_id = p_res.vendor_id AND id = p_res.booking_id AND state = 'held';
  END IF;
END $$;

-- True when the reservation's stage or its slot leaves no time: the stage's
-- TTL passed, the slot started, or its booking no longer holds a live hold.
CREATE FUNCTION reservation_past_deadline(p_res reservations) RETURNS boolean LANGUAGE sql STABLE
SET search_path = public, pg_temp AS $$
  SELECT (p_res.expires_at IS NOT NULL AND p_res.expires_at <= bookiji_now())
      OR p_res.starts_at <= bookiji_now()
      OR NOT EXISTS (SELECT 1 FROM bookings b JOIN slots s ON s.vendor_id = b.vendor_id AND s.id = b.slot_id
                     WHERE b.vendor_id = p_res.vendor_id AND b.id = p_res.booking_id AND b.state = 'held'
                       AND b.hold_expires_at > bookiji_now() AND s.starts_at > bookiji_now())
$$;

-- Moves an awaiting reservation on from its payment's verified state; past
-- the stage's deadline it expires and its money is owed back.
CREATE OR REPLACE FUNCTION reservation_apply_authorization(p_id uuid, p_role text, p_actor_kind text, p_actor_id text, p_source text) RETURNS jsonb LANGUAGE plpgsql
SET search_path = public, pg_temp AS $$
DECLARE
  v_res reservations%ROWTYPE;
  v_payment payments%ROWTYPE;
  v_awaiting text := CASE p_role WHEN 'vendor_deposit' THEN 'AWAITING_VENDOR_AUTH' ELSE 'AWAITING_REQUESTER_AUTH' END;
BEGIN
  PERFORM set_actor(p_actor_kind, p_actor_id, p_source, p_role || ' authorization verified', NULL);
  v_res := lock_reservation(p_id);
  IF v_res.state <> v_awaiting THEN
    RETURN to_jsonb(v_res);
  END IF;
  SELECT * INTO v_payment FROM payments WHERE vendor_id = v_res.vendor_id AND reservation_id = p_id
    AND purpose = CASE p_role WHEN 'vendor_deposit' THEN 'reservation_vendor_deposit' ELSE 'reservation_requester' END;
  IF v_payment.status IN ('failed', 'canceled') OR (v_payment.status = 'authorized' AND v_payment.cancel_sent_at IS NOT NULL) THEN
    PERFORM reservation_fail(v_res.vendor_id, p_id, CASE p_role WHEN 'vendor_deposit' THEN 'FAILED_VENDOR_AUTH' ELSE 'FAILED_REQUESTER_AUTH' END,
      format('%s payment %s (%s)', p_role, v_payment.status, coalesce(v_payment.failure_code, CASE WHEN v_payment.cancel_sent_at IS NOT NULL THEN 'its cancel was already sent' ELSE 'no code' END)));
  ELSIF v_payment.status = 'authorized' AND reservation_past_deadline(v_res) THEN
    PERFORM reservation_fail(v_res.vendor_id, p_id, 'EXPIRED', format('the %s authorization arrived after the stage''s deadline (%s)', p_role, v_res.expires_at));
  ELSIF v_payment.status = 'authorized' THEN
    IF p_role = 'vendor_deposit' THEN
      PERFORM reservation_set_stage(v_res, 'VENDOR_AUTHORIZED', NULL, 'vendor deposit authorized');
    ELSE
      PERFORM reservation_set_stage(v_res, 'AUTHORIZED_BOTH', 'reservation_ttl_seconds_commit', 'requester payment authorized');
    END IF;
  END IF;
  RETURN reservation_json(v_res.vendor_id, p_id);
END $$;

-- After the captures: past the deadline (the hold's TTL or the slot's start)
-- the commit is refused and both sides compensated; both captured ⇒
-- COMMITTED and the booking confirmed; any capture failed ⇒ FAILED_COMMIT and
-- the other one compensated; still owed ⇒ stays in progress.
CREATE OR REPLACE FUNCTION reservation_finish_commit(p_id uuid, p_actor_kind text, p_actor_id text, p_source text) RETURNS jsonb LANGUAGE plpgsql
SET search_path = public, pg_temp AS $$
DECLARE
  v_res reservations%ROWTYPE;
  v_captured integer;
  v_failed integer;
BEGIN
  PERFORM set_actor(p_actor_kind, p_actor_id, p_source, 'commit finished', NULL);
  v_res := lock_reservation(p_id);
  IF v_res.state <> 'COMMIT_IN_PROGRESS' THEN
    RETURN to_jsonb(v_res);
  END IF;
  IF reservation_past_deadline(v_res) THEN
    PERFORM reservation_fail(v_res.vendor_id, p_id, 'FAILED_COMMIT',
      format('the commit did not finish before its deadline (hold until %s, slot at %s): both sides are compensated', v_res.expires_at, v_res.starts_at));
    RETURN reservation_json(v_res.vendor_id, p_id);
  END IF;
  SELECT count(*) FILTER (WHERE status = 'captured'), count(*) FILTER (WHERE status IN ('failed', 'canceled', 'refunded'))
  INTO v_captured, v_failed
  FROM payments WHERE vendor_id = v_res.vendor_id AND reservation_id = p_id;
  IF v_captured = 2 THEN
    PERFORM set_config('bookiji.reason', 'both captured: committed', true);
    UPDATE reservations SET state = 'COMMITTED', expires_at = NULL WHERE vendor_id = v_res.vendor_id AND id = p_id;
    UPDATE bookings SET payment_status = 'captured', state = 'confirmed', hold_expires_at = NULL
    WHERE vendor_id = v_res.vendor_id AND id = v_res.booking_id AND state = 'held';
  ELSIF v_failed > 0 THEN
    PERFORM reservation_fail(v_res.vendor_id, p_id, 'FAILED_COMMIT', format('%s capture(s) failed; the other was compensated', v_failed));
  END IF;
  RETURN reservation_json(v_res.vendor_id, p_id);
END $$;

-- verify_reservations as in 0012, with R5 (time): no reservation committed at
-- or after its slot's start or its hold's TTL (read from the audit log's
-- before and after images of the move into COMMITTED), and no live stage
-- whose deadline lies past the slot's start.
CREATE OR REPLACE FUNCTION verify_reservations()
RETURNS TABLE (check_id text, description text, violations bigint, sample jsonb)
LANGUAGE plpgsql STABLE SET search_path = public, pg_temp AS $$
BEGIN
  RETURN QUERY
  WITH r1 AS (
    SELECT r.id, r.state, b.state AS booking_state FROM reservations r JOIN bookings b ON b.vendor_id = r.vendor_id AND b.id = r.booking_id
    WHERE (r.state = 'COMMITTED' AND b.state <> 'confirmed')
       OR (b.state = 'confirmed' AND r.state <> 'COMMITTED')
  ),
  r2 AS (
    SELECT r.id, r.state FROM reservations r
    WHERE r.state = 'COMMITTED' AND (SELECT count(*) FROM payments p WHERE p.vendor_id = r.vendor_id AND p.reservation_id = r.id AND p.status = 'captured') <> 2
  ),
  r3 AS (
    SELECT r.id, r.state, p.id AS payment_id, p.status FROM reservations r
    JOIN payments p ON p.vendor_id = r.vendor_id AND p.reservation_id = r.id
    JOIN machine_states m ON m.machine = 'reservation' AND m.state = r.state
    WHERE r.state <> 'COMMITTED' AND m.terminal AND p.status IN ('authorized', 'captured') AND p.pending_action NOT IN ('cancel', 'refund')
  ),
  r4 AS (
    SELECT t.reservation_id, t.id, t.from_state, t.to_state FROM (
      SELECT tr.*, lag(tr.to_state) OVER (PARTITION BY tr.reservation_id ORDER BY tr.id) AS prev_to FROM reservation_transitions tr
    ) t
    WHERE t.from_state IS DISTINCT FROM t.prev_to
       OR (t.from_state IS NOT NULL AND NOT EXISTS (SELECT 1 FROM machine_transitions m WHERE m.machine = 'reservation' AND m.from_state = t.from_state AND m.to_state = t.to_state))
  ),
  r5 AS (
    SELECT a.entity_id AS reservation_id, a.at AS committed_at, (a.after->>'starts_at')::timestamptz AS starts_at,
           (a.before->>'expires_at')::timestamptz AS expires_at
    FROM audit_log a
    WHERE a.entity = 'reservations' AND a.action = 'update' AND a.before->>'state' = 'COMMIT_IN_PROGRESS' AND a.after->>'state' = 'COMMITTED'
      AND (a.at >= (a.after->>'starts_at')::timestamptz OR a.at >= (a.before->>'expires_at')::timestamptz)
    UNION ALL
    SELECT r.id, NULL, r.starts_at, r.expires_at FROM reservations r
    JOIN machine_states m ON m.machine = 'reservation' AND m.state = r.state
    WHERE NOT m.terminal AND r.expires_at > r.starts_at
  )
  SELECT 'R1', 'reservations: COMMITTED exactly when the booking is confirmed', (SELECT count(*) FROM r1), (SELECT jsonb_agg(to_jsonb(x)) FROM (SELECT * FROM r1 LIMIT 5) x)
  UNION ALL SELECT 'R2', 'reservations: a committed reservation has both payments captured', (SELECT count(*) FROM r2), (SELECT jsonb_agg(to_jsonb(x)) FROM (SELECT * FROM r2 LIMIT 5) x)
  UNION ALL SELECT 'R3', 'reservations: a failed reservation keeps no money without owing it back', (SELECT count(*) FROM r3), (SELECT jsonb_agg(to_jsonb(x)) FROM (SELECT * FROM r3 LIMIT 5) x)
  UNION ALL SELECT 'R4', 'reservations: every transition allowed and logged in order', (SELECT count(*) FROM r4), (SELECT jsonb_agg(to_jsonb(x)) FROM (SELECT * FROM r4 LIMIT 5) x)
  UNION ALL SELECT 'R5', 'reservations: nothing commits at or after its slot''s start or its hold''s TTL, no stage outlives its slot''s start', (SELECT count(*) FROM r5), (SELECT jsonb_agg(to_jsonb(x)) FROM (SELECT * FROM r5 LIMIT 5) x);
END $$;
