-- Partner webhooks for reservations (migration 0012): every logged transition
-- of a reservation becomes an outbox event for the partner that made it, in
-- the transaction of the transition. Reservations name their partner as text;
-- only those made through the API (a partners.id) have a webhook to call.

CREATE FUNCTION reservation_transitions_partner_event() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO webhook_outbox (partner_id, event_type, payload)
  SELECT p.id, 'reservation.' || lower(NEW.to_state), jsonb_build_object(
      'reservationId', NEW.reservation_id,
      'vendorId', NEW.vendor_id,
      'fromState', NEW.from_state,
      'state', NEW.to_state,
      'cause', NEW.cause,
      'at', NEW.at,
      'requestId', actor_setting('request_id'))
  FROM reservations r JOIN partners p ON p.id::text = r.partner_id
  WHERE r.vendor_id = NEW.vendor_id AND r.id = NEW.reservation_id AND p.webhook_url IS NOT NULL;
  RETURN NULL;
END $$;

CREATE TRIGGER reservation_transitions_partner_event AFTER INSERT ON reservation_transitions
  FOR EACH ROW EXECUTE FUNCTION reservation_transitions_partner_event();
