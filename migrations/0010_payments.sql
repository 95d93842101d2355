-- Payments (I4): card money as the provider reports it, a ledger to the cent,
-- the provider's events stored once, and the one function that applies a
-- verified payment state to a booking.
--
-- The money side is a state machine of its own (machine 'payment'), checked by
-- the same table-driven rules as bookings: a late or duplicate event that
-- would move a payment backwards is refused by apply_payment_state and only
-- logged (I10). A card booking's payment_status can only say 'authorized' or
-- 'captured' when a payment row with that status and a provider intent exists,
-- so "confirmed without verified payment" cannot be written by any code path.

INSERT INTO machine_states (machine, state, holds_capacity, terminal, initial, description) VALUES
  ('payment', 'requires_payment', false, false, true,  'Intent being created or waiting for the customer to pay.'),
  ('payment', 'failed',           false, false, false, 'The last attempt was declined; the intent can still be paid or canceled.'),
  ('payment', 'authorized',       false, false, false, 'The provider holds the money for us (manual capture).'),
  ('payment', 'captured',         false, false, false, 'The money was taken.'),
  ('payment', 'canceled',         false, true,  false, 'The intent was canceled; any authorization was released.'),
  ('payment', 'refunded',         false, true,  false, 'Captured money was given back in full.');

INSERT INTO machine_transitions (machine, from_state, to_state, description) VALUES
  ('payment', 'requires_payment', 'failed',     'The provider declined an attempt.'),
  ('payment', 'requires_payment', 'authorized', 'The provider authorized the amount.'),
  ('payment', 'requires_payment', 'captured',   'The provider reports the amount captured (events arrived out of order).'),
  ('payment', 'requires_payment', 'canceled',   'The intent was canceled before it was paid.'),
  ('payment', 'failed',           'authorized', 'A later attempt was authorized.'),
  ('payment', 'failed',           'captured',   'A later attempt was captured.'),
  ('payment', 'failed',           'canceled',   'The declined intent was canceled.'),
  ('payment', 'authorized',       'captured',   'The authorization was captured.'),
  ('payment', 'authorized',       'canceled',   'The authorization was released (or expired at the provider).'),
  ('payment', 'captured',         'refunded',   'The captured money was refunded.');

CREATE TABLE payments (
  vendor_id          uuid NOT NULL REFERENCES vendors (id),
  id                 uuid NOT NULL DEFAULT gen_random_uuid(),
  -- The booking this money pays for now; a late payment that re-claims its
  -- slot moves to the new booking (first_booking_id keeps the original).
  booking_id         uuid NOT NULL,
  first_booking_id   uuid NOT NULL,
  purpose            text NOT NULL DEFAULT 'booking'
                     CHECK (purpose IN ('booking', 'reservation_requester', 'reservation_vendor_deposit')),
  reservation_id     uuid,
  -- The prefix of every Stripe idempotency key of this payment; derived from our ids.
  idempotency_prefix text NOT NULL,
  provider_intent_id text,
  amount_cents       integer NOT NULL CHECK (amount_cents > 0),
  currency           char(3) NOT NULL,
  status             text NOT NULL DEFAULT 'requires_payment'
                     CHECK (status IN ('requires_payment', 'failed', 'authorized', 'captured', 'canceled', 'refunded')),
  -- Recovery point: the external call this payment still owes, written in the
  -- same transaction that decided it, before the call is made. Reconcile
  -- repeats any owed call with the same idempotency key.
  pending_action     text NOT NULL DEFAULT 'create'
                     CHECK (pending_action IN ('none', 'create', 'capture', 'cancel', 'refund')),
  amount_capturable_cents integer NOT NULL DEFAULT 0 CHECK (amount_capturable_cents >= 0),
  amount_captured_cents   integer NOT NULL DEFAULT 0 CHECK (amount_captured_cents >= 0),
  amount_refunded_cents   integer NOT NULL DEFAULT 0 CHECK (amount_refunded_cents >= 0),
  failure_code       text,
  failure_message    text,
  version            integer NOT NULL DEFAULT 1,
  created_at         timestamptz NOT NULL,
  updated_at         timestamptz NOT NULL,
  PRIMARY KEY (vendor_id, id),
  FOREIGN KEY (vendor_id, booking_id) REFERENCES bookings (vendor_id, id),
  FOREIGN KEY (vendor_id, first_booking_id) REFERENCES bookings (vendor_id, id),
  CONSTRAINT payments_refund_within_capture CHECK (amount_refunded_cents <= amount_captured_cents),
  CONSTRAINT payments_capture_within_amount CHECK (amount_captured_cents <= amount_cents),
  -- Money the provider holds or took is always tied to a provider intent.
  CONSTRAINT payments_money_has_intent CHECK (status IN ('requires_payment', 'canceled') OR provider_intent_id IS NOT NULL),
  CONSTRAINT payments_only_create_before_intent CHECK (provider_intent_id IS NOT NULL OR pending_action IN ('create', 'none'))
);
CREATE UNIQUE INDEX payments_intent_unique ON payments (vendor_id, provider_intent_id) WHERE provider_intent_id IS NOT NULL;
CREATE INDEX payments_intent ON payments (provider_intent_id) WHERE provider_intent_id IS NOT NULL;
CREATE INDEX payments_id ON payments (id);
CREATE INDEX payments_booking ON payments (vendor_id, booking_id);
CREATE INDEX payments_pending ON payments (updated_at) WHERE pending_action <> 'none';
-- One payment per booking and purpose: a retried checkout finds the first one.
CREATE UNIQUE INDEX payments_first_booking_purpose ON payments (vendor_id, first_booking_id, purpose);

CREATE FUNCTION payments_state_machine() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  v_now timestamptz := bookiji_now();
BEGIN
  IF TG_OP = 'INSERT' THEN
    IF NEW.status <> 'requires_payment' THEN
      PERFORM raise_error('BK011', format('a payment cannot start in state %s', NEW.status), jsonb_build_object('to', NEW.status));
    END IF;
    NEW.version := 1;
    NEW.created_at := v_now;
    NEW.updated_at := v_now;
    RETURN NEW;
  END IF;
  IF NEW.vendor_id <> OLD.vendor_id OR NEW.id <> OLD.id OR NEW.first_booking_id <> OLD.first_booking_id
     OR NEW.amount_cents <> OLD.amount_cents OR NEW.currency <> OLD.currency OR NEW.purpose <> OLD.purpose
     OR NEW.idempotency_prefix <> OLD.idempotency_prefix
     OR (OLD.provider_intent_id IS NOT NULL AND NEW.provider_intent_id IS DISTINCT FROM OLD.provider_intent_id) THEN
    PERFORM raise_error('BK011', 'a payment''s identity, amount, purpose and provider intent never change', jsonb_build_object('payment_id', OLD.id));
  END IF;
  IF NEW.status <> OLD.status
     AND NOT EXISTS (SELECT 1 FROM machine_transitions WHERE machine = 'payment' AND from_state = OLD.status AND to_state = NEW.status) THEN
    PERFORM raise_error('BK011', format('payment %s cannot move from %s to %s', OLD.id, OLD.status, NEW.status),
      jsonb_build_object('payment_id', OLD.id, 'from', OLD.status, 'to', NEW.status));
  END IF;
  IF NEW.amount_captured_cents < OLD.amount_captured_cents OR NEW.amount_refunded_cents < OLD.amount_refunded_cents THEN
    PERFORM raise_error('BK011', 'captured and refunded amounts only grow', jsonb_build_object('payment_id', OLD.id));
  END IF;
  NEW.version := OLD.version + 1;
  NEW.updated_at := v_now;
  RETURN NEW;
END $$;

CREATE TRIGGER payments_state_machine BEFORE INSERT OR UPDATE ON payments
  FOR EACH ROW EXECUTE FUNCTION payments_state_machine();
CREATE TRIGGER payments_audit AFTER INSERT OR UPDATE ON payments FOR EACH ROW EXECUTE FUNCTION audit_row_change();
CREATE TRIGGER payments_no_delete BEFORE DELETE ON payments FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER payments_no_truncate BEFORE TRUNCATE ON payments FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();

-- The ledger: every movement of money, to the cent, append-only. One row per
-- (payment, kind, provider object), so applying the same fact twice records it once.
CREATE TABLE ledger_entries (
  vendor_id     uuid NOT NULL,
  id            bigint GENERATED ALWAYS AS IDENTITY,
  payment_id    uuid NOT NULL,
  booking_id    uuid NOT NULL,
  kind          text NOT NULL CHECK (kind IN ('authorization', 'capture', 'refund', 'cancellation')),
  amount_cents  integer NOT NULL CHECK (amount_cents >= 0),
  currency      char(3) NOT NULL,
  provider_ref  text NOT NULL,
  event_id      text,
  source        text NOT NULL,
  at            timestamptz NOT NULL,
  PRIMARY KEY (vendor_id, id),
  FOREIGN KEY (vendor_id, payment_id) REFERENCES payments (vendor_id, id),
  UNIQUE (vendor_id, payment_id, kind, provider_ref)
);
CREATE INDEX ledger_entries_payment ON ledger_entries (payment_id);
CREATE TRIGGER ledger_entries_append_only BEFORE UPDATE OR DELETE ON ledger_entries FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER ledger_entries_no_truncate BEFORE TRUNCATE ON ledger_entries FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();

-- Provider events, stored once by event id before they are applied; the
-- webhook answers 2xx only after this row is committed.
CREATE TABLE stripe_events (
  event_id      text PRIMARY KEY,
  type          text NOT NULL,
  object_id     text,
  livemode      boolean NOT NULL DEFAULT false,
  created       bigint NOT NULL,
  payload       jsonb NOT NULL,
  received_via  text NOT NULL CHECK (received_via IN ('webhook', 'reconcile')),
  received_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
  deliveries    integer NOT NULL DEFAULT 1,
  processed_at  timestamptz,
  outcome       text
);
CREATE INDEX stripe_events_unprocessed ON stripe_events (received_at) WHERE processed_at IS NULL;
CREATE INDEX stripe_events_object ON stripe_events (object_id);

-- Why each event or provider answer was or was not applied (late, duplicate,
-- refused): append-only, the trail for forensics.
CREATE TABLE payment_applications (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  vendor_id     uuid NOT NULL,
  payment_id    uuid NOT NULL,
  event_id      text,
  source        text NOT NULL,
  provider_status text NOT NULL,
  from_status   text NOT NULL,
  to_status     text NOT NULL,
  outcome       text NOT NULL,
  at            timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX payment_applications_payment ON payment_applications (payment_id, id);
CREATE TRIGGER payment_applications_append_only BEFORE UPDATE OR DELETE ON payment_applications FOR EACH ROW EXECUTE FUNCTION refuse_change();

-- ---------------------------------------------------------------------------
-- I4 in the booking table itself: a card booking's payment_status may say
-- 'authorized' or 'captured' only if a payment of that booking is in that
-- state with a provider intent. Together with bookings_confirmed_is_paid this
-- makes a confirmed card booking without verified money unwritable.
-- ---------------------------------------------------------------------------
CREATE FUNCTION bookings_payment_verified() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.payment_method = 'card' AND NEW.payment_status IN ('authorized', 'captured')
     AND (TG_OP = 'INSERT' OR NEW.payment_status IS DISTINCT FROM OLD.payment_status OR NEW.state IS DISTINCT FROM OLD.state)
     AND NOT EXISTS (SELECT 1 FROM payments p WHERE p.vendor_id = NEW.vendor_id AND p.booking_id = NEW.id
                     AND p.status = NEW.payment_status AND p.provider_intent_id IS NOT NULL) THEN
    PERFORM raise_error('BK009', format('booking %s: payment status %s is not backed by a verified payment', NEW.id, NEW.payment_status),
      jsonb_build_object('booking_id', NEW.id, 'payment_status', NEW.payment_status));
  END IF;
  RETURN NEW;
END $$;

CREATE TRIGGER bookings_payment_verified BEFORE INSERT OR UPDATE ON bookings
  FOR EACH ROW EXECUTE FUNCTION bookings_payment_verified();

-- When a card booking stops holding capacity (cancelled, expired) the money
-- it carries must be released or returned: the owed call is recorded here, in
-- the same transaction, so nothing can forget it. Payments already settled,
-- or already moved to another booking, are left alone.
CREATE FUNCTION bookings_release_payment() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF booking_state_holds_capacity(OLD.state) AND NOT booking_state_holds_capacity(NEW.state) THEN
    UPDATE payments p SET pending_action = CASE
        WHEN p.provider_intent_id IS NULL THEN p.pending_action
        WHEN p.status = 'captured' THEN 'refund'
        ELSE 'cancel' END
    WHERE p.vendor_id = NEW.vendor_id AND p.booking_id = NEW.id
      AND p.status IN ('requires_payment', 'failed', 'authorized', 'captured')
      AND p.purpose = 'booking';
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER bookings_release_payment AFTER UPDATE OF state ON bookings
  FOR EACH ROW EXECUTE FUNCTION bookings_release_payment();
