// What the figures were measured on: absolute numbers only mean something
// next to the machine, and the load average says how noisy it was.

import os from 'node:os';
import type { Pool } from '../db/pool.js';

export interface MachineInfo {
  cores: number;
  cpuModel: string;
  memoryMb: number;
  os: string;
  node: string;
  postgres: string;
  server: 'embedded' | 'DATABASE_URL';
  loadAverageAtStart: number[];
  loadAverageAtEnd?: number[];
}

export async function describeMachine(pool: Pool, server: MachineInfo['server']): Promise<MachineInfo> {
  const version = await pool.query<{ server_version: string }>('SHOW server_version');
  return {
    cores: os.cpus().length,
    cpuModel: os.cpus()[0]?.model.trim() ?? 'unknown',
    memoryMb: Math.round(os.totalmem() / 1024 / 1024),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    postgres: `PostgreSQL ${version.rows[0]?.server_version ?? 'unknown'}`,
    server,
    loadAverageAtStart: os.loadavg().map((value) => Math.round(value * 100) / 100),
  };
}
