// `bookiji serve` as a process: no request, however malformed, ends it
// (issue 12 item 1: one GET /v1/bookings/%ZZ used to stop the server).

import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { makeVendor } from '../helpers/fixtures.js';
import { buildDist } from './build.js';
import { call, makePartner } from './helpers.js';

let db: TestDatabase;
let serve: ChildProcess;
let url: string;
let exited: Promise<number | null>;

/** Starts `bookiji serve --port 0` and resolves with the URL of its "listening" line. */
function startServe(): Promise<string> {
  serve = spawn(process.execPath, ['bin/bookiji', 'serve', '--port', '0', '--no-outbox'], {
    env: { ...process.env, DATABASE_URL: db.connectionString, NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  exited = new Promise((resolve) => serve.once('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: serve.stdout! });
    lines.on('line', (line) => {
      const parsed = JSON.parse(line) as { msg?: string; url?: string };
      if (parsed.msg === 'listening' && parsed.url) resolve(parsed.url);
    });
    void exited.then((code) => reject(new Error(`bookiji serve exited with ${code} before listening`)));
  });
}

beforeAll(async () => {
  buildDist();
  db = await createTestDatabase();
  url = await startServe();
}, 180_000);

afterAll(async () => {
  if (serve.exitCode === null) serve.kill('SIGTERM');
  await exited;
  await db.drop();
});

describe('bookiji serve under malformed requests', () => {
  it('answers every malformed URL with a coded 400 and still serves the next good request', async () => {
    // Proves the process survives the requests that used to end it, and answers them in the taxonomy's shape.
    for (const path of ['/v1/bookings/%ZZ', '/v1/vendors/%E0/availability', '/v1/bookings/%ZZ/cancel', '/%', '/v1/reservations/%FF%FE']) {
      const response = await call(url, path.endsWith('cancel') ? 'POST' : 'GET', path);
      expect(response.status, `${path}: ${response.text}`).toBe(400);
      expect(response.body.error).toMatchObject({ code: 'VALIDATION_ERROR', field: 'path', retryable: false });
    }
    expect(serve.exitCode).toBeNull();
    const partner = await makePartner(db.pool, 'serve-process');
    const vendor = await makeVendor(db.pool);
    const good = await call(url, 'GET', `/v1/vendors/${vendor.id}/availability?startTime=2030-01-01T00:00:00Z&endTime=2030-01-02T00:00:00Z`, {
      key: partner.key,
    });
    expect(good.status, good.text).toBe(200);
    expect((await call(url, 'GET', '/healthz')).status).toBe(200);
  });

  it('stops cleanly on SIGTERM', async () => {
    // Proves the signal path still closes the server and the database (exit code 0).
    serve.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});
