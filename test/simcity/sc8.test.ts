// SC-8, soak and time decay: days of simulated time pass on the shipped
// engine with no drift and no build-up; a reconcile that stops releasing
// holds is reported as a build-up.

import { describe, expect, it } from 'vitest';
import { formatSnapshot, runScenario } from '../../src/simcity/index.js';
import { expectShippedEnginePasses } from './exercised.js';
import { scenarioDatabases } from './scenarioDatabases.js';
import { RECONCILE_FORGETS_HOLDS_SQL } from './unsafeEngine.js';

const simulation = scenarioDatabases();

describe('SC-8 soak and time decay', () => {
  it('passes on the real engine over four simulated days: same answers, no holds left, schedule steady', async () => {
    // Proves the shipped engine does not drift or build up as days pass and reconcile runs nightly.
    const db = await simulation();
    const result = await expectShippedEnginePasses('SC-8', db.connectionString, { iterations: 4, mustReach: ['I1', 'I3', 'I4', 'I5', 'I9'] });
    const nights = result.historyTail.filter((e) => e.action === 'nightly' && e.type === 'ok');
    expect(nights).toHaveLength(4);
    // Holds were placed and released: the nightly reconcile met expired holds.
    expect(nights.reduce((sum, e) => sum + Number(e.value!.released), 0)).toBeGreaterThan(0);
    const probes = result.historyTail.filter((e) => e.action === 'probe' && e.type === 'ok').map((e) => e.value!.answers);
    expect(new Set(probes).size).toBe(1);
  });

  it('fails against a reconcile that never releases expired holds', async () => {
    // Proves SC-8's build-up oracle meets the danger: holds piling up night after night.
    const db = await simulation();
    await db.pool.query(RECONCILE_FORGETS_HOLDS_SQL);
    const result = await runScenario({ scenarioId: 'SC-8', seed: 'broken-1', iterations: 4, connectionString: db.connectionString, commit: 'test' });
    expect(result.verdict).toBe('violation');
    expect(result.violations.map((v) => v.oracle)).toEqual(expect.arrayContaining(['no-build-up']));
    expect(formatSnapshot(result.forensicSnapshot!)).toContain('FORENSIC SNAPSHOT — SC-8');
  });
});
