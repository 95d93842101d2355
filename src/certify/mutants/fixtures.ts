// What witnesses share: fixtures made through the engine's own functions,
// and outcomes reduced to a code, so a witness compares "what came back".

import { randomBytes } from 'node:crypto';
import type { Pool, PoolClient } from '../../db/pool.js';
import { claimSlot, type ClaimInput } from '../../engine/bookings.js';
import { addCustomer } from '../../engine/customers.js';
import { databaseNow } from '../../engine/clock.js';
import { addSlot } from '../../engine/slots.js';
import type { Actor } from '../../engine/types.js';
import { addVendor } from '../../engine/vendors.js';
import { BookijiError } from '../../errors.js';
import type { WitnessResult } from './types.js';

export const WITNESS_ACTOR: Actor = { kind: 'operator', id: 'mutant-witness', source: 'test' };

export interface WitnessVendor {
  vendorId: string;
  slots: string[];
  customers: string[];
}

export interface SlotSpec {
  startInMinutes: number;
  durationMinutes?: number;
  capacity?: number;
  priceCents?: number;
}

/** A vendor, its slots (relative to the database's now) and `customers` customers. */
export async function witnessVendor(pool: Pool, slots: SlotSpec[], customers = 2): Promise<WitnessVendor> {
  const tag = randomBytes(4).toString('hex');
  const vendor = await addVendor(pool, { name: `witness ${tag}`, timezone: 'UTC' });
  const now = await databaseNow(pool);
  const slotIds: string[] = [];
  for (const spec of slots) {
    const start = new Date(now.getTime() + spec.startInMinutes * 60_000);
    const end = new Date(start.getTime() + (spec.durationMinutes ?? 60) * 60_000);
    const slot = await addSlot(
      pool,
      { vendor: vendor.id, start: start.toISOString(), end: end.toISOString(), capacity: spec.capacity ?? 1, priceCents: spec.priceCents ?? 0 },
      WITNESS_ACTOR,
    );
    slotIds.push(slot.id);
  }
  const customerIds: string[] = [];
  for (let i = 0; i < customers; i++)
    customerIds.push((await addCustomer(pool, { name: `Witness ${tag} ${i}`, email: `witness-${tag}-${i}@example.test` })).id);
  return { vendorId: vendor.id, slots: slotIds, customers: customerIds };
}

/** The error code a call ended with, or OK. */
export async function outcomeOf(work: () => Promise<unknown>): Promise<string> {
  try {
    await work();
    return 'OK';
  } catch (error) {
    if (error instanceof BookijiError) return error.code;
    const code = (error as { code?: string }).code;
    return code ? `SQLSTATE ${code}` : 'ERROR';
  }
}

export async function claim(pool: Pool, input: ClaimInput): Promise<string> {
  return outcomeOf(() => claimSlot(pool, input, WITNESS_ACTOR));
}

/** The guard held when the outcome is the expected one. */
export function expectOutcome(expected: string, got: string, what: string): WitnessResult {
  return { held: got === expected, observed: `${what}: ${got} (the real engine answers ${expected})` };
}

/** A raw statement run as the application (the owner of the tables): its code, or OK. */
export async function rawOutcome(pool: Pool, sql: string, params: unknown[] = []): Promise<string> {
  return outcomeOf(() => pool.query(sql, params));
}

/**
 * Runs `work` on a second connection while `holder` keeps a transaction open
 * that holds `lockSql`'s row locks: "blocked" when the work waited for those
 * locks past a short statement timeout, otherwise its outcome.
 */
export async function whileLocked(pool: Pool, lockSql: string, lockParams: unknown[], work: (client: PoolClient) => Promise<unknown>): Promise<string> {
  const holder = await pool.connect();
  const worker = await pool.connect();
  try {
    await holder.query('BEGIN');
    await holder.query(lockSql, lockParams);
    await worker.query(`SET statement_timeout = '1500ms'`);
    const outcome = await outcomeOf(() => work(worker));
    return outcome === 'SQLSTATE 57014' || outcome === 'DEPENDENCY_UNAVAILABLE' ? 'blocked' : outcome;
  } finally {
    await holder.query('ROLLBACK').catch(() => undefined);
    await worker.query('RESET statement_timeout').catch(() => undefined);
    holder.release();
    worker.release();
  }
}

export async function one<T = Record<string, unknown>>(pool: Pool, sql: string, params: unknown[] = []): Promise<T> {
  const result = await pool.query(sql, params);
  return result.rows[0] as T;
}

/** A raw write refused by the real engine, tried in a transaction that is always rolled back. */
export async function refusedWrite(pool: Pool, sql: string, params: unknown[], what: string): Promise<WitnessResult> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const got = await client.query(sql, params).then(
      () => 'OK',
      (error: { code?: string }) => `SQLSTATE ${String(error.code)}`,
    );
    return { held: got !== 'OK', observed: `${what}: ${got === 'OK' ? 'ACCEPTED' : `refused (${got})`} (the real engine refuses it)` };
  } finally {
    await client.query('ROLLBACK').catch(() => undefined);
    client.release();
  }
}
