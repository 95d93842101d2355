import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildDist } from '../api/build.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { UNSAFE_CLAIM_SQL } from './unsafeEngine.js';

let real: TestDatabase;
let broken: TestDatabase;
const root = new URL('../..', import.meta.url).pathname;
const scratch = mkdtempSync(path.join(os.tmpdir(), 'bookiji-simcity-cli-'));

function cli(args: string[], databaseUrl: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn('node', ['bin/bookiji', ...args], { cwd: root, env: { ...process.env, DATABASE_URL: databaseUrl, NO_COLOR: '1' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

beforeAll(async () => {
  buildDist();
  [real, broken] = await Promise.all([createTestDatabase({ poolMax: 2 }), createTestDatabase({ poolMax: 2 })]);
  await broken.pool.query(UNSAFE_CLAIM_SQL);
}, 200_000);

afterAll(async () => {
  await Promise.all([real?.drop(), broken?.drop()]);
});

describe('bookiji simcity', () => {
  it('lists the scenarios and the explorer races', async () => {
    // Proves `simcity list --json` shows every scenario file and race.
    const { code, stdout } = await cli(['simcity', 'list', '--json'], real.connectionString);
    expect(code).toBe(0);
    const listed = JSON.parse(stdout) as { scenarios: Array<{ id: string }>; races: Array<{ id: string }> };
    expect(listed.scenarios.map((s) => s.id)).toEqual(['SC-1', 'SC-2', 'SC-3', 'SC-4', 'SC-5', 'SC-6', 'SC-7', 'SC-8', 'SC-9', 'SC-10']);
    expect(listed.races.map((r) => r.id)).toContain('claim-claim');
  });

  it('lists each scenario with its phase, the invariants its oracles check and the oracles', async () => {
    // Proves `simcity list --json` carries what certify and SPEC §5 read from the catalogue.
    const { code, stdout } = await cli(['simcity', 'list', '--json'], real.connectionString);
    expect(code).toBe(0);
    const listed = JSON.parse(stdout) as { scenarios: Array<{ id: string; title: string; phase: number; invariants: string[]; oracles: string[] }> };
    const sc1 = listed.scenarios.find((s) => s.id === 'SC-1')!;
    expect(sc1).toMatchObject({ title: 'Double-booking attack', phase: 1, invariants: ['I1', 'I3', 'I6'] });
    expect(sc1.oracles).toContain('idempotency');
    for (const s of listed.scenarios) {
      expect(s.phase).toBeGreaterThanOrEqual(1);
      expect(s.phase).toBeLessThanOrEqual(7);
      expect(s.invariants.length).toBeGreaterThan(0);
      expect(s.oracles.length).toBeGreaterThan(0);
    }
  });

  it('passes SC-1 with exit 0, prints the digest in --json and writes a JUnit file', async () => {
    // Proves a passing run's exit code, JSON and JUnit report.
    const junit = path.join(scratch, 'pass.xml');
    const { code, stdout } = await cli(['simcity', 'run', 'SC-1', '--seed', 'cli-1', '--iterations', '2', '--junit', junit, '--json'], real.connectionString);
    expect(code).toBe(0);
    const report = JSON.parse(stdout) as { passed: boolean; results: Array<{ digest: string; replayCommand: string }> };
    expect(report.passed).toBe(true);
    expect(report.results[0]!.digest).toMatch(/^[0-9a-f]{64}$/);
    expect(report.results[0]!.replayCommand).toBe('bookiji simcity run SC-1 --seed cli-1 --iterations 2');
    const xml = readFileSync(junit, 'utf8');
    expect(xml).toContain('<testsuites name="simcity" tests="1" failures="0"');
  });

  it('exits 1 on a broken engine with the forensic snapshot and the replay command, and a failing JUnit file', async () => {
    // Proves a violation is reported readably, replayably and to CI.
    const junit = path.join(scratch, 'fail.xml');
    const { code, stdout } = await cli(['simcity', 'run', 'SC-1', '--seed', 'cli-broken', '--iterations', '30', '--junit', junit], broken.connectionString);
    expect(code).toBe(1);
    expect(stdout).toContain('FORENSIC SNAPSHOT — SC-1');
    expect(stdout).toContain('replay: bookiji simcity run SC-1 --seed cli-broken --iterations 30');
    expect(readFileSync(junit, 'utf8')).toContain('failures="1"');
  });

  it('exits 2 on usage errors: an unknown scenario, a missing seed', async () => {
    // Proves usage errors are told apart from violations by the exit code.
    const unknown = await cli(['simcity', 'run', 'SC-99', '--seed', 'x'], real.connectionString);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown scenario SC-99');
    const noSeed = await cli(['simcity', 'run', 'SC-1'], real.connectionString);
    expect(noSeed.code).toBe(2);
  });
});
