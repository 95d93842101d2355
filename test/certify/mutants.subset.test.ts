// Proves: on every `npm test`, a rotating subset of the mutant catalogue (chosen from the commit, or MUTANTS_SEED) is killed by the certifier, fail-fast, with small parameters; the whole catalogue runs with `npm run mutants`.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { MUTANTS, runOneMutant, type Mutant } from '../../src/certify/mutants/index.js';
import { SMALL } from './helpers.js';
import { testTemplates } from './mutantsHelpers.js';

const SUBSET_SIZE = 2;

function rotationSeed(): string {
  if (process.env.MUTANTS_SEED) return process.env.MUTANTS_SEED;
  if (process.env.GITHUB_SHA) return process.env.GITHUB_SHA;
  try {
    return execFileSync('git', ['rev-parse', 'HEAD'], { encoding: 'utf8' }).trim();
  } catch {
    return 'no-commit';
  }
}

/**
 * SUBSET_SIZE distinct mutants of the whole catalogue, drawn from the seed's
 * digest. None is set aside: every mutant has a catcher, so a green `npm test`
 * means "these mutants were killed", not "we were lucky in the draw".
 */
function rotatingSubset(seed: string): Mutant[] {
  const digest = createHash('sha256').update(`mutants:${seed}`).digest();
  const pool = [...MUTANTS];
  const chosen: Mutant[] = [];
  for (let i = 0; chosen.length < SUBSET_SIZE && pool.length > 0; i++) chosen.push(pool.splice(digest.readUInt16BE(i * 2) % pool.length, 1)[0]!);
  return chosen;
}

const seed = rotationSeed();

describe(`mutants killed (rotation seed ${seed.slice(0, 12)})`, () => {
  for (const mutant of rotatingSubset(seed)) {
    it(`${mutant.id} (${mutant.invariants.join(', ') || 'edge'}) is killed by the certifier`, async () => {
      const outcome = await runOneMutant(mutant, testTemplates(), {
        adminConnectionString: testTemplates().adminConnectionString,
        profile: 'quick',
        params: SMALL,
        seed: 7,
      });
      expect(outcome.error).toBeUndefined();
      expect(outcome.status, outcome.shouldBeCaughtBy ?? outcome.witness?.mutant.observed).toBe('killed');
    }, 600_000);
  }
});
