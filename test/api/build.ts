// Makes sure dist/ (what bin/bookiji runs) is compiled from the current
// src/, for tests that spawn the CLI.
//
// `npm test` builds before running, and other test files spawn the CLI from
// dist/ while this one runs: rewriting dist/ under them would make their
// processes load half-written files. So this compiles only when some
// src/**/*.ts is newer than its dist/**/*.js (someone edited since the last
// build), and test files running in parallel compile at most once, behind a
// lock directory. Type errors in folders other people are editing must not
// stop these tests, so only missing output fails.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const LOCK_DIR = path.join(os.tmpdir(), `bookiji-build-${Buffer.from(process.cwd()).toString('hex').slice(-24)}`);
const LOCK_WAIT_MS_MAX = 170_000;
const REQUIRED_OUTPUTS = ['dist/api/server.js', 'dist/cli/commands/serve.js', 'dist/cli/commands/apikey.js', 'dist/cli/commands/schedule.js'];

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [full] : [];
  });
}

/** True when some source file has no compiled output or is newer than it. */
export function distIsStale(root: string = process.cwd()): boolean {
  return sourceFiles(path.join(root, 'src')).some((source) => {
    const output = path.join(root, 'dist', path.relative(path.join(root, 'src'), source)).replace(/\.ts$/, '.js');
    return !existsSync(output) || statSync(output).mtimeMs < statSync(source).mtimeMs;
  });
}

export function buildDist(): void {
  if (distIsStale()) {
    const started = Date.now();
    for (;;) {
      try {
        mkdirSync(LOCK_DIR);
        break;
      } catch {
        // A lock left by a killed run must not block forever.
        if (Date.now() - started > LOCK_WAIT_MS_MAX) rmSync(LOCK_DIR, { recursive: true, force: true });
        sleepSync(200);
      }
    }
    try {
      // Another test file may have compiled while this one waited.
      if (distIsStale()) spawnSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.json'], { cwd: process.cwd(), stdio: 'ignore' });
    } finally {
      rmSync(LOCK_DIR, { recursive: true, force: true });
    }
  }
  for (const file of REQUIRED_OUTPUTS) {
    if (!existsSync(file)) throw new Error(`tsc produced no ${file}`);
  }
}
