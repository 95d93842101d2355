// Where the embedded cluster's files live.
//
// Normally in BOOKIJI_HOME itself (`<home>/pgdata`). But PostgreSQL refuses
// to run as root, so as root the server runs as `postgres`, and that user
// must be able to reach its data directory. A checkout under /root (mode
// 700), the usual container case, is not reachable. Rather than fail, the
// cluster then lives where `postgres` can reach it:
//
//   /var/lib/bookiji/<id>   (else /var/tmp/bookiji, else <tmpdir>/bookiji)
//
// with <id> derived from the home's real path, so every command (and two
// first commands racing) arrives at the same place. The choice is recorded in
// BOOKIJI_HOME (cluster-location.json) and read by every later command: the
// data is found again even if the home moves or becomes reachable later.
//
// Nothing world-writable is created: a base directory is root's, mode 755
// (one that exists must be root's and not world-writable, else it is passed
// over, so nobody else can plant a cluster there), and the cluster's own
// directory is the postgres user's, mode 700.

import { createHash, randomBytes } from 'node:crypto';
import { existsSync, promises as fs, readFileSync, realpathSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BookijiError } from '../errors.js';

export interface ServerUser {
  uid?: number;
  gid?: number;
}

export interface ClusterLocation {
  /** BOOKIJI_HOME, resolved. */
  home: string;
  /** The directory holding `pgdata` and the server log: the home, or a relocated one. */
  clusterHome: string;
  relocated: boolean;
}

export const POINTER_FILE = 'cluster-location.json';

export function defaultRelocationBases(): string[] {
  return ['/var/lib/bookiji', '/var/tmp/bookiji', path.join(os.tmpdir(), 'bookiji')];
}

function readPointer(home: string): string | null {
  const file = path.join(home, POINTER_FILE);
  if (!existsSync(file)) return null;
  const pointer = JSON.parse(readFileSync(file, 'utf8')) as { clusterHome?: unknown };
  if (typeof pointer.clusterHome !== 'string' || !path.isAbsolute(pointer.clusterHome)) {
    throw new BookijiError('DEPENDENCY_UNAVAILABLE', `${file} does not name a cluster directory`, { hint: `Remove ${file} if the cluster it named is gone.` });
  }
  return pointer.clusterHome;
}

/** Where the cluster of `home` is, without creating anything: a cluster in place wins, then the recorded pointer. */
export function locateCluster(homeInput: string): ClusterLocation {
  const home = path.resolve(homeInput);
  if (existsSync(path.join(home, 'pgdata'))) return { home, clusterHome: home, relocated: false };
  const pointed = readPointer(home);
  return pointed ? { home, clusterHome: pointed, relocated: true } : { home, clusterHome: home, relocated: false };
}

/** The first directory from / down to `dir` that `user` may not pass through (owner, group, other execute bits), or null. */
export function firstUnreachableDir(dir: string, user: ServerUser): string | null {
  if (user.uid === undefined) return null;
  const parts = path.resolve(dir).split(path.sep).filter(Boolean);
  for (let i = 0; i <= parts.length; i++) {
    const current = path.sep + parts.slice(0, i).join(path.sep);
    const stat = statSync(current);
    const bit = stat.uid === user.uid ? 0o100 : stat.gid === user.gid ? 0o010 : 0o001;
    if ((stat.mode & bit) === 0) return current;
  }
  return null;
}

/** A stable name for the home's cluster: its real path, hashed. */
export function clusterIdOf(home: string): string {
  return createHash('sha256').update(realpathSync(home)).digest('hex').slice(0, 16);
}

/**
 * Decides where a new cluster of `home` goes, creating that directory (and
 * recording the pointer when it is not the home). Safe to run from two
 * commands at once: both arrive at the same directory and the same pointer.
 */
export async function prepareClusterHome(homeInput: string, user: ServerUser, bases = defaultRelocationBases()): Promise<ClusterLocation> {
  const home = path.resolve(homeInput);
  await fs.mkdir(home, { recursive: true });
  const found = locateCluster(home);
  if (found.relocated || user.uid === undefined) return found;
  const blocked = firstUnreachableDir(home, user);
  if (blocked === null) return found;
  const id = clusterIdOf(home);
  for (const base of bases) {
    const clusterHome = await usableClusterDir(base, id, user);
    if (clusterHome === null) continue;
    await writePointer(home, clusterHome, blocked);
    return { home, clusterHome, relocated: true };
  }
  throw new BookijiError(
    'DEPENDENCY_UNAVAILABLE',
    `the postgres user cannot reach ${blocked}, and none of ${bases.join(', ')} could hold the cluster instead`,
    {
      hint: 'PostgreSQL cannot run as root, so its data must sit where the postgres user can reach it: set BOOKIJI_HOME to such a directory (e.g. /var/tmp/bookiji-home).',
    },
  );
}

/** Whether `base` exists or can be made as root's, not group- or world-writable, and reachable by `user`. */
async function isTrustedBase(base: string, user: ServerUser): Promise<boolean> {
  await fs.mkdir(base, { recursive: true, mode: 0o755 });
  const stat = await fs.stat(base);
  return stat.isDirectory() && stat.uid === 0 && (stat.mode & 0o022) === 0 && firstUnreachableDir(base, user) === null;
}

/** `<base>/<id>`, owned by the server user with mode 700, or null when `base` cannot safely hold it. */
async function usableClusterDir(base: string, id: string, user: ServerUser): Promise<string | null> {
  try {
    if (!(await isTrustedBase(base, user))) return null;
    const dir = path.join(base, id);
    await fs.mkdir(dir, { mode: 0o700 }).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'EEXIST') throw error;
    });
    const stat = await fs.lstat(dir);
    if (!stat.isDirectory() || (stat.uid !== 0 && stat.uid !== user.uid) || (stat.mode & 0o077) !== 0) return null;
    await fs.chown(dir, user.uid!, user.gid ?? user.uid!);
    return dir;
  } catch {
    return null;
  }
}

async function writePointer(home: string, clusterHome: string, blocked: string): Promise<void> {
  const body = {
    clusterHome,
    home: realpathSync(home),
    why: `the postgres user (the server cannot run as root) cannot reach ${blocked}`,
  };
  const temp = path.join(home, `${POINTER_FILE}.${process.pid}-${randomBytes(4).toString('hex')}`);
  await fs.writeFile(temp, `${JSON.stringify(body, null, 2)}\n`, { mode: 0o644 });
  // Atomic: racing commands each rename an identical file into place.
  await fs.rename(temp, path.join(home, POINTER_FILE));
}

export interface ServerBinaries {
  initdb: string;
  pg_ctl: string;
  postgres: string;
}

/**
 * The server's binaries where `user` can run them. They ship inside
 * node_modules, which under /root the postgres user cannot reach either; then
 * the package's native tree (bin, lib, share: 60 MB) is copied once per
 * installed version into the first trusted base, root's and read-only to
 * others, and shared by every cluster.
 */
export async function reachableBinaries(binaries: ServerBinaries, user: ServerUser, bases = defaultRelocationBases()): Promise<ServerBinaries> {
  const binDir = path.dirname(binaries.postgres);
  if (firstUnreachableDir(binDir, user) === null) return binaries;
  const nativeDir = path.dirname(binDir);
  const stat = statSync(binaries.postgres);
  const id = createHash('sha256')
    .update(`${realpathSync(nativeDir)}\n${stat.size}\n${stat.mtimeMs}`)
    .digest('hex')
    .slice(0, 16);
  for (const base of bases) {
    const copy = await installedCopy(base, `postgres-${id}`, nativeDir, user).catch(() => null);
    if (copy === null) continue;
    const at = (file: string) => path.join(copy, path.basename(binDir), path.basename(file));
    return { initdb: at(binaries.initdb), pg_ctl: at(binaries.pg_ctl), postgres: at(binaries.postgres) };
  }
  throw new BookijiError(
    'DEPENDENCY_UNAVAILABLE',
    `the postgres user cannot run the server binaries in ${binDir}, and none of ${bases.join(', ')} could hold a copy`,
    {
      hint: 'Install the project where the postgres user can reach it, or set DATABASE_URL to a PostgreSQL server of your own.',
    },
  );
}

async function installedCopy(base: string, name: string, source: string, user: ServerUser): Promise<string | null> {
  if (!(await isTrustedBase(base, user))) return null;
  const target = path.join(base, name);
  if (existsSync(path.join(target, 'bin', 'postgres'))) return target;
  // Copied aside, then renamed: a command never sees half a copy, and of two
  // racing copies one is renamed into place and the other discarded.
  const temp = path.join(base, `.${name}.${process.pid}-${randomBytes(4).toString('hex')}`);
  await fs.cp(source, temp, { recursive: true, verbatimSymlinks: true });
  await fs.chmod(temp, 0o755);
  try {
    await fs.rename(temp, target);
  } catch {
    await fs.rm(temp, { recursive: true, force: true });
    if (!existsSync(path.join(target, 'bin', 'postgres'))) return null;
  }
  return target;
}
