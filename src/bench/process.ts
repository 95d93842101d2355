// Timing child processes (CLI start-up, certification): wall time from spawn
// to exit, with the output kept so a failing command can be explained.

import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';

export interface TimedProcess {
  wallMs: number;
  exitCode: number;
  stdout: string;
  stderr: string;
}

export function timeProcess(
  command: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {},
): Promise<TimedProcess> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(command, args, { env: options.env ?? process.env, cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = options.timeoutMs ? setTimeout(() => child.kill('SIGTERM'), options.timeoutMs) : undefined;
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      resolve({ wallMs: performance.now() - started, exitCode: code ?? (signal ? 128 : 1), stdout, stderr });
    });
  });
}

export function lastLines(text: string, count = 3): string {
  return text.trim().split('\n').slice(-count).join(' | ');
}
