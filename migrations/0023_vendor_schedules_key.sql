-- vendor_schedules carries vendor_id, so it is distributed by vendor and every
-- key must include vendor_id (test/engine/schema.test.ts). Its `id` only
-- serves audit_row_change(), which needs the column, not a key on it alone.
ALTER TABLE vendor_schedules DROP CONSTRAINT vendor_schedules_id_key;
ALTER TABLE vendor_schedules ADD CONSTRAINT vendor_schedules_vendor_id_id_key UNIQUE (vendor_id, id);
