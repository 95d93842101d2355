-- A vendor's time zone is looked up in a copy of the server's zone names
-- first, and in pg_timezone_names only when the copy does not have it.
--
-- pg_timezone_names reads and parses every zone file of the server's tzdata
-- (598 of them) on every call: 42 ms per vendor INSERT on the 2-core machine
-- (pg_stat_statements, `SELECT EXISTS (SELECT 1 FROM pg_timezone_names ...)`
-- 37-42 ms mean; the CHECK on vendors.timezone runs it for every INSERT and
-- UPDATE of a vendor row). SimCity creates a vendor per iteration, so it was
-- the largest part of SC-1's fixture time (bench figure 4).
--
-- Same answers as 0001's definition: every name pg_timezone_names has is
-- accepted (the copy's names were its names; a zone a newer tzdata adds is a
-- miss and found by the fallback), and a name it does not have is refused
-- (a miss in the copy, then a miss in the view: the slow path, as before).
-- The one case that differs is a name a later tzdata removes, which the copy
-- keeps accepting; IANA keeps retired names as links ('backward'), so none
-- has been removed. Equality on text in the default collation, as before.

CREATE TABLE timezone_names (
  name text PRIMARY KEY
);

INSERT INTO timezone_names (name) SELECT DISTINCT name FROM pg_timezone_names;

CREATE OR REPLACE FUNCTION is_valid_timezone(p_zone text) RETURNS boolean
LANGUAGE plpgsql STABLE
SET search_path = public, pg_temp AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM timezone_names WHERE name = p_zone) THEN
    RETURN true;
  END IF;
  RETURN EXISTS (SELECT 1 FROM pg_timezone_names WHERE name = p_zone);
END $$;
