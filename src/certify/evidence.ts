// Collecting a phase's evidence: each check records what was tried and what
// the engine did; an exception inside a check is evidence too (it fails the
// check with its message), never a crash of the certification.

import { BookijiError } from '../errors.js';
import type { Check } from './types.js';

export class Evidence {
  readonly checks: Check[] = [];

  record(name: string, passed: boolean, detail: string, numbers?: Record<string, number | string>): boolean {
    this.checks.push(numbers ? { name, passed, detail, numbers } : { name, passed, detail });
    return passed;
  }

  /** Runs one check; a thrown error fails it with the error's code and message. */
  async check(name: string, run: () => Promise<{ passed: boolean; detail: string; numbers?: Record<string, number | string> }>): Promise<boolean> {
    try {
      const outcome = await run();
      return this.record(name, outcome.passed, outcome.detail, outcome.numbers);
    } catch (error) {
      return this.record(name, false, `the check itself failed: ${describeError(error)}`);
    }
  }

  get passed(): boolean {
    return this.checks.length > 0 && this.checks.every((c) => c.passed);
  }

  failures(): Check[] {
    return this.checks.filter((c) => !c.passed);
  }
}

export function describeError(error: unknown): string {
  if (error instanceof BookijiError) return `${error.code}: ${error.message}`;
  if (error instanceof Error) return error.message;
  return String(error);
}

/** The code a rejected call failed with, or 'OK' when it succeeded. */
export async function outcomeCode(call: () => Promise<unknown>): Promise<string> {
  try {
    await call();
    return 'OK';
  } catch (error) {
    return error instanceof BookijiError ? error.code : `UNEXPECTED: ${describeError(error)}`;
  }
}

export function percentile(sortedMs: number[], p: number): number {
  if (sortedMs.length === 0) return 0;
  const index = Math.min(sortedMs.length - 1, Math.max(0, Math.ceil((p / 100) * sortedMs.length) - 1));
  return Math.round(sortedMs[index]! * 100) / 100;
}

export function countBy<T>(items: T[], key: (item: T) => string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const item of items) counts[key(item)] = (counts[key(item)] ?? 0) + 1;
  return counts;
}
