// The simulation database: a separate database beside the target, created
// for simulation so scenarios and races that move the clock can (only a
// database marked at creation may, see migration 0001). With the embedded
// server it lives on that server; with DATABASE_URL, on the same server as
// that database, whose role must be allowed to create databases.

import { ensureDatabaseExists, openDatabase, resolveTarget, type Database } from '../db/database.js';

export const SIMULATION_DATABASE = 'bookiji_sim';

export function siblingDatabaseUrl(connectionString: string, database: string): string {
  const url = new URL(connectionString);
  url.pathname = `/${database}`;
  return url.toString();
}

export async function openSimulationDatabase(options: { poolMax?: number } = {}): Promise<Database> {
  const target = await resolveTarget();
  await ensureDatabaseExists(target.connectionString, SIMULATION_DATABASE, { simulation: true });
  const simulation = { ...target, connectionString: siblingDatabaseUrl(target.connectionString, SIMULATION_DATABASE) };
  return openDatabase({ target: simulation, poolMax: options.poolMax ?? 4 });
}
