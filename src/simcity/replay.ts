// The replay key: seed + commit. The command printed on failure reruns the
// same schedule; on another commit the engine (and so the outcome) may differ,
// which is why the commit is printed with it.

import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export function currentCommit(): string | null {
  if (process.env.GITHUB_SHA) return process.env.GITHUB_SHA;
  try {
    const cwd = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
    return execFileSync('git', ['rev-parse', 'HEAD'], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() || null;
  } catch {
    return null;
  }
}

/** Quotes a value for a POSIX shell only when it needs it. */
export function shellQuote(value: string): string {
  return /^[A-Za-z0-9._:\/@=+-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}

export function replayCommand(scenarioId: string, seed: string, iterations: number, concurrency: number | undefined): string {
  const parts = ['bookiji', 'simcity', 'run', scenarioId, '--seed', shellQuote(seed), '--iterations', String(iterations)];
  if (concurrency !== undefined) parts.push('--concurrency', String(concurrency));
  return parts.join(' ');
}
