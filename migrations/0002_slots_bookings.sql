-- Slots, bookings, and the table-driven state machine.
--
-- Everything on the booking path is keyed by vendor: primary keys, unique and
-- exclusion constraints, and foreign keys all lead with vendor_id, so the
-- schema can be distributed by vendor without change
-- (test/engine/distribution.test.ts checks it).

CREATE TABLE slots (
  vendor_id     uuid NOT NULL REFERENCES vendors (id),
  id            uuid NOT NULL DEFAULT gen_random_uuid(),
  starts_at     timestamptz NOT NULL,
  ends_at       timestamptz NOT NULL,
  capacity      integer NOT NULL DEFAULT 1 CHECK (capacity BETWEEN 1 AND 10000),
  -- Capacity-holding bookings on this slot, kept in the claim transaction (I3).
  booked_count  integer NOT NULL DEFAULT 0,
  price_cents   integer NOT NULL DEFAULT 0 CHECK (price_cents BETWEEN 0 AND 100000000),
  currency      char(3) NOT NULL DEFAULT 'EUR' CHECK (currency ~ '^[A-Z]{3}$'),
  -- A legacy slot was dropped from the vendor's schedule while it had active
  -- bookings: kept for them, hidden from new ones (I7).
  legacy        boolean NOT NULL DEFAULT false,
  created_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (vendor_id, id),
  CONSTRAINT slots_time_order CHECK (ends_at > starts_at),
  CONSTRAINT slots_length_max CHECK (ends_at - starts_at <= interval '24 hours'),
  -- I1: the counter can never pass capacity, whatever code runs.
  CONSTRAINT slots_capacity_counter CHECK (booked_count BETWEEN 0 AND capacity)
);
-- Commands name slots by id alone; the id is a random UUID.
CREATE INDEX slots_id ON slots (id);
CREATE INDEX slots_vendor_time ON slots (vendor_id, starts_at);
-- One live slot per vendor and time range (a schedule refresh relies on it).
CREATE UNIQUE INDEX slots_vendor_range_unique ON slots (vendor_id, starts_at, ends_at) WHERE NOT legacy;

-- ---------------------------------------------------------------------------
-- State machines, as data. A machine has states (some of which hold slot
-- capacity) and allowed moves; a trigger refuses any other move (I10). The
-- payments work adds the reservation machine's states and moves as rows.
-- ---------------------------------------------------------------------------
CREATE TABLE machine_states (
  machine        text NOT NULL,
  state          text NOT NULL,
  holds_capacity boolean NOT NULL,
  terminal       boolean NOT NULL,
  initial        boolean NOT NULL DEFAULT false,
  description    text NOT NULL,
  PRIMARY KEY (machine, state)
);

CREATE TABLE machine_transitions (
  machine     text NOT NULL,
  from_state  text NOT NULL,
  to_state    text NOT NULL,
  description text NOT NULL,
  PRIMARY KEY (machine, from_state, to_state),
  FOREIGN KEY (machine, from_state) REFERENCES machine_states (machine, state),
  FOREIGN KEY (machine, to_state) REFERENCES machine_states (machine, state)
);

INSERT INTO machine_states (machine, state, holds_capacity, terminal, initial, description) VALUES
  ('booking', 'held',      true,  false, true,  'Capacity held until hold_expires_at; not yet a booking the vendor honours.'),
  ('booking', 'confirmed', true,  false, true,  'A booking the vendor honours.'),
  ('booking', 'cancelled', false, true,  false, 'Cancelled by someone, with a reason; capacity released.'),
  ('booking', 'expired',   false, true,  false, 'The hold''s TTL passed; capacity released once.');

INSERT INTO machine_transitions (machine, from_state, to_state, description) VALUES
  ('booking', 'held',      'confirmed', 'Confirm a hold (payment verified or none needed).'),
  ('booking', 'held',      'cancelled', 'Cancel a hold.'),
  ('booking', 'held',      'expired',   'The hold''s TTL passed.'),
  ('booking', 'held',      'held',      'Reschedule a hold to another slot.'),
  ('booking', 'confirmed', 'confirmed', 'Reschedule a confirmed booking to another slot.'),
  ('booking', 'confirmed', 'cancelled', 'Cancel a confirmed booking.');

-- Immutable by design: the exclusion constraint's predicate must not change
-- with table contents, so "holds capacity" for the constraint is spelled out.
-- A test checks it agrees with machine_states.
CREATE FUNCTION booking_state_holds_capacity(p_state text) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$
  SELECT p_state IN ('held', 'confirmed')
$$;

CREATE TABLE bookings (
  vendor_id        uuid NOT NULL,
  id               uuid NOT NULL DEFAULT gen_random_uuid(),
  slot_id          uuid NOT NULL,
  customer_id      uuid NOT NULL REFERENCES customers (id),
  state            text NOT NULL,
  -- Copied from the slot so the exclusion constraint can see them (I2).
  starts_at        timestamptz NOT NULL,
  ends_at          timestamptz NOT NULL,
  hold_expires_at  timestamptz,
  -- Optimistic locking: every update bumps it (trigger); writers pass the one they read.
  version          integer NOT NULL DEFAULT 1,
  idempotency_key  text CHECK (length(idempotency_key) BETWEEN 1 AND 200),
  request_hash     text,
  payment_method   text NOT NULL CHECK (payment_method IN ('free', 'pay_on_arrival', 'card')),
  payment_status   text NOT NULL DEFAULT 'none'
                   CHECK (payment_status IN ('none', 'requires_payment', 'authorized', 'captured', 'failed', 'canceled', 'refunded')),
  amount_cents     integer NOT NULL CHECK (amount_cents >= 0),
  currency         char(3) NOT NULL,
  cancel_reason    text,
  created_at       timestamptz NOT NULL,
  updated_at       timestamptz NOT NULL,
  PRIMARY KEY (vendor_id, id),
  FOREIGN KEY (vendor_id, slot_id) REFERENCES slots (vendor_id, id),
  FOREIGN KEY (vendor_id) REFERENCES vendors (id),
  CONSTRAINT bookings_time_order CHECK (ends_at > starts_at),
  CONSTRAINT bookings_hold_has_ttl CHECK (state <> 'held' OR hold_expires_at IS NOT NULL),
  CONSTRAINT bookings_key_has_hash CHECK ((idempotency_key IS NULL) = (request_hash IS NULL)),
  -- I4: confirmed means verified money, or a method that needs none.
  CONSTRAINT bookings_confirmed_is_paid CHECK (
    state <> 'confirmed'
    OR payment_method IN ('free', 'pay_on_arrival')
    OR payment_status IN ('authorized', 'captured')
  ),
  CONSTRAINT bookings_free_costs_nothing CHECK (payment_method <> 'free' OR amount_cents = 0),
  -- I2: one vendor's capacity-holding bookings on different slots never overlap.
  CONSTRAINT bookings_vendor_no_overlap EXCLUDE USING gist (
    vendor_id WITH =,
    tstzrange(starts_at, ends_at) WITH &&,
    slot_id WITH <>
  ) WHERE (booking_state_holds_capacity(state))
);
CREATE INDEX bookings_id ON bookings (id);
CREATE INDEX bookings_slot ON bookings (vendor_id, slot_id) WHERE booking_state_holds_capacity(state);
CREATE INDEX bookings_customer ON bookings (customer_id);
CREATE INDEX bookings_holds_by_expiry ON bookings (hold_expires_at) WHERE state = 'held';
-- I6: one key, one booking (per vendor; the claim also refuses a key used at another vendor).
CREATE UNIQUE INDEX bookings_idempotency_unique ON bookings (vendor_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX bookings_idempotency_key ON bookings (idempotency_key) WHERE idempotency_key IS NOT NULL;

-- Append-only log of every state transition with its cause (I10).
CREATE TABLE booking_transitions (
  vendor_id    uuid NOT NULL,
  id           bigint GENERATED ALWAYS AS IDENTITY,
  booking_id   uuid NOT NULL,
  from_state   text,
  to_state     text NOT NULL,
  from_slot_id uuid,
  to_slot_id   uuid NOT NULL,
  cause        text NOT NULL,
  actor_kind   text NOT NULL,
  actor_id     text,
  source       text NOT NULL,
  request_id   text,
  at           timestamptz NOT NULL,
  PRIMARY KEY (vendor_id, id)
);
CREATE INDEX booking_transitions_booking ON booking_transitions (booking_id, id);

-- Refuses moves the machine does not allow, bumps the version, stamps times,
-- and logs the transition in the same transaction.
CREATE FUNCTION bookings_state_machine() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  v_now timestamptz := bookiji_now();
BEGIN
  IF TG_OP = 'INSERT' THEN
    IF NOT EXISTS (SELECT 1 FROM machine_states WHERE machine = 'booking' AND state = NEW.state AND initial) THEN
      PERFORM raise_error('BK011', format('a booking cannot start in state %s', NEW.state), jsonb_build_object('to', NEW.state));
    END IF;
    NEW.version := 1;
    NEW.created_at := v_now;
    NEW.updated_at := v_now;
    RETURN NEW;
  END IF;
  IF NEW.vendor_id <> OLD.vendor_id OR NEW.id <> OLD.id OR NEW.customer_id <> OLD.customer_id
     OR NEW.created_at <> OLD.created_at OR NEW.idempotency_key IS DISTINCT FROM OLD.idempotency_key THEN
    PERFORM raise_error('BK011', 'a booking''s identity, vendor, customer and idempotency key never change', jsonb_build_object('booking_id', OLD.id));
  END IF;
  IF NEW.state <> OLD.state OR NEW.slot_id <> OLD.slot_id THEN
    IF NOT EXISTS (SELECT 1 FROM machine_transitions WHERE machine = 'booking' AND from_state = OLD.state AND to_state = NEW.state) THEN
      PERFORM raise_error('BK011', format('booking %s cannot move from %s to %s', OLD.id, OLD.state, NEW.state),
        jsonb_build_object('booking_id', OLD.id, 'from', OLD.state, 'to', NEW.state));
    END IF;
  END IF;
  NEW.version := OLD.version + 1;
  NEW.updated_at := v_now;
  RETURN NEW;
END $$;

CREATE TRIGGER bookings_state_machine BEFORE INSERT OR UPDATE ON bookings
  FOR EACH ROW EXECUTE FUNCTION bookings_state_machine();

CREATE FUNCTION bookings_log_transition() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' OR NEW.state <> OLD.state OR NEW.slot_id <> OLD.slot_id THEN
    INSERT INTO booking_transitions (vendor_id, booking_id, from_state, to_state, from_slot_id, to_slot_id, cause, actor_kind, actor_id, source, request_id, at)
    VALUES (NEW.vendor_id, NEW.id,
            CASE WHEN TG_OP = 'INSERT' THEN NULL ELSE OLD.state END, NEW.state,
            CASE WHEN TG_OP = 'INSERT' THEN NULL ELSE OLD.slot_id END, NEW.slot_id,
            coalesce(actor_setting('reason'), CASE WHEN TG_OP = 'INSERT' THEN 'created' ELSE 'updated' END),
            coalesce(actor_setting('actor_kind'), 'system'), actor_setting('actor_id'),
            coalesce(actor_setting('source'), 'system'), actor_setting('request_id'), NEW.updated_at);
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER bookings_log_transition AFTER INSERT OR UPDATE ON bookings
  FOR EACH ROW EXECUTE FUNCTION bookings_log_transition();

-- Bookings are never deleted: their history is the product (I10).
CREATE FUNCTION refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% on % is not allowed: it is append-only', TG_OP, TG_TABLE_NAME USING ERRCODE = 'BK011';
END $$;

CREATE TRIGGER bookings_no_delete BEFORE DELETE ON bookings FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER bookings_no_truncate BEFORE TRUNCATE ON bookings FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();
CREATE TRIGGER booking_transitions_append_only BEFORE UPDATE OR DELETE ON booking_transitions FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER booking_transitions_no_truncate BEFORE TRUNCATE ON booking_transitions FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();
