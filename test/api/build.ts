// Compiles src/ to dist/ for tests that spawn bin/bookiji. Type errors in
// folders other people are editing must not stop these tests, so only a
// missing output fails. Test files run in parallel workers: a lock directory
// makes one compile while the others wait for it, so nobody spawns the CLI
// from a half-written dist/.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const LOCK_DIR = path.join(os.tmpdir(), `bookiji-api-build-${Buffer.from(process.cwd()).toString('hex').slice(-24)}`);
const LOCK_WAIT_MS_MAX = 170_000;

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

export function buildDist(): void {
  // One build per test run: the workers of one vitest run share its process
  // as their parent, and a later run (after edits) compiles afresh.
  const stamp = `${LOCK_DIR}.built-by-${process.ppid}`;
  const started = Date.now();
  for (;;) {
    try {
      mkdirSync(LOCK_DIR);
      break;
    } catch {
      if (Date.now() - started > LOCK_WAIT_MS_MAX) rmSync(LOCK_DIR, { recursive: true, force: true });
      sleepSync(200);
    }
  }
  try {
    if (!existsSync(stamp)) {
      spawnSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.json'], { cwd: process.cwd(), stdio: 'ignore' });
      mkdirSync(stamp);
    }
  } finally {
    rmSync(LOCK_DIR, { recursive: true, force: true });
  }
  for (const file of ['dist/api/server.js', 'dist/cli/commands/serve.js', 'dist/cli/commands/apikey.js', 'dist/cli/commands/schedule.js']) {
    if (!existsSync(file)) throw new Error(`tsc produced no ${file}`);
  }
}
