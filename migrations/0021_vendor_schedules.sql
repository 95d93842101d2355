-- Availability computed from rules: each vendor's schedule rules (validated
-- by src/availability before they get here) and the busy times imported from
-- its external calendar.

CREATE TABLE vendor_schedules (
  vendor_id    uuid PRIMARY KEY REFERENCES vendors (id),
  -- audit_row_change() keys audit rows by `id`; one schedule per vendor.
  id           uuid NOT NULL UNIQUE DEFAULT gen_random_uuid(),
  rules        jsonb NOT NULL CHECK (jsonb_typeof(rules) = 'object'),
  price_cents  integer NOT NULL DEFAULT 0 CHECK (price_cents BETWEEN 0 AND 100000000),
  currency     char(3) NOT NULL DEFAULT 'EUR' CHECK (currency ~ '^[A-Z]{3}$'),
  updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE TRIGGER vendor_schedules_audit AFTER INSERT OR UPDATE OR DELETE ON vendor_schedules
  FOR EACH ROW EXECUTE FUNCTION audit_row_change();

-- One row per import of a vendor's calendar; the newest gives the age of the
-- calendar data that availability confidence reports. Audited: an import
-- changes what the vendor offers.
CREATE TABLE vendor_calendar_imports (
  vendor_id       uuid NOT NULL REFERENCES vendors (id),
  id              uuid NOT NULL DEFAULT gen_random_uuid(),
  source_name     text NOT NULL,
  interval_count  integer NOT NULL CHECK (interval_count >= 0),
  imported_at     timestamptz NOT NULL,
  PRIMARY KEY (vendor_id, id)
);
CREATE INDEX vendor_calendar_imports_newest ON vendor_calendar_imports (vendor_id, imported_at DESC);
CREATE TRIGGER vendor_calendar_imports_audit AFTER INSERT ON vendor_calendar_imports
  FOR EACH ROW EXECUTE FUNCTION audit_row_change();

-- The busy intervals of the newest import (an import replaces the previous
-- set in one transaction). Not audited row by row: the import row above
-- records the change, and a calendar can hold thousands of events.
CREATE TABLE vendor_busy_intervals (
  vendor_id   uuid NOT NULL REFERENCES vendors (id),
  import_id   uuid NOT NULL,
  starts_at   timestamptz NOT NULL,
  ends_at     timestamptz NOT NULL CHECK (ends_at >= starts_at),
  source      text NOT NULL,
  uid         text,
  FOREIGN KEY (vendor_id, import_id) REFERENCES vendor_calendar_imports (vendor_id, id)
);
CREATE INDEX vendor_busy_intervals_time ON vendor_busy_intervals (vendor_id, starts_at);
