// SC-5's limiter-store-down opening meets its danger: on the shipped limiter
// a request whose counter store is cut off is refused 503; with a limiter
// swapped in (by this test's module fixture, never a switch in shipped code)
// that lets requests through when its store fails, SC-5 reports
// limiter-fails-closed.

import { describe, expect, it, vi } from 'vitest';
import { runScenario } from '../../src/simcity/index.js';
import { abuseProbing } from '../../src/simcity/drivers/abuseProbing.js';
import { scenarioDatabases } from './scenarioDatabases.js';

const fixture = vi.hoisted(() => ({ failOpen: false }));

vi.mock('../../src/api/rateLimit.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../src/api/rateLimit.js')>();
  return {
    ...real,
    // The mutant: a store that cannot answer lets the request through with a full budget.
    postgresRateLimiter: (...[pool, settings = real.RATE_LIMIT_DEFAULTS]: Parameters<typeof real.postgresRateLimiter>) => {
      const limiter = real.postgresRateLimiter(pool, settings);
      return {
        take: (keyId: string) =>
          limiter.take(keyId).catch((error: unknown) => {
            if (!fixture.failOpen) throw error;
            return { allowed: true, limit: settings.requestsPerWindowMax, remaining: settings.requestsPerWindowMax, retryAfterSeconds: 0 };
          }),
      };
    },
  };
});

const newDatabase = scenarioDatabases();

describe('SC-5 rate limiter store down', () => {
  it('passes on the shipped limiter, the opening counted as exercising I6', async () => {
    fixture.failOpen = false;
    const db = await newDatabase({ simulation: false });
    const result = await runScenario({
      scenarioId: 'SC-5',
      seed: 'pr-1',
      iterations: 1,
      connectionString: db.connectionString,
      commit: 'test',
      lastActionsMax: 10_000,
    });
    expect(result.violations, JSON.stringify(result.violations).slice(0, 2000)).toEqual([]);
    const openings = result.historyTail.filter((e) => e.action === 'limiter_store_down' && e.type === 'ok');
    expect(openings).toHaveLength(1);
    expect(openings[0]!.value).toMatchObject({ status: 503, code: 'DEPENDENCY_UNAVAILABLE', terminated: 1 });
    expect(abuseProbing.exercised!(openings[0]!, {} as never)).toEqual(['I6']);
  });

  it('reports limiter-fails-closed when the limiter lets requests through without its store', async () => {
    fixture.failOpen = true;
    const db = await newDatabase({ simulation: false });
    const result = await runScenario({ scenarioId: 'SC-5', seed: 'limiter-broken', iterations: 1, connectionString: db.connectionString, commit: 'test' });
    expect(result.verdict).toBe('violation');
    expect(result.violations.map((v) => v.oracle)).toContain('limiter-fails-closed');
  });
});
