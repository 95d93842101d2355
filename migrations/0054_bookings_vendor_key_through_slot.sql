-- Issue 13, busy vendor: a booking's vendor is checked through its slot.
--
-- bookings carried two foreign keys naming the vendor: (vendor_id) →
-- vendors and (vendor_id, slot_id) → slots. The second implies the first
-- (slots.vendor_id references vendors, and a slot with bookings cannot be
-- deleted), but each check of the first takes FOR KEY SHARE on the vendor's
-- row. Every claim of one vendor locked that one row, and concurrent claims
-- sharing a row lock make PostgreSQL build a new multixact for each locker:
-- a busy vendor's claims paid for it on top of the audit chain head. The
-- slot key's check locks the slot row, which the claim holds FOR UPDATE
-- already. No booking can name a vendor that does not exist, as before.

ALTER TABLE bookings DROP CONSTRAINT bookings_vendor_id_fkey;
