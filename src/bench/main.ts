// `npm run bench`: how close the engine is to what PostgreSQL itself can do,
// measured in one run on one machine. Every figure is paired with a baseline
// measured in the same run and judged on their ratio; the report goes to
// reports/bench.json and a table on stdout.
//
// Exit codes: 0 when every figure ran (missed targets are findings, printed
// and recorded, not harness failures), 1 when a figure could not be
// measured, 2 on bad arguments.

import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { claimAlternatives } from './figures/claimAlternatives.js';
import { availability } from './figures/availability.js';
import { certification } from './figures/certification.js';
import { claimThroughput } from './figures/claimThroughput.js';
import { cliStartup } from './figures/cliStartup.js';
import type { FigureContext, FigureResult } from './figures/context.js';
import { hotSlot } from './figures/hotSlot.js';
import { simcityOverhead } from './figures/simcityOverhead.js';
import { soak } from './figures/soak.js';
import { describeMachine } from './machine.js';
import { parseOptions, USAGE, UsageError, type FigureId } from './options.js';
import { renderTable, writeReport, type BenchReport, type FigureReport } from './report.js';
import { startBenchServer, type BenchServer } from './server.js';
import { createPool } from '../db/pool.js';

const PACKAGE_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

const FIGURES: Record<FigureId, { title: string; run: (context: FigureContext) => Promise<FigureResult> }> = {
  '1': { title: 'Claim throughput and latency vs pgbench TPC-B-like', run: claimThroughput },
  '2': { title: 'Hot slot: one capacity-1 slot, many contenders', run: hotSlot },
  '3': { title: 'Availability vs a plain indexed SELECT', run: availability },
  '4': { title: 'SimCity overhead', run: simcityOverhead },
  '5': { title: 'Soak: mixed operations over simulated days', run: soak },
  '6': { title: 'CLI start-up', run: cliStartup },
  '7': { title: 'Certification wall time', run: certification },
  alt: { title: 'Contended claim path: alternatives (bench-only fixture database)', run: claimAlternatives },
};

async function main(argv: string[]): Promise<number> {
  let options: ReturnType<typeof parseOptions>;
  try {
    options = parseOptions(argv, path.join(PACKAGE_ROOT, 'reports', 'bench.json'));
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    if (error.message) process.stderr.write(`bench: ${error.message}\n`);
    process.stderr.write(`${USAGE}\n`);
    return error.message ? 2 : 0;
  }
  const started = performance.now();
  const log = (message: string): void => void process.stderr.write(`[bench ${((performance.now() - started) / 1000).toFixed(1)}s] ${message}\n`);
  log(`starting ${options.quick ? 'quick' : 'full'} run on ${process.env.DATABASE_URL ? 'DATABASE_URL' : 'a disposable embedded PostgreSQL'}`);

  let server: BenchServer | undefined;
  const stopOnSignal = (signal: NodeJS.Signals): void => {
    log(`${signal}: stopping the benchmark's database server`);
    void (server?.close() ?? Promise.resolve()).finally(() => process.exit(130));
  };
  process.once('SIGINT', stopOnSignal);
  process.once('SIGTERM', stopOnSignal);

  server = await startBenchServer();
  try {
    const adminPool = createPool({ connectionString: server.adminConnectionString, max: 1 });
    const machine = await describeMachine(adminPool, server.kind).finally(() => adminPool.end());
    const context: FigureContext = { server, sizes: options.sizes, quick: options.quick, packageRoot: PACKAGE_ROOT, log };
    const figures: FigureReport[] = [];
    for (const id of options.only) {
      const figure = FIGURES[id];
      log(`figure ${id}: ${figure.title}`);
      const figureStarted = performance.now();
      let result: FigureResult;
      try {
        result = await figure.run(context);
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        log(`figure ${id} failed: ${message}`);
        result = { id, title: figure.title, status: 'failed', reason: message, checks: [], details: {} };
      }
      figures.push({ ...result, durationMs: Math.round(performance.now() - figureStarted) });
    }
    machine.loadAverageAtEnd = os.loadavg().map((value) => Math.round(value * 100) / 100);
    const report: BenchReport = {
      schema: 'bookiji-bench/1',
      generatedAt: new Date().toISOString(),
      command: ['npm run bench', ...(argv.length ? ['--', ...argv] : [])].join(' '),
      mode: options.quick ? 'quick' : 'full',
      repetitions: options.sizes.repetitions,
      machine,
      figures,
      durationMs: Math.round(performance.now() - started),
    };
    writeReport(report, options.outFile);
    process.stdout.write(renderTable(report));
    process.stdout.write(`report: ${path.relative(process.cwd(), options.outFile) || options.outFile}\n`);
    return figures.some((figure) => figure.status === 'failed') ? 1 : 0;
  } finally {
    await server.close();
  }
}

process.exitCode = await main(process.argv.slice(2));
