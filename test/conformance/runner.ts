// Runs conformance cases (cases.ts) through the real `stripe` SDK against
// whatever base URL the client points at: our sandbox, a deliberately
// lenient fixture, or Stripe's test mode. A case's outcome is the list of its
// mismatches; [] means the server behaved as Stripe documents.

import Stripe from 'stripe';
import type { ConformanceCase, EventExpectation, Step } from './cases.js';
import { mismatches, type Shape } from './match.js';

export interface CaseOutcome {
  id: string;
  mismatches: string[];
}

export interface RunOptions {
  /**
   * Stripe's event list is eventually consistent: how long to keep looking
   * for expected events (real Stripe). 0 looks once (our sandbox, where an
   * event exists before the answer to the call that caused it).
   */
  eventWaitMs?: number;
}

type Saved = Record<string, unknown>;

function lookup(saved: Saved, ref: string): unknown {
  const [name, ...path] = ref.slice(1).split('.');
  let value: unknown = saved[name!];
  for (const key of path) value = (value as Record<string, unknown> | undefined)?.[key];
  if (typeof value === 'object' && value !== null && 'id' in value && path.at(-1) !== 'id') return (value as { id: unknown }).id;
  return value;
}

/** Replaces '$name.path' strings (in arguments and expectations) by the saved values. */
function resolve<T>(value: T, saved: Saved): T {
  if (typeof value === 'string' && /^\$[a-z_]+(\.|$)/i.test(value)) return lookup(saved, value) as T;
  if (Array.isArray(value)) return value.map((v) => resolve(v, saved)) as T;
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolve(v, saved)])) as T;
  }
  return value;
}

function sdkMethod(stripe: Stripe, call: string): (...args: unknown[]) => Promise<unknown> {
  const [resource, method] = call.split('.') as [string, string];
  const target = (stripe as unknown as Record<string, Record<string, (...args: unknown[]) => Promise<unknown>>>)[resource];
  const fn = target?.[method];
  if (!target || typeof fn !== 'function') throw new Error(`conformance: no SDK method ${call}`);
  return fn.bind(target);
}

async function runStep(stripe: Stripe, step: Step, saved: Saved): Promise<string[]> {
  const args = resolve(step.args, saved);
  let result: unknown;
  let error: unknown;
  try {
    result = await sdkMethod(stripe, step.call)(...args);
  } catch (e) {
    if (!(e instanceof Stripe.errors.StripeError)) throw e;
    error = e;
  }
  if (step.as) saved[step.as] = error ?? result;
  const where = `${step.call}`;
  if ('ok' in step.expect) {
    if (error) return [`${where}: expected success, got ${(error as Error).message}`];
    return mismatches(result, resolve(step.expect.ok, saved), where);
  }
  if (!error) return [`${where}: expected an error, got success`];
  return mismatches(error, resolve(step.expect.error, saved), where);
}

async function eventsOf(stripe: Stripe, objectId: string, since: number): Promise<Stripe.Event[]> {
  const found: Stripe.Event[] = [];
  for await (const event of stripe.events.list({ created: { gte: since }, limit: 100 })) {
    const object = event.data.object as { id?: string; payment_intent?: string | { id: string } | null };
    const intent = typeof object.payment_intent === 'string' ? object.payment_intent : object.payment_intent?.id;
    if (object.id === objectId || intent === objectId) found.push(event);
    if (found.length > 200) break;
  }
  return found.reverse(); // the list is newest first
}

function eventMismatches(events: Stripe.Event[], expectation: EventExpectation): string[] {
  const types: string[] = events.map((e) => e.type);
  const out: string[] = [];
  let from = 0;
  for (const type of expectation.types) {
    const at = expectation.ordered === false ? types.indexOf(type) : types.indexOf(type, from);
    if (at < 0) out.push(`events: expected ${type}${expectation.ordered === false ? '' : ' (in order)'}; got [${types.join(', ')}]`);
    else from = at + 1;
  }
  if (expectation.each) {
    for (const event of events.filter((e) => expectation.types.includes(e.type as string)))
      out.push(...mismatches(event, expectation.each, `events[${event.type}]`));
  }
  return out;
}

async function checkEvents(stripe: Stripe, expectation: EventExpectation, saved: Saved, since: number, waitMs: number): Promise<string[]> {
  const objectId = lookup(saved, expectation.of);
  if (typeof objectId !== 'string') return [`events: ${expectation.of} did not resolve to an id`];
  const deadline = Date.now() + waitMs;
  for (;;) {
    const found = eventMismatches(await eventsOf(stripe, objectId, since), expectation);
    if (found.length === 0 || Date.now() >= deadline) return found;
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

export async function runCase(stripe: Stripe, testCase: ConformanceCase, options: RunOptions = {}): Promise<CaseOutcome> {
  const saved: Saved = {};
  const since = Math.floor(Date.now() / 1000) - 5;
  const found: string[] = [];
  for (const step of testCase.steps) {
    const stepMismatches = await runStep(stripe, step, saved);
    found.push(...stepMismatches);
    if (stepMismatches.length > 0) break;
  }
  if (found.length === 0 && testCase.events) found.push(...(await checkEvents(stripe, testCase.events, saved, since, options.eventWaitMs ?? 0)));
  return { id: testCase.id, mismatches: found };
}

export async function runCases(stripe: Stripe, cases: ConformanceCase[], options: RunOptions = {}): Promise<CaseOutcome[]> {
  const outcomes: CaseOutcome[] = [];
  for (const testCase of cases) outcomes.push(await runCase(stripe, testCase, options));
  return outcomes;
}

export type { Shape };
