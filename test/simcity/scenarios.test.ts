import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatSnapshot, runScenario, toJUnitXml, type ScenarioResult } from '../../src/simcity/index.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { installIdempotencyWithoutRequestHash, UNSAFE_CLAIM_SQL, UNSAFE_RESCHEDULE_SQL } from './unsafeEngine.js';

let real: TestDatabase;
let brokenClaim: TestDatabase;
let brokenReschedule: TestDatabase;
let brokenIdempotency: TestDatabase;

beforeAll(async () => {
  [real, brokenClaim, brokenReschedule, brokenIdempotency] = await Promise.all([
    createTestDatabase({ poolMax: 4 }),
    createTestDatabase({ poolMax: 4 }),
    createTestDatabase({ poolMax: 4 }),
    createTestDatabase({ poolMax: 4 }),
  ]);
  await brokenClaim.pool.query(UNSAFE_CLAIM_SQL);
  await brokenReschedule.pool.query(UNSAFE_RESCHEDULE_SQL);
  await installIdempotencyWithoutRequestHash(brokenIdempotency.pool);
});

afterAll(async () => {
  await Promise.all([real?.drop(), brokenClaim?.drop(), brokenReschedule?.drop(), brokenIdempotency?.drop()]);
});

function tally(result: ScenarioResult, id: string): { checks: number; exercised: number; violations: number } {
  const found = result.invariants.find((t) => t.id === id);
  if (!found) throw new Error(`${result.scenarioId} reports no tally for ${id}: ${JSON.stringify(result.invariants)}`);
  return found;
}

function expectReadableFailure(result: ScenarioResult, scenarioId: string): void {
  expect(result.passed).toBe(false);
  expect(result.verdict).toBe('violation');
  expect(result.violations.length).toBeGreaterThan(0);
  expect(result.replayCommand).toBe(`bookiji simcity run ${scenarioId} --seed broken-1 --iterations 30`);
  const text = formatSnapshot(result.forensicSnapshot!);
  expect(text).toContain(`FORENSIC SNAPSHOT — ${scenarioId}`);
  expect(text).toMatch(/bookings \(\d+\):/);
  expect(text).toMatch(/transitions \(\d+\):/);
  expect(text).toMatch(/audit rows \(\d+\):/);
  expect(text).toMatch(/last \d+ history events:/);
  expect(result.forensicSnapshot!.lastActions.length).toBeGreaterThan(0);
  const xml = toJUnitXml([result]);
  expect(xml).toContain('<failure message=');
  expect(xml).toContain(result.replayCommand);
}

describe('SC-1 double-booking attack', () => {
  it('passes on the real engine for three seeds, ending in STATE 1 or STATE 2 every iteration, restarts included', async () => {
    // Proves the shipped claim keeps one winner per slot under fire-and-forget races, retries and connection-killing restarts.
    const results: ScenarioResult[] = [];
    for (const seed of ['pr-1', 'pr-2', 'pr-3']) {
      results.push(await runScenario({ scenarioId: 'SC-1', seed, iterations: 12, connectionString: real.connectionString, commit: 'test' }));
    }
    for (const result of results) {
      expect(result.violations, JSON.stringify(result.violations)).toEqual([]);
      expect(result.passed).toBe(true);
      const states = result.stats.terminalStates;
      expect((states['STATE 1 (C1 won)'] ?? 0) + (states['STATE 2 (C2 won)'] ?? 0)).toBe(12);
      expect(result.stats.invocations).toBe(result.stats.ok + result.stats.failed + result.stats.unknown);
    }
    expect(results.reduce((n, r) => n + r.stats.faults, 0)).toBeGreaterThan(0);
    // Every iteration reached each invariant's dangerous state: a claim refused on a full slot (I1, I3), the opening's same-key retry and mismatch (I6).
    for (const result of results) {
      expect(result.invariants.map((t) => t.id)).toEqual(['I1', 'I3', 'I6']);
      for (const id of ['I1', 'I3', 'I6']) {
        expect(tally(result, id).checks).toBeGreaterThan(0);
        expect(tally(result, id).exercised).toBeGreaterThanOrEqual(12);
        expect(tally(result, id).violations).toBe(0);
      }
    }
    // Half the requests went through the engine, half over HTTP to the partner API.
    expect(results.every((r) => (r.stats.requestsByPath.engine ?? 0) > 0 && (r.stats.requestsByPath.http ?? 0) > 0)).toBe(true);
  });

  it('fails against a claim without the lock, with a double booking, a forensic snapshot and the replay command', async () => {
    // Proves SC-1 catches a claim that reads the counter unlocked and writes it back (two winners, a lost update).
    const result = await runScenario({ scenarioId: 'SC-1', seed: 'broken-1', iterations: 30, connectionString: brokenClaim.connectionString, commit: 'test' });
    expectReadableFailure(result, 'SC-1');
    expect(result.violations.map((v) => v.oracle)).toContain('cardinality');
    expect(result.forensicSnapshot!.bookings.filter((b) => b.state === 'confirmed').length).toBeGreaterThan(1);
  });

  it('fails in the first iteration against a claim that replays a key whatever request comes with it', async () => {
    // Proves the opening's same-key-different-request race catches an engine that skips the stored request hash (I6).
    const result = await runScenario({
      scenarioId: 'SC-1',
      seed: 'broken-1',
      iterations: 30,
      connectionString: brokenIdempotency.connectionString,
      commit: 'test',
    });
    expectReadableFailure(result, 'SC-1');
    expect(result.violations.map((v) => v.oracle)).toContain('idempotency');
    expect(result.violations[0]!.iteration).toBe(0);
    expect(tally(result, 'I6').violations).toBeGreaterThan(0);
  });

  it('gives the same parameters and digest for the same seed, and a different digest for another seed', async () => {
    // Proves a seed fixes the plan: two runs with one seed are comparable by digest, whatever the interleaving did.
    const first = await runScenario({ scenarioId: 'SC-1', seed: 'same-seed', iterations: 3, connectionString: real.connectionString });
    const second = await runScenario({ scenarioId: 'SC-1', seed: 'same-seed', iterations: 3, connectionString: real.connectionString });
    const other = await runScenario({ scenarioId: 'SC-1', seed: 'other-seed', iterations: 3, connectionString: real.connectionString });
    expect(second.digest).toBe(first.digest);
    expect(second.parameters).toEqual(first.parameters);
    expect(other.digest).not.toBe(first.digest);
    expect(first.digest).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('SC-4 reschedule atomicity', () => {
  it('passes on the real engine for three seeds', async () => {
    // Proves concurrent reschedules, cancels and claims never lose, duplicate or over-book under the shipped reschedule.
    for (const seed of ['pr-1', 'pr-2', 'pr-3']) {
      const result = await runScenario({ scenarioId: 'SC-4', seed, iterations: 8, connectionString: real.connectionString, commit: 'test' });
      expect(result.violations, JSON.stringify(result.violations)).toEqual([]);
      expect(result.passed).toBe(true);
      expect(result.stats.ok).toBeGreaterThan(0);
      for (const id of ['I1', 'I3', 'I10']) expect(tally(result, id).checks).toBeGreaterThan(0);
      expect(tally(result, 'I3').exercised).toBeGreaterThan(0);
      expect(tally(result, 'I10').exercised).toBeGreaterThan(0);
    }
  });

  it('fails against a non-atomic reschedule, with a forensic snapshot and the replay command', async () => {
    // Proves SC-4 catches a reschedule whose release and claim are unlocked read-modify-writes.
    const result = await runScenario({
      scenarioId: 'SC-4',
      seed: 'broken-1',
      iterations: 30,
      connectionString: brokenReschedule.connectionString,
      commit: 'test',
    });
    expectReadableFailure(result, 'SC-4');
    expect(result.violations.some((v) => v.oracle === 'capacity' || v.oracle === 'slot-coherence')).toBe(true);
  });
});
