import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { explore, listRaces } from '../../src/simcity/index.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { UNSAFE_CLAIM_SQL, UNSAFE_RESCHEDULE_SQL } from './unsafeEngine.js';

let real: TestDatabase;
let brokenClaim: TestDatabase;
let brokenReschedule: TestDatabase;

beforeAll(async () => {
  [real, brokenClaim, brokenReschedule] = await Promise.all([
    createTestDatabase({ simulation: true, poolMax: 4 }),
    createTestDatabase({ poolMax: 4 }),
    createTestDatabase({ poolMax: 4 }),
  ]);
  await brokenClaim.pool.query(UNSAFE_CLAIM_SQL);
  await brokenReschedule.pool.query(UNSAFE_RESCHEDULE_SQL);
});

afterAll(async () => {
  await Promise.all([real?.drop(), brokenClaim?.drop(), brokenReschedule?.drop()]);
});

describe('interleaving explorer', () => {
  it('runs all 6 permutations of two claims and of a claim against a reschedule, and every race passes on the real engine', async () => {
    // Proves the explorer covers every interleaving of the races it names and that the shipped engine holds in each of them.
    const result = await explore({ pool: real.pool });
    const byId = Object.fromEntries(result.races.map((r) => [r.raceId, r]));
    expect(byId['claim-claim']!.permutations).toBe(6);
    expect(byId['claim-reschedule']!.permutations).toBe(6);
    expect(byId['claim-reschedule-cancel']!.permutations).toBe(90);
    for (const race of result.races) {
      expect(race.feasible + race.infeasible).toBe(race.permutations);
      expect(race.failing, `${race.raceId}: ${JSON.stringify(race.failing[0])}`).toEqual([]);
    }
    // Two claims on one slot: the second always queues on the first's lock, so some orders cannot run as written.
    expect(byId['claim-claim']!.feasible).toBeGreaterThan(0);
    // Two sessions never wait at once, so the two-session races are exact; only the three-session race can be ambiguous.
    expect(byId['claim-claim']!.ambiguous).toBe(0);
    expect(byId['claim-reschedule']!.ambiguous).toBe(0);
    expect(result.passed).toBe(true);
    expect(listRaces().map((r) => r.id)).toEqual(result.races.map((r) => r.raceId));
  });

  it('finds the lost update of a claim without the lock, in the same permutations every time', async () => {
    // Proves the explorer finds the unsafe claim's race deterministically: the same failing schedules on two runs.
    const first = await explore({ pool: brokenClaim.pool, races: ['claim-claim'] });
    const second = await explore({ pool: brokenClaim.pool, races: ['claim-claim'] });
    expect(first.passed).toBe(false);
    const schedules = (r: typeof first) => r.races[0]!.failing.map((p) => p.schedule.join(' '));
    expect(schedules(first)).toEqual(schedules(second));
    expect(first.races[0]!.feasible).toBe(second.races[0]!.feasible);
    expect(schedules(first)).toContain('s1.claim s2.claim s1.commit s2.commit');
    const failing = first.races[0]!.failing[0]!;
    expect(failing.violations.map((v) => v.oracle)).toContain('capacity');
    expect(failing.replayCommand).toMatch(/^bookiji simcity explore --race claim-claim --permutation 's1\.claim s2\.claim s1\.commit s2\.commit'$/);
  });

  it('replays one failing permutation exactly from its printed schedule', async () => {
    // Proves --permutation runs just that schedule and reproduces the violation.
    const replay = await explore({ pool: brokenClaim.pool, races: ['claim-claim'], permutation: 's1.claim s2.claim s1.commit s2.commit' });
    expect(replay.races[0]!.permutations).toBe(1);
    expect(replay.races[0]!.failing).toHaveLength(1);
  });

  it('finds a non-atomic reschedule racing a claim for the same slot', async () => {
    // Proves the claim-against-reschedule race fails on a reschedule that updates counters from an unlocked read.
    const result = await explore({ pool: brokenReschedule.pool, races: ['claim-reschedule'] });
    expect(result.passed).toBe(false);
    expect(result.races[0]!.failing.map((p) => p.schedule.join(' '))).toContain('s1.claim s2.reschedule s1.commit s2.commit');
  });
});
