// Contests on one slot and the equivalent uncontended work, shared by the
// hot-slot figure and the claim-path alternatives.

import pg from '../db/pg.js';
import { claimSlot } from '../engine/bookings.js';
import type { Pool } from '../db/pool.js';
import { latenciesOf, outcomeCounts, runLoad } from './load.js';
import { BENCH_ACTOR } from './seed.js';
import { latencySummary, type LatencySummary } from './stats.js';

/**
 * The same pool, except that a query the server refused (an SQL error such as
 * a booking conflict) returns its connection to the pool instead of closing
 * it. pg-pool's own `query` closes the connection on any error, so every
 * refused claim pays a new connection (TCP, SCRAM, a backend fork); this
 * measures what the engine would gain from keeping it. Bench-only.
 */
export function keepingConnectionsOnSqlErrors(pool: Pool): Pool {
  const query = async (text: string, values?: unknown[]): Promise<pg.QueryResult> => {
    const client = await pool.connect();
    let broken: Error | undefined;
    try {
      return await client.query(text, values);
    } catch (error) {
      if (!(error instanceof pg.DatabaseError)) broken = error as Error;
      throw error;
    } finally {
      client.release(broken);
    }
  };
  return new Proxy(pool, { get: (target, property, receiver) => (property === 'query' ? query : Reflect.get(target, property, receiver)) });
}

export interface ContestResult {
  wallMs: number;
  winners: number;
  loserLatency: LatencySummary;
  /** Outcome counts: 'ok' for winners, error codes for losers. */
  outcomes: Record<string, number>;
  unexpected: string[];
}

/** `customers.length` contenders claim one slot, `concurrency` at a time. */
export async function runContest(pool: Pool, slotId: string, customers: readonly string[], concurrency: number): Promise<ContestResult> {
  const result = await runLoad(customers.length, concurrency, (index) => claimSlot(pool, { slot: slotId, customer: customers[index] }, BENCH_ACTOR));
  const losers = result.samples.filter((sample) => sample.outcome !== 'ok').map((sample) => sample.latencyMs);
  return {
    wallMs: result.wallMs,
    winners: latenciesOf(result, 'ok').length,
    loserLatency: latencySummary(losers),
    outcomes: outcomeCounts(result),
    unexpected: result.unexpected,
  };
}

export interface DistinctResult {
  wallMs: number;
  claimed: number;
  latency: LatencySummary;
}

/** The same number of claims, each on its own slot, at the same concurrency. */
export async function runDistinct(pool: Pool, slotIds: readonly string[], customers: readonly string[], concurrency: number): Promise<DistinctResult> {
  const result = await runLoad(slotIds.length, concurrency, (index) =>
    claimSlot(pool, { slot: slotIds[index], customer: customers[index % customers.length] }, BENCH_ACTOR),
  );
  const ok = latenciesOf(result, 'ok');
  return { wallMs: result.wallMs, claimed: ok.length, latency: latencySummary(ok) };
}
