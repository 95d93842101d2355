// SC-6, degraded reality: passes on the shipped engine with a real `serve`
// process killed, paused and restarted, backends killed and a faulty
// provider; reports a violation when reconcile does not recover.

import { describe, expect, it } from 'vitest';
import { formatSnapshot, runScenario } from '../../src/simcity/index.js';
import { expectShippedEnginePasses } from './exercised.js';
import { scenarioDatabases } from './scenarioDatabases.js';
import { buildDist } from '../api/build.js';
import { RECONCILE_FORGETS_HOLDS_SQL } from './unsafeEngine.js';

const simulation = scenarioDatabases();

describe('SC-6 degraded reality', () => {
  it('passes on the real engine: kills mid-transaction, a crash between payment steps, serve killed and paused, reconcile recovers', async () => {
    // Proves the shipped engine loses nothing acknowledged, keeps nothing killed, fails explicitly and recovers by reconcile.
    buildDist();
    const db = await simulation();
    const result = await expectShippedEnginePasses('SC-6', db.connectionString, {
      iterations: 2,
      mustReach: ['I1', 'I3', 'I4', 'I9', 'partner-webhook-delivery'],
    });
    const opening = (kind: string): Array<Record<string, unknown> | undefined> =>
      result.historyTail.filter((e) => e.action === kind && e.type === 'ok').map((e) => e.value);
    expect(opening('kill_waiting_claims').map((v) => v!.codes)).toEqual([
      'DEPENDENCY_UNAVAILABLE,DEPENDENCY_UNAVAILABLE,DEPENDENCY_UNAVAILABLE',
      'DEPENDENCY_UNAVAILABLE,DEPENDENCY_UNAVAILABLE,DEPENDENCY_UNAVAILABLE',
    ]);
    expect(opening('kill_before_commit').map((v) => v!.killed)).toEqual([3, 3]);
    expect(opening('orphaned_holds_kill_serve').map((v) => v!.holds)).toEqual([3, 3]);
    expect(result.stats.faults).toBeGreaterThan(8);
  });

  it('fails against a reconcile that never releases the holds a dead process left', async () => {
    // Proves SC-6 meets "reconcile recovers": orphaned holds past their TTL must be released by reconcile.
    buildDist();
    const db = await simulation();
    await db.pool.query(RECONCILE_FORGETS_HOLDS_SQL);
    const result = await runScenario({ scenarioId: 'SC-6', seed: 'broken-1', iterations: 2, connectionString: db.connectionString, commit: 'test' });
    expect(result.verdict).toBe('violation');
    expect(result.violations.map((v) => v.oracle)).toEqual(expect.arrayContaining(['reconcile-recovers']));
    expect(result.violations[0]!.iteration).toBe(0);
    expect(formatSnapshot(result.forensicSnapshot!)).toContain('FORENSIC SNAPSHOT — SC-6');
  });
});
