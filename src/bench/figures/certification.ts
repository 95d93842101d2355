// Figure 7: wall time of `bookiji certify --profile quick`. No baseline: it
// is reported so a slower certification is noticed. Skipped in quick mode
// (it takes minutes) and when the build has no certify command.

import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { lastLines, timeProcess } from '../process.js';
import { spreadOf } from '../stats.js';
import type { FigureContext, FigureResult } from './context.js';

export async function certification(context: FigureContext): Promise<FigureResult> {
  const skipped = (reason: string): FigureResult => ({ id: '7', title: 'Certification wall time', status: 'skipped', reason, checks: [], details: {} });
  const bin = path.join(context.packageRoot, 'bin', 'bookiji');
  if (!existsSync(path.join(context.packageRoot, 'dist', 'cli', 'main.js'))) return skipped('dist/cli/main.js is missing: run `npm run build`');
  const help = await timeProcess(process.execPath, [bin, 'certify', '--help'], { cwd: context.packageRoot, timeoutMs: 30_000 });
  if (help.exitCode !== 0) return skipped('this build has no `bookiji certify` command');
  if (context.quick) return skipped('certification takes minutes; measured in full mode only');

  const wallMs: number[] = [];
  const exitCodes: number[] = [];
  for (let repetition = 0; repetition < context.sizes.certifyRepetitions; repetition++) {
    context.log(`figure 7: repetition ${repetition + 1}`);
    const database = await context.server.createDatabase(`certify${repetition}`);
    const out = mkdtempSync(path.join(os.tmpdir(), 'bookiji-bench-certify-'));
    try {
      const result = await timeProcess(process.execPath, [bin, 'certify', '--profile', 'quick', '--out', out], {
        cwd: context.packageRoot,
        env: { ...process.env, DATABASE_URL: database.connectionString, NO_COLOR: '1' },
        timeoutMs: context.sizes.certifyTimeoutMs,
      });
      wallMs.push(result.wallMs / 1000);
      exitCodes.push(result.exitCode);
      if (result.exitCode !== 0 && result.exitCode !== 1) throw new Error(`certify exited with ${result.exitCode}: ${lastLines(result.stderr)}`);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }
  return {
    id: '7',
    title: 'Certification wall time',
    status: 'measured',
    checks: [
      {
        id: '7.wall',
        label: 'bookiji certify --profile quick',
        unit: 's',
        engine: spreadOf(wallMs),
        baseline: null,
        ratio: null,
        target: 'info (exit 0 = certified)',
        met: null,
        notes: `exit codes ${exitCodes.join(', ')}`,
      },
    ],
    details: { exitCodes, repetitions: context.sizes.certifyRepetitions, why: 'minutes per run and no baseline to pair with: one wall time per full run' },
  };
}
