import { BookijiError } from '../errors.js';
import { queryWithRetry, type Pool } from '../db/pool.js';
import { toVendor } from './rows.js';
import type { Vendor } from './types.js';
import { requireText, requireTimezone, requireUuid } from './validate.js';

export async function addVendor(pool: Pool, input: { name: unknown; timezone: unknown }): Promise<Vendor> {
  const name = requireText('name', input.name, 200);
  const timezone = requireTimezone('timezone', input.timezone);
  const result = await queryWithRetry(pool, 'INSERT INTO vendors (name, timezone) VALUES ($1, $2) RETURNING *', [name, timezone]);
  return toVendor(result.rows[0]!);
}

export async function listVendors(pool: Pool, options: { limit?: number } = {}): Promise<Vendor[]> {
  const result = await queryWithRetry(pool, 'SELECT * FROM vendors ORDER BY created_at, id LIMIT $1', [options.limit ?? 1000]);
  return result.rows.map(toVendor);
}

export async function getVendor(pool: Pool, vendorId: unknown): Promise<Vendor> {
  const id = requireUuid('vendor', vendorId);
  const result = await queryWithRetry(pool, 'SELECT * FROM vendors WHERE id = $1', [id]);
  if (result.rowCount === 0) throw new BookijiError('VENDOR_NOT_FOUND', `vendor ${id} not found`, { details: { vendorId: id } });
  return toVendor(result.rows[0]!);
}
