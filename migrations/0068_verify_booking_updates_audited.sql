-- I8 checked every booking had an audit row for its insert, but not for its
-- updates: an engine writing booking changes with the UPDATE audit trigger
-- off (0067 made it a trigger of its own) passed. Every change to a booking
-- writes an audit row (SPEC, I8), and every update raises the booking's
-- version by one, so a booking at version v must have one insert row and
-- v - 1 update rows.

CREATE OR REPLACE FUNCTION public.verify_invariants()
 RETURNS TABLE(check_id text, description text, violations bigint, sample jsonb)
 LANGUAGE plpgsql
 STABLE
 SET search_path TO 'public', 'pg_temp'
AS $function$
BEGIN
  RETURN QUERY
  WITH truth AS (
    SELECT s.vendor_id, s.id AS slot_id, s.capacity, s.booked_count,
           count(b.id) FILTER (WHERE booking_state_holds_capacity(b.state)) AS active
    FROM slots s LEFT JOIN bookings b ON b.vendor_id = s.vendor_id AND b.slot_id = s.id
    GROUP BY s.vendor_id, s.id
  ),
  c1 AS (SELECT * FROM truth WHERE booked_count > 0 AND active = 0),
  c2 AS (SELECT * FROM truth WHERE active > capacity),
  c3 AS (
    SELECT b.id, b.slot_id FROM bookings b LEFT JOIN slots s ON s.vendor_id = b.vendor_id AND s.id = b.slot_id
    WHERE booking_state_holds_capacity(b.state) AND (s.id IS NULL OR s.starts_at <> b.starts_at OR s.ends_at <> b.ends_at)
  ),
  c4 AS (
    SELECT a.id AS booking_a, b.id AS booking_b FROM bookings a JOIN bookings b
      ON a.vendor_id = b.vendor_id AND a.id < b.id AND a.slot_id <> b.slot_id
     AND tstzrange(a.starts_at, a.ends_at) && tstzrange(b.starts_at, b.ends_at)
    WHERE booking_state_holds_capacity(a.state) AND booking_state_holds_capacity(b.state)
  ),
  i3 AS (SELECT * FROM truth WHERE booked_count <> active),
  i4 AS (
    SELECT id, payment_method, payment_status FROM bookings
    WHERE state = 'confirmed' AND payment_method = 'card' AND payment_status NOT IN ('authorized', 'captured')
  ),
  i5 AS (
    SELECT t.booking_id, t.at, s.starts_at, t.from_state, t.to_state FROM booking_transitions t
    JOIN slots s ON s.vendor_id = t.vendor_id AND s.id = t.to_slot_id
    WHERE t.at >= s.starts_at
      AND ((t.to_state IN ('held', 'confirmed') AND t.from_slot_id IS DISTINCT FROM t.to_slot_id)
           OR (t.from_state = 'held' AND t.to_state = 'confirmed'))
  ),
  i6 AS (
    SELECT idempotency_key, count(*) AS n FROM bookings WHERE idempotency_key IS NOT NULL
    GROUP BY idempotency_key HAVING count(*) > 1
  ),
  i7 AS (
    SELECT s.id FROM slots s WHERE s.legacy
      AND NOT EXISTS (SELECT 1 FROM bookings b WHERE b.vendor_id = s.vendor_id AND b.slot_id = s.id)
      AND NOT EXISTS (SELECT 1 FROM booking_transitions t WHERE t.vendor_id = s.vendor_id AND (t.from_slot_id = s.id OR t.to_slot_id = s.id))
  ),
  i8_chain AS (SELECT * FROM audit_verify()),
  -- A booking's insert is audited once, and each of its updates once: every
  -- UPDATE raises version by one (bookings_state_machine), so a booking at
  -- version v has exactly v - 1 update rows (0068).
  i8_missing AS (
    SELECT b.id, b.version, t.inserts, t.updates FROM bookings b
    CROSS JOIN LATERAL (
      SELECT count(*) FILTER (WHERE a.action = 'insert') AS inserts, count(*) FILTER (WHERE a.action = 'update') AS updates
      FROM audit_log a WHERE a.entity_id = b.id AND a.vendor_id = b.vendor_id AND a.entity = 'bookings') t
    WHERE t.inserts <> 1 OR t.updates <> b.version - 1
  ),
  i9 AS (
    SELECT booking_id, count(*) AS releases FROM booking_transitions
    WHERE to_state IN ('expired', 'cancelled') GROUP BY booking_id HAVING count(*) > 1
  ),
  i10 AS (
    SELECT t.booking_id, t.id, t.from_state, t.to_state, t.prev_to FROM (
      SELECT tr.*, lag(tr.to_state) OVER (PARTITION BY tr.booking_id ORDER BY tr.id) AS prev_to
      FROM booking_transitions tr
    ) t
    WHERE t.from_state IS DISTINCT FROM t.prev_to
       OR (t.from_state IS NOT NULL AND NOT EXISTS (SELECT 1 FROM machine_transitions m
             WHERE m.machine = 'booking' AND m.from_state = t.from_state AND m.to_state = t.to_state))
    UNION ALL
    SELECT b.id, NULL, NULL, b.state, NULL FROM bookings b
    WHERE b.state IS DISTINCT FROM (SELECT tr.to_state FROM booking_transitions tr WHERE tr.booking_id = b.id ORDER BY tr.id DESC LIMIT 1)
  )
  SELECT 'C1', 'slots marked taken with no active booking', (SELECT count(*) FROM c1), (SELECT jsonb_agg(to_jsonb(x)) FROM (SELECT * FROM c1 LIMIT 5) x)
  UNION ALL SELECT 'C2', 'slots with more active bookings than capacity (double booking)', (SELECT count(*) FROM c2), (SELECT jsonb_agg(to_jsonb(x)) FROM (SELECT * FROM c2 LIMIT 5) x)
  UNION ALL SELECT 'C3', 'active bookings without a matching slot', (SELECT count(*) FROM c3), (SELECT jsonb_agg(to_jsonb(x)) FROM (SELECT * FROM c3 LIMIT 5) x)
  UNION ALL SELECT 'C4', 'overlapping active bookings of one vendor', (SELECT count(*) FROM c4), (SELECT jsonb_agg(to_jsonb(x)) FROM (SELECT * FROM c4 LIMIT 5) x)
  UNION ALL SELECT 'I1', 'capacity: active bookings per slot within capacity', (SELECT count(*) FROM c2), (SELECT jsonb_agg(to_jsonb(x)) FROM (SELECT * FROM c2 LIMIT 5) x)
  UNION ALL SELECT 'I2', 'vendor exclusivity: no overlap across a vendor''s slots', (SELECT count(*) FROM c4), (SELECT jsonb_agg(to_jsonb(x)) FROM (SELECT * FROM c4 LIMIT 5) x)
  UNION ALL SELECT 'I3', 'slot coherence: booked count equals active bookings', (SELECT count(*) FROM i3), (SELECT jsonb_agg(to_jsonb(x)) FROM (SELECT * FROM i3 LIMIT 5) x)
  UNION ALL SELECT 'I4', 'payment consistency: confirmed card bookings have verified money', (SELECT count(*) FROM i4), (SELECT jsonb_agg(to_jsonb(x)) FROM (SELECT * FROM i4 LIMIT 5) x)
  UNION ALL SELECT 'I5', 'time: nothing held, booked or confirmed into a slot at or after its start', (SELECT count(*) FROM i5), (SELECT jsonb_agg(to_jsonb(x)) FROM (SELECT * FROM i5 LIMIT 5) x)
  UNION ALL SELECT 'I6', 'idempotency: one key, at most one booking', (SELECT count(*) FROM i6), (SELECT jsonb_agg(to_jsonb(x)) FROM (SELECT * FROM i6 LIMIT 5) x)
  UNION ALL SELECT 'I7', 'preservation: legacy slots are kept only for bookings', (SELECT count(*) FROM i7), (SELECT jsonb_agg(to_jsonb(x)) FROM (SELECT * FROM i7 LIMIT 5) x)
  UNION ALL SELECT 'I8', 'audit: hash chains intact, every booking''s insert and each of its updates audited', (SELECT count(*) FROM i8_chain) + (SELECT count(*) FROM i8_missing),
            coalesce((SELECT jsonb_agg(to_jsonb(x)) FROM (SELECT vendor_id, seq, problem FROM i8_chain LIMIT 5) x),
                     (SELECT jsonb_agg(to_jsonb(x)) FROM (SELECT * FROM i8_missing LIMIT 5) x))
  UNION ALL SELECT 'I9', 'holds: each hold released at most once', (SELECT count(*) FROM i9), (SELECT jsonb_agg(to_jsonb(x)) FROM (SELECT * FROM i9 LIMIT 5) x)
  UNION ALL SELECT 'I10', 'transitions: every move allowed, log agrees with state', (SELECT count(*) FROM i10), (SELECT jsonb_agg(to_jsonb(x)) FROM (SELECT * FROM i10 LIMIT 5) x);
END $function$;
