// The benchmark report: reports/bench.json and the table printed with it.
//
// Every check pairs the engine's figure with its baseline from the same run,
// and what is judged is their ratio (engine ÷ baseline, per repetition),
// because absolute times on a shared machine are noise. Each check says in
// `target` which side of its bound passes.

import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import Table from 'cli-table3';
import type { MachineInfo } from './machine.js';
import { round, type Spread } from './stats.js';

export interface Check {
  id: string;
  label: string;
  unit: string;
  engine: Spread | null;
  baseline: Spread | null;
  /** engine ÷ baseline per repetition. */
  ratio: Spread | null;
  /** What the ratio (or, with no baseline, the engine figure) must satisfy, in words and as a bound. */
  target: string;
  /** Judged on the median ratio; null where the figure has no target (informational). */
  met: boolean | null;
  notes?: string;
}

export interface FigureReport {
  id: string;
  title: string;
  status: 'measured' | 'skipped' | 'failed';
  reason?: string;
  checks: Check[];
  details: Record<string, unknown>;
  durationMs: number;
}

export interface BenchReport {
  schema: 'bookiji-bench/1';
  generatedAt: string;
  command: string;
  mode: 'quick' | 'full';
  repetitions: number;
  machine: MachineInfo;
  figures: FigureReport[];
  durationMs: number;
}

/** Ratio-based check: met when the median ratio stays within `bound` on the side named by `direction`. */
export function ratioCheck(fields: Omit<Check, 'met' | 'ratio'> & { ratio: Spread; bound: number; direction: 'atMost' | 'atLeast' }): Check {
  const { bound, direction, ...check } = fields;
  const met = direction === 'atMost' ? fields.ratio.median <= bound : fields.ratio.median >= bound;
  return { ...check, met };
}

function roundSpread(spread: Spread | null): Spread | null {
  if (!spread) return null;
  return { median: round(spread.median), min: round(spread.min), max: round(spread.max), samples: spread.samples.map((value) => round(value)) };
}

export function roundedReport(report: BenchReport): BenchReport {
  return {
    ...report,
    figures: report.figures.map((figure) => ({
      ...figure,
      checks: figure.checks.map((check) => ({
        ...check,
        engine: roundSpread(check.engine),
        baseline: roundSpread(check.baseline),
        ratio: roundSpread(check.ratio),
      })),
    })),
  };
}

export function writeReport(report: BenchReport, file: string): void {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(roundedReport(report), null, 2)}\n`);
}

function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return '–';
  const magnitude = Math.abs(value);
  if (magnitude >= 100) return value.toFixed(0);
  if (magnitude >= 10) return value.toFixed(1);
  return value.toFixed(2);
}

function formatSpread(spread: Spread | null, unit = ''): string {
  if (!spread) return '–';
  const suffix = unit ? ` ${unit}` : '';
  return `${formatNumber(spread.median)}${suffix} [${formatNumber(spread.min)}–${formatNumber(spread.max)}]`;
}

export function renderTable(report: BenchReport): string {
  const machine = report.machine;
  const lines = [
    `bookiji bench (${report.mode}, ${report.repetitions} repetitions, median [min–max])`,
    `machine: ${machine.cores} cores (${machine.cpuModel}), ${machine.memoryMb} MB, ${machine.os}, Node ${machine.node}, ${machine.postgres} (${machine.server}), load ${machine.loadAverageAtStart.join(' ')}${machine.loadAverageAtEnd ? ` → ${machine.loadAverageAtEnd.join(' ')}` : ''}`,
  ];
  const table = new Table({
    head: ['fig', 'check', 'engine', 'baseline', 'ratio', 'target', 'met'],
    style: { head: [], border: [] },
    wordWrap: true,
    colWidths: [5, 34, 22, 22, 20, 22, 6],
  });
  for (const figure of report.figures) {
    if (figure.status !== 'measured') {
      table.push([figure.id, `${figure.title}`, { colSpan: 5, content: `${figure.status}: ${figure.reason ?? ''}` }]);
      continue;
    }
    for (const check of figure.checks) {
      table.push([
        figure.id,
        check.label,
        formatSpread(check.engine, check.unit),
        formatSpread(check.baseline, check.unit),
        check.ratio ? `${formatSpread(check.ratio)}×` : '–',
        check.target,
        check.met === null ? 'info' : check.met ? 'yes' : 'NO',
      ]);
    }
  }
  return `${lines.join('\n')}\n${table.toString()}\n`;
}
