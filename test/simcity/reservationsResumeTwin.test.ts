// SC-9's twin for review finding 2: with reconcile's commit resumption as it
// was (it stops at the first reservation that fails), the opening attack
// commit_resume_one_fails leaves the second commit in progress and the
// oracle each-commit-resumed-on-its-own reports it in iteration 0.
import { afterAll, describe, expect, it, vi } from 'vitest';
import { runScenario } from '../../src/simcity/index.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';

// The unsafe function, swapped in for this file only: the shipped module with
// resumeCommits replaced by the pre-fix loop (no per-reservation boundary).
vi.mock('../../src/reservations/index.js', async (importOriginal) => {
  const shipped = await importOriginal<typeof import('../../src/reservations/index.js')>();
  const { unsafeResumeCommitsStoppingAtFirstFailure } = await import('./reservationsUnsafe.js');
  return { ...shipped, resumeCommits: unsafeResumeCommitsStoppingAtFirstFailure(shipped) };
});

const databases: TestDatabase[] = [];
afterAll(async () => {
  await Promise.all(databases.map((db) => db.drop()));
});

describe('SC-9 twin: commit resumption without a per-reservation boundary', () => {
  it('is caught by each-commit-resumed-on-its-own in the first iteration', async () => {
    // Proves SC-9 catches review finding 2's class: one reservation's failed resumption stops reconcile from finishing the others.
    const db = await createTestDatabase({ simulation: true, poolMax: 4 });
    databases.push(db);
    const result = await runScenario({ scenarioId: 'SC-9', seed: 'sc9-broken-resume', iterations: 1, connectionString: db.connectionString, commit: 'test' });
    expect(result.verdict).toBe('violation');
    expect(
      result.violations.map((v) => v.oracle),
      JSON.stringify(result.violations).slice(0, 1500),
    ).toContain('each-commit-resumed-on-its-own');
    expect(result.violations[0]!.iteration).toBe(0);
  });
});
