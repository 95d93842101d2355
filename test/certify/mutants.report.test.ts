import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { aggregateInvariants } from '../../src/certify/invariants.js';
import { describe, expect, it } from 'vitest';
import { MUTANTS, catalogueDigest, mutationScoreOf, mutationTestingReport, summarize, type MutantOutcome } from '../../src/certify/mutants/index.js';
import { writeCertification } from '../../src/certify/output.js';
import { generateKeyPair, loadPrivateKey } from '../../src/certify/signing/index.js';
import type { CertificationReport } from '../../src/certify/types.js';
import { verifyCertification } from '../../src/certify/verify.js';

const [first, second, third, fourth] = MUTANTS;

function outcome(id: string, status: MutantOutcome['status'], extra: Partial<MutantOutcome> = {}): MutantOutcome {
  const m = MUTANTS.find((x) => x.id === id)!;
  const witness = { real: { held: true, observed: 'real' }, mutant: { held: status === 'equivalent', observed: 'mutant' } };
  return { id, title: m.title, language: m.language, invariants: m.invariants, status, witness, phasesRun: [1], durationMs: 10, ...extra };
}

const OUTCOMES: MutantOutcome[] = [
  outcome(first!.id, 'killed', { killedBy: { phase: 1, check: 'capacity 1', detail: '2 winners' } }),
  outcome(second!.id, 'killed', { killedBy: { phase: 1, check: 'SimCity SC-10', detail: 'violation' } }),
  outcome(third!.id, 'survived', { shouldBeCaughtBy: 'phase 4: privacy' }),
  outcome(fourth!.id, 'equivalent'),
];

function unsignedReport(): CertificationReport {
  return {
    certification: 'scheduling-certification-v1',
    verdict: 'NOT CERTIFIED',
    reasons: ['only a test'],
    profile: 'quick',
    seeds: { master: 1, phases: {} },
    startedAt: '2026-12-01T00:00:00.000Z',
    finishedAt: '2026-12-01T00:01:00.000Z',
    durationMs: 60_000,
    environment: {
      gitCommit: 'a'.repeat(40),
      gitDirty: false,
      schemaDigest: 'b'.repeat(64),
      migrations: [],
      postgresVersion: '17',
      toolVersion: '0.1.0',
      node: 'v20',
      platform: 'linux',
      cpus: 2,
    },
    phases: [],
    invariants: aggregateInvariants([], []),
    databaseChecks: [],
    reproduceCommand: 'bookiji certify --seed 1',
  };
}

function signAndVerify(score: unknown): ReturnType<typeof verifyCertification> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bookiji-mutants-sign-'));
  const keys = generateKeyPair(path.join(dir, 'keys'));
  const files = writeCertification(
    { ...unsignedReport(), mutants: score } as CertificationReport,
    path.join(dir, 'out'),
    loadPrivateKey(keys.privateKeyPath),
    keys.publicKeyPath,
  );
  return verifyCertification(files.envelope, keys.publicKeyPath);
}

describe('mutation score and report', () => {
  it('counts killed over non-equivalent mutants and names each survivor with the phase that should catch it', () => {
    // Proves: an equivalent mutant is listed but never counted, and a survivor is never hidden.
    const summary = summarize(OUTCOMES);
    expect({ total: summary.total, killed: summary.killed, score: summary.score }).toEqual({ total: 3, killed: 2, score: 66.7 });
    expect(summary.survivors).toEqual([{ id: third!.id, title: third!.title, invariants: third!.invariants, shouldBeCaughtBy: 'phase 4: privacy' }]);
    expect(summary.equivalent.map((e) => e.id)).toEqual([fourth!.id]);
    expect(summary.catalogueDigest).toMatch(/^[0-9a-f]{64}$/);
  });

  it('changes the catalogue digest when any mutant changes', () => {
    // Proves: a signed score names the exact catalogue: editing one mutant's replacement changes the digest.
    const edited = MUTANTS.map((m, i) => (i === 0 ? { ...m, source: { ...m.source, replacement: `${m.source.replacement} ` } } : m));
    expect(catalogueDigest(edited)).not.toBe(catalogueDigest());
  });

  it('writes the mutation-testing-report-schema shape: files with source and mutants located in them', () => {
    // Proves: every mutant lands in its source file with a 1-based location inside the file, and a status of the schema's enumeration.
    const report = mutationTestingReport(OUTCOMES) as {
      schemaVersion: string;
      thresholds: { high: number; low: number };
      files: Record<
        string,
        { language: string; source: string; mutants: Array<{ id: string; status: string; location: { start: { line: number; column: number } } }> }
      >;
    };
    expect(report.schemaVersion).toBe('2');
    expect(report.thresholds.high).toBeGreaterThanOrEqual(report.thresholds.low);
    const all = Object.entries(report.files).flatMap(([file, entry]) => entry.mutants.map((m) => ({ file, lines: entry.source.split('\n').length, ...m })));
    expect(all.map((m) => [m.id, m.status])).toEqual([
      [first!.id, 'Killed'],
      [second!.id, 'Killed'],
      [third!.id, 'Survived'],
      [fourth!.id, 'Ignored'],
    ]);
    for (const m of all) {
      expect(m.location.start.line).toBeGreaterThan(1);
      expect(m.location.start.line).toBeLessThanOrEqual(m.lines);
    }
  });

  it('signs the score into the statement, and certify verify prints it', () => {
    // Proves: a certification with --mutants carries the score and digest in its signed predicate, and the verifier reads it back.
    const outcome = signAndVerify(mutationScoreOf(summarize(OUTCOMES), 'quick'));
    expect(outcome.problems).toEqual([]);
    expect(outcome.mutationScore?.killed).toBe(2);
    expect(outcome.checked.join('\n')).toMatch(/mutation score \(signed\): 2\/3 engine mutants killed \(66\.7%\).*survivors: /);
  });

  it('refuses a signed score that does not add up', () => {
    // Proves: the verifier checks the score itself, not only the signature: a score claiming more than was killed is a problem.
    const inflated = { ...mutationScoreOf(summarize(OUTCOMES), 'quick'), score: 100 };
    const outcome = signAndVerify(inflated);
    expect(outcome.authentic).toBe(false);
    expect(outcome.problems.join(' ')).toMatch(/does not follow from 2\/3/);
  });
});
