// Target mode: SimCity sends the HTTP half of SC-1 to a `bookiji serve`
// running as another process on the same database, and judges the truth it
// reads from that database itself.
import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildDist } from '../api/build.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';

const root = new URL('../..', import.meta.url).pathname;
let db: TestDatabase;
let server: ChildProcess | undefined;
const serverLog: string[] = [];

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['bin/bookiji', ...args], { cwd: root, env: { ...process.env, DATABASE_URL: db.connectionString, NO_COLOR: '1' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

/** Starts `bookiji serve` on a free port and resolves with its URL from the "listening" log line. */
function startServer(): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['bin/bookiji', 'serve', '--port', '0', '--rate-limit', '1000000', '--no-outbox'], {
      cwd: root,
      env: { ...process.env, DATABASE_URL: db.connectionString, NO_COLOR: '1' },
    });
    server = child;
    let pending = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      pending += chunk.toString();
      const lines = pending.split('\n');
      pending = lines.pop()!;
      for (const line of lines) {
        serverLog.push(line);
        const parsed = JSON.parse(line) as { msg?: string; url?: string };
        if (parsed.msg === 'listening' && parsed.url) resolve(parsed.url);
      }
    });
    child.on('exit', (code) => reject(new Error(`bookiji serve exited with ${String(code)} before listening`)));
  });
}

beforeAll(async () => {
  buildDist();
  db = await createTestDatabase({ poolMax: 2 });
}, 200_000);

afterAll(async () => {
  if (server && server.exitCode === null) {
    const exited = new Promise((resolve) => server!.once('exit', resolve));
    server.kill('SIGTERM');
    await exited;
  }
  await db?.drop();
});

describe('simcity run --target-url', () => {
  it('runs SC-1 against a separate bookiji serve, passes, and its requests show in the server log', async () => {
    // Proves: the HTTP actions really went to the other process (its log names SimCity's request ids) and the run judged the shared database.
    const created = await cli(['apikey', 'create', '--partner', 'simcity-target', '--json']);
    expect(created.code, created.stderr).toBe(0);
    const key = (JSON.parse(created.stdout) as { key: string }).key;
    const url = await startServer();
    const run = await cli(['simcity', 'run', 'SC-1', '--seed', 'target-1', '--iterations', '3', '--target-url', url, '--api-key', key, '--json']);
    expect(run.code, run.stderr + run.stdout.slice(0, 2000)).toBe(0);
    const report = JSON.parse(run.stdout) as {
      passed: boolean;
      results: Array<{ stats: { requestsByPath: Record<string, number> }; invariants: Array<{ id: string; exercised: number }> }>;
    };
    expect(report.passed).toBe(true);
    const httpRequests = report.results[0]!.stats.requestsByPath.http ?? 0;
    expect(httpRequests).toBeGreaterThan(0);
    const served = serverLog
      .map((line) => JSON.parse(line) as { msg?: string; route?: string; requestId?: string })
      .filter((line) => line.msg === 'request' && line.route === '/v1/bookings' && line.requestId?.startsWith('simcity-'));
    // A restart may abort a request before the server logs it; every logged one is SimCity's.
    expect(served.length).toBeGreaterThan(0);
    expect(served.length).toBeLessThanOrEqual(httpRequests);
  }, 300_000);

  it('refuses --target-url without --api-key as a usage error', async () => {
    // Proves: target mode without a key fails at once with exit 2, before any fixture is made.
    const run = await cli(['simcity', 'run', 'SC-1', '--seed', 'target-2', '--iterations', '1', '--target-url', 'http://127.0.0.1:9']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--target-url needs --api-key');
  });
});
