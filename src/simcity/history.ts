// The run's history, as Jepsen records it, and the digest of its plan.

import { createHash } from 'node:crypto';
import { BookijiError, toBookijiError } from '../errors.js';
import type { EventType, HistoryEvent, IterationPlan, PlannedAction, ScenarioStats } from './types.js';

export class History {
  readonly events: HistoryEvent[] = [];
  readonly stats: ScenarioStats = {
    iterations: 0,
    invocations: 0,
    ok: 0,
    failed: 0,
    unknown: 0,
    faults: 0,
    oracleChecks: 0,
    errorCodes: {},
    requestsByPath: {},
    terminalStates: {},
  };
  private readonly startedAt = Date.now();

  record(entry: {
    iteration: number;
    step: number;
    process: string;
    type: EventType;
    action: PlannedAction;
    value?: Record<string, unknown>;
    error?: string;
    message?: string;
  }): HistoryEvent {
    const event: HistoryEvent = {
      index: this.events.length,
      iteration: entry.iteration,
      step: entry.step,
      process: entry.process,
      type: entry.type,
      action: entry.action.kind,
      args: entry.action.args,
      atMs: Date.now() - this.startedAt,
    };
    if (entry.value !== undefined) event.value = entry.value;
    if (entry.error !== undefined) event.error = entry.error;
    if (entry.message !== undefined) event.message = entry.message;
    this.events.push(event);
    if (entry.type === 'invoke') {
      if (entry.process === 'nemesis') this.stats.faults += 1;
      else if (entry.process !== 'idle') this.stats.invocations += 1;
      const path = entry.action.args.path;
      if (typeof path === 'string') this.stats.requestsByPath[path] = (this.stats.requestsByPath[path] ?? 0) + 1;
    } else if (entry.process !== 'nemesis' && entry.process !== 'idle') {
      if (entry.type === 'ok') this.stats.ok += 1;
      if (entry.type === 'fail') this.stats.failed += 1;
      if (entry.type === 'unknown') this.stats.unknown += 1;
      if (entry.error) this.stats.errorCodes[entry.error] = (this.stats.errorCodes[entry.error] ?? 0) + 1;
    }
    return event;
  }

  tail(count: number): HistoryEvent[] {
    return this.events.slice(-count);
  }

  forIteration(iteration: number): HistoryEvent[] {
    return this.events.filter((event) => event.iteration === iteration);
  }
}

/**
 * Completion of an operation from what it threw. A refusal with a code did not
 * take effect (fail); a lost connection or a timeout may or may not have
 * (unknown), and the oracles must allow both.
 */
export function classifyError(error: unknown): { type: 'fail' | 'unknown'; code: string; message: string } {
  const mapped = error instanceof BookijiError ? error : toBookijiError(error);
  if (mapped.code === 'DEPENDENCY_UNAVAILABLE' || mapped.code === 'INTERNAL_ERROR') {
    return { type: 'unknown', code: mapped.code, message: mapped.message };
  }
  return { type: 'fail', code: mapped.code, message: mapped.message };
}

/** SHA-256 over the canonical plan: the seed fixes it, so the same seed gives the same digest. */
export function planDigest(scenarioId: string, plans: IterationPlan[]): string {
  const hash = createHash('sha256');
  hash.update(`${scenarioId}\n`);
  for (const plan of plans) {
    hash.update(`iteration ${plan.iteration} fixtures ${canonical(plan.fixtures)}\n`);
    for (const [step, action] of plan.actions.entries()) hash.update(`${plan.iteration}.${step} ${action.kind} ${canonical(action.args)}\n`);
    for (const [step, action] of plan.settle.entries()) hash.update(`${plan.iteration}.settle.${step} ${action.kind} ${canonical(action.args)}\n`);
  }
  return hash.digest('hex');
}

function canonical(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([key, inner]) => `${JSON.stringify(key)}:${canonical(inner)}`).join(',')}}`;
}
