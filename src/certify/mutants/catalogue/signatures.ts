// The engine functions mutants rewrite, by signature (regprocedure text).

export const CLAIM_SLOT = 'claim_slot(uuid, uuid, boolean, integer, text, text, text, text, text, text)';
export const CANCEL_BOOKING = 'cancel_booking(uuid, integer, text, text, text, text, text)';
export const RESCHEDULE_BOOKING = 'reschedule_booking(uuid, uuid, integer, text, text, text, text)';
export const LOCK_BOOKING_FOR_CHANGE = 'lock_booking_for_change(uuid, integer)';
export const CONFIRM_BOOKING = 'confirm_booking(uuid, integer, text, text, text, text)';
export const EXPIRE_ON_SLOT = 'expire_stale_holds_on_slot(uuid, uuid)';
export const REFRESH_SLOTS = 'refresh_vendor_slots(uuid, timestamptz, timestamptz, jsonb, text, text, text)';
export const CLAIM_REQUEST_HASH = 'claim_request_hash(uuid, uuid, boolean, integer, text)';
export const AUDIT_DIGEST = 'audit_digest(text, uuid, bigint, text, uuid, text, jsonb, jsonb, text, text, text, text, text, timestamptz)';
export const BOOKING_STATE_MACHINE = 'bookings_state_machine()';
export const RESERVATION_STATE_MACHINE = 'reservations_state_machine()';
export const APPLY_PAYMENT_STATE = 'apply_payment_state(uuid, uuid, text, integer, integer, integer, text, text, text, text, text, text, text)';
