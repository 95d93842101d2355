// The embedded server: two commands starting it at once share one server,
// a server killed hard (stale postmaster.pid) comes back on the next command,
// and stop/status report the truth.

import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { connectionStringFor } from '../../src/db/database.js';
import { dataDirOf, destroyEmbeddedServer, embeddedServerStatus, ensureEmbeddedServer, stopEmbeddedServer } from '../../src/db/embeddedServer.js';

describe('embedded server', () => {
  const home = path.join(mkdtempSync(path.join(os.tmpdir(), 'bookiji-embedded-')), 'home');
  chmodSync(path.dirname(home), 0o755);
  afterAll(async () => {
    await destroyEmbeddedServer(home);
    rmSync(path.dirname(home), { recursive: true, force: true });
  });

  async function serverPid(): Promise<number> {
    const status = await embeddedServerStatus(home);
    return status.pid!;
  }

  it('proves three concurrent first starts initialise one cluster and share one running server', async () => {
    const results = await Promise.all([1, 2, 3].map(() => ensureEmbeddedServer({ home, disposable: true })));
    expect(new Set(results.map((r) => `${r.port}:${r.password}`)).size).toBe(1);
    const client = new pg.Client({ connectionString: connectionStringFor(results[0]!, 'postgres') });
    await client.connect();
    expect((await client.query('SELECT 1 AS one')).rows[0].one).toBe(1);
    await client.end();
    expect((await embeddedServerStatus(home)).running).toBe(true);
  });

  it('proves a server killed with SIGKILL (leaving a stale postmaster.pid) is started again by the next command', async () => {
    const pid = await serverPid();
    process.kill(pid, 'SIGKILL');
    // Wait for the postmaster to die; its children exit when it goes.
    for (let i = 0; i < 100; i++) {
      try {
        process.kill(pid, 0);
        await new Promise((resolve) => setTimeout(resolve, 50));
      } catch {
        break;
      }
    }
    expect(readFileSync(path.join(dataDirOf(home), 'postmaster.pid'), 'utf8').split('\n')[0]).toBe(String(pid));
    // Orphaned backends may still hold the shared memory for a moment.
    execFileSync('sh', ['-c', `for i in $(seq 1 50); do pgrep -f "${dataDirOf(home)}" >/dev/null || exit 0; sleep 0.1; done; exit 0`]);
    const credentials = await ensureEmbeddedServer({ home, disposable: true });
    const client = new pg.Client({ connectionString: connectionStringFor(credentials, 'postgres') });
    await client.connect();
    await client.end();
    expect(await serverPid()).not.toBe(pid);
  });

  it('proves stop stops it and status says so', async () => {
    expect(await stopEmbeddedServer(home)).toBe(true);
    const status = await embeddedServerStatus(home);
    expect(status.running).toBe(false);
    expect(status.initialised).toBe(true);
  });
});
