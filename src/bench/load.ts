// A closed-loop load generator: `concurrency` workers, each taking the next
// operation as soon as its previous one finished, until `total` are done.
// Every operation's latency is kept (in operation order) with its outcome,
// so callers can split by outcome (winners, losers) or by position (the
// first and last tenth of a soak).

import { performance } from 'node:perf_hooks';
import { BookijiError } from '../errors.js';

export interface OperationSample {
  latencyMs: number;
  /** 'ok', a BookijiError code, or 'UNEXPECTED' for anything else. */
  outcome: string;
}

export interface LoadResult {
  wallMs: number;
  samples: OperationSample[];
  /** The first few unexpected errors' messages, to make a failed run explainable. */
  unexpected: string[];
}

const UNEXPECTED_KEPT_MAX = 5;

export async function runLoad(total: number, concurrency: number, operation: (index: number) => Promise<unknown>): Promise<LoadResult> {
  const samples: OperationSample[] = new Array(total);
  const unexpected: string[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    for (;;) {
      const index = next++;
      if (index >= total) return;
      const started = performance.now();
      let outcome = 'ok';
      try {
        await operation(index);
      } catch (error) {
        if (error instanceof BookijiError) {
          outcome = error.code;
        } else {
          outcome = 'UNEXPECTED';
          if (unexpected.length < UNEXPECTED_KEPT_MAX) unexpected.push(error instanceof Error ? error.message : String(error));
        }
      }
      samples[index] = { latencyMs: performance.now() - started, outcome };
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, total)) }, worker));
  return { wallMs: performance.now() - started, samples, unexpected };
}

export function latenciesOf(result: LoadResult, outcome?: string): number[] {
  return result.samples.filter((sample) => outcome === undefined || sample.outcome === outcome).map((sample) => sample.latencyMs);
}

export function outcomeCounts(result: LoadResult): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const sample of result.samples) counts[sample.outcome] = (counts[sample.outcome] ?? 0) + 1;
  return counts;
}

/**
 * Runs `engine` and `baseline` `repetitions` times each, alternating which
 * goes first (the baseline on even repetitions), so a shared machine's drift
 * falls on both sides of a pair.
 */
export async function alternating<T>(repetitions: number, engine: () => Promise<T>, baseline: () => Promise<T>): Promise<{ engine: T[]; baseline: T[] }> {
  const runs = { engine: [] as T[], baseline: [] as T[] };
  for (let repetition = 0; repetition < repetitions; repetition++) {
    if (repetition % 2 === 0) {
      runs.baseline.push(await baseline());
      runs.engine.push(await engine());
    } else {
      runs.engine.push(await engine());
      runs.baseline.push(await baseline());
    }
  }
  return runs;
}
