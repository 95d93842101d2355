// The interleaving explorer: runs each race in every permutation of its
// sessions' steps, one client per session, step by step, as PostgreSQL's
// isolation tester does. A step that waits on another session's lock is
// detected with pg_blocking_pids() and left waiting while the schedule moves
// on; a permutation whose next step belongs to a waiting session cannot be
// run as written and is counted as infeasible (the isolation tester's
// "invalid permutation"), not as a pass or a failure. After each permutation
// the vendor's truth is checked; a failing permutation is printed as a
// schedule that `--permutation` replays exactly. One limit, as in the
// isolation tester: when one commit releases two waiting sessions at once,
// the server picks who resumes first; such schedules are counted as
// ambiguous (their outcome is still checked, whichever it was).

import { randomBytes } from 'node:crypto';
import pg from '../../db/pg.js';
import { BookijiError } from '../../errors.js';
import { createPool, type Pool } from '../../db/pool.js';
import type { Finding } from '../drivers/driver.js';
import { shellQuote } from '../replay.js';
import { readVendorTruth, slotAndBookingChecks } from '../truth.js';
import { interleavings, type StepRef } from './permutations.js';
import { races, type Race, type RaceFixture, type StepOutcome } from './races.js';

/** How often a running step is polled for "finished or blocked". */
const POLL_INTERVAL_MS = 2;

export interface ExploreOptions {
  /** Race ids; default all. */
  races?: string[];
  /** Run only this schedule (as printed for a failing permutation), e.g. "s1.claim s2.claim s1.commit s2.commit". */
  permutation?: string;
  pool?: Pool;
  connectionString?: string;
  onPermutation?: (race: string, index: number, total: number) => void;
}

export interface PermutationResult {
  raceId: string;
  index: number;
  schedule: string[];
  outcomes: StepOutcome[];
  /** Why the permutation could not run as written (a step of a waiting session came next). */
  infeasible?: string;
  /** A step ran while two sessions waited: which resumed first was the server's choice, not the schedule's. */
  ambiguous: boolean;
  violations: Finding[];
  replayCommand: string;
}

export interface RaceResult {
  raceId: string;
  title: string;
  permutations: number;
  feasible: number;
  infeasible: number;
  /** Schedules whose outcome the server's wake-up order may change (see PermutationResult.ambiguous). */
  ambiguous: number;
  failing: PermutationResult[];
  passed: boolean;
}

export interface ExploreResult {
  passed: boolean;
  races: RaceResult[];
  durationMs: number;
}

export function listRaces(): Array<{ id: string; title: string; sessions: string[]; permutations: number; simulation: boolean }> {
  return races.map((race) => ({
    id: race.id,
    title: race.title,
    simulation: race.simulation,
    sessions: race.sessions.map((s) => `${s.name}: ${s.steps.map((step) => step.name).join(', ')}, commit`),
    permutations: interleavings(race.sessions.map((s) => s.steps.length + 1)).length,
  }));
}

interface Session {
  name: string;
  client: pg.Client;
  pid: number;
  /** The step still waiting on a lock, if any. */
  waiting?: { label: string; promise: Promise<StepOutcome> };
}

function stepLabel(race: Race, ref: StepRef): { label: string; short: string } {
  const session = race.sessions[ref.session]!;
  const step = session.steps[ref.step];
  const name = step ? step.name : 'commit';
  return { label: `${session.name}.${name}`, short: `${session.name}.${step ? step.name.replace(/\(.*$/, '') : 'commit'}` };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Waits until the statement finishes or is seen waiting on another session's lock. */
async function finishedOrBlocked(monitor: Pool, session: Session, promise: Promise<StepOutcome>): Promise<StepOutcome | 'blocked'> {
  for (;;) {
    const done = await Promise.race([promise, sleep(POLL_INTERVAL_MS).then(() => null)]);
    if (done) return done;
    const blocked = await monitor.query('SELECT cardinality(pg_blocking_pids($1)) > 0 AS blocked', [session.pid]);
    if ((blocked.rows[0] as { blocked: boolean }).blocked) {
      // Re-check: it may have finished between the two looks.
      const settled = await Promise.race([promise, Promise.resolve(null)]);
      return settled ?? 'blocked';
    }
  }
}

function send(session: Session, label: string, text: string, values: unknown[]): Promise<StepOutcome> {
  return session.client.query(text, values).then(
    (): StepOutcome => ({ label, status: 'ok', blocked: false }),
    (error: { code?: string; message?: string }): StepOutcome => ({
      label,
      status: 'error',
      sqlState: error.code ?? '',
      message: error.message ?? String(error),
      blocked: false,
    }),
  );
}

async function runPermutation(
  monitor: Pool,
  sessions: Session[],
  race: Race,
  fixture: RaceFixture,
  schedule: StepRef[],
): Promise<{ outcomes: StepOutcome[]; infeasible?: string; ambiguous: boolean }> {
  const outcomes: StepOutcome[] = [];
  // Set when a step runs while two or more sessions wait: if it releases
  // them together, the server decides which resumes first, so this schedule's
  // outcome may differ between runs (each outcome is still checked).
  let ambiguous = false;
  const settleWaiting = async (): Promise<void> => {
    for (const session of sessions) {
      if (!session.waiting) continue;
      const state = await finishedOrBlocked(monitor, session, session.waiting.promise);
      if (state !== 'blocked') {
        outcomes.push({ ...state, blocked: true });
        delete session.waiting;
      }
    }
  };
  for (const session of sessions) await session.client.query('BEGIN');
  for (const ref of schedule) {
    const session = sessions[ref.session]!;
    const { label } = stepLabel(race, ref);
    if (session.waiting) {
      return { outcomes, ambiguous, infeasible: `${label} comes next but ${session.name} is still waiting on a lock (${session.waiting.label})` };
    }
    if (sessions.filter((s) => s.waiting).length >= 2) ambiguous = true;
    const step = race.sessions[ref.session]!.steps[ref.step];
    const { text, values } = step ? step.sql(fixture) : { text: 'COMMIT', values: [] };
    const promise = send(session, label, text, values);
    const state = await finishedOrBlocked(monitor, session, promise);
    if (state === 'blocked') session.waiting = { label, promise };
    else outcomes.push(state);
    await settleWaiting();
  }
  // Every session has committed; a step still waiting now waits on nothing of ours (a deadlock resolves with an error).
  while (sessions.some((s) => s.waiting)) await settleWaiting();
  return { outcomes, ambiguous };
}

/** Leaves every session idle and outside a transaction, whatever the permutation left behind. */
async function resetSessions(sessions: Session[]): Promise<void> {
  // Roll back the sessions that can answer: that releases locks others wait
  // for; a waiting session may then finish and need its own rollback.
  const pending = new Set(sessions);
  while (pending.size > 0) {
    for (const session of [...pending]) {
      if (session.waiting) continue;
      await session.client.query('ROLLBACK');
      pending.delete(session);
    }
    const waiting = [...pending];
    if (waiting.length === 0) break;
    const finished = await Promise.race(waiting.map((session) => session.waiting!.promise.then(() => session)));
    delete finished.waiting;
  }
}

export function parseSchedule(race: Race, text: string): StepRef[] {
  const wanted = text.trim().split(/[\s,]+/);
  const candidates = interleavings(race.sessions.map((s) => s.steps.length + 1));
  const match = candidates.find(
    (candidate) =>
      candidate.length === wanted.length &&
      candidate.every((ref, i) => {
        const { label, short } = stepLabel(race, ref);
        return wanted[i] === label || wanted[i] === short;
      }),
  );
  if (!match)
    throw new BookijiError('USAGE_ERROR', `permutation "${text}" is not a schedule of race ${race.id}`, {
      hint: 'Copy the schedule a failing permutation printed, e.g. "s1.claim s2.claim s1.commit s2.commit".',
    });
  return match;
}

// Stays long: per race it opens the sessions, runs every schedule and closes them in one try/finally, so no session outlives its race.
export async function explore(options: ExploreOptions = {}): Promise<ExploreResult> {
  const startedAt = Date.now();
  const selected =
    options.races && options.races.length > 0
      ? options.races.map((id) => {
          const race = races.find((r) => r.id === id);
          if (!race) throw new BookijiError('USAGE_ERROR', `unknown race ${id} (known: ${races.map((r) => r.id).join(', ')})`);
          return race;
        })
      : races;
  if (options.permutation && selected.length !== 1) throw new BookijiError('USAGE_ERROR', '--permutation replays one race: name it with --race');
  const ownPool = !options.pool;
  const connectionString = options.connectionString ?? (options.pool?.options.connectionString as string | undefined);
  if (!options.pool && !connectionString) throw new BookijiError('USAGE_ERROR', 'explore needs a pool or a connection string');
  const monitor = options.pool ?? createPool({ connectionString: connectionString!, max: 2, applicationName: 'simcity-explorer' });
  const sessionConfig: pg.ClientConfig = connectionString ? { connectionString } : { ...(options.pool!.options as pg.ClientConfig) };
  const simulated = ((await monitor.query('SELECT simulated FROM clock')).rows[0] as { simulated: boolean }).simulated;
  const needsClock = selected.filter((race) => race.simulation && !simulated);
  if (needsClock.length > 0) {
    if (ownPool) await monitor.end();
    throw new BookijiError('USAGE_ERROR', `race(s) ${needsClock.map((r) => r.id).join(', ')} move the clock and need a database created for simulation`);
  }
  const runId = randomBytes(4).toString('hex');
  const results: RaceResult[] = [];
  try {
    for (const race of selected) {
      const schedules = options.permutation ? [parseSchedule(race, options.permutation)] : interleavings(race.sessions.map((s) => s.steps.length + 1));
      const sessions: Session[] = [];
      const result: RaceResult = {
        raceId: race.id,
        title: race.title,
        permutations: schedules.length,
        feasible: 0,
        infeasible: 0,
        ambiguous: 0,
        failing: [],
        passed: true,
      };
      try {
        for (const definition of race.sessions) {
          const client = new pg.Client({ ...sessionConfig, application_name: `simcity-explorer-${definition.name}` });
          client.on('error', () => undefined);
          await client.connect();
          const pid = ((await client.query('SELECT pg_backend_pid() AS pid')).rows[0] as { pid: number }).pid;
          sessions.push({ name: definition.name, client, pid });
        }
        for (const [index, schedule] of schedules.entries()) {
          options.onPermutation?.(race.id, index + 1, schedules.length);
          const fixture = await race.setup(monitor, `${runId}-${race.id}-${index}`);
          const run = await runPermutation(monitor, sessions, race, fixture, schedule);
          await resetSessions(sessions);
          const labels = schedule.map((ref) => stepLabel(race, ref).short);
          const permutation: PermutationResult = {
            raceId: race.id,
            index,
            schedule: labels,
            outcomes: run.outcomes,
            ambiguous: run.ambiguous,
            violations: [],
            replayCommand: `bookiji simcity explore --race ${race.id} --permutation ${shellQuote(labels.join(' '))}`,
          };
          if (run.ambiguous) result.ambiguous += 1;
          if (run.infeasible) {
            permutation.infeasible = run.infeasible;
            result.infeasible += 1;
            continue;
          }
          result.feasible += 1;
          const truth = await readVendorTruth(monitor, fixture.vendorId);
          permutation.violations = [...slotAndBookingChecks(truth), ...race.check(truth, fixture, run.outcomes)];
          if (permutation.violations.length > 0) {
            result.failing.push(permutation);
            result.passed = false;
          }
        }
      } finally {
        for (const session of sessions) await session.client.end().catch(() => undefined);
      }
      results.push(result);
    }
  } finally {
    if (ownPool) await monitor.end();
  }
  return { passed: results.every((r) => r.passed), races: results, durationMs: Date.now() - startedAt };
}
