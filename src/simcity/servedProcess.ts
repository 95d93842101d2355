// A real `bookiji serve` (or any other bookiji command) in a child process,
// for scenarios that fault the application process itself: SIGKILL and a
// restart, SIGSTOP/SIGCONT, and a clock that runs minutes ahead of or behind
// the database's. The clock is skewed by preloading skewClock.js into the
// child (`node --import`): every Date.now() and new Date() of that process
// reads the skewed clock, as on a host whose NTP drifted; timers keep the
// real monotonic clock.

import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { BookijiError } from '../errors.js';

/** The compiled preload that skews a child's wall clock (the children run dist/ too, like BIN). */
export const SKEW_CLOCK_MODULE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'dist', 'simcity', 'skewClock.js');
const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'bookiji');
const LISTEN_WAIT_MS_MAX = 30_000;
const COMMAND_WAIT_MS_MAX = 60_000;

export interface ProcessOptions {
  connectionString: string;
  /** How far this process's clock runs from the real one (and so from the database's), in seconds. */
  clockOffsetSeconds?: number;
  env?: Record<string, string>;
}

function environment(options: ProcessOptions): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', DATABASE_URL: options.connectionString, ...options.env };
  const offset = options.clockOffsetSeconds ?? 0;
  if (offset !== 0) {
    env.BOOKIJI_CLOCK_SKEW_SECONDS = String(offset);
    env.NODE_OPTIONS = `${process.env.NODE_OPTIONS ?? ''} --import ${pathToFileURL(SKEW_CLOCK_MODULE).href}`.trim();
  }
  return env;
}

/** Runs one bookiji command to completion in its own (possibly skewed) process. */
export function runBookijiCommand(args: string[], options: ProcessOptions): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = environment(options);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), COMMAND_WAIT_MS_MAX);
    child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
  });
}

export class ServedProcess {
  url = '';
  private child: ChildProcess | undefined;
  private paused = false;
  restarts = 0;

  constructor(private readonly options: ProcessOptions) {}

  /** Starts `bookiji serve` on a free port and waits for its "listening" line. */
  async start(): Promise<void> {
    const env = environment(this.options);
    const child = spawn(process.execPath, [BIN, 'serve', '--port', '0', '--host', '127.0.0.1', '--no-outbox', '--rate-limit', '1000000'], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    this.paused = false;
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-2000)));
    this.url = await new Promise<string>((resolve, reject) => {
      let buffered = '';
      const timer = setTimeout(
        () => reject(new BookijiError('DEPENDENCY_UNAVAILABLE', `bookiji serve did not listen within ${LISTEN_WAIT_MS_MAX} ms: ${stderr}`)),
        LISTEN_WAIT_MS_MAX,
      );
      child.stdout!.on('data', (chunk: Buffer) => {
        buffered += chunk.toString();
        const match = /"url":"(http:\/\/[^"]+)"/.exec(buffered);
        if (match) {
          clearTimeout(timer);
          resolve(match[1]!);
        }
      });
      child.on('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new BookijiError('DEPENDENCY_UNAVAILABLE', `bookiji serve exited (${code ?? signal}) before listening: ${stderr}`));
      });
    });
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** SIGKILL: the process dies mid-request, with whatever it had in flight. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGKILL');
    await exited;
  }

  async restart(): Promise<void> {
    await this.kill();
    this.restarts += 1;
    await this.start();
  }

  pause(): void {
    if (this.child && !this.paused) {
      this.child.kill('SIGSTOP');
      this.paused = true;
    }
  }

  resume(): void {
    if (this.child && this.paused) {
      this.child.kill('SIGCONT');
      this.paused = false;
    }
  }

  async close(): Promise<void> {
    this.resume();
    await this.kill();
  }
}
