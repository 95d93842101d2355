// SC-6's partner-receiver-down opening meets its danger: on the shipped
// outbox an event whose receiver answered 500 stays due and is delivered once
// the receiver is up; with a dispatcher swapped in (by this test's module
// fixture, never a switch in shipped code) that marks failed deliveries
// delivered, SC-6 reports outbox-keeps-failed-due.

import { describe, expect, it, vi } from 'vitest';
import { runScenario } from '../../src/simcity/index.js';
import { degradedReality } from '../../src/simcity/drivers/degradedReality.js';
import { buildDist } from '../api/build.js';
import { scenarioDatabases } from './scenarioDatabases.js';

const fixture = vi.hoisted(() => ({ markFailedDelivered: false }));

vi.mock('../../src/api/webhookOutbox.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../src/api/webhookOutbox.js')>();
  return {
    ...real,
    // The mutant: after each pass, every event whose attempt failed is marked delivered anyway.
    startOutboxDispatcher: (...[pool, ...rest]: Parameters<typeof real.startOutboxDispatcher>) => {
      const dispatcher = real.startOutboxDispatcher(pool, ...rest);
      const runOnce = dispatcher.runOnce;
      dispatcher.runOnce = async () => {
        const attempted = await runOnce();
        if (fixture.markFailedDelivered)
          await pool.query('UPDATE webhook_outbox SET delivered_at = clock_timestamp() WHERE delivered_at IS NULL AND last_error IS NOT NULL');
        return attempted;
      };
      return dispatcher;
    },
  };
});

const simulation = scenarioDatabases();

describe('SC-6 partner webhook receiver down', () => {
  it('passes on the shipped outbox, the opening counted as exercising partner-webhook-delivery', async () => {
    buildDist();
    fixture.markFailedDelivered = false;
    const db = await simulation();
    const result = await runScenario({
      scenarioId: 'SC-6',
      seed: 'receiver-ok',
      iterations: 1,
      connectionString: db.connectionString,
      commit: 'test',
      lastActionsMax: 10_000,
    });
    expect(result.violations, JSON.stringify(result.violations).slice(0, 2000)).toEqual([]);
    const openings = result.historyTail.filter((e) => e.action === 'partner_receiver_down' && e.type === 'ok');
    expect(openings).toHaveLength(1);
    expect(openings[0]!.value).toMatchObject({ whileDown: { delivered: false, attempts: 1 }, afterUp: { delivered: true }, accepted: 1 });
    expect(degradedReality.exercised!(openings[0]!, {} as never)).toEqual(['partner-webhook-delivery']);
  });

  it('reports outbox-keeps-failed-due when the outbox marks a failed delivery delivered', async () => {
    buildDist();
    fixture.markFailedDelivered = true;
    const db = await simulation();
    const result = await runScenario({ scenarioId: 'SC-6', seed: 'receiver-broken', iterations: 1, connectionString: db.connectionString, commit: 'test' });
    expect(result.verdict).toBe('violation');
    expect(result.violations.map((v) => v.oracle)).toContain('outbox-keeps-failed-due');
  });
});
