// Rate limiting per API key over HTTP: 429 with Retry-After, one budget shared by several servers, exact under concurrency, fail closed.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pruneRateWindows } from '../../src/api/rateLimit.js';
import { createPool } from '../../src/db/pool.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { makeVendor, race } from '../helpers/fixtures.js';
import { failOpenLimiter } from './fixtures/failOpenLimiter.js';
import { racyLimiter } from './fixtures/racyLimiter.js';
import { call, makePartner, startTestApi, type TestApi } from './helpers.js';

let db: TestDatabase;
let vendorPath: string;
const started: TestApi[] = [];

async function server(options: Parameters<typeof startTestApi>[1]): Promise<string> {
  const api = await startTestApi(db.pool, options);
  started.push(api);
  return api.server.url;
}

beforeAll(async () => {
  db = await createTestDatabase();
  const vendor = await makeVendor(db.pool);
  vendorPath = `/v1/vendors/${vendor.id}/availability?startTime=2030-01-01T00:00:00Z&endTime=2030-01-02T00:00:00Z`;
});

afterAll(async () => {
  for (const api of started) await api.server.close();
  await db.drop();
});

// Windows are fixed and aligned to the epoch (rate_limit_take), so an hour-long
// window turns over at every full hour, and a burst sent at 06:00:00 UTC was
// split across two budgets (seen once in a full run). Ten years: the next
// boundary is in December 2029, and none falls inside a test run before then.
const WINDOW_SECONDS = 10 * 365 * 24 * 3600;

/** Throws unless a request through `url` is refused with 503 DEPENDENCY_UNAVAILABLE. */
async function expectFailsClosed(url: string, key: string): Promise<void> {
  const response = await call(url, 'GET', vendorPath, { key });
  if (response.status !== 503 || response.body?.error?.code !== 'DEPENDENCY_UNAVAILABLE' || response.body.error.retryable !== true) {
    throw new Error(`limiter store unreachable but the request got ${response.status} ${response.text}`);
  }
}

describe('rate limiting', () => {
  it('answers 429 RATE_LIMITED with Retry-After once a key spends its budget, and other keys are unaffected', async () => {
    // Proves the per-key budget, the retryable error and the Retry-After header.
    const url = await server({ rateLimit: { requestsPerWindowMax: 3, windowSeconds: WINDOW_SECONDS } });
    const partner = await makePartner(db.pool, 'rl');
    const other = await makePartner(db.pool, 'rl-other');
    for (let i = 0; i < 3; i++) expect((await call(url, 'GET', vendorPath, { key: partner.key })).status).toBe(200);
    const refused = await call(url, 'GET', vendorPath, { key: partner.key });
    expect(refused.status).toBe(429);
    expect(refused.body.error).toMatchObject({ code: 'RATE_LIMITED', retryable: true });
    const retryAfter = Number(refused.headers.get('retry-after'));
    expect(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= WINDOW_SECONDS).toBe(true);
    expect((await call(url, 'GET', vendorPath, { key: other.key })).status).toBe(200);
  });

  it('shares one budget between two servers with their own connection pools', async () => {
    // Proves the counter lives in PostgreSQL, not in a process.
    const settings = { requestsPerWindowMax: 4, windowSeconds: WINDOW_SECONDS };
    const secondPool = createPool({ connectionString: db.connectionString, max: 4 });
    try {
      const first = await server({ rateLimit: settings });
      const secondApi = await startTestApi(secondPool, { rateLimit: settings });
      try {
        const partner = await makePartner(db.pool, 'shared');
        const statuses: number[] = [];
        for (const url of [first, secondApi.server.url, first, secondApi.server.url, first, secondApi.server.url]) {
          statuses.push((await call(url, 'GET', vendorPath, { key: partner.key })).status);
        }
        expect(statuses).toEqual([200, 200, 200, 200, 429, 429]);
      } finally {
        await secondApi.server.close();
      }
    } finally {
      await secondPool.end();
    }
  });

  /** Sends 25 requests together; returns how many got 200 and how many 429. */
  async function burst(url: string, key: string): Promise<{ allowed: number; refused: number }> {
    const results = await race(25, () => call(url, 'GET', vendorPath, { key }));
    const statuses = results.map((r) => (r.status === 'fulfilled' ? r.value.status : 0));
    return { allowed: statuses.filter((s) => s === 200).length, refused: statuses.filter((s) => s === 429).length };
  }

  it('lets exactly the budget through when requests arrive together', async () => {
    // Proves the counter is atomic under real parallel requests.
    const url = await server({ rateLimit: { requestsPerWindowMax: 10, windowSeconds: WINDOW_SECONDS } });
    const partner = await makePartner(db.pool, 'burst');
    expect(await burst(url, partner.key)).toEqual({ allowed: 10, refused: 15 });
  });

  it('twin: the burst check catches a read-then-write counter', async () => {
    // Proves the exact-budget check is not vacuous: a racy limiter (test fixture) lets every request through.
    const settings = { requestsPerWindowMax: 10, windowSeconds: WINDOW_SECONDS };
    const url = await server({ rateLimiter: racyLimiter(db.pool, settings, 25) });
    const partner = await makePartner(db.pool, 'racy');
    expect(await burst(url, partner.key)).not.toEqual({ allowed: 10, refused: 15 });
  });

  it('answers 503 DEPENDENCY_UNAVAILABLE when the database itself is unreachable, and /healthz says so', async () => {
    // Proves an outage is an explicit, retryable failure at every door, never a 500 or a hang.
    const deadPool = createPool({ connectionString: 'postgres://nobody:nothing@127.0.0.1:1/none', max: 1, connectionTimeoutMs: 1000 });
    try {
      const api = await startTestApi(deadPool);
      started.push(api);
      const partner = await makePartner(db.pool, 'outage');
      const refused = await call(api.server.url, 'GET', vendorPath, { key: partner.key });
      expect(refused.status).toBe(503);
      expect(refused.body.error).toMatchObject({ code: 'DEPENDENCY_UNAVAILABLE', retryable: true });
      expect(refused.headers.get('retry-after')).toBe('1');
      const health = await call(api.server.url, 'GET', '/healthz');
      expect(health.status).toBe(503);
      expect(health.body).toEqual({ status: 'degraded', database: 'unreachable' });
    } finally {
      await deadPool.end();
    }
  });

  it('prunes windows older than two windows and keeps the current one', async () => {
    // Proves the counter table does not grow without bound.
    const partner = await makePartner(db.pool, 'prune');
    await db.pool.query(
      `INSERT INTO api_rate_windows (api_key_id, window_start, hits) VALUES ($1, clock_timestamp() - interval '3 hours', 5), ($1, clock_timestamp(), 1)`,
      [partner.id],
    );
    // An hour-long window: the row three hours old is past two windows, the current one is not.
    await pruneRateWindows(db.pool, 3600);
    const left = await db.pool.query('SELECT hits FROM api_rate_windows WHERE api_key_id = $1', [partner.id]);
    expect(left.rows).toEqual([{ hits: 1 }]);
  });

  it("fails closed: with the limiter's store unreachable every request is 503 DEPENDENCY_UNAVAILABLE", async () => {
    // Proves an unreachable limiter store refuses requests instead of letting them through.
    const deadPool = createPool({ connectionString: 'postgres://nobody:nothing@127.0.0.1:1/none', max: 1, connectionTimeoutMs: 1000 });
    try {
      const { postgresRateLimiter } = await import('../../src/api/rateLimit.js');
      const url = await server({ rateLimiter: postgresRateLimiter(deadPool, { requestsPerWindowMax: 100, windowSeconds: WINDOW_SECONDS }) });
      const partner = await makePartner(db.pool, 'closed');
      await expectFailsClosed(url, partner.key);
    } finally {
      await deadPool.end();
    }
  });

  it('twin: the fail-closed check catches a limiter that fails open', async () => {
    // Proves expectFailsClosed is not vacuous: a fail-open limiter (test fixture) is caught.
    const deadPool = createPool({ connectionString: 'postgres://nobody:nothing@127.0.0.1:1/none', max: 1, connectionTimeoutMs: 1000 });
    try {
      const url = await server({ rateLimiter: failOpenLimiter(deadPool, { requestsPerWindowMax: 100, windowSeconds: WINDOW_SECONDS }) });
      const partner = await makePartner(db.pool, 'open');
      await expect(expectFailsClosed(url, partner.key)).rejects.toThrow(/got 200/);
    } finally {
      await deadPool.end();
    }
  });
});
