-- Partner API v1: partners and their API keys, the shared rate limiter,
-- which partner made which booking (privacy), and the outbox of webhooks to
-- partners, filled by triggers in the same transaction as the change.

-- ---------------------------------------------------------------------------
-- Partners and API keys. Only a SHA-256 of each key is stored: keys are 32
-- random bytes, so a plain hash is not guessable and needs no salt; a leaked
-- table gives nobody a working key. `prefix` is the key's public start, shown
-- in listings so a person can tell keys apart.
-- ---------------------------------------------------------------------------
CREATE TABLE partners (
  id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name            text NOT NULL UNIQUE CHECK (length(btrim(name)) BETWEEN 1 AND 200),
  webhook_url     text CHECK (webhook_url ~ '^https?://'),
  -- The HMAC secret must be readable to sign with; it is not a credential
  -- for calling us, only for partners to check that a webhook is ours.
  webhook_secret  text NOT NULL CHECK (length(webhook_secret) >= 32),
  created_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE api_keys (
  id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  partner_id   uuid NOT NULL REFERENCES partners (id),
  prefix       text NOT NULL UNIQUE,
  key_hash     text NOT NULL UNIQUE CHECK (key_hash ~ '^[0-9a-f]{64}$'),
  created_at   timestamptz NOT NULL DEFAULT now(),
  revoked_at   timestamptz,
  rotated_to   uuid REFERENCES api_keys (id)
);
CREATE INDEX api_keys_partner ON api_keys (partner_id);

-- ---------------------------------------------------------------------------
-- Rate limiting: a fixed window counter per key, in the database so every
-- `serve` process shares it. Windows follow the wall clock (clock_timestamp),
-- not the simulated business clock: a request rate is about real seconds.
-- ---------------------------------------------------------------------------
CREATE TABLE api_rate_windows (
  api_key_id    uuid NOT NULL REFERENCES api_keys (id),
  window_start  timestamptz NOT NULL,
  hits          integer NOT NULL CHECK (hits >= 1),
  PRIMARY KEY (api_key_id, window_start)
);

-- Counts one request and says whether it is allowed. A refused request still
-- counts, so hammering past the limit never earns an earlier reset.
CREATE FUNCTION rate_limit_take(p_api_key_id uuid, p_limit integer, p_window_seconds integer)
RETURNS TABLE (allowed boolean, hits integer, retry_after_seconds integer) LANGUAGE plpgsql AS $$
DECLARE
  v_now timestamptz := clock_timestamp();
  v_window timestamptz := to_timestamp(floor(extract(epoch FROM v_now) / p_window_seconds) * p_window_seconds);
  v_hits integer;
BEGIN
  IF p_limit < 1 OR p_window_seconds < 1 THEN
    PERFORM raise_error('BK006', 'rate limit and window must be positive', jsonb_build_object('field', 'rate_limit'));
  END IF;
  INSERT INTO api_rate_windows AS w (api_key_id, window_start, hits) VALUES (p_api_key_id, v_window, 1)
  ON CONFLICT (api_key_id, window_start) DO UPDATE SET hits = w.hits + 1
  RETURNING w.hits INTO v_hits;
  RETURN QUERY SELECT v_hits <= p_limit, v_hits,
    greatest(1, ceil(extract(epoch FROM (v_window + make_interval(secs => p_window_seconds) - v_now)))::integer);
END $$;

-- ---------------------------------------------------------------------------
-- Which partner made which booking. A partner reads only its own bookings
-- (the API answers 404 for the others, so ids cannot be probed either).
-- ---------------------------------------------------------------------------
CREATE TABLE partner_bookings (
  vendor_id    uuid NOT NULL,
  booking_id   uuid NOT NULL,
  partner_id   uuid NOT NULL REFERENCES partners (id),
  metadata     jsonb NOT NULL DEFAULT '{}',
  created_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (vendor_id, booking_id),
  FOREIGN KEY (vendor_id, booking_id) REFERENCES bookings (vendor_id, id)
);
CREATE INDEX partner_bookings_booking ON partner_bookings (booking_id);

-- ---------------------------------------------------------------------------
-- The webhook outbox. A row is written by a trigger in the transaction that
-- changes the booking, so an event exists if and only if the change
-- committed. `event_id` is stable across every delivery attempt: a partner
-- that sees the same event id twice has seen the same event.
-- ---------------------------------------------------------------------------
CREATE TABLE webhook_outbox (
  id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  event_id         uuid NOT NULL UNIQUE DEFAULT gen_random_uuid(),
  partner_id       uuid NOT NULL REFERENCES partners (id),
  event_type       text NOT NULL,
  payload          jsonb NOT NULL,
  created_at       timestamptz NOT NULL DEFAULT clock_timestamp(),
  attempts         integer NOT NULL DEFAULT 0,
  next_attempt_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
  delivered_at     timestamptz,
  last_error       text
);
CREATE INDEX webhook_outbox_due ON webhook_outbox (next_attempt_at) WHERE delivered_at IS NULL;

-- The event body a partner receives: no customer name or email, ever. A
-- partner without a webhook URL gets no events (it polls instead), so the
-- outbox never fills with rows nobody can deliver.
CREATE FUNCTION partner_booking_event(p_booking bookings, p_partner_id uuid, p_type text) RETURNS void
LANGUAGE sql AS $$
  INSERT INTO webhook_outbox (partner_id, event_type, payload)
  SELECT p_partner_id, p_type, jsonb_build_object(
    'bookingId', p_booking.id,
    'vendorId', p_booking.vendor_id,
    'slotId', p_booking.slot_id,
    'state', p_booking.state,
    'paymentStatus', p_booking.payment_status,
    'startsAt', p_booking.starts_at,
    'endsAt', p_booking.ends_at,
    'holdExpiresAt', p_booking.hold_expires_at,
    'version', p_booking.version,
    'requestId', actor_setting('request_id'))
  FROM partners WHERE id = p_partner_id AND webhook_url IS NOT NULL
$$;

-- A booking made through a partner: 'booking.created' when the link is made.
CREATE FUNCTION partner_bookings_created_event() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  v_booking bookings%ROWTYPE;
BEGIN
  SELECT * INTO v_booking FROM bookings WHERE vendor_id = NEW.vendor_id AND id = NEW.booking_id;
  PERFORM partner_booking_event(v_booking, NEW.partner_id, 'booking.created');
  RETURN NULL;
END $$;
CREATE TRIGGER partner_bookings_created_event AFTER INSERT ON partner_bookings
  FOR EACH ROW EXECUTE FUNCTION partner_bookings_created_event();

-- Any later change of state or slot, whoever makes it (API, CLI, expiry
-- job, reconcile), becomes 'booking.<state>' for the partner that made it.
CREATE FUNCTION bookings_partner_event() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  v_partner uuid;
BEGIN
  IF NEW.state IS NOT DISTINCT FROM OLD.state AND NEW.slot_id IS NOT DISTINCT FROM OLD.slot_id THEN
    RETURN NULL;
  END IF;
  SELECT partner_id INTO v_partner FROM partner_bookings WHERE vendor_id = NEW.vendor_id AND booking_id = NEW.id;
  IF v_partner IS NOT NULL THEN
    PERFORM partner_booking_event(NEW, v_partner,
      CASE WHEN NEW.state IS DISTINCT FROM OLD.state THEN 'booking.' || NEW.state ELSE 'booking.rescheduled' END);
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER bookings_partner_event AFTER UPDATE ON bookings
  FOR EACH ROW EXECUTE FUNCTION bookings_partner_event();
