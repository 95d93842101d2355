// Proves `npm run bench -- --quick` runs end to end on a real server and
// writes a well-formed report: every figure measured (or skipped with a
// reason), three repetitions with median and spread, machine facts, and the
// correctness parts (one winner on the hot slot, a clean soak, every claim
// variant built). No timing is asserted: figures on a shared machine are
// not test material.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { CLAIM_VARIANTS } from '../../src/bench/claimVariants.js';
import { reportProblems } from './reportShape.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const FIGURES = ['1', '2', '3', '4', '5', '6', '7', 'alt'];
// Generous: the quick run takes under a minute alone, but shares two cores with the rest of the suite.
const RUN_TIMEOUT_MS = 240_000;

describe('bench --quick', () => {
  let dir: string;
  let run: ReturnType<typeof spawnSync>;
  let report: any;

  beforeAll(() => {
    // Compile like the CLI tests do; other areas' type errors do not stop tsc from emitting.
    spawnSync(process.execPath, [path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', path.join(ROOT, 'tsconfig.json')], {
      cwd: ROOT,
      stdio: 'ignore',
    });
    dir = mkdtempSync(path.join(os.tmpdir(), 'bookiji-bench-test-'));
    run = spawnSync(process.execPath, [path.join(ROOT, 'dist', 'bench', 'main.js'), '--quick', '--out', path.join(dir, 'bench.json')], {
      cwd: ROOT,
      // The test run's server: the harness creates and drops its own databases on it.
      env: { ...process.env, DATABASE_URL: inject('adminConnectionString') },
      encoding: 'utf8',
      timeout: RUN_TIMEOUT_MS,
    });
    report = JSON.parse(readFileSync(path.join(dir, 'bench.json'), 'utf8'));
  }, RUN_TIMEOUT_MS + 60_000);

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('exits 0 and prints the table with the machine line', () => {
    expect(run.stderr).not.toMatch(/figure \S+ failed/);
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/^machine: \d+ cores/m);
    expect(run.stdout).toContain('ratio');
  });

  it('writes a well-formed report with every figure', () => {
    expect(report.mode).toBe('quick');
    expect(reportProblems(report, FIGURES)).toEqual([]);
  });

  it('reports exactly one winner on the hot slot and a clean soak', () => {
    const checks = report.figures.flatMap((figure: any) => figure.checks);
    const byId = (id: string): any => checks.find((check: any) => check.id === id);
    expect(byId('2.winners').met).toBe(true);
    expect(byId('5.invariants').met).toBe(true);
    expect(byId('5.leftover').met).toBe(true);
  });

  it('builds every claim-path variant from the live claim_slot', () => {
    const alternatives = report.figures.find((figure: any) => figure.id === 'alt');
    const built = alternatives.details.variants.filter((variant: any) => variant.built).map((variant: any) => variant.name);
    expect(built).toEqual(CLAIM_VARIANTS.map((variant) => variant.name));
    expect(alternatives.details.invariantViolationsAfter).toEqual([]);
  });
});
