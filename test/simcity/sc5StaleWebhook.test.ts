// SC-5's stale-webhook opening meets its danger: on the shipped endpoint a
// correctly signed event an hour old is refused and the fresh control is
// stored; with a webhook handler swapped in (by this test's module fixture,
// never a switch in shipped code) that accepts any signature age, SC-5
// reports webhook-replay-window.

import { describe, expect, it, vi } from 'vitest';
import { runScenario } from '../../src/simcity/index.js';
import { abuseProbing } from '../../src/simcity/drivers/abuseProbing.js';
import { scenarioDatabases } from './scenarioDatabases.js';

const fixture = vi.hoisted(() => ({ acceptAnySignatureAge: false }));

vi.mock('../../src/api/stripeWebhook.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../src/api/stripeWebhook.js')>();
  return {
    ...real,
    // The mutant: a tolerance a thousand times Stripe's, so an hour-old replay verifies.
    handleStripeWebhook: (...[pool, body, headers, config]: Parameters<typeof real.handleStripeWebhook>) =>
      real.handleStripeWebhook(pool, body, headers, fixture.acceptAnySignatureAge ? { ...config, toleranceSeconds: 300_000 } : config),
  };
});

const newDatabase = scenarioDatabases();

describe('SC-5 stale Stripe webhook', () => {
  it('passes on the shipped endpoint, the opening counted as exercising I4', async () => {
    fixture.acceptAnySignatureAge = false;
    const db = await newDatabase({ simulation: false });
    const result = await runScenario({
      scenarioId: 'SC-5',
      seed: 'stale-ok',
      iterations: 1,
      connectionString: db.connectionString,
      commit: 'test',
      lastActionsMax: 10_000,
    });
    expect(result.violations, JSON.stringify(result.violations).slice(0, 2000)).toEqual([]);
    const openings = result.historyTail.filter((e) => e.action === 'stale_webhook' && e.type === 'ok');
    expect(openings).toHaveLength(1);
    expect(openings[0]!.value).toMatchObject({ stale: { status: 401, code: 'UNAUTHORIZED' }, fresh: { status: 200 } });
    expect(abuseProbing.exercised!(openings[0]!, {} as never)).toEqual(['I4']);
  });

  it('reports webhook-replay-window when the endpoint accepts an hour-old signature', async () => {
    fixture.acceptAnySignatureAge = true;
    const db = await newDatabase({ simulation: false });
    const result = await runScenario({ scenarioId: 'SC-5', seed: 'stale-broken', iterations: 1, connectionString: db.connectionString, commit: 'test' });
    expect(result.verdict).toBe('violation');
    expect(result.violations.map((v) => v.oracle)).toContain('webhook-replay-window');
  });
});
