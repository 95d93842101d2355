// The child process one mutant runs in: `node <tree>/dist/certify/mutants/worker.js JOB`.
// For a TypeScript mutant <tree> is the patched copy, so every module the
// witness or the phases import is the mutant's. It prints one result line
// (prefixed with RESULT_MARKER) on stdout; progress goes to stderr.

import { pathToFileURL } from 'node:url';
import { createPool } from '../../db/pool.js';
import type { CertifyDatabase } from '../context.js';
import { CERTIFY_POOL_MAX } from '../databases.js';
import type { ProfileParameters } from '../profiles.js';
import type { PhaseId } from '../types.js';
import { mutantNamed } from './catalogue/index.js';
import { certifyFailFast } from './phases.js';

export const RESULT_MARKER = 'BOOKIJI-MUTANT-RESULT ';

export interface DatabaseRef {
  name: string;
  connectionString: string;
}

export interface WorkerJob {
  mode: 'witness' | 'certify';
  mutantId: string;
  normal: DatabaseRef;
  simulation: DatabaseRef;
  adminConnectionString: string;
  params?: ProfileParameters;
  seed?: number;
  order?: PhaseId[];
}

function open(ref: DatabaseRef): CertifyDatabase {
  const pool = createPool({ connectionString: ref.connectionString, max: CERTIFY_POOL_MAX, applicationName: 'bookiji-mutant' });
  pool.on('error', () => undefined);
  return { ...ref, pool };
}

export async function runJob(job: WorkerJob): Promise<unknown> {
  const mutant = mutantNamed(job.mutantId);
  if (!mutant) throw new Error(`no mutant ${job.mutantId} in this tree's catalogue`);
  const normal = open(job.normal);
  const simulation = open(job.simulation);
  try {
    if (job.mode === 'witness')
      return await mutant.witness({ normal: normal.pool, simulation: simulation.pool, normalConnectionString: normal.connectionString });
    return await certifyFailFast({
      normal,
      simulation,
      adminConnectionString: job.adminConnectionString,
      params: job.params!,
      seed: job.seed!,
      order: job.order!,
      log: (message) => process.stderr.write(`[${job.mutantId}] ${message}\n`),
    });
  } finally {
    await normal.pool.end().catch(() => undefined);
    await simulation.pool.end().catch(() => undefined);
  }
}

async function main(): Promise<void> {
  const job = JSON.parse(process.argv[2] ?? '{}') as WorkerJob;
  try {
    const result = await runJob(job);
    process.stdout.write(`${RESULT_MARKER}${JSON.stringify({ ok: true, result })}\n`);
  } catch (error) {
    process.stdout.write(`${RESULT_MARKER}${JSON.stringify({ ok: false, error: error instanceof Error ? error.message : String(error) })}\n`);
  }
  // Pools and timers some phases leave behind must not keep the child alive.
  process.exit(0);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) void main();
