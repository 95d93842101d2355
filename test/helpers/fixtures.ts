// Small builders for test data, through the engine's own functions.

import type { Pool, PoolClient } from '../../src/db/pool.js';
import { addCustomer } from '../../src/engine/customers.js';
import { addSlot } from '../../src/engine/slots.js';
import type { Actor, Customer, Slot, Vendor } from '../../src/engine/types.js';
import { addVendor } from '../../src/engine/vendors.js';

export const TEST_ACTOR: Actor = { kind: 'operator', id: 'test', source: 'test' };

let counter = 0;

export async function makeVendor(pool: Pool, timezone = 'Europe/Paris'): Promise<Vendor> {
  counter += 1;
  return addVendor(pool, { name: `Vendor ${counter}`, timezone });
}

export async function makeCustomer(pool: Pool): Promise<Customer> {
  counter += 1;
  return addCustomer(pool, { name: `Customer ${counter}`, email: `c${counter}-${Math.random().toString(36).slice(2)}@example.test` });
}

export async function makeCustomers(pool: Pool, n: number): Promise<Customer[]> {
  const customers: Customer[] = [];
  for (let i = 0; i < n; i++) customers.push(await makeCustomer(pool));
  return customers;
}

/** A slot starting `startInMinutes` from the database's now, lasting `durationMinutes`. */
export async function makeSlot(
  pool: Pool,
  vendor: Vendor,
  options: { startInMinutes?: number; durationMinutes?: number; capacity?: number; priceCents?: number } = {},
): Promise<Slot> {
  const now = (await pool.query('SELECT bookiji_now() AS now')).rows[0].now as Date;
  const start = new Date(now.getTime() + (options.startInMinutes ?? 24 * 60) * 60_000);
  const end = new Date(start.getTime() + (options.durationMinutes ?? 60) * 60_000);
  return addSlot(
    pool,
    { vendor: vendor.id, start: start.toISOString(), end: end.toISOString(), capacity: options.capacity ?? 1, priceCents: options.priceCents ?? 0 },
    TEST_ACTOR,
  );
}

/** Runs `n` async functions released together behind one barrier; returns their settled results in order. */
export async function race<T>(n: number, contender: (index: number) => Promise<T>): Promise<PromiseSettledResult<T>[]> {
  let release!: () => void;
  const barrier = new Promise<void>((resolve) => (release = resolve));
  const running = Array.from({ length: n }, async (_, index) => {
    await barrier;
    return contender(index);
  });
  release();
  return Promise.allSettled(running);
}

/**
 * Opens `n` connections and returns them to the pool idle, so a race that
 * follows starts on live connections instead of staggering on connect.
 */
export async function warmPool(pool: Pool, n: number): Promise<void> {
  const clients = await Promise.all(Array.from({ length: n }, () => pool.connect()));
  for (const client of clients) client.release();
}

/**
 * Takes the slot's row lock in an open transaction on a connection of its
 * own, so claims of that slot queue behind it; end its transaction (and release it)
 * to let them go.
 */
export async function lockSlot(pool: Pool, slotId: string): Promise<PoolClient> {
  const blocker = await pool.connect();
  await blocker.query('BEGIN');
  await blocker.query('SELECT 1 FROM slots WHERE id = $1 FOR UPDATE', [slotId]);
  return blocker;
}
