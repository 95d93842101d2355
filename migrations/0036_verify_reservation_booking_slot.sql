-- verify_reservations as in 0032, with R1 widened: the reservation's booking
-- holds the reservation's slot. Before 0035 `booking reschedule` could move
-- it to another slot (of the same price) while the reservation still named
-- the first; `bookiji verify` now reports such a booking whatever moved it.

CREATE OR REPLACE FUNCTION verify_reservations()
RETURNS TABLE (check_id text, description text, violations bigint, sample jsonb)
LANGUAGE plpgsql STABLE SET search_path = public, pg_temp AS $$
BEGIN
  RETURN QUERY
  WITH r1 AS (
    SELECT r.id, r.state, b.state AS booking_state FROM reservations r JOIN bookings b ON b.vendor_id = r.vendor_id AND b.id = r.booking_id
    WHERE (r.state = 'COMMITTED' AND b.state <> 'confirmed')
       OR (b.state = 'confirmed' AND r.state <> 'COMMITTED')
       OR b.slot_id <> r.slot_id
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
  SELECT 'R1', 'reservations: COMMITTED exactly when the booking is confirmed, and the booking on the reservation''s slot', (SELECT count(*) FROM r1), (SELECT jsonb_agg(to_jsonb(x)) FROM (SELECT * FROM r1 LIMIT 5) x)
  UNION ALL SELECT 'R2', 'reservations: a committed reservation has both payments captured', (SELECT count(*) FROM r2), (SELECT jsonb_agg(to_jsonb(x)) FROM (SELECT * FROM r2 LIMIT 5) x)
  UNION ALL SELECT 'R3', 'reservations: a failed reservation keeps no money without owing it back', (SELECT count(*) FROM r3), (SELECT jsonb_agg(to_jsonb(x)) FROM (SELECT * FROM r3 LIMIT 5) x)
  UNION ALL SELECT 'R4', 'reservations: every transition allowed and logged in order', (SELECT count(*) FROM r4), (SELECT jsonb_agg(to_jsonb(x)) FROM (SELECT * FROM r4 LIMIT 5) x)
  UNION ALL SELECT 'R5', 'reservations: nothing commits at or after its slot''s start or its hold''s TTL, no stage outlives its slot''s start', (SELECT count(*) FROM r5), (SELECT jsonb_agg(to_jsonb(x)) FROM (SELECT * FROM r5 LIMIT 5) x);
END $$;
