// SC-6, degraded reality (scenarios/SC-6.json): a real `bookiji serve`
// process SimCity starts itself, a payment provider with a seeded fault plan
// (5xx, timeouts, lost webhooks), and a nemesis that kills. Every iteration
// opens with the same scripted failures, whatever the seed: claims killed
// (pg_terminate_backend) while they wait on the slot's lock inside their
// transaction; claims killed after claim_slot ran but before COMMIT; a card
// payment that succeeds at the provider while its webhook is lost and the
// process "crashes" before verifying (a crash between two steps); holds
// placed through `serve`, which is then SIGKILLed and restarted, the holds
// left to time out and two reconciles run at once. The seeded mix then
// claims through `serve` and the engine under SIGKILL + restart,
// SIGSTOP/SIGCONT, every backend killed, and the provider's faults.
//
// Oracles after every action: capacity and counters coherent (I1, I3); no
// confirmed card booking without money the provider holds (I4); nothing a
// killed transaction did survives; every acknowledged booking still exists
// and is confirmed (no false confirmation, no silent loss); every failure is
// explicit (a taxonomy code, never a bare 500). After healing, restarting
// and reconcile: no orphan payment, the ledger equals the provider, no
// expired hold left, each released exactly once.

import pg from '../../db/pg.js';
import type { Pool } from '../../db/pool.js';
import { actorArgs } from '../../engine/actor.js';
import { claimSlot } from '../../engine/bookings.js';
import { advanceClock } from '../../engine/clock.js';
import { expireHolds } from '../../engine/holds.js';
import type { Actor } from '../../engine/types.js';
import { BookijiError, toBookijiError } from '../../errors.js';
import { payAsCustomer, startCardCheckout } from '../../payments/checkout.js';
import { PaymentGateway } from '../../payments/gateway.js';
import { reconcile } from '../../reconcile/index.js';
import { startStripeSandbox, type FaultOptions, type StripeSandbox } from '../../stripeSandbox/index.js';
import { ServedProcess } from '../servedProcess.js';
import { readVendorTruth, slotAndBookingChecks, type VendorTruth } from '../truth.js';
import type { HistoryEvent, IterationPlan, PlannedAction } from '../types.js';
import { insertCustomer, type Driver, type Finding, type Fixture, type Services } from './driver.js';
import { instantChecks, readPaymentTruth, settledPaymentChecks, type PaymentTruth } from './paymentConsistency.js';
import { partnerReceiverDown, receiverDownChecks } from './degradedRealityOutbox.js';
import { holdExpiryChecks, inSnapshot, readTimeTruth, type TimeTruth } from './timeTruth.js';

const OPENINGS = ['kill_waiting_claims', 'kill_before_commit', 'crash_between_payment_steps', 'orphaned_holds_kill_serve', 'partner_receiver_down'] as const;
const FAULTS = ['kill_serve', 'pause_serve', 'kill_backends'] as const;
const INTENTS = ['I1', 'I2', 'I3', 'I4', 'I5', 'I6'];
const SLOTS = ['S1', 'S2', 'S3'];
const VICTIMS = 3;
const ORPHANED_HOLDS = 3;
const API_KEY = 'sk_test_bookiji_sc6';
const WEBHOOK_SECRET = 'whsec_bookiji_sc6';
/** The client gives up on `serve` after this long (a paused process answers nobody). */
const CLIENT_TIMEOUT_MS = 3_000;
const VICTIM_WAIT_MS_MAX = 10_000;
const RECONCILE_ACTOR: Actor = { kind: 'system', id: 'simcity-reconcile', source: 'reconcile' };

interface DegradedServices extends Services {
  serve: ServedProcess;
  sandbox: StripeSandbox;
  gateway: PaymentGateway;
  faults: FaultOptions;
  apiKey: string;
  /** The partner the key belongs to: the API namespaces its idempotency keys by it. */
  partnerId: string;
  connectionString: string;
}

interface DegradedFixture extends Fixture {
  runId: string;
  slotIds: Record<string, string>;
  customerIds: Record<string, string>;
  keyPrefix: string;
  services: DegradedServices;
  /** Bookings claimed inside transactions that were killed before COMMIT: none may exist. */
  ghosts: string[];
  /** Of those, the ones found in the database at the last read (they live at other vendors). */
  ghostsFound: string[];
  /** Customers whose only claims were killed while waiting: no booking of theirs may exist. */
  killedCustomers: string[];
  reconciledAt: string | null;
  payments: PaymentTruth;
  time: TimeTruth;
}

const actorFor = (name: string, kind: string): Actor => ({ kind: 'customer', id: name, source: 'simcity', requestId: `${kind}:${name}` });
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function victim(connectionString: string, tag: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString, application_name: tag, statement_timeout: 30_000 });
  client.on('error', () => undefined);
  await client.connect();
  return client;
}

async function terminate(pool: Pool, where: string, value: string): Promise<number> {
  return Number(
    (
      await pool.query(
        `SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) AS n FROM pg_stat_activity WHERE datname = current_database() AND ${where} AND pid <> pg_backend_pid()`,
        [value],
      )
    ).rows[0].n,
  );
}

/** Claims waiting on the slot's lock inside their transactions, killed there: each caller hears DEPENDENCY_UNAVAILABLE. */
async function killWaitingClaims(fixture: DegradedFixture, pool: Pool): Promise<Record<string, unknown>> {
  const tag = `simcity-${fixture.runId}-victim-wait`;
  const { connectionString } = fixture.services;
  const locker = await victim(connectionString, `${tag}-locker`);
  const victims = await Promise.all(Array.from({ length: VICTIMS }, () => victim(connectionString, tag)));
  try {
    await locker.query('BEGIN');
    await locker.query('SELECT 1 FROM slots WHERE vendor_id = $1 AND id = $2 FOR UPDATE', [fixture.vendorId, fixture.slotIds.W]);
    const calls = victims.map((client, i) =>
      client
        .query('SELECT claim_slot($1, $2, false, NULL, NULL, NULL, $3, $4, $5, $6)', [
          fixture.slotIds.W,
          fixture.customerIds[`K${i + 1}`],
          ...actorArgs(actorFor(`K${i + 1}`, 'killed-waiting')),
        ])
        .then(
          () => 'OK',
          (error: unknown) => toBookijiError(error).code,
        ),
    );
    const deadline = Date.now() + VICTIM_WAIT_MS_MAX;
    while (
      Number((await pool.query(`SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'`, [tag])).rows[0].n) <
        VICTIMS &&
      Date.now() < deadline
    )
      await sleep(20);
    const killed = await terminate(pool, 'application_name = $1', tag);
    const codes = await Promise.all(calls);
    await locker.query('ROLLBACK');
    return { killed, codes: codes.join(',') };
  } finally {
    await Promise.all([locker, ...victims].map((c) => c.end().catch(() => undefined)));
  }
}

/** Claims that ran inside open transactions, killed before COMMIT: their bookings must not exist. */
async function killBeforeCommit(fixture: DegradedFixture, pool: Pool): Promise<Record<string, unknown>> {
  const tag = `simcity-${fixture.runId}-victim-commit`;
  const victims = await Promise.all(Array.from({ length: VICTIMS }, () => victim(fixture.services.connectionString, tag)));
  try {
    for (const [i, client] of victims.entries()) {
      await client.query('BEGIN');
      const claimed = await client.query('SELECT booking FROM claim_slot($1, $2, false, NULL, NULL, NULL, $3, $4, $5, $6)', [
        fixture.slotIds[`G${i + 1}`],
        fixture.customerIds.C1,
        ...actorArgs(actorFor('C1', 'killed-before-commit')),
      ]);
      fixture.ghosts.push((claimed.rows[0] as { booking: { id: string } }).booking.id);
    }
    const killed = await terminate(pool, 'application_name = $1', tag);
    const commits = await Promise.all(
      victims.map((c) =>
        c.query('COMMIT').then(
          () => 'COMMITTED',
          (error: unknown) => toBookijiError(error).code,
        ),
      ),
    );
    return { killed, commits: commits.join(',') };
  } finally {
    await Promise.all(victims.map((c) => c.end().catch(() => undefined)));
  }
}

/** The provider takes the money, its webhook is lost, and the process dies before verifying: only reconcile can finish it. */
async function crashBetweenPaymentSteps(fixture: DegradedFixture, pool: Pool): Promise<Record<string, unknown>> {
  const { sandbox, gateway, faults } = fixture.services;
  sandbox.setFaults({ dropRate: 1 });
  try {
    const held = await claimSlot(
      pool,
      {
        slot: fixture.slotIds.PAID,
        customer: fixture.customerIds.C2,
        hold: true,
        holdTtlSeconds: 600,
        paymentMethod: 'card',
        idempotencyKey: `${fixture.keyPrefix}paid`,
      },
      actorFor('C2', 'crash'),
    );
    const started = await startCardCheckout(pool, gateway, held.booking.id, actorFor('C2', 'crash'));
    const paid = await payAsCustomer(gateway, started.payment.providerIntentId ?? '', 'pm_card_visa');
    return { booking: held.booking.id, intent: started.payment.providerIntentId ?? '', provider: paid.status };
  } finally {
    sandbox.setFaults(faults);
  }
}

async function serveRequest(
  services: DegradedServices,
  signal: AbortSignal,
  path: string,
  body: unknown,
): Promise<{ id: string; state: string; replayed: boolean }> {
  let response: Response;
  try {
    response = await fetch(`${services.serve.url}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${services.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.any([signal, AbortSignal.timeout(CLIENT_TIMEOUT_MS)]),
    });
  } catch (error) {
    throw new BookijiError('DEPENDENCY_UNAVAILABLE', `no answer from serve: ${(error as Error).message}`, { cause: error });
  }
  const text = await response.text().catch(() => '');
  let parsed: { booking?: { id: string; state: string }; replayed?: boolean; error?: { code: string; message: string } };
  try {
    parsed = JSON.parse(text) as typeof parsed;
  } catch {
    // A body that is not our JSON: the failure was not explicit.
    throw new BookijiError('INTERNAL_ERROR', `serve answered ${response.status} without a coded body: ${text.slice(0, 200)}`);
  }
  if (!parsed.booking) throw new BookijiError((parsed.error?.code ?? 'INTERNAL_ERROR') as 'INTERNAL_ERROR', parsed.error?.message ?? `HTTP ${response.status}`);
  return { id: parsed.booking.id, state: parsed.booking.state, replayed: Boolean(parsed.replayed) };
}

/** Holds placed through `serve`, which is then killed; the holds time out and two reconciles race to release them. */
async function orphanedHoldsKillServe(fixture: DegradedFixture, pool: Pool, signal: AbortSignal): Promise<Record<string, unknown>> {
  const services = fixture.services;
  const holds: string[] = [];
  for (let i = 1; i <= ORPHANED_HOLDS; i++) {
    const body = {
      slotId: fixture.slotIds[`O${i}`],
      customerId: fixture.customerIds[`V${i}`],
      idempotencyKey: `${fixture.keyPrefix}orphan-${i}`,
      hold: true,
      holdTtlSeconds: 30,
    };
    // The opening needs a serve that answers: one the previous iteration's faults left
    // unresponsive (a restart still coming up on a loaded machine) is restarted once and the
    // same keyed request retried, which the idempotency key makes safe.
    const held = await serveRequest(services, signal, '/v1/bookings', body).catch(async (error: unknown) => {
      if (!(error instanceof BookijiError) || error.code !== 'DEPENDENCY_UNAVAILABLE') throw error;
      await services.serve.restart();
      return serveRequest(services, signal, '/v1/bookings', body);
    });
    holds.push(held.id);
  }
  await services.serve.restart();
  await advanceClock(pool, 31_000);
  fixture.reconciledAt = ((await pool.query('SELECT bookiji_now() AS now')).rows[0].now as Date).toISOString();
  const runs = await Promise.all([expireHolds(pool, { dryRun: false, actor: RECONCILE_ACTOR }), expireHolds(pool, { dryRun: false, actor: RECONCILE_ACTOR })]);
  const released = runs.map((run) => run.filter((r) => holds.includes(r.bookingId)).length);
  return { holds: holds.length, released: released.join('+') };
}

async function nemesis(kind: string, fixture: DegradedFixture, pool: Pool, pauseMs: number): Promise<Record<string, unknown>> {
  const serve = fixture.services.serve;
  if (kind === 'kill_serve') {
    await serve.restart();
    return { restarts: serve.restarts };
  }
  if (kind === 'pause_serve') {
    serve.pause();
    await sleep(pauseMs);
    serve.resume();
    return { pausedMs: pauseMs };
  }
  // Every backend of `serve` ('bookiji') and of the simulated clients, mid-whatever they are doing.
  const killed = await terminate(pool, `(application_name = 'bookiji' OR application_name LIKE $1)`, `simcity-${fixture.runId}-%`);
  return { killed };
}

function degradedChecks(truth: VendorTruth, fixture: DegradedFixture, events: HistoryEvent[]): Finding[] {
  // Only PAID is priced: the payment checks judge the card bookings, the free ones need no money (I4).
  const cardTruth = { slots: truth.slots, bookings: truth.bookings.filter((b) => b.slotId === fixture.slotIds.PAID) };
  const findings: Finding[] = [
    ...slotAndBookingChecks(truth),
    ...instantChecks(cardTruth, fixture.payments, fixture.services),
    ...holdExpiryChecks(fixture.time, fixture.reconciledAt),
  ];
  const bookings = new Map(truth.bookings.map((b) => [b.id, b]));
  for (const ghost of fixture.ghostsFound)
    findings.push({ oracle: 'killed-transaction-leaves-nothing', message: `booking ${ghost} was claimed in a transaction killed before COMMIT, and exists` });
  for (const booking of truth.bookings) {
    if (fixture.killedCustomers.includes(booking.customerId))
      findings.push({
        oracle: 'killed-transaction-leaves-nothing',
        message: `booking ${booking.id} belongs to a customer whose only claim was killed while it waited`,
        evidence: booking,
      });
  }
  for (const event of events) {
    if (event.type === 'invoke') continue;
    if (event.error === 'INTERNAL_ERROR')
      findings.push({ oracle: 'explicit-failure', message: `${event.action} failed without an explicit cause: ${event.message ?? ''}`, evidence: event });
    if ((OPENINGS as readonly string[]).includes(event.action) && event.type !== 'ok')
      findings.push({
        oracle: 'scripted-opening',
        message: `the scripted failure ${event.action} did not run through: ${event.error}: ${event.message ?? ''}`,
        evidence: event,
      });
    findings.push(...receiverDownChecks(event));
    const value = event.value ?? {};
    for (const codes of [value.codes, value.commits]) {
      if (typeof codes === 'string' && codes.split(',').some((code) => code !== 'DEPENDENCY_UNAVAILABLE'))
        findings.push({
          oracle: 'explicit-failure',
          message: `${event.action}: the killed callers heard ${codes}, not DEPENDENCY_UNAVAILABLE each`,
          evidence: event,
        });
    }
    if (event.action === 'orphaned_holds_kill_serve' && event.type === 'ok' && value.released !== undefined) {
      const [a, b] = String(value.released).split('+').map(Number);
      if ((a ?? 0) + (b ?? 0) !== ORPHANED_HOLDS)
        findings.push({
          oracle: 'reconcile-recovers',
          message: `two concurrent reconciles released ${String(value.released)} of ${ORPHANED_HOLDS} orphaned holds`,
          evidence: event,
        });
    }
    // An acknowledged booking is never lost nor turned back (no false confirmation).
    if (event.type === 'ok' && event.action === 'claim' && typeof value.booking === 'string') {
      const booking = bookings.get(value.booking);
      if (!booking || booking.state !== 'confirmed')
        findings.push({
          oracle: 'no-false-confirmation',
          message: `booking ${value.booking} was acknowledged confirmed and is ${booking?.state ?? 'missing'}`,
          evidence: { event, booking },
        });
    }
  }
  return findings;
}

export const degradedReality: Driver<DegradedFixture> = {
  oracles: [
    'capacity',
    'slot-coherence',
    'booking-coherence',
    'confirmed-needs-verified-payment',
    'no-zombie-booking',
    'released-exactly-once',
    'expired-only-after-ttl',
    'reconcile-releases-expired',
    'killed-transaction-leaves-nothing',
    'explicit-failure',
    'scripted-opening',
    'reconcile-recovers',
    'no-false-confirmation',
    'no-orphan-payment',
    'ledger-reconciles',
    'outbox-keeps-failed-due',
  ],
  oracleInvariants: {
    'outbox-keeps-failed-due': ['partner-webhook-delivery'],
    capacity: ['I1'],
    'slot-coherence': ['I3'],
    'booking-coherence': ['I3', 'I10'],
    'confirmed-needs-verified-payment': ['I4', 'P1'],
    'no-zombie-booking': ['I4', 'I10'],
    'released-exactly-once': ['I9'],
    'expired-only-after-ttl': ['I9'],
    'reconcile-releases-expired': ['I9'],
    'killed-transaction-leaves-nothing': ['I1', 'I3'],
    'explicit-failure': ['I4'],
    'scripted-opening': ['I1', 'I3', 'I4'],
    'reconcile-recovers': ['I9'],
    'no-false-confirmation': ['I1', 'I4'],
    'no-orphan-payment': ['I4', 'P2'],
    'ledger-reconciles': ['P3'],
  },
  faultKinds: [...OPENINGS, ...FAULTS],
  // Each restarts `serve` (up to twice) and waits for it to listen (up to 30 s each).
  slowActionTimeoutsMs: { orphaned_holds_kill_serve: 90_000, kill_serve: 45_000 },
  terminalOracles: ['no-orphan-payment', 'ledger-reconciles'],

  fixtureParameters(definition, random) {
    const fixtures = definition.fixtures as { faults: Record<string, { min: number; max: number }> };
    const providerFaults = Object.fromEntries(Object.entries(fixtures.faults).map(([name, range]) => [name, Math.round(random.between(range) * 1000) / 1000]));
    return { intents: INTENTS, slots: SLOTS, openings: [...OPENINGS], providerFaults };
  },

  async openServices(observer, parameters, seed) {
    const connectionString = observer.options.connectionString as string;
    const faults: FaultOptions = { ...(parameters.fixtures.providerFaults as Record<string, number>), delayMs: [5, 60] };
    const sandbox = await startStripeSandbox({
      apiKey: API_KEY,
      webhookSecret: WEBHOOK_SECRET,
      seed,
      faults,
      apiTimeoutHoldMs: 800,
      deliveryBackoffMs: 10,
      deliveryBackoffMaxMs: 50,
    });
    const gateway = new PaymentGateway({
      secretKey: API_KEY,
      apiBase: sandbox.url,
      webhookSecrets: [WEBHOOK_SECRET],
      timeoutMs: 400,
      maxNetworkRetries: 0,
      attemptMax: 3,
      backoffBaseMs: 5,
    });
    const serve = new ServedProcess({
      connectionString,
      env: { STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET, STRIPE_SECRET_KEY: API_KEY, STRIPE_API_BASE: sandbox.url },
    });
    try {
      await serve.start();
    } catch (error) {
      await sandbox.close();
      throw error;
    }
    sandbox.setWebhookUrl(`${serve.url}/webhooks/stripe`);
    const { createApiKey } = await import('../../api/apiKeys.js');
    const key = await createApiKey(observer, { partner: `SimCity SC-6 ${seed}`.slice(0, 200) });
    return {
      serve,
      sandbox,
      gateway,
      faults,
      apiKey: key.key,
      partnerId: key.partnerId,
      connectionString,
      async close() {
        await serve.close();
        await sandbox.close();
      },
    };
  },

  plan(random, parameters, iteration): IterationPlan {
    const actions: PlannedAction[] = OPENINGS.map((kind) => ({ kind, args: {} }));
    const intentSlot = Object.fromEntries(INTENTS.map((intent) => [intent, random.pick(SLOTS)]));
    for (let n = 0; n < parameters.actionsPerIteration; n++) {
      const kind = random.weighted(parameters.actionMix);
      if (kind === 'claim') {
        const intent = random.pick(INTENTS);
        actions.push({ kind, args: { intent, slot: intentSlot[intent]!, path: random.pick(['serve', 'engine']) } });
      } else if (kind === 'pause_serve') {
        actions.push({ kind, args: { ms: random.int(200, 1500) } });
      } else {
        actions.push({ kind, args: {} });
      }
    }
    const settle = INTENTS.map((intent): PlannedAction => ({ kind: 'claim', args: { intent, slot: intentSlot[intent]!, path: 'engine' } }));
    return { iteration, fixtures: parameters.fixtures, actions, settle };
  },

  async setup(db, plan, runId, _http, services) {
    const vendorId = (await db.query(`INSERT INTO vendors (name, timezone) VALUES ($1, 'UTC') RETURNING id`, [`SimCity SC-6 ${runId} #${plan.iteration}`]))
      .rows[0].id as string;
    const names = [...SLOTS, 'W', 'PAID', ...Array.from({ length: ORPHANED_HOLDS }, (_, i) => `O${i + 1}`)];
    const slotIds: Record<string, string> = {};
    for (const [index, name] of names.entries()) {
      slotIds[name] = (
        await db.query(
          `WITH who AS (SELECT set_actor('simcity', 'setup', 'simcity', 'SC-6 fixture'))
         INSERT INTO slots (vendor_id, starts_at, ends_at, capacity, price_cents) SELECT $1, date_trunc('hour', bookiji_now()) + make_interval(days => 3, hours => $2 * 2), date_trunc('hour', bookiji_now()) + make_interval(days => 3, hours => $2 * 2 + 1), $3, $4 FROM who RETURNING id`,
          [vendorId, index, name === 'S3' ? 2 : 1, name === 'PAID' ? 4200 : 0],
        )
      ).rows[0].id as string;
    }
    // One vendor per killed-before-commit victim: uncommitted claims of one vendor would queue on its audit chain's head.
    for (let i = 1; i <= VICTIMS; i++) {
      const other = (
        await db.query(`INSERT INTO vendors (name, timezone) VALUES ($1, 'UTC') RETURNING id`, [`SimCity SC-6 ${runId} #${plan.iteration} victim ${i}`])
      ).rows[0].id as string;
      slotIds[`G${i}`] = (
        await db.query(
          `WITH who AS (SELECT set_actor('simcity', 'setup', 'simcity', 'SC-6 fixture'))
         INSERT INTO slots (vendor_id, starts_at, ends_at) SELECT $1, date_trunc('hour', bookiji_now()) + interval '3 days', date_trunc('hour', bookiji_now()) + interval '3 days 1 hour' FROM who RETURNING id`,
          [other],
        )
      ).rows[0].id as string;
    }
    const customerIds: Record<string, string> = {};
    for (const name of [
      'C1',
      'C2',
      ...INTENTS.map((i) => `C${i}`),
      ...Array.from({ length: ORPHANED_HOLDS }, (_, i) => `V${i + 1}`),
      ...Array.from({ length: VICTIMS }, (_, i) => `K${i + 1}`),
    ])
      customerIds[name] = await insertCustomer(db, name, runId);
    return {
      vendorId,
      runId,
      slotIds,
      customerIds,
      keyPrefix: `sc6-${runId}-${plan.iteration}-`,
      services: services as DegradedServices,
      ghosts: [],
      ghostsFound: [],
      // K1…K3 claim only in the killed-while-waiting opening.
      killedCustomers: Array.from({ length: VICTIMS }, (_, i) => customerIds[`K${i + 1}`]!),
      reconciledAt: null,
      payments: { payments: [], releases: [], confirmedThenCancelled: [] },
      time: { now: new Date(0).toISOString(), transitions: [], holds: [] },
      names: { V: vendorId, ...slotIds, ...customerIds },
    };
  },

  async perform(action, fixture, session) {
    const pool = session.pool;
    switch (action.kind) {
      case 'kill_waiting_claims':
        return killWaitingClaims(fixture, pool);
      case 'kill_before_commit':
        return killBeforeCommit(fixture, pool);
      case 'crash_between_payment_steps':
        return crashBetweenPaymentSteps(fixture, pool);
      case 'orphaned_holds_kill_serve':
        return orphanedHoldsKillServe(fixture, pool, session.signal);
      case 'partner_receiver_down':
        return partnerReceiverDown(pool, fixture.runId);
      case 'kill_serve':
      case 'pause_serve':
      case 'kill_backends':
        return nemesis(action.kind, fixture, pool, Number(action.args.ms ?? 0));
      case 'claim': {
        const intent = String(action.args.intent);
        const body = {
          slotId: fixture.slotIds[String(action.args.slot)]!,
          customerId: fixture.customerIds[`C${intent}`]!,
          idempotencyKey: `${fixture.keyPrefix}${intent}`,
        };
        if (action.args.path === 'serve') {
          const booked = await serveRequest(fixture.services, session.signal, '/v1/bookings', body);
          return { booking: booked.id, state: booked.state, replayed: booked.replayed, path: 'serve' };
        }
        // The engine path stores the key as the API namespaces it, so one intent is one key whichever path carried it.
        const key = `partner:${fixture.services.partnerId}:${body.idempotencyKey}`;
        const result = await claimSlot(pool, { slot: body.slotId, customer: body.customerId, idempotencyKey: key }, actorFor(`C${intent}`, 'claim'));
        return { booking: result.booking.id, state: result.booking.state, replayed: result.replayed, path: 'engine' };
      }
      default:
        throw new BookijiError('INTERNAL_ERROR', `SC-6 has no action ${action.kind}`);
    }
  },

  async readTruth(db, fixture) {
    const { truth, time, payments, ghosts } = await inSnapshot(db, async (client) => ({
      truth: await readVendorTruth(client, fixture.vendorId),
      time: await readTimeTruth(client, fixture.vendorId),
      payments: await readPaymentTruth(client, fixture.vendorId),
      ghosts: (await client.query('SELECT id FROM bookings WHERE id = ANY($1::uuid[])', [fixture.ghosts])).rows as Array<{ id: string }>,
    }));
    fixture.ghostsFound = ghosts.map((row) => row.id);
    fixture.time = time;
    fixture.payments = payments;
    return truth;
  },

  observe(truth, fixture, events) {
    return degradedChecks(truth, fixture, events);
  },

  async beforeTerminal(fixture, observer) {
    // Heal: the process runs again, the provider stops failing, lost events are fetched and what is owed is done.
    const { serve, sandbox, gateway, faults } = fixture.services;
    serve.resume();
    sandbox.setFaults({});
    try {
      await sandbox.flushWebhooks();
      for (let round = 0; round < 2; round++) {
        fixture.reconciledAt = ((await observer.query('SELECT bookiji_now() AS now')).rows[0].now as Date).toISOString();
        await reconcile(observer, gateway, { dryRun: false, actor: RECONCILE_ACTOR });
        await sandbox.flushWebhooks();
      }
    } finally {
      sandbox.setFaults(faults);
    }
  },

  terminal(truth, fixture, events) {
    return { findings: [...degradedChecks(truth, fixture, events), ...settledPaymentChecks(truth, fixture.payments, fixture.services)] };
  },

  exercised(event) {
    if (event.type !== 'ok') return [];
    const map: Record<string, string[]> = {
      kill_waiting_claims: ['I1', 'I3'],
      kill_before_commit: ['I1', 'I3'],
      crash_between_payment_steps: ['I4'],
      orphaned_holds_kill_serve: ['I9'],
      // A delivery that failed, where a broken outbox would mark the event delivered and lose it.
      partner_receiver_down: ['partner-webhook-delivery'],
      kill_backends: ['I3'],
      kill_serve: ['I3'],
    };
    return map[event.action] ?? [];
  },
};
