// Compiles src/ to dist/ for tests that spawn bin/bookiji. Type errors in
// folders other people are editing must not stop these tests, so only a
// missing output fails.

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export function buildDist(): void {
  spawnSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.json'], { cwd: process.cwd(), stdio: 'ignore' });
  for (const file of ['dist/api/server.js', 'dist/cli/commands/serve.js', 'dist/cli/commands/apikey.js', 'dist/cli/commands/schedule.js']) {
    if (!existsSync(file)) throw new Error(`tsc produced no ${file}`);
  }
}
