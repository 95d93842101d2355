// What several phases need: actors, fixtures made through the engine's own
// functions, and the invariant check every phase ends with.

import type { Pool } from '../../db/pool.js';
import { addCustomer } from '../../engine/customers.js';
import { databaseNow } from '../../engine/clock.js';
import { addSlot } from '../../engine/slots.js';
import type { Actor, Customer, Slot, Vendor } from '../../engine/types.js';
import { addVendor } from '../../engine/vendors.js';
import { verifyInvariants } from '../../engine/verify.js';
import type { Evidence } from '../evidence.js';

export const CERTIFY_OPERATOR: Actor = { kind: 'operator', id: 'certify', source: 'simcity' };

export function customerActor(customer: Customer, requestId?: string): Actor {
  return { kind: 'customer', id: customer.id, source: 'simcity', requestId: requestId ?? null };
}

let serial = 0;

export async function newVendor(pool: Pool, label: string, timezone = 'Europe/Paris'): Promise<Vendor> {
  serial += 1;
  return addVendor(pool, { name: `certify ${label} ${serial}`, timezone });
}

export async function newCustomers(pool: Pool, label: string, n: number): Promise<Customer[]> {
  const customers: Customer[] = [];
  for (let i = 0; i < n; i++) {
    serial += 1;
    customers.push(
      await addCustomer(pool, { name: `Certify ${label} ${serial}`, email: `certify-${label}-${serial}-${process.pid}-${Date.now()}@example.test` }),
    );
  }
  return customers;
}

/** A slot `startInMinutes` after the database's now. */
export async function newSlot(
  pool: Pool,
  vendor: Vendor,
  options: { startInMinutes: number; durationMinutes?: number; capacity?: number; priceCents?: number },
): Promise<Slot> {
  const now = await databaseNow(pool);
  const start = new Date(now.getTime() + options.startInMinutes * 60_000);
  const end = new Date(start.getTime() + (options.durationMinutes ?? 30) * 60_000);
  return addSlot(
    pool,
    { vendor: vendor.id, start: start.toISOString(), end: end.toISOString(), capacity: options.capacity ?? 1, priceCents: options.priceCents ?? 0 },
    CERTIFY_OPERATOR,
  );
}

/** Opens `n` connections at once and returns them idle, so a race starts on live connections. */
export async function warm(pool: Pool, n: number): Promise<void> {
  const clients = await Promise.all(Array.from({ length: n }, () => pool.connect()));
  for (const client of clients) client.release();
}

/** Runs `n` contenders released together behind one barrier; settled results in order, with each one's latency. */
export async function race<T>(n: number, contender: (index: number) => Promise<T>): Promise<Array<{ result: PromiseSettledResult<T>; ms: number }>> {
  let release!: () => void;
  const barrier = new Promise<void>((resolve) => (release = resolve));
  const running = Array.from({ length: n }, async (_, index) => {
    await barrier;
    const started = performance.now();
    const [result] = await Promise.allSettled([contender(index)]);
    return { result: result!, ms: performance.now() - started };
  });
  release();
  return Promise.all(running);
}

/** The invariants I1–I10 (and C1–C4) on the phase's database, as one check. */
export async function checkInvariants(evidence: Evidence, pool: Pool, where: string): Promise<boolean> {
  return evidence.check(`invariants hold on the ${where} database`, async () => {
    const checks = await verifyInvariants(pool);
    const failed = checks.filter((c) => c.violations > 0);
    return {
      passed: failed.length === 0,
      detail:
        failed.length === 0
          ? `verify_invariants(): all ${checks.length} checks report 0 violations`
          : `violations: ${failed.map((c) => `${c.checkId} ${c.description} (${c.violations}; sample ${JSON.stringify(c.sample)})`).join('; ')}`,
      numbers: { checks: checks.length, violated: failed.length },
    };
  });
}
