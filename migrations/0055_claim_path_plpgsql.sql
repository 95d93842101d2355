-- Issue 13, claim path cost: the SQL functions a claim calls
-- become PL/pgSQL, same bodies.
--
-- A SQL function that cannot be inlined (these cannot: they pin
-- search_path) keeps its prepared query only for the life of the calling
-- expression's state, which for a PL/pgSQL caller ends with the
-- transaction: every claim planned audit_digest's expression and
-- bookiji_clock_now's query again. PL/pgSQL functions keep their plans for
-- the session. audit_verify calls audit_digest once per row within one
-- query; it stays as fast. The digest's text is unchanged, so every hash
-- written before verifies as before.

CREATE OR REPLACE FUNCTION audit_digest(p_prev_hash text, p_vendor_id uuid, p_seq bigint, p_entity text, p_entity_id uuid, p_action text,
  p_before jsonb, p_after jsonb, p_actor_kind text, p_actor_id text, p_source text, p_reason text, p_request_id text, p_at timestamptz)
RETURNS text LANGUAGE plpgsql IMMUTABLE
SET search_path = public, pg_temp AS $$
BEGIN
  RETURN encode(sha256(convert_to(p_prev_hash || jsonb_build_object(
    'vendor_id', p_vendor_id, 'seq', p_seq, 'entity', p_entity, 'entity_id', p_entity_id,
    'action', p_action, 'before', p_before, 'after', p_after, 'actor_kind', p_actor_kind,
    'actor_id', p_actor_id, 'source', p_source, 'reason', p_reason, 'request_id', p_request_id,
    'at', to_char(p_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
  )::text, 'UTF8')), 'hex');
END $$;

CREATE OR REPLACE FUNCTION bookiji_clock_now() RETURNS timestamptz
LANGUAGE plpgsql
SET search_path = public, pg_temp AS $$
BEGIN
  RETURN (SELECT clock_timestamp() + "offset" FROM public.clock);
END $$;

-- Evaluated for every booking row written (the exclusion constraint's and
-- bookings_slot's predicate), where a SQL function's query is prepared
-- again for each statement.
CREATE OR REPLACE FUNCTION booking_state_holds_capacity(p_state text) RETURNS boolean
LANGUAGE plpgsql IMMUTABLE
SET search_path = public, pg_temp AS $$
BEGIN
  RETURN p_state IN ('held', 'confirmed');
END $$;

-- A hold's claim reads up to four limits; a keyed claim hashes its request.
CREATE OR REPLACE FUNCTION engine_limit(p_name text) RETURNS integer
LANGUAGE plpgsql STABLE
SET search_path = public, pg_temp AS $$
BEGIN
  RETURN (SELECT value FROM engine_limits WHERE name = p_name);
END $$;

CREATE OR REPLACE FUNCTION claim_request_hash(p_slot_id uuid, p_customer_id uuid, p_hold boolean, p_hold_ttl_seconds integer, p_payment_method text)
RETURNS text LANGUAGE plpgsql IMMUTABLE
SET search_path = public, pg_temp AS $$
BEGIN
  RETURN 'v2:' || encode(sha256(convert_to(jsonb_build_object(
    'slot_id', p_slot_id, 'customer_id', p_customer_id, 'hold', p_hold, 'hold_ttl_seconds', p_hold_ttl_seconds,
    'payment_method', p_payment_method)::text, 'UTF8')), 'hex');
END $$;
