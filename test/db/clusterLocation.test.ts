// Proves a BOOKIJI_HOME the postgres user cannot reach (a checkout under a
// mode-700 directory, the container-as-root case) still gets a cluster: it
// lives in a postgres-owned directory elsewhere, the home records where, two
// first commands racing share it, data survives stop and start, stop and
// status find it, and nothing world-writable is created. The suite runs as
// root (here and in CI), which is the case this covers; as any other user the
// server runs as that user and the cluster stays in the home.
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { connectionStringFor } from '../../src/db/database.js';
import { clusterIdOf, POINTER_FILE, prepareClusterHome, reachableBinaries } from '../../src/db/clusterLocation.js';
import { destroyEmbeddedServer, embeddedServerStatus, ensureEmbeddedServer, stopEmbeddedServer } from '../../src/db/embeddedServer.js';

const asRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const scratch = mkdtempSync(path.join(os.tmpdir(), 'bookiji-location-'));
chmodSync(scratch, 0o755);
// Like /root: private to its owner, so the postgres user cannot pass.
const privateDir = path.join(scratch, 'private');
mkdirSync(privateDir, { mode: 0o700 });
const home = path.join(privateDir, 'checkout', '.bookiji');
// Relocated clusters go under a base of this test's own, not the machine's /var/lib.
const bases = [path.join(scratch, 'bases', 'first'), path.join(scratch, 'bases', 'second')];
mkdirSync(path.join(scratch, 'bases'), { mode: 0o755 });

afterAll(async () => {
  await destroyEmbeddedServer(home).catch(() => undefined);
  rmSync(scratch, { recursive: true, force: true });
});

async function query(sql: string): Promise<pg.QueryResult> {
  const credentials = await ensureEmbeddedServer({ home, disposable: true, relocationBases: bases });
  const client = new pg.Client({ connectionString: connectionStringFor(credentials, 'postgres') });
  await client.connect();
  try {
    return await client.query(sql);
  } finally {
    await client.end();
  }
}

function worldWritable(dir: string): string[] {
  const out = execFileSync('find', [dir, '-perm', '-o+w', '!', '-type', 'l'], { encoding: 'utf8' }).trim();
  return out ? out.split('\n') : [];
}

describe('a home the server user cannot reach', () => {
  it('keeps the cluster where postgres can reach it, shared by racing first commands, data kept across stop and start', async () => {
    const first = await Promise.all([1, 2].map(() => ensureEmbeddedServer({ home, disposable: true, relocationBases: bases })));
    expect(new Set(first.map((c) => `${c.port}:${c.password}`)).size).toBe(1);
    const status = await embeddedServerStatus(home);
    expect(status.running).toBe(true);
    if (!asRoot) {
      expect(status).toMatchObject({ relocated: false, dataDir: path.join(home, 'pgdata') });
      return;
    }
    const clusterHome = path.join(bases[0]!, clusterIdOf(home));
    expect(status).toMatchObject({ relocated: true, home, dataDir: path.join(clusterHome, 'pgdata'), pointerFile: path.join(home, POINTER_FILE) });
    expect(JSON.parse(readFileSync(path.join(home, POINTER_FILE), 'utf8'))).toMatchObject({ clusterHome });
    const postgresUid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    expect(statSync(clusterHome)).toMatchObject({ uid: postgresUid });
    expect(statSync(clusterHome).mode & 0o777).toBe(0o700);
    expect(statSync(bases[0]!).mode & 0o777).toBe(0o755);
    expect([...worldWritable(bases[0]!), ...worldWritable(home)]).toEqual([]);

    await query('CREATE TABLE kept (note text); INSERT INTO kept VALUES ($$across stop and start$$)');
    expect(await stopEmbeddedServer(home)).toBe(true);
    expect(await embeddedServerStatus(home)).toMatchObject({ running: false, initialised: true, relocated: true });
    expect((await query('SELECT note FROM kept')).rows).toEqual([{ note: 'across stop and start' }]);

    await destroyEmbeddedServer(home);
    expect(existsSync(clusterHome)).toBe(false);
    expect(existsSync(path.join(home, POINTER_FILE))).toBe(false);
  });

  it('passes over a base it cannot trust (world-writable) for the next one', async () => {
    const otherHome = path.join(privateDir, 'other', '.bookiji');
    const untrusted = path.join(scratch, 'untrusted');
    mkdirSync(untrusted, { mode: 0o777 });
    chmodSync(untrusted, 0o777);
    const user = asRoot
      ? { uid: Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' })), gid: Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' })) }
      : {};
    const location = await prepareClusterHome(otherHome, user, [untrusted, bases[1]!]);
    if (!asRoot) {
      expect(location).toMatchObject({ relocated: false, clusterHome: otherHome });
      return;
    }
    expect(location).toEqual({ home: otherHome, clusterHome: path.join(bases[1]!, clusterIdOf(otherHome)), relocated: true });
    expect(existsSync(path.join(untrusted, clusterIdOf(otherHome)))).toBe(false);
    // And a pointer already there wins over any new decision: the data is found again.
    expect(await prepareClusterHome(otherHome, user, [bases[0]!])).toEqual(location);
  });

  // Proves binaries installed where postgres cannot reach them (node_modules under /root) are copied once, whole, to a trusted base, links kept, and reused.
  it('copies unreachable server binaries once to a trusted base and runs them from there', async () => {
    const native = path.join(privateDir, 'node_modules', 'native');
    mkdirSync(path.join(native, 'bin'), { recursive: true });
    mkdirSync(path.join(native, 'lib'), { recursive: true });
    for (const name of ['initdb', 'pg_ctl', 'postgres']) writeFileSync(path.join(native, 'bin', name), '#!/bin/sh\n', { mode: 0o755 });
    writeFileSync(path.join(native, 'lib', 'libpq.so.5.17'), 'lib');
    symlinkSync('libpq.so.5.17', path.join(native, 'lib', 'libpq.so.5'));
    const shipped = { initdb: path.join(native, 'bin', 'initdb'), pg_ctl: path.join(native, 'bin', 'pg_ctl'), postgres: path.join(native, 'bin', 'postgres') };
    const user = asRoot
      ? { uid: Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' })), gid: Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' })) }
      : {};
    const runnable = await reachableBinaries(shipped, user, [bases[1]!]);
    if (!asRoot) {
      expect(runnable).toEqual(shipped);
      return;
    }
    const copy = path.dirname(path.dirname(runnable.postgres));
    expect(path.dirname(copy)).toBe(bases[1]);
    expect(readFileSync(runnable.initdb, 'utf8')).toBe('#!/bin/sh\n');
    expect(statSync(runnable.pg_ctl).mode & 0o777).toBe(0o755);
    expect(lstatSync(path.join(copy, 'lib', 'libpq.so.5')).isSymbolicLink()).toBe(true);
    expect(readlinkSync(path.join(copy, 'lib', 'libpq.so.5'))).toBe('libpq.so.5.17');
    expect(worldWritable(bases[1]!)).toEqual([]);
    expect(await reachableBinaries(shipped, user, [bases[1]!])).toEqual(runnable);
  });
});
