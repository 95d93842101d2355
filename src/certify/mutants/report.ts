// What a mutant run reports: the score (killed / total, equivalent mutants
// not counted), the catalogue's digest (so a signed score names the exact
// catalogue it was earned against), and the report file in the
// mutation-testing-report-schema format (Stryker, mutation-testing-elements).

import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { MUTANTS } from './catalogue/index.js';
import type { MutationScore } from '../signing/statement.js';
import { packageRoot } from './patchedTree.js';
import type { Mutant, MutantOutcome } from './types.js';

export const MUTATION_REPORT_FILE = 'mutation-report.json';
/** The schema's thresholds: the report shows green at 100% and red below 90%. */
const THRESHOLDS = { high: 100, low: 90 };

export interface MutationSummary {
  total: number;
  killed: number;
  /** killed / total, as a percentage with one decimal; 0 when total is 0. */
  score: number;
  catalogueDigest: string;
  catalogueSize: number;
  survivors: Array<{ id: string; title: string; invariants: readonly string[]; shouldBeCaughtBy: string }>;
  equivalent: Array<{ id: string; observed: string }>;
  errors: Array<{ id: string; error: string }>;
  killedBy: Array<{ id: string; phase: number; check: string }>;
  durationMs: number;
}

/** SHA-256 over every mutant's definition, its mutation and its witness (as compiled): any change to the catalogue changes it. */
export function catalogueDigest(mutants: readonly Mutant[] = MUTANTS): string {
  const hash = createHash('sha256');
  for (const m of mutants) {
    hash.update(JSON.stringify({ id: m.id, language: m.language, invariants: m.invariants, phase: m.phase, source: m.source, patch: m.patch ?? null }));
    hash.update(m.apply?.toString() ?? '');
    hash.update(m.witness.toString());
  }
  return hash.digest('hex');
}

export function summarize(outcomes: readonly MutantOutcome[], mutants: readonly Mutant[] = MUTANTS): MutationSummary {
  const counted = outcomes.filter((o) => o.status !== 'equivalent');
  const killed = counted.filter((o) => o.status === 'killed').length;
  return {
    total: counted.length,
    killed,
    score: counted.length === 0 ? 0 : Math.round((killed / counted.length) * 1000) / 10,
    catalogueDigest: catalogueDigest(mutants),
    catalogueSize: mutants.length,
    survivors: outcomes
      .filter((o) => o.status === 'survived')
      .map((o) => ({ id: o.id, title: o.title, invariants: o.invariants, shouldBeCaughtBy: o.shouldBeCaughtBy ?? '' })),
    equivalent: outcomes.filter((o) => o.status === 'equivalent').map((o) => ({ id: o.id, observed: o.witness?.mutant.observed ?? '' })),
    errors: outcomes.filter((o) => o.status === 'error').map((o) => ({ id: o.id, error: o.error ?? '' })),
    killedBy: outcomes.filter((o) => o.killedBy).map((o) => ({ id: o.id, phase: o.killedBy!.phase, check: o.killedBy!.check })),
    durationMs: outcomes.reduce((sum, o) => sum + o.durationMs, 0),
  };
}

interface Position {
  line: number;
  column: number;
}

/** 1-based line and column of the first line of `fragment` in `text`. */
function locate(text: string, fragment: string): { start: Position; end: Position } {
  const firstLine = fragment.split('\n')[0]!;
  const at = text.indexOf(firstLine);
  if (at === -1) return { start: { line: 1, column: 1 }, end: { line: 1, column: 2 } };
  const before = text.slice(0, at).split('\n');
  const line = before.length;
  const column = before[before.length - 1]!.length + 1;
  return { start: { line, column }, end: { line, column: column + firstLine.length } };
}

const STATUS: Record<MutantOutcome['status'], string> = { killed: 'Killed', survived: 'Survived', equivalent: 'Ignored', error: 'RuntimeError' };

function statusReason(o: MutantOutcome): string {
  if (o.status === 'killed') return `phase ${o.killedBy!.phase}: ${o.killedBy!.check} — ${o.killedBy!.detail.slice(0, 300)}`;
  if (o.status === 'survived') return `every phase passed (${o.phasesRun.join(', ')}); should be caught by ${o.shouldBeCaughtBy ?? 'unknown'}`;
  if (o.status === 'equivalent') return `equivalent: the witness saw no difference (${o.witness?.mutant.observed ?? ''})`;
  return o.error ?? 'error';
}

/** The report as mutation-testing-report-schema v2 (files → mutants with location and status). */
export function mutationTestingReport(outcomes: readonly MutantOutcome[], mutants: readonly Mutant[] = MUTANTS): Record<string, unknown> {
  const root = packageRoot();
  const files: Record<string, { language: string; source: string; mutants: unknown[] }> = {};
  for (const o of outcomes) {
    const mutant = mutants.find((m) => m.id === o.id)!;
    const file = mutant.source.file;
    const full = path.join(root, file);
    const source = existsSync(full) ? readFileSync(full, 'utf8') : '';
    files[file] ??= { language: mutant.language === 'sql' ? 'sql' : 'typescript', source, mutants: [] };
    const entry = files[file];
    entry.mutants.push({
      id: o.id,
      mutatorName: mutant.title,
      replacement: mutant.source.replacement,
      location: locate(source, mutant.source.original),
      status: STATUS[o.status],
      statusReason: statusReason(o),
      description: `${mutant.invariants.join(', ') || 'edge'}: ${mutant.title}`,
      ...(o.killedBy ? { killedBy: [`phase ${o.killedBy.phase}: ${o.killedBy.check}`] } : {}),
      duration: o.durationMs,
    });
  }
  return {
    $schema: 'https://git.io/mutation-testing-schema',
    schemaVersion: '2',
    thresholds: THRESHOLDS,
    projectRoot: root,
    files,
    framework: { name: 'bookiji certify mutants' },
  };
}

export function writeMutationReport(outDir: string, outcomes: readonly MutantOutcome[], mutants: readonly Mutant[] = MUTANTS): string {
  mkdirSync(outDir, { recursive: true });
  const file = path.join(outDir, MUTATION_REPORT_FILE);
  writeFileSync(file, `${JSON.stringify(mutationTestingReport(outcomes, mutants), null, 2)}\n`);
  return file;
}

/** The part of a run that a certification signs (see signing/statement.ts). */
export function mutationScoreOf(summary: MutationSummary, profile: string): MutationScore {
  return {
    total: summary.total,
    killed: summary.killed,
    score: summary.score,
    catalogueDigest: summary.catalogueDigest,
    catalogueSize: summary.catalogueSize,
    profile,
    survivors: summary.survivors.map((s) => s.id),
    equivalent: summary.equivalent.map((e) => e.id),
    errors: summary.errors.map((e) => e.id),
  };
}
