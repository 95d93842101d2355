// Runs a worker job in a child process of a given tree (the real one, or a
// patched copy) and reads its one result line.

import { spawn } from 'node:child_process';
import path from 'node:path';
import { RESULT_MARKER, type WorkerJob } from './worker.js';

export async function runInChild<T>(treeRoot: string, job: WorkerJob, timeoutMs: number, onProgress?: (line: string) => void): Promise<T> {
  const script = path.join(treeRoot, 'dist', 'certify', 'mutants', 'worker.js');
  const child = spawn(process.execPath, [script, JSON.stringify(job)], { stdio: ['ignore', 'pipe', 'pipe'], env: process.env });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => {
    const text = chunk.toString('utf8');
    stderr = (stderr + text).slice(-4000);
    for (const line of text.split('\n')) if (line.trim()) onProgress?.(line);
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  clearTimeout(timer);
  const line = stdout.split('\n').find((l) => l.startsWith(RESULT_MARKER));
  if (!line)
    throw new Error(
      `the mutant's child process ended (code ${String(code)}) without a result${code === null ? ` after ${timeoutMs} ms` : ''}: ${stderr.slice(-600)}`,
    );
  const parsed = JSON.parse(line.slice(RESULT_MARKER.length)) as { ok: boolean; result?: T; error?: string };
  if (!parsed.ok) throw new Error(parsed.error ?? 'the child failed');
  return parsed.result as T;
}
