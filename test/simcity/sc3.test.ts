// SC-3, time hostility and clock skew: passes on the shipped engine, and
// reports a violation on an engine that books into the past or lets an
// expired hold block a claim. The skewed hosts are real child processes whose
// wall clock is shifted by a preload (src/simcity/skewClock.ts).

import { execFileSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { mutantNamed } from '../../src/certify/mutants/index.js';
import { formatSnapshot, runScenario } from '../../src/simcity/index.js';
import { SKEW_CLOCK_MODULE } from '../../src/simcity/servedProcess.js';
import { expectShippedEnginePasses } from './exercised.js';
import { scenarioDatabases } from './scenarioDatabases.js';
import { buildDist } from '../api/build.js';
import { installClaimIntoThePast, installExpiredHoldBlocks } from './unsafeEngine.js';

const simulation = scenarioDatabases();

describe('SC-3 time hostility and clock skew', () => {
  it("skews a child process's wall clock by the offset asked, and only when asked", () => {
    // Proves the skew is real: a child started with the preload reads a clock ten minutes behind; without the offset it reads ours.
    buildDist();
    const childNow = (skewSeconds: string): number => {
      const env = { ...process.env, BOOKIJI_CLOCK_SKEW_SECONDS: skewSeconds, NODE_OPTIONS: `--import ${pathToFileURL(SKEW_CLOCK_MODULE).href}` };
      return Number(
        execFileSync(process.execPath, ['-e', 'process.stdout.write(String(Math.max(Date.now(), new Date().getTime())))'], { env, encoding: 'utf8' }),
      );
    };
    expect(Math.round((childNow('-600') - Date.now()) / 60_000)).toBe(-10);
    expect(Math.abs(childNow('0') - Date.now())).toBeLessThan(60_000);
  });

  it('passes on the real engine, reaching the past-slot and expired-hold states every iteration, with skewed hosts', async () => {
    // Proves the shipped engine refuses the past at and around the NOW boundary, frees expired holds, and ignores the host's clock.
    buildDist();
    const db = await simulation();
    const result = await expectShippedEnginePasses('SC-3', db.connectionString, { iterations: 2, mustReach: ['I5', 'I9'] });
    const openings = result.historyTail.filter((e) => e.type === 'ok' && e.process === 'nemesis');
    const pastClaims = openings.filter((e) => e.action === 'past_claims').map((e) => e.value);
    expect(pastClaims).toEqual([
      { book: 'PAST_SLOT', hold: 'PAST_SLOT', reschedule: 'PAST_SLOT' },
      { book: 'PAST_SLOT', hold: 'PAST_SLOT', reschedule: 'PAST_SLOT' },
    ]);
    expect(openings.filter((e) => e.action === 'now_boundary').map((e) => e.value)).toEqual([
      { N0: 'PAST_SLOT', N1: 'PAST_SLOT' },
      { N0: 'PAST_SLOT', N1: 'PAST_SLOT' },
    ]);
    const skew = openings.filter((e) => e.action === 'app_skew').map((e) => e.value);
    expect(skew.map((v) => [v!.earlyReleases, v!.dueReleases])).toEqual([
      [0, 2],
      [0, 2],
    ]);
    const offsets = result.parameters.fixtures.appClockSkewSeconds as { ahead: number; behind: number };
    expect(offsets.ahead).toBeGreaterThan(0);
    expect(offsets.behind).toBeLessThan(0);
  });

  it('gives the same digest for the same seed', async () => {
    // Proves a seed fixes the plan, openings and skews included.
    const { expandSeed } = await import('../../src/simcity/runtime.js');
    const { loadScenario } = await import('../../src/simcity/scenarioFile.js');
    const { drivers } = await import('../../src/simcity/drivers/registry.js');
    const { planDigest } = await import('../../src/simcity/history.js');
    const definition = loadScenario('SC-3');
    const digest = (seed: string): string => planDigest('SC-3', expandSeed(definition, drivers['time-hostility']!, seed, 4).plans);
    expect(digest('a')).toBe(digest('a'));
    expect(digest('a')).not.toBe(digest('b'));
  });

  it('fails against a claim that books into a slot that has started', async () => {
    // Proves SC-3 catches a claim without its "starts at or before now" checks, in the first iteration's openings.
    const db = await simulation();
    await installClaimIntoThePast(db.pool);
    const result = await runScenario({ scenarioId: 'SC-3', seed: 'broken-1', iterations: 2, connectionString: db.connectionString, commit: 'test' });
    expect(result.verdict).toBe('violation');
    expect(result.violations.map((v) => v.oracle)).toContain('nothing-into-the-past');
    expect(result.violations[0]!.iteration).toBe(0);
    expect(formatSnapshot(result.forensicSnapshot!)).toContain('FORENSIC SNAPSHOT — SC-3');
    expect(result.replayCommand).toBe('bookiji simcity run SC-3 --seed broken-1 --iterations 2');
  });

  it('fails against a claim that lets an expired hold block the slot until reconcile runs', async () => {
    // Proves SC-3 catches I9 broken: the scripted claim on a slot held only by an expired hold is refused.
    const db = await simulation();
    await installExpiredHoldBlocks(db.pool);
    const result = await runScenario({ scenarioId: 'SC-3', seed: 'broken-2', iterations: 2, connectionString: db.connectionString, commit: 'test' });
    expect(result.verdict).toBe('violation');
    expect(result.violations.map((v) => v.oracle)).toContain('expired-hold-never-blocks');
  });

  for (const [mutant, oracle] of [
    ['confirm-accepts-expired-hold', 'expired-hold-never-blocks'],
    ['claim-after-expiry-attributed-to-system', 'attributed-to-caller'],
  ] as const) {
    it(`fails against mutant ${mutant}`, async () => {
      // Proves SC-3's expired_hold_claim opening catches it: a confirm after the TTL goes through (and the next claim is refused), or the winning claim is recorded as the system's.
      const db = await simulation();
      await mutantNamed(mutant)!.apply!(db.pool);
      const result = await runScenario({ scenarioId: 'SC-3', seed: 'broken-3', iterations: 1, connectionString: db.connectionString, commit: 'test' });
      expect(result.verdict).toBe('violation');
      expect(result.violations.map((v) => v.oracle)).toContain(oracle);
    });
  }
});
