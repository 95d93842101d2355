-- Foundation: extensions, the one clock, raising our own errors, vendors and customers.

CREATE EXTENSION IF NOT EXISTS btree_gist;

-- ---------------------------------------------------------------------------
-- The clock.
--
-- Every rule that asks "what time is it" calls bookiji_now(); nothing accepts
-- a time from the client. A database created for simulation (its
-- `bookiji.simulation` setting on when this migration ran) may move its clock
-- forward with advance_clock(); every other database refuses, and the flag
-- cannot be switched on afterwards.
-- ---------------------------------------------------------------------------
CREATE TABLE clock (
  singleton  boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  simulated  boolean NOT NULL,
  "offset"   interval NOT NULL DEFAULT '0' CHECK ("offset" >= interval '0')
);

INSERT INTO clock (simulated)
VALUES (coalesce(current_setting('bookiji.simulation', true), 'off') IN ('on', 'true', '1'));

CREATE FUNCTION clock_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP <> 'UPDATE' THEN
    RAISE EXCEPTION 'the clock row is fixed' USING ERRCODE = 'BK013';
  END IF;
  IF NEW.simulated IS DISTINCT FROM OLD.simulated THEN
    RAISE EXCEPTION 'a database cannot be switched to or from simulation after it was created' USING ERRCODE = 'BK013';
  END IF;
  IF NOT OLD.simulated AND NEW."offset" <> interval '0' THEN
    RAISE EXCEPTION 'this database is not a simulation: its clock cannot be moved' USING ERRCODE = 'BK013';
  END IF;
  IF NEW."offset" < OLD."offset" THEN
    RAISE EXCEPTION 'the simulated clock only moves forward' USING ERRCODE = 'BK013';
  END IF;
  RETURN NEW;
END $$;

CREATE TRIGGER clock_guard BEFORE INSERT OR UPDATE OR DELETE ON clock
  FOR EACH ROW EXECUTE FUNCTION clock_guard();
CREATE TRIGGER clock_no_truncate BEFORE TRUNCATE ON clock
  FOR EACH STATEMENT EXECUTE FUNCTION clock_guard();

-- now() is the transaction's start time: one consistent instant per transaction.
CREATE FUNCTION bookiji_now() RETURNS timestamptz LANGUAGE sql STABLE AS $$
  SELECT now() + "offset" FROM clock
$$;

CREATE FUNCTION advance_clock(p_by interval) RETURNS timestamptz LANGUAGE plpgsql AS $$
BEGIN
  IF p_by IS NULL OR p_by < interval '0' THEN
    RAISE EXCEPTION 'advance_clock: the clock only moves forward' USING ERRCODE = 'BK006';
  END IF;
  UPDATE clock SET "offset" = "offset" + p_by;
  RETURN now() + (SELECT "offset" FROM clock);
END $$;

-- ---------------------------------------------------------------------------
-- Raising our own errors: SQLSTATE class BK, the limit or id in the message,
-- machine-readable facts as JSON in DETAIL. src/errors.ts maps them.
-- ---------------------------------------------------------------------------
CREATE FUNCTION raise_error(p_sqlstate text, p_message text, p_detail jsonb DEFAULT '{}') RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION USING ERRCODE = p_sqlstate, MESSAGE = p_message, DETAIL = p_detail::text;
END $$;

-- ---------------------------------------------------------------------------
-- Who is acting. Engine functions set these transaction-local settings; the
-- audit and transition triggers read them, so no change escapes attribution.
-- ---------------------------------------------------------------------------
CREATE FUNCTION set_actor(p_actor_kind text, p_actor_id text, p_source text, p_reason text, p_request_id text DEFAULT NULL)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  IF p_actor_kind NOT IN ('customer', 'vendor', 'operator', 'partner', 'system', 'simcity') THEN
    PERFORM raise_error('BK006', format('actor kind must be customer, vendor, operator, partner, system or simcity (got %L)', p_actor_kind), jsonb_build_object('field', 'actor_kind'));
  END IF;
  IF p_source NOT IN ('cli', 'api', 'system', 'simcity', 'webhook', 'reconcile', 'test') THEN
    PERFORM raise_error('BK006', format('source must be cli, api, system, simcity, webhook, reconcile or test (got %L)', p_source), jsonb_build_object('field', 'source'));
  END IF;
  PERFORM set_config('bookiji.actor_kind', p_actor_kind, true),
          set_config('bookiji.actor_id', coalesce(p_actor_id, ''), true),
          set_config('bookiji.source', p_source, true),
          set_config('bookiji.reason', coalesce(p_reason, ''), true),
          set_config('bookiji.request_id', coalesce(p_request_id, ''), true);
END $$;

CREATE FUNCTION actor_setting(p_name text) RETURNS text LANGUAGE sql STABLE AS $$
  SELECT nullif(current_setting('bookiji.' || p_name, true), '')
$$;

-- ---------------------------------------------------------------------------
-- Vendors and customers.
-- ---------------------------------------------------------------------------
CREATE FUNCTION is_valid_timezone(p_zone text) RETURNS boolean LANGUAGE sql STABLE AS $$
  SELECT EXISTS (SELECT 1 FROM pg_timezone_names WHERE name = p_zone)
$$;

CREATE TABLE vendors (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name        text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 200),
  timezone    text NOT NULL CHECK (is_valid_timezone(timezone)),
  created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE customers (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name        text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 200),
  email       text NOT NULL CHECK (length(email) <= 254 AND email ~ '^[^@\s]+@[^@\s]+\.[^@\s]+$'),
  created_at  timestamptz NOT NULL DEFAULT now()
);
-- Customers are a reference table when distributed (Citus): every node has
-- all of them, so this unique index need not carry a vendor column.
CREATE UNIQUE INDEX customers_email_unique ON customers (lower(email));
