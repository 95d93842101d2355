// SC-5, abuse and probing over HTTP: passes on the shipped engine and API,
// and reports a violation on an engine that confirms on the client's word
// and on one whose confirm lost its payment check.

import { describe, expect, it } from 'vitest';
import { formatSnapshot, runScenario } from '../../src/simcity/index.js';
import { expectShippedEnginePasses } from './exercised.js';
import { scenarioDatabases } from './scenarioDatabases.js';
import { CLIENT_WORD_CONFIRM_SQL, installConfirmWithoutPaymentCheck } from './unsafeEngine.js';

const newDatabase = scenarioDatabases();
const database = (): ReturnType<typeof newDatabase> => newDatabase({ simulation: false });

describe('SC-5 abuse and probing over HTTP', () => {
  it('passes on the real engine: every attack refused with a code, nothing written, the server up', async () => {
    // Proves the shipped API refuses repeats, floods, fee bypass, foreign ids, probes and malformed input at every layer.
    const db = await database();
    const result = await expectShippedEnginePasses('SC-5', db.connectionString, { iterations: 2, mustReach: ['I6', 'I4', 'I10', 'privacy'] });
    const layers = new Set(result.historyTail.filter((e) => e.action === 'malformed' && e.type === 'ok').map((e) => e.args.layer));
    expect(layers.size).toBe(11);
    expect(result.stats.requestsByPath.http).toBeGreaterThan(30);
  });

  it('gives the same digest for the same seed', async () => {
    // Proves the seed fixes the attacks, fast-check's inputs included.
    const db = await database();
    const first = await runScenario({ scenarioId: 'SC-5', seed: 'same', iterations: 1, connectionString: db.connectionString, commit: 'test' });
    const again = await runScenario({ scenarioId: 'SC-5', seed: 'same', iterations: 1, connectionString: db.connectionString, commit: 'test' });
    expect(again.digest).toBe(first.digest);
  });

  it("fails against an engine that confirms a card hold on the client's word (fee bypass)", async () => {
    // Proves SC-5's fee-bypass opening meets the danger: a confirm without payment that succeeds is caught.
    const db = await database();
    await db.pool.query(CLIENT_WORD_CONFIRM_SQL);
    const result = await runScenario({ scenarioId: 'SC-5', seed: 'broken-1', iterations: 2, connectionString: db.connectionString, commit: 'test' });
    expect(result.verdict).toBe('violation');
    expect(result.violations.map((v) => v.oracle)).toEqual(expect.arrayContaining(['coded-refusal']));
    expect(result.violations[0]!.iteration).toBe(0);
    expect(formatSnapshot(result.forensicSnapshot!)).toContain('FORENSIC SNAPSHOT — SC-5');
  });

  it('fails against an engine whose confirm lost its payment check (a constraint refuses with another code)', async () => {
    // Proves SC-5's fee-bypass opening tells the engine's payment check from the constraint behind it: PAYMENT_REQUIRED or a violation.
    const db = await database();
    await installConfirmWithoutPaymentCheck(db.pool);
    const result = await runScenario({ scenarioId: 'SC-5', seed: 'broken-2', iterations: 1, connectionString: db.connectionString, commit: 'test' });
    expect(result.verdict).toBe('violation');
    expect(result.violations.map((v) => v.oracle)).toContain('confirmed-needs-verified-payment');
    expect(result.violations[0]!.iteration).toBe(0);
  });
});
