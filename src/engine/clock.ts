// The engine's clock is the database's (bookiji_now()). Only a database
// created for simulation lets it move, and only forward.

import { queryWithRetry, type Pool } from '../db/pool.js';

export async function databaseNow(pool: Pool): Promise<Date> {
  const result = await queryWithRetry(pool, 'SELECT bookiji_now() AS now');
  return result.rows[0]!.now;
}

export async function isSimulation(pool: Pool): Promise<boolean> {
  const result = await queryWithRetry(pool, 'SELECT simulated FROM clock');
  return Boolean(result.rows[0]?.simulated);
}

/** Moves a simulation's clock forward; a normal database refuses (CLOCK_LOCKED). */
export async function advanceClock(pool: Pool, byMs: number): Promise<Date> {
  const result = await queryWithRetry(pool, 'SELECT advance_clock(make_interval(secs => $1::double precision / 1000)) AS now', [byMs]);
  return result.rows[0]!.now;
}
