// Figure 6: CLI start-up. `bookiji --version` and `bookiji slot list` (the
// server already running) against a bare `node -e ""`, run interleaved so
// the three see the same machine load.

import { existsSync } from 'node:fs';
import path from 'node:path';
import { lastLines, timeProcess } from '../process.js';
import { ratioCheck } from '../report.js';
import { seedSlotGrid, seedVendors } from '../seed.js';
import { median, spreadOf } from '../stats.js';
import type { FigureContext, FigureResult } from './context.js';

const STARTUP_RATIO_MAX = 3.0;
// Issue 13: a data command with the server up is judged tighter than start-up alone.
const SLOT_LIST_RATIO_MAX = 2.5;

// Stays long: one figure read top to bottom as its method (seed, warm, measure, check), each step using the rows the last one made.
export async function cliStartup(context: FigureContext): Promise<FigureResult> {
  const { sizes, packageRoot } = context;
  const bin = path.join(packageRoot, 'bin', 'bookiji');
  if (!existsSync(path.join(packageRoot, 'dist', 'cli', 'main.js'))) {
    return {
      id: '6',
      title: 'CLI start-up',
      status: 'skipped',
      reason: 'dist/cli/main.js is missing: run `npm run build` (npm run bench does)',
      checks: [],
      details: {},
    };
  }
  const database = await context.server.createDatabase('startup');
  const pool = database.openPool(1);
  const [vendor] = await seedVendors(pool, 1, 'Start-up vendor');
  await seedSlotGrid(pool, { vendorIds: [vendor!], slotsPerVendor: 16, startAfterHours: 48, slotMinutes: 30, strideMinutes: 30 });
  await pool.end();

  // No BOOKIJI_HOME games: DATABASE_URL makes the CLI connect to our server.
  const env = { ...process.env, DATABASE_URL: database.connectionString, NO_COLOR: '1' };
  const commands = {
    bare: [process.execPath, ['-e', '']],
    version: [process.execPath, [bin, '--version']],
    slotList: [process.execPath, [bin, 'slot', 'list', '--vendor', vendor!]],
  } as const;
  const timeOne = async (name: keyof typeof commands): Promise<number> => {
    const [command, args] = commands[name];
    const result = await timeProcess(command, [...args], { env, cwd: packageRoot, timeoutMs: 60_000 });
    if (result.exitCode !== 0) throw new Error(`${name} exited with ${result.exitCode}: ${lastLines(result.stderr)}`);
    return result.wallMs;
  };
  // One untimed round loads the files into the page cache.
  for (const name of Object.keys(commands) as Array<keyof typeof commands>) await timeOne(name);

  const medians: Record<keyof typeof commands, number[]> = { bare: [], version: [], slotList: [] };
  for (let repetition = 0; repetition < sizes.repetitions; repetition++) {
    context.log(`figure 6: repetition ${repetition + 1}`);
    const runs: Record<keyof typeof commands, number[]> = { bare: [], version: [], slotList: [] };
    for (let run = 0; run < sizes.startupRunsPerRepetition; run++) {
      for (const name of Object.keys(commands) as Array<keyof typeof commands>) runs[name].push(await timeOne(name));
    }
    for (const name of Object.keys(commands) as Array<keyof typeof commands>) medians[name].push(median(runs[name]));
  }
  const baseline = spreadOf(medians.bare);
  return {
    id: '6',
    title: 'CLI start-up',
    status: 'measured',
    checks: [
      ratioCheck({
        id: '6.version',
        label: 'bookiji --version vs node -e ""',
        unit: 'ms',
        engine: spreadOf(medians.version),
        baseline,
        ratio: spreadOf(medians.version.map((value, i) => value / medians.bare[i]!)),
        target: `≤ ${STARTUP_RATIO_MAX.toFixed(1)}×`,
        bound: STARTUP_RATIO_MAX,
        direction: 'atMost',
      }),
      ratioCheck({
        id: '6.slotList',
        label: 'bookiji slot list (server up) vs node -e ""',
        unit: 'ms',
        engine: spreadOf(medians.slotList),
        baseline,
        ratio: spreadOf(medians.slotList.map((value, i) => value / medians.bare[i]!)),
        target: `≤ ${SLOT_LIST_RATIO_MAX.toFixed(1)}×`,
        bound: SLOT_LIST_RATIO_MAX,
        direction: 'atMost',
      }),
    ],
    details: { runsPerRepetition: sizes.startupRunsPerRepetition, statistic: 'median of the runs in each repetition' },
  };
}
