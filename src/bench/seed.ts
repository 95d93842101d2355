// Bulk test data for the benchmark, written with set-based SQL so seeding
// thousands of slots takes a second instead of minutes. The rows go through
// the same triggers (audit chain, state machine) as the engine's own writes;
// bookings are only ever made by claim_slot.

import type { Pool } from '../db/pool.js';
import type { Actor } from '../engine/types.js';

export const BENCH_ACTOR: Actor = { kind: 'system', id: 'bench', source: 'system' };

async function inSeedTransaction<T>(pool: Pool, reason: string, work: (query: Pool['query']) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query(`SELECT set_actor('system', 'bench', 'system', $1)`, [reason]);
    const result = await work(client.query.bind(client) as Pool['query']);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

export async function seedVendors(pool: Pool, count: number, label: string): Promise<string[]> {
  return inSeedTransaction(pool, 'bench seed: vendors', async (query) => {
    const result = await query<{ id: string }>(
      `INSERT INTO vendors (name, timezone) SELECT $2 || ' ' || g, 'UTC' FROM generate_series(1, $1::int) g RETURNING id`,
      [count, label],
    );
    return result.rows.map((row) => row.id);
  });
}

export async function seedCustomers(pool: Pool, count: number, label: string): Promise<string[]> {
  return inSeedTransaction(pool, 'bench seed: customers', async (query) => {
    const result = await query<{ id: string }>(
      `INSERT INTO customers (name, email)
       SELECT $2 || ' ' || g, $2 || '-' || g || '-' || md5(random()::text) || '@bench.example' FROM generate_series(1, $1::int) g RETURNING id`,
      [count, label.toLowerCase().replace(/[^a-z0-9]+/g, '-')],
    );
    return result.rows.map((row) => row.id);
  });
}

export interface SlotGrid {
  vendorIds: string[];
  /** Slots per vendor; each vendor's slots follow each other without overlapping. */
  slotsPerVendor: number;
  /** The first slot starts this long after the database's now. */
  startAfterHours: number;
  slotMinutes: number;
  /** Gap between the start of one slot and the next of the same vendor. */
  strideMinutes: number;
  capacity?: number;
}

export interface SeededSlot {
  id: string;
  vendorId: string;
}

/**
 * Lays out `slotsPerVendor` slots for each vendor and returns them ordered by
 * start time then vendor: consuming them in order spreads consecutive claims
 * over different vendors (distinct audit chains), as real traffic would.
 */
export async function seedSlotGrid(pool: Pool, grid: SlotGrid): Promise<SeededSlot[]> {
  return inSeedTransaction(pool, 'bench seed: slots', async (query) => {
    const result = await query<{ id: string; vendor_id: string }>(
      `WITH base AS (SELECT date_trunc('hour', bookiji_now()) + make_interval(hours => $3::int) AS at),
       ins AS (
         INSERT INTO slots (vendor_id, starts_at, ends_at, capacity, price_cents)
         SELECT v.id, base.at + make_interval(mins => g * $5::int), base.at + make_interval(mins => g * $5::int + $4::int), $6::int, 0
         FROM unnest($1::uuid[]) WITH ORDINALITY AS v(id, n), generate_series(0, $2::int - 1) g, base
         RETURNING id, vendor_id, starts_at)
       SELECT id, vendor_id FROM ins ORDER BY starts_at, vendor_id`,
      [grid.vendorIds, grid.slotsPerVendor, grid.startAfterHours, grid.slotMinutes, grid.strideMinutes, grid.capacity ?? 1],
    );
    return result.rows.map((row) => ({ id: row.id, vendorId: row.vendor_id }));
  });
}

/** A pool with `size` open connections, so the first measured operations do not pay for connecting. */
export async function warmPool(pool: Pool, size: number): Promise<void> {
  const clients = await Promise.all(Array.from({ length: size }, () => pool.connect()));
  await Promise.all(clients.map((client) => client.query('SELECT 1')));
  for (const client of clients) client.release();
}
