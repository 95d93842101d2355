// Holds past their TTL. Claims already treat them as free (I9); this is the
// sweep that gives their state and capacity back, for reconcile and for ops
// (`bookiji holds expire`). Safe to run concurrently: SKIP LOCKED in SQL.

import { queryWithRetry, type Pool } from '../db/pool.js';
import { toBooking } from './rows.js';
import type { Actor, Booking } from './types.js';

export interface HoldView extends Booking {
  /** Whether the TTL has passed by the database's clock. */
  expiredByClock: boolean;
}

export async function listHolds(pool: Pool, options: { limit?: number } = {}): Promise<HoldView[]> {
  const result = await queryWithRetry(
    pool,
    `SELECT b.*, b.hold_expires_at <= bookiji_now() AS expired_by_clock
     FROM bookings b WHERE b.state = 'held' ORDER BY b.hold_expires_at, b.id LIMIT $1`,
    [options.limit ?? 1000],
  );
  return result.rows.map((row) => ({ ...toBooking(row), expiredByClock: Boolean(row.expired_by_clock) }));
}

export interface ExpiredHold {
  bookingId: string;
  vendorId: string;
  slotId: string;
  customerId: string;
  holdExpiresAt: Date;
  expired: boolean;
}

export const EXPIRE_BATCH_MAX_DEFAULT = 500;

/** Expires holds whose TTL passed, in batches until none are left (or lists them, dry run). */
export async function expireHolds(pool: Pool, options: { dryRun: boolean; batchMax?: number; actor: Actor }): Promise<ExpiredHold[]> {
  const batchMax = options.batchMax ?? EXPIRE_BATCH_MAX_DEFAULT;
  const all: ExpiredHold[] = [];
  for (;;) {
    const result = await queryWithRetry(pool, 'SELECT * FROM expire_holds($1, $2, $3, $4, $5)', [batchMax, options.dryRun, options.actor.kind, options.actor.id ?? null, options.actor.source]);
    const batch = result.rows.map((row) => ({
      bookingId: row.booking_id,
      vendorId: row.vendor_id,
      slotId: row.slot_id,
      customerId: row.customer_id,
      holdExpiresAt: row.hold_expires_at,
      expired: row.expired,
    }));
    all.push(...batch);
    // A dry run lists once; a real run stops when a batch finds nothing it
    // could take (what remains is locked by someone who will expire it).
    if (options.dryRun || batch.length === 0) return all;
  }
}
