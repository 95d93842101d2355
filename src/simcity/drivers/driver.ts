// What a scenario driver implements. The runtime owns concurrency, faults,
// the history, progress and stopping; a driver owns its fixtures, what each
// action does, and its oracles over the database's truth.

import type { Pool, Queryable } from '../../db/pool.js';
import type { Random } from '../random.js';
import type { ClientSession, HttpChannel } from './channels.js';
import type { ScenarioDefinition } from '../scenarioFile.js';
import type { VendorTruth } from '../truth.js';
import type { HistoryEvent, IterationPlan, PlannedAction, ScenarioParameters } from '../types.js';

/** One iteration's fixtures: the ids behind the plan's names, and the observer's memory. */
export interface Fixture {
  vendorId: string;
  /** Symbolic name → database id or key (C1 → uuid, intent_A → key). */
  names: Record<string, string>;
}

export interface Finding {
  oracle: string;
  message: string;
  evidence?: unknown;
}

export interface TerminalVerdict {
  findings: Finding[];
  /** Set when an outcome could not be established: the verdict is undecided, not a pass. */
  undecided?: string;
  /** The terminal state reached, when the scenario names them (STATE 1 / STATE 2). */
  state?: string;
}

export interface Driver<F extends Fixture = Fixture> {
  /** The oracle names this driver can report; a scenario file may only name these. */
  oracles: readonly string[];
  /** Which invariants each oracle checks: the runtime counts checks per invariant from it. */
  oracleInvariants?: Record<string, readonly string[]>;
  /** Invariants whose dangerous state this completed action reached (e.g. a claim on a full slot → I1): counted as `exercised`. */
  exercised?(event: HistoryEvent, fixture: F): readonly string[];
  /** Oracles judged only by `terminal` (after the chaos settled): counted as checks there alone. */
  terminalOracles?: readonly string[];
  /** Action kinds that are faults (time passing, …): run awaited by the nemesis, not by a client. */
  faultKinds?: readonly string[];
  /**
   * Action kinds allowed longer than the runtime's per-action limit, in ms: those that
   * restart a process and wait for it (a loaded machine takes seconds per restart).
   */
  slowActionTimeoutsMs?: Readonly<Record<string, number>>;
  /**
   * True when an action's every database effect is over once its request is
   * answered: no webhook, outbox or other work it starts runs on afterwards.
   * Then an iteration with no fault and no unknown outcome has nothing left
   * running when its last answer arrives, and the runtime skips the settle
   * phase's wait for quiet (see `mayLeaveRequestsRunning` in the runtime).
   */
  answersAreFinal?: boolean;
  /** Long-lived services the scenario needs (a payment provider, a webhook receiver), started once per run. */
  openServices?(observer: Pool, parameters: ScenarioParameters, seed: string): Promise<Services>;
  /** Lets the chaos settle before the terminal check (deliver webhooks, reconcile). */
  beforeTerminal?(fixture: F, observer: Pool): Promise<void>;
  /** Seed-derived fixture parameters, printed with the rest of the parameter set. */
  fixtureParameters(definition: ScenarioDefinition, random: Random): Record<string, unknown>;
  /** One iteration's symbolic plan; must depend only on `random` and the parameters. */
  plan(random: Random, parameters: ScenarioParameters, iteration: number): IterationPlan;
  /** Creates the iteration's fixtures (a fresh vendor), leaving everything else alone. */
  setup(db: Pool, plan: IterationPlan, runId: string, http: HttpChannel | undefined, services: Services | undefined): Promise<F>;
  /** Runs one client action in the given client session; resolves with what came back, throws on refusal. */
  perform(action: PlannedAction, fixture: F, session: ClientSession): Promise<Record<string, unknown>>;
  /** Reads the truth the oracles judge; default: the vendor's slots and bookings in one statement. */
  readTruth?(db: Pool, fixture: F): Promise<VendorTruth>;
  /** The oracles, after every action. `events` is this iteration's history so far. */
  observe(truth: VendorTruth, fixture: F, events: HistoryEvent[]): Finding[];
  /** After the chaos settled (in-flight requests resolved, settle actions run). */
  terminal(truth: VendorTruth, fixture: F, events: HistoryEvent[]): TerminalVerdict;
}

export interface Services {
  close(): Promise<void>;
}

export type AnyDriver = Driver<any>;

/** A small helper drivers share: a customer with a unique e-mail. */
export async function insertCustomer(db: Queryable, name: string, runId: string): Promise<string> {
  const email = `${name.toLowerCase()}-${runId}-${Math.random().toString(36).slice(2, 10)}@simcity.test`;
  const result = await db.query('INSERT INTO customers (name, email) VALUES ($1, $2) RETURNING id', [`SimCity ${name}`, email]);
  return (result.rows[0] as { id: string }).id;
}
