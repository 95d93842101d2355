// The SimCity runtime: expands a seed into parameters and a plan, builds
// fresh fixtures per iteration, fires the plan's actions without waiting
// (up to `concurrency` in flight over as many connections), injects the
// plan's faults, runs the oracles over the database's truth after every
// action, settles, checks the terminal state, and stops at the first
// violation with a forensic snapshot.

import { randomBytes } from 'node:crypto';
import pg from '../db/pg.js';
import { BookijiError } from '../errors.js';
import { createPool, type Pool } from '../db/pool.js';
import { ClientPool, quietClients } from './clientPool.js';
import { drivers } from './drivers/registry.js';
import type { AnyDriver, Finding, Fixture, Services } from './drivers/driver.js';
import type { HttpChannel } from './drivers/channels.js';
import { takeSnapshot } from './forensics.js';
import { History, classifyError, planDigest } from './history.js';
import { InvariantCounter } from './invariantTally.js';
import { createRandom } from './random.js';
import { currentCommit, replayCommand } from './replay.js';
import { loadScenario, type ScenarioDefinition } from './scenarioFile.js';
import { readVendorTruth } from './truth.js';
import type { HistoryEvent, IterationPlan, PlannedAction, RunScenarioOptions, ScenarioParameters, ScenarioResult, Verdict, Violation } from './types.js';

/**
 * Waits until no connection of this run (clients, old client pools, the API
 * server's pool) is inside a statement or a transaction, twice in a row: a
 * request the restarted client forgot may still be running server-side, and
 * the settle phase must come after it.
 */
async function quiesce(observer: Pool, runId: string, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  let idleInARow = 0;
  while (Date.now() < deadline) {
    const busy = await observer.query(
      `SELECT count(*)::int AS busy FROM pg_stat_activity WHERE application_name LIKE $1 AND state <> 'idle' AND pid <> pg_backend_pid()`,
      [`simcity-${runId}-%`],
    );
    idleInARow = (busy.rows[0] as { busy: number }).busy === 0 ? idleInARow + 1 : 0;
    if (idleInARow >= 2) return true;
    await new Promise((resolve) => setTimeout(resolve, QUIESCE_POLL_MS));
  }
  return false;
}

const QUIESCE_POLL_MS = 20;

/**
 * Whether this iteration may have left a request running server-side that no
 * client waits for any more, so the settle phase must first wait for quiet.
 * A fault may (a restart forgets its requests while the server still runs
 * them; a killed server or a moved clock leaves work behind), and so may an
 * action whose outcome is unknown (it timed out or lost its connection). An
 * action answered ok or with a refusal is over: the engine answers after its
 * statement ended, the partner API after the engine answered it. That holds
 * only for drivers whose actions start no work that outlives the answer
 * (`answersAreFinal`); for the others every iteration waits, as before.
 */
export function mayLeaveRequestsRunning(driver: AnyDriver, events: readonly HistoryEvent[]): boolean {
  if (!driver.answersAreFinal) return true;
  return events.some((event) => event.process === 'nemesis' || event.type === 'unknown');
}

/** A request that has not answered in this long is recorded as unknown (it may still land). */
const OPERATION_TIMEOUT_MS = 15_000;
/** How long the settle phase waits for requests still in flight. */
const SETTLE_WAIT_MS = 20_000;
/** Attempts per settle action while its outcome stays unknown. */
const SETTLE_ATTEMPTS_MAX = 4;
const LAST_ACTIONS_DEFAULT = 30;

/** The in-process API server must never refuse SimCity's own traffic as abuse. */
const API_REQUESTS_PER_WINDOW_MAX = 1_000_000;

/** Expands a seed into the scenario's parameter set and every iteration's plan. */
export function expandSeed(
  definition: ScenarioDefinition,
  driver: AnyDriver,
  seed: string,
  iterations: number,
  concurrencyOverride?: number,
): { parameters: ScenarioParameters; plans: IterationPlan[] } {
  const random = createRandom(`${definition.id}:${seed}`);
  const concurrency = concurrencyOverride ?? random.int(definition.concurrency.min, definition.concurrency.max);
  const actionsPerIteration = random.int(definition.actionsPerIteration.min, definition.actionsPerIteration.max);
  const weights = Object.fromEntries(Object.entries(definition.actionWeights).map(([kind, range]) => [kind, random.between(range)]));
  const total = Object.values(weights).reduce((sum, w) => sum + w, 0);
  const actionMix = Object.fromEntries(Object.entries(weights).map(([kind, w]) => [kind, Math.round((w / total) * 1000) / 1000]));
  const fixtures = driver.fixtureParameters(definition, random);
  // Half the client requests through the engine directly, half over HTTP, when the scenario names both.
  const paths = Object.fromEntries(definition.paths.map((path) => [path, Math.round((1 / definition.paths.length) * 1000) / 1000]));
  const parameters: ScenarioParameters = { seed, iterations, concurrency, actionsPerIteration, actionMix, paths, fixtures };
  // Each iteration draws from its own stream, so --iterations N replays a prefix of a longer run exactly.
  const plans = Array.from({ length: iterations }, (_, iteration) => driver.plan(createRandom(`${definition.id}:${seed}:${iteration}`), parameters, iteration));
  return { parameters, plans };
}

interface ApiHandle {
  channel: HttpChannel;
  close(): Promise<void>;
}

/** Starts the partner API in this process on 127.0.0.1 with its own pool, and a key for SimCity. */
async function startApi(observer: Pool, config: pg.PoolConfig, size: number, runId: string): Promise<ApiHandle> {
  const { startApiServer } = await import('../api/server.js');
  const { createApiKey } = await import('../api/apiKeys.js');
  const serverPool = config.connectionString
    ? createPool({ connectionString: config.connectionString, max: size, applicationName: `simcity-${runId}-api` })
    : new pg.Pool({ ...config, max: size, application_name: `simcity-${runId}-api` });
  serverPool.on('error', () => undefined);
  try {
    const key = await createApiKey(observer, { partner: 'SimCity' });
    const stripeWebhookSecret = `whsec_simcity_${randomBytes(12).toString('hex')}`;
    const server = await startApiServer({
      pool: serverPool,
      port: 0,
      host: '127.0.0.1',
      outbox: false,
      rateLimit: { requestsPerWindowMax: API_REQUESTS_PER_WINDOW_MAX, windowSeconds: 60 },
      stripeWebhook: { secrets: [stripeWebhookSecret] },
      log: () => undefined,
    });
    return {
      channel: { url: server.url, apiKey: key.key, partnerId: key.partnerId, requestIdPrefix: `simcity-${runId}`, stripeWebhookSecret },
      close: async () => {
        await server.close();
        await serverPool.end();
      },
    };
  } catch (error) {
    await serverPool.end().catch(() => undefined);
    throw error;
  }
}

/**
 * Target mode: a `bookiji serve` running elsewhere on the same database. The
 * key's partner is looked up in that database (the idempotency keys the
 * oracles look for are namespaced by it); nothing is started or stopped.
 */
async function remoteApi(observer: Pool, targetUrl: string, apiKey: string | undefined, runId: string): Promise<ApiHandle> {
  if (!apiKey)
    throw new BookijiError('USAGE_ERROR', '--target-url needs --api-key: the partner key the server accepts', {
      hint: "Create one with `bookiji apikey create --partner simcity` on the server's database.",
    });
  let url: URL;
  try {
    url = new URL(targetUrl);
  } catch {
    throw new BookijiError('USAGE_ERROR', `--target-url: not a URL: ${targetUrl}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new BookijiError('USAGE_ERROR', `--target-url: expected http(s)://, got ${url.protocol}`);
  const { authenticateApiKey } = await import('../api/apiKeys.js');
  const partner = await authenticateApiKey(observer, apiKey).catch((error: unknown) => {
    throw new BookijiError('USAGE_ERROR', `--api-key is not a live key on the database SimCity reads: ${(error as Error).message}`, {
      hint: "Target mode reads the truth from DATABASE_URL (or the embedded database): point it at the server's database.",
    });
  });
  return {
    channel: { url: url.origin + url.pathname.replace(/\/$/, ''), apiKey, partnerId: partner.partnerId, requestIdPrefix: `simcity-${runId}` },
    close: async () => undefined,
  };
}

interface Target {
  observer: Pool;
  clientConfig: pg.PoolConfig;
  close(): Promise<void>;
}

async function isSimulation(db: Pool): Promise<boolean> {
  return ((await db.query('SELECT simulated FROM clock')).rows[0] as { simulated: boolean }).simulated;
}

/**
 * A target that was itself created for simulation is used as it is: the
 * caller gave SimCity that database to move the clock and reconcile in.
 * Otherwise, a fresh database created for simulation beside the target, for this run
 * alone, dropped when the run ends (the forensic snapshot is taken before).
 * A scenario that moves the clock or runs reconcile acts on the whole
 * database; its own database keeps it away from everything else, and keeps
 * everything else (other runs' payments, other clocks) away from it.
 */
async function simulationTarget(target: Target, runId: string): Promise<Target> {
  const connectionString = target.clientConfig.connectionString;
  if (!connectionString)
    throw new BookijiError('USAGE_ERROR', 'this scenario needs its own simulation database: give a connection string so SimCity can create one beside it');
  const { ensureDatabaseExists } = await import('../db/database.js');
  const { ensureMigrated } = await import('../db/migrate.js');
  const { siblingDatabaseUrl } = await import('./simulationDatabase.js');
  const name = `bookiji_simcity_${runId}`;
  await ensureDatabaseExists(connectionString, name, { simulation: true });
  const simulationUrl = siblingDatabaseUrl(connectionString, name);
  const observer = createPool({ connectionString: simulationUrl, max: 4, applicationName: 'simcity-observer' });
  quietClients(observer);
  const drop = async (): Promise<void> => {
    await observer.end().catch(() => undefined);
    await target.observer.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`).catch(() => undefined);
  };
  try {
    await ensureMigrated(observer);
  } catch (error) {
    await drop();
    throw error;
  }
  return {
    observer,
    clientConfig: { connectionString: simulationUrl },
    close: async () => {
      await drop();
      await target.close();
    },
  };
}

async function openTarget(options: RunScenarioOptions): Promise<Target> {
  if (options.pool) {
    const config = options.connectionString ? { connectionString: options.connectionString } : { ...options.pool.options };
    return { observer: options.pool, clientConfig: config, close: async () => undefined };
  }
  if (options.connectionString) {
    const observer = createPool({ connectionString: options.connectionString, max: 4, applicationName: 'simcity-observer' });
    return { observer, clientConfig: { connectionString: options.connectionString }, close: () => observer.end() };
  }
  const { openDatabase } = await import('../db/database.js');
  const db = await openDatabase({ poolMax: 4 });
  return { observer: db.pool, clientConfig: { connectionString: db.target.connectionString }, close: () => db.close() };
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

// biome-ignore lint/complexity/noExcessiveLinesPerFunction: stays long: the action loop's closures (stop, check, execute) share the run's state (verdict, snapshot, history), and one try/finally closes every target, API and client pool the run opened, on every path.
export async function runScenario(options: RunScenarioOptions): Promise<ScenarioResult> {
  const startedAt = Date.now();
  const definition = loadScenario(options.scenarioId);
  const driver = drivers[definition.driver];
  if (!driver) throw new BookijiError('INTERNAL_ERROR', `scenario ${definition.id} names driver ${definition.driver}, which does not exist`);
  const unknownOracles = definition.oracles.filter((oracle) => !driver.oracles.includes(oracle));
  if (unknownOracles.length > 0)
    throw new BookijiError('INTERNAL_ERROR', `scenario ${definition.id} names oracles its driver does not run: ${unknownOracles.join(', ')}`);
  if (options.iterations !== undefined && (!Number.isInteger(options.iterations) || options.iterations < 1 || options.iterations > 100_000)) {
    throw new BookijiError('USAGE_ERROR', 'iterations: give a whole number from 1 to 100000');
  }
  if (options.concurrency !== undefined && (!Number.isInteger(options.concurrency) || options.concurrency < 1 || options.concurrency > 64)) {
    throw new BookijiError('USAGE_ERROR', 'concurrency: give a whole number from 1 to 64');
  }
  if (options.seed.length === 0 || options.seed.length > 200) throw new BookijiError('USAGE_ERROR', 'seed: give 1 to 200 characters');
  const iterations = options.iterations ?? definition.iterationsDefault;
  const { parameters, plans } = expandSeed(definition, driver, options.seed, iterations, options.concurrency);
  const digest = planDigest(definition.id, plans);
  const commit = options.commit === undefined ? currentCommit() : options.commit;
  const counter = new InvariantCounter(definition, driver);
  const replay = replayCommand(definition.id, options.seed, iterations, options.concurrency);
  const lastActionsMax = options.lastActionsMax ?? LAST_ACTIONS_DEFAULT;
  const history = new History();
  const runId = randomBytes(4).toString('hex');
  const violations: Violation[] = [];
  let verdict: Verdict = 'pass';
  let snapshot: ScenarioResult['forensicSnapshot'];
  let actions = 0;

  const base = await openTarget(options);
  let target = base;
  let api: ApiHandle | undefined;
  let services: Services | undefined;
  try {
    if (definition.database === 'simulation' && !(await isSimulation(base.observer))) target = await simulationTarget(base, runId);
    if (parameters.paths.http) {
      api = options.targetUrl
        ? await remoteApi(target.observer, options.targetUrl, options.apiKey, runId)
        : await startApi(target.observer, target.clientConfig, parameters.concurrency, runId);
    }
    if (driver.openServices) services = await driver.openServices(target.observer, parameters, `${definition.id}:${options.seed}`);
  } catch (error) {
    await api?.close();
    await target.close();
    throw error;
  }
  const clients = new ClientPool(target.clientConfig, parameters.concurrency, runId);
  const report = (iteration: number): void =>
    options.onProgress?.({ scenarioId: definition.id, iteration: iteration + 1, iterations, actions, violations: violations.length });

  try {
    for (const plan of plans) {
      const iteration = plan.iteration;
      history.stats.iterations = iteration + 1;
      const fixture: Fixture = await driver.setup(target.observer, plan, runId, api?.channel, services);
      const inFlight = new Set<Promise<void>>();
      const busy = new Set<number>();

      const stop = async (findings: Finding[], step: number): Promise<void> => {
        counter.countFindings(findings);
        for (const finding of findings) violations.push({ oracle: finding.oracle, message: finding.message, iteration, step, evidence: finding.evidence });
        snapshot = await takeSnapshot(target.observer, {
          scenarioId: definition.id,
          iteration,
          vendorId: fixture.vendorId,
          lastActions: history.tail(lastActionsMax),
          names: fixture.names,
        });
      };
      const check = async (step: number): Promise<boolean> => {
        // Events first, truth second: every completion the oracle is shown
        // committed before the truth was read (a reply recorded during the
        // read could otherwise acknowledge a row the snapshot cannot see).
        const events = history.forIteration(iteration);
        const truth = await (driver.readTruth ? driver.readTruth(target.observer, fixture) : readVendorTruth(target.observer, fixture.vendorId));
        history.stats.oracleChecks += 1;
        counter.countCheck();
        const findings = driver.observe(truth, fixture, events);
        if (findings.length === 0) return true;
        verdict = 'violation';
        await stop(findings, step);
        return false;
      };
      /** Runs one client action and records its completion; never throws. */
      const execute = async (action: PlannedAction, step: number, processName: string): Promise<'ok' | 'fail' | 'unknown'> => {
        const session = { pool: clients.pool, signal: clients.signal, http: api?.channel };
        history.record({ iteration, step, process: processName, type: 'invoke', action });
        try {
          const timeoutMs = driver.slowActionTimeoutsMs?.[action.kind] ?? OPERATION_TIMEOUT_MS;
          const outcome = await withTimeout(driver.perform(action, fixture, session), timeoutMs);
          if (outcome === 'timeout') {
            counter.countCompletion(
              history.record({
                iteration,
                step,
                process: processName,
                type: 'unknown',
                action,
                error: 'TIMEOUT',
                message: `no answer within ${timeoutMs} ms`,
              }),
              fixture,
            );
            return 'unknown';
          }
          counter.countCompletion(history.record({ iteration, step, process: processName, type: 'ok', action, value: outcome }), fixture);
          return 'ok';
        } catch (error) {
          const { type, code, message } = classifyError(error);
          counter.countCompletion(history.record({ iteration, step, process: processName, type, action, error: code, message }), fixture);
          return type;
        }
      };

      let stopped = false;
      for (let step = 0; step < plan.actions.length && !stopped; step++) {
        const action = plan.actions[step]!;
        actions += 1;
        if (action.kind === 'restart_simcity') {
          history.record({ iteration, step, process: 'nemesis', type: 'invoke', action });
          const killed = await clients.restart(target.observer);
          // The restarted process has no memory of what it sent: pending requests are lost to it.
          inFlight.clear();
          busy.clear();
          history.record({ iteration, step, process: 'nemesis', type: 'ok', action, value: { connectionsKilled: killed } });
        } else if (driver.faultKinds?.includes(action.kind)) {
          await execute(action, step, 'nemesis');
        } else if (action.kind === 'no_op') {
          history.record({ iteration, step, process: 'idle', type: 'invoke', action });
          history.record({ iteration, step, process: 'idle', type: 'ok', action });
        } else {
          while (inFlight.size >= parameters.concurrency) await Promise.race(inFlight);
          let slot = 0;
          while (busy.has(slot)) slot += 1;
          busy.add(slot);
          const running: Promise<void> = execute(action, step, `c${slot}`).then(() => {
            busy.delete(slot);
            inFlight.delete(running);
          });
          inFlight.add(running);
        }
        stopped = !(await check(step));
        report(iteration);
      }

      // Settle: let the chaos finish, then give every intent a definite outcome.
      const pending = await withTimeout(Promise.allSettled([...inFlight]), SETTLE_WAIT_MS);
      const quiet = stopped || !mayLeaveRequestsRunning(driver, history.forIteration(iteration)) || (await quiesce(target.observer, runId, SETTLE_WAIT_MS));
      if (!stopped && (pending === 'timeout' || !quiet)) {
        verdict = 'undecided';
        await stop([{ oracle: 'settle', message: `requests still in flight after ${SETTLE_WAIT_MS} ms: their outcome cannot be established` }], -1);
        stopped = true;
      }
      for (let index = 0; index < plan.settle.length && !stopped; index++) {
        const action = plan.settle[index]!;
        const step = plan.actions.length + index;
        for (let attempt = 1; attempt <= SETTLE_ATTEMPTS_MAX; attempt++) {
          if ((await execute(action, step, 'settle')) !== 'unknown') break;
        }
        stopped = !(await check(step));
      }
      if (stopped) break;
      if (driver.beforeTerminal) {
        // The faults are healed by now: whatever the settle work (reconcile,
        // webhook delivery) throws is the engine failing to recover.
        const settleError = await driver.beforeTerminal(fixture, target.observer).then(
          () => null,
          (error: unknown) => classifyError(error),
        );
        await quiesce(target.observer, runId, SETTLE_WAIT_MS);
        if (settleError) {
          verdict = 'violation';
          await stop([{ oracle: 'settle', message: `recovery after the chaos failed: ${settleError.code}: ${settleError.message}` }], -1);
          break;
        }
      }
      const truth = await (driver.readTruth ? driver.readTruth(target.observer, fixture) : readVendorTruth(target.observer, fixture.vendorId));
      history.stats.oracleChecks += 1;
      counter.countCheck(true);
      const final = driver.terminal(truth, fixture, history.forIteration(iteration));
      if (final.state) history.stats.terminalStates[final.state] = (history.stats.terminalStates[final.state] ?? 0) + 1;
      if (final.findings.length > 0 || final.undecided) {
        verdict = final.findings.length > 0 ? 'violation' : 'undecided';
        const findings = final.undecided ? [...final.findings, { oracle: 'terminal-state', message: `undecided: ${final.undecided}` }] : final.findings;
        await stop(findings, -1);
        break;
      }
      report(iteration);
    }
  } finally {
    await clients.end();
    await services?.close();
    await api?.close();
    await target.close();
  }

  const result: ScenarioResult = {
    scenarioId: definition.id,
    title: definition.title,
    seed: options.seed,
    commit,
    passed: verdict === 'pass',
    verdict,
    digest,
    parameters,
    actions,
    violations,
    replayCommand: replay,
    durationMs: Date.now() - startedAt,
    stats: history.stats,
    invariants: counter.result(),
    historyTail: history.tail(lastActionsMax),
  };
  if (snapshot) result.forensicSnapshot = snapshot;
  return result;
}
