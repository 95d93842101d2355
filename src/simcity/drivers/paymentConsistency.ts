// SC-2, payment ↔ booking consistency (scenarios/SC-2.json): card holds on
// paid slots; customers who start checkout and pay, are declined, or abandon;
// a client that claims "I paid" (confirm on its word) or asks us to verify;
// reconcile at random points; time passing so holds expire. The payment
// provider is the local Stripe-compatible server with a seeded fault plan
// (duplicated, reordered, delayed and dropped webhooks, failed and timed-out
// calls); its webhooks reach the real handler through an in-process receiver.
//
// After every action (database truth, plus the provider's, which always
// moves first): every slot coherent; no confirmed card booking without money
// the provider holds; no confirmed booking whose payment failed or was
// cancelled (a zombie); every hold released at most once. At the end, after
// webhooks are flushed and reconcile has run: no orphan payment (captured
// money without a confirmed booking and no refund, or an authorization left
// on a dead booking) and the ledger equals the provider's figures to the cent.
//
// Three attacks open every iteration, the same whatever the seed, so a run of
// any length exercises them (the random mix alone may never line them up):
// a client who claims "I paid" and asks to be confirmed before paying, a
// payment_failed event the provider delivers for the first time only after
// its intent succeeded and the booking was confirmed, and part of a paid
// booking refunded at the provider (the vendor's dashboard), which the
// engine hears of only from the provider. Each has its own slot
// and customer, so the seeded mix that follows keeps its slots to itself.

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type Stripe from 'stripe';
import { claimSlot, confirmBooking } from '../../engine/bookings.js';
import { advanceClock } from '../../engine/clock.js';
import { BookijiError } from '../../errors.js';
import { createPool, type Pool, type Queryable } from '../../db/pool.js';
import type { Actor } from '../../engine/types.js';
import { payAsCustomer, startCardCheckout, verifyBookingPayment } from '../../payments/checkout.js';
import { PaymentGateway } from '../../payments/gateway.js';
import { reconcile } from '../../reconcile/index.js';
import { startStripeSandbox, type FaultOptions, type StripeSandbox } from '../../stripeSandbox/index.js';
import { handleStripeWebhook } from '../../api/stripeWebhook.js';
import { readVendorTruth, slotAndBookingChecks, type VendorTruth } from '../truth.js';
import type { HistoryEvent, IterationPlan, PlannedAction, ScenarioParameters } from '../types.js';
import { quietClients } from '../clientPool.js';
import { insertCustomer, type Driver, type Finding, type Fixture, type Services } from './driver.js';
import { inSnapshot } from './timeTruth.js';

const CUSTOMERS = ['C1', 'C2', 'C3'];
/** The scripted attacks that open every iteration (scenarios/SC-2.json `openingAttacks`). */
const OPENING_ATTACKS = ['confirm_on_clients_word', 'stale_failure_after_success', 'refund_at_provider'];
/** What the vendor gives back in the provider's dashboard in refund_at_provider: part of the price, so the payment stays captured. */
const DASHBOARD_REFUND_CENTS = 1000;
const API_KEY = 'sk_test_bookiji_simcity';
const WEBHOOK_SECRET = 'whsec_bookiji_simcity';
/** Past every hold's TTL: the fixtures' holds live 60 s. */
const CLOCK_STEP_MS = 45_000;
/** The gateway gives up on a provider call after this long (the sandbox's timeout fault holds answers longer). */
const GATEWAY_TIMEOUT_MS = 400;
const SANDBOX_TIMEOUT_HOLD_MS = 800;
/** Reconcile passes in the settle phase: one to repair, one to see its repairs' events through. */
const SETTLE_RECONCILE_ROUNDS = 2;
const RECONCILE_ACTOR: Actor = { kind: 'system', id: 'simcity-reconcile', source: 'reconcile' };

export interface PaymentServices extends Services {
  sandbox: StripeSandbox;
  gateway: PaymentGateway;
  /** The receiver's own pool: the provider's deliveries are not the simulated clients' connections. */
  receiverPool: Pool;
  /** The seeded fault plan's rates, restored after each settle phase. */
  faults: FaultOptions;
}

interface PaymentFixture extends Fixture {
  slotIds: Record<string, string>;
  customerIds: Record<string, string>;
  keyPrefix: string;
  services: PaymentServices;
  priceCents: number;
  /** The payments half of the last truth read (same snapshot as the bookings half). */
  payments: PaymentTruth;
}

export interface PaymentTruth {
  payments: Array<{
    id: string;
    bookingId: string;
    intentId: string | null;
    status: string;
    capturedCents: number;
    refundedCents: number;
    ledgerCaptured: number;
    ledgerRefunded: number;
  }>;
  releases: Array<{ bookingId: string; releases: number }>;
  /** Confirmed bookings that were later cancelled, with the cause logged. */
  confirmedThenCancelled: Array<{ bookingId: string; cause: string }>;
}

export async function readPaymentTruth(db: Queryable, vendorId: string): Promise<PaymentTruth> {
  const payments = await db.query(
    `SELECT p.id, p.booking_id AS "bookingId", p.provider_intent_id AS "intentId", p.status,
            p.amount_captured_cents AS "capturedCents", p.amount_refunded_cents AS "refundedCents",
            coalesce((SELECT sum(amount_cents) FROM ledger_entries l WHERE l.vendor_id = p.vendor_id AND l.payment_id = p.id AND l.kind = 'capture'), 0)::int AS "ledgerCaptured",
            coalesce((SELECT sum(amount_cents) FROM ledger_entries l WHERE l.vendor_id = p.vendor_id AND l.payment_id = p.id AND l.kind = 'refund'), 0)::int AS "ledgerRefunded"
     FROM payments p WHERE p.vendor_id = $1`,
    [vendorId],
  );
  const releases = await db.query(
    `SELECT booking_id AS "bookingId", count(*)::int AS releases FROM booking_transitions
     WHERE vendor_id = $1 AND to_state IN ('expired', 'cancelled') GROUP BY booking_id`,
    [vendorId],
  );
  const reversed = await db.query(
    `SELECT booking_id AS "bookingId", cause FROM booking_transitions
     WHERE vendor_id = $1 AND from_state = 'confirmed' AND to_state = 'cancelled' ORDER BY id`,
    [vendorId],
  );
  return {
    payments: payments.rows as PaymentTruth['payments'],
    releases: releases.rows as PaymentTruth['releases'],
    confirmedThenCancelled: reversed.rows as PaymentTruth['confirmedThenCancelled'],
  };
}

function providerIntents(services: Pick<PaymentServices, 'sandbox'>): Map<string, Stripe.PaymentIntent> {
  return new Map(services.sandbox.paymentIntents().map((intent) => [intent.id, intent]));
}

function refundedAtProvider(services: Pick<PaymentServices, 'sandbox'>, intentId: string): number {
  return services.sandbox
    .refunds()
    .filter((refund) => refund.payment_intent === intentId && refund.status === 'succeeded')
    .reduce((sum, refund) => sum + refund.amount, 0);
}

async function bookingOfIntent(pool: Pool, fixture: PaymentFixture, intent: string): Promise<string> {
  const found = await pool.query('SELECT id FROM bookings WHERE vendor_id = $1 AND idempotency_key = $2', [fixture.vendorId, `${fixture.keyPrefix}${intent}`]);
  const id = (found.rows[0] as { id: string } | undefined)?.id;
  if (!id) throw new BookijiError('BOOKING_NOT_FOUND', `hold ${intent} has no booking (its claim failed or has not landed)`);
  return id;
}

async function intentOfBooking(pool: Pool, fixture: PaymentFixture, bookingId: string): Promise<string> {
  const found = await pool.query(
    'SELECT provider_intent_id FROM payments WHERE vendor_id = $1 AND booking_id = $2 AND provider_intent_id IS NOT NULL ORDER BY created_at DESC LIMIT 1',
    [fixture.vendorId, bookingId],
  );
  const id = (found.rows[0] as { provider_intent_id: string } | undefined)?.provider_intent_id;
  if (!id) throw new BookijiError('PAYMENT_REQUIRED', `booking ${bookingId} has no payment intent yet (checkout not started)`);
  return id;
}

/** The checks that hold at every instant: the provider moves first, our database follows. */
export function instantChecks(truth: VendorTruth, payments: PaymentTruth, services: Pick<PaymentServices, 'sandbox'>): Finding[] {
  const findings: Finding[] = slotAndBookingChecks(truth);
  const intents = providerIntents(services);
  const paymentsByBooking = new Map<string, PaymentTruth['payments']>();
  for (const payment of payments.payments) paymentsByBooking.set(payment.bookingId, [...(paymentsByBooking.get(payment.bookingId) ?? []), payment]);
  for (const booking of truth.bookings) {
    if (booking.state !== 'confirmed') continue;
    const own = paymentsByBooking.get(booking.id) ?? [];
    const backed = own.some((p) => {
      const intent = p.intentId ? intents.get(p.intentId) : undefined;
      return (p.status === 'authorized' || p.status === 'captured') && (intent?.status === 'requires_capture' || intent?.status === 'succeeded');
    });
    if (!backed) {
      const provider = own.map((p) => ({
        payment: p.id,
        intent: p.intentId,
        providerStatus: p.intentId ? (intents.get(p.intentId)?.status ?? 'unknown to the provider') : 'no intent',
      }));
      findings.push({
        oracle: 'confirmed-needs-verified-payment',
        message: `booking ${booking.id} is confirmed but no payment the provider holds backs it (provider: ${provider.map((p) => `${p.intent ?? '-'} ${p.providerStatus}`).join(', ') || 'no payment'})`,
        evidence: { booking, payments: own, provider },
      });
    }
    if (own.length > 0 && own.every((p) => p.status === 'failed' || p.status === 'canceled' || p.status === 'refunded')) {
      findings.push({
        oracle: 'no-zombie-booking',
        message: `booking ${booking.id} is confirmed while its payment is ${own.map((p) => p.status).join(', ')}`,
        evidence: own,
      });
    }
  }
  // Nobody cancels in SC-2: a confirmed booking whose money the provider
  // still holds may only end if that money is given back. A late or
  // duplicate failure event must never move it backwards (I10).
  // The money is found by the provider's record too (the intent names the
  // booking it was created for): an engine that cancels the booking and then
  // re-books the slot under a new booking with the same money has still moved
  // the paid booking backwards.
  for (const reversal of payments.confirmedThenCancelled) {
    const own = paymentsByBooking.get(reversal.bookingId) ?? [];
    const backing = [
      ...own.flatMap((p) => (p.intentId && intents.has(p.intentId) ? [intents.get(p.intentId)!] : [])),
      ...[...intents.values()].filter((intent) => intent.metadata?.bookiji_booking_id === reversal.bookingId),
    ];
    const stillPaid = backing.some(
      (intent) =>
        (intent.status === 'succeeded' || intent.status === 'requires_capture') &&
        refundedAtProvider(services, intent.id) < Math.max(intent.amount_received, 1),
    );
    if (stillPaid) {
      findings.push({
        oracle: 'no-zombie-booking',
        message: `confirmed booking ${reversal.bookingId} was cancelled (${reversal.cause}) while the provider still holds its money`,
        evidence: { reversal, payments: own, provider: backing.map((intent) => ({ intent: intent.id, status: intent.status })) },
      });
    }
  }
  for (const release of payments.releases) {
    if (release.releases > 1)
      findings.push({ oracle: 'released-exactly-once', message: `booking ${release.bookingId} released its hold ${release.releases} times` });
  }
  return findings;
}

/** Holds the attack's own slot for its own customer (A1 → slot A1, customer CA1) and starts a card checkout. */
async function holdAndCheckout(fixture: PaymentFixture, pool: Pool, intent: string, customer: Actor): Promise<{ booking: string; intentId: string }> {
  const held = await claimSlot(
    pool,
    {
      slot: fixture.slotIds[intent],
      customer: fixture.customerIds[`C${intent}`],
      hold: true,
      holdTtlSeconds: 60,
      paymentMethod: 'card',
      idempotencyKey: `${fixture.keyPrefix}${intent}`,
    },
    customer,
  );
  const started = await startCardCheckout(pool, fixture.services.gateway, held.booking.id, customer);
  const intentId = started.payment.providerIntentId;
  if (!intentId) throw new BookijiError('INTERNAL_ERROR', `attack ${intent}: checkout for booking ${held.booking.id} has no provider intent`);
  return { booking: held.booking.id, intentId };
}

/**
 * The attack's own provider calls run with the fault plan off (nothing else
 * is in flight at the start of an iteration), so every step of the script
 * lands and the attack happens on every run; the plan is restored after.
 */
async function withFaultsOff<T>(services: PaymentServices, script: (sandbox: StripeSandbox) => Promise<T>): Promise<T> {
  services.sandbox.setFaults({});
  try {
    return await script(services.sandbox);
  } finally {
    services.sandbox.setFaults(services.faults);
  }
}

/** A client that has not paid says it has and asks to be confirmed: only verified money may confirm (the engine must refuse). */
async function confirmOnClientsWord(fixture: PaymentFixture, pool: Pool, intent: string, customer: Actor): Promise<Record<string, string>> {
  const { booking } = await withFaultsOff(fixture.services, () => holdAndCheckout(fixture, pool, intent, customer));
  const confirmed = await confirmBooking(pool, { booking }, customer);
  return { booking: confirmed.id, state: confirmed.state };
}

/**
 * The provider's worst order for a decline followed by a good card: the
 * payment_failed event is held back (dropped by the plan) while the success
 * is delivered and the booking confirmed, then delivered for the first time.
 * A late failure must never move the paid booking backwards (I10).
 */
async function staleFailureAfterSuccess(fixture: PaymentFixture, pool: Pool, intent: string, customer: Actor): Promise<Record<string, string | number | null>> {
  const services = fixture.services;
  return withFaultsOff(services, async (sandbox) => {
    const { booking, intentId } = await holdAndCheckout(fixture, pool, intent, customer);
    sandbox.setFaults({ dropRate: 1 });
    const declined = await payAsCustomer(services.gateway, intentId, 'pm_card_chargeDeclined');
    sandbox.setFaults({});
    const failure = sandbox.events().find((event) => event.type === 'payment_intent.payment_failed' && (event.data.object as { id: string }).id === intentId);
    if (!failure) throw new BookijiError('INTERNAL_ERROR', `attack ${intent}: the decline on ${intentId} (${declined.status}) left no payment_failed event`);
    const paid = await payAsCustomer(services.gateway, intentId, 'pm_card_visa');
    await sandbox.flushWebhooks();
    // Confirmed before the stale event arrives, or the attack proves nothing: verify refuses anything else.
    const verified = await verifyBookingPayment(pool, services.gateway, booking, customer);
    const late = await sandbox.triggerWebhook(failure.id);
    const after = (await pool.query('SELECT state FROM bookings WHERE vendor_id = $1 AND id = $2', [fixture.vendorId, booking])).rows[0] as
      | { state: string }
      | undefined;
    return {
      booking,
      intent: intentId,
      declined: declined.status,
      paid: paid.status,
      before: verified.booking.state,
      payment: verified.payment.status,
      lateFailure: failure.id,
      lateDeliveryStatus: late.status,
      after: after?.state ?? 'missing',
    };
  });
}

/**
 * The vendor refunds part of a paid booking in the provider's dashboard, not
 * through us: the payment stays captured, and the ledger must follow the
 * provider to the cent (P4) from its charge.refunded event or reconcile. An
 * engine that only records refunds it made itself keeps the ledger at 0,
 * and a later cancel would ask the provider for money it no longer holds.
 */
async function refundAtProvider(fixture: PaymentFixture, pool: Pool, intent: string, customer: Actor): Promise<Record<string, string | number>> {
  const services = fixture.services;
  return withFaultsOff(services, async (sandbox) => {
    const { booking, intentId } = await holdAndCheckout(fixture, pool, intent, customer);
    await payAsCustomer(services.gateway, intentId, 'pm_card_visa');
    await sandbox.flushWebhooks();
    const verified = await verifyBookingPayment(pool, services.gateway, booking, customer);
    const refund = await services.gateway.stripe.refunds.create({ payment_intent: intentId, amount: DASHBOARD_REFUND_CENTS });
    await sandbox.flushWebhooks();
    return { booking, intent: intentId, state: verified.booking.state, payment: verified.payment.status, refund: refund.id, refundedAtProvider: refund.amount };
  });
}

/**
 * The payment races that reached a dangerous state: a confirm on the
 * client's word refused (a broken engine confirms without money: I4, P1),
 * a late failure after a success (a broken one moves the paid booking
 * backwards and orphans the money: I4, I10, P2), money captured at
 * verification (the ledger must follow to the cent: P4), an authorization on a hold that a
 * reconcile had to release or repair (P3, I9), a hold refused on a full
 * slot (I1, I3).
 */
function paymentExercised(event: HistoryEvent): readonly string[] {
  const refusedConfirm =
    (event.action === 'client_confirm' || event.action === 'confirm_on_clients_word') && event.type === 'fail' && event.error === 'PAYMENT_REQUIRED';
  if (refusedConfirm) return ['I4', 'P1'];
  // Money captured: the ledger must follow it to the cent.
  const captured = event.type === 'ok' && event.value?.payment === 'captured' ? ['P4'] : [];
  if (event.action === 'stale_failure_after_success' && event.type === 'ok' && event.value?.before === 'confirmed') return ['I4', 'I10', 'P2', ...captured];
  if (event.action === 'verify' && event.type === 'ok' && event.value?.state === 'confirmed') return ['I4', 'P1', ...captured];
  if (event.action === 'refund_at_provider' && event.type === 'ok' && event.value?.state === 'confirmed') return captured;
  if (event.action === 'reconcile' && event.type === 'ok') {
    const released = Number(event.value?.expiredHolds ?? 0) > 0 ? ['I9', 'P3'] : [];
    const repaired = Number(event.value?.repairs ?? 0) > 0 ? ['I4', 'P2', 'P3'] : [];
    return [...released, ...repaired];
  }
  if (event.action === 'hold' && event.type === 'fail' && event.error === 'BOOKING_CONFLICT') return ['I1', 'I3'];
  return [];
}

export const paymentConsistency: Driver<PaymentFixture> = {
  oracles: [
    'capacity',
    'slot-coherence',
    'booking-coherence',
    'confirmed-needs-verified-payment',
    'no-zombie-booking',
    'released-exactly-once',
    'no-orphan-payment',
    'ledger-reconciles',
  ],
  oracleInvariants: {
    capacity: ['I1'],
    'slot-coherence': ['I3'],
    'booking-coherence': ['I3', 'I10'],
    'confirmed-needs-verified-payment': ['I4', 'P1'],
    'no-zombie-booking': ['I4', 'I10', 'P2'],
    'released-exactly-once': ['I9'],
    'no-orphan-payment': ['I4', 'P2', 'P3'],
    'ledger-reconciles': ['P4'],
  },
  exercised: paymentExercised,
  terminalOracles: ['no-orphan-payment', 'ledger-reconciles'],
  // The opening attacks run as the nemesis does, awaited before the check
  // that follows them, so that check sees what the attack did.
  faultKinds: ['advance_clock', ...OPENING_ATTACKS],

  fixtureParameters(definition, random) {
    const fixtures = definition.fixtures as {
      slots: number;
      priceCents: number;
      customers: number;
      holdTtlSeconds: number;
      openingAttacks?: string[];
      faults: Record<string, { min: number; max: number }>;
    };
    const faults = Object.fromEntries(Object.entries(fixtures.faults).map(([name, range]) => [name, Math.round(random.between(range) * 1000) / 1000]));
    const openingAttacks = fixtures.openingAttacks ?? [];
    const unknown = openingAttacks.filter((kind) => !OPENING_ATTACKS.includes(kind));
    if (unknown.length > 0)
      throw new BookijiError('USAGE_ERROR', `SC-2 openingAttacks: unknown attack ${unknown.join(', ')} (known: ${OPENING_ATTACKS.join(', ')})`);
    return {
      slots: fixtures.slots,
      priceCents: fixtures.priceCents,
      customers: CUSTOMERS,
      holdTtlSeconds: fixtures.holdTtlSeconds,
      openingAttacks,
      providerFaults: faults,
    };
  },

  async openServices(_observer: Pool, parameters: ScenarioParameters, seed: string): Promise<PaymentServices> {
    const faults = parameters.fixtures.providerFaults as Record<string, number>;
    const faultOptions: FaultOptions = { ...faults, delayMs: [5, 80] };
    const sandbox = await startStripeSandbox({
      apiKey: API_KEY,
      webhookSecret: WEBHOOK_SECRET,
      seed,
      faults: faultOptions,
      apiTimeoutHoldMs: SANDBOX_TIMEOUT_HOLD_MS,
      deliveryBackoffMs: 10,
      deliveryBackoffMaxMs: 50,
    });
    const gateway = new PaymentGateway({
      secretKey: API_KEY,
      apiBase: sandbox.url,
      webhookSecrets: [WEBHOOK_SECRET],
      timeoutMs: GATEWAY_TIMEOUT_MS,
      maxNetworkRetries: 0,
      attemptMax: 3,
      backoffBaseMs: 5,
    });
    const connectionString = _observer.options.connectionString as string;
    const receiverPool = createPool({ connectionString, max: 4, applicationName: 'simcity-webhooks' });
    quietClients(receiverPool);
    const receiver = http.createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        handleStripeWebhook(receiverPool, Buffer.concat(chunks), request.headers, { secrets: [WEBHOOK_SECRET], gateway })
          .then((answer) => {
            response.writeHead(answer.status, { 'content-type': 'application/json' });
            response.end(JSON.stringify(answer.body));
          })
          .catch((error: unknown) => {
            response.writeHead(500);
            response.end(String(error));
          });
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    sandbox.setWebhookUrl(`http://127.0.0.1:${(receiver.address() as AddressInfo).port}/webhooks/stripe`);
    return {
      sandbox,
      gateway,
      receiverPool,
      faults: faultOptions,
      async close() {
        await sandbox.close();
        await new Promise<void>((resolve) => {
          receiver.close(() => resolve());
          receiver.closeAllConnections();
        });
        await receiverPool.end();
      },
    };
  },

  plan(random, parameters, iteration): IterationPlan {
    const slots = Array.from({ length: parameters.fixtures.slots as number }, (_, i) => `S${i + 1}`);
    // Seed-independent: each attack gets its own slot (A1, A2, …), held by its own customer.
    const actions: PlannedAction[] = ((parameters.fixtures.openingAttacks as string[] | undefined) ?? []).map((kind, index) => ({
      kind,
      args: { intent: `A${index + 1}` },
    }));
    const holds: string[] = [];
    for (let n = 0; n < parameters.actionsPerIteration; n++) {
      let kind = random.weighted(parameters.actionMix);
      if (holds.length === 0 && ['checkout', 'pay', 'pay_declined', 'decline_then_pay', 'client_confirm', 'verify'].includes(kind)) kind = 'hold';
      if (kind === 'hold') {
        const intent = `H${holds.length + 1}`;
        holds.push(intent);
        actions.push({ kind, args: { intent, customer: random.pick(CUSTOMERS), slot: random.pick(slots) } });
      } else if (['checkout', 'pay', 'pay_declined', 'decline_then_pay', 'client_confirm', 'verify'].includes(kind)) {
        actions.push({ kind, args: { intent: random.pick(holds) } });
      } else {
        actions.push({ kind, args: {} });
      }
    }
    return { iteration, fixtures: parameters.fixtures, actions, settle: [] };
  },

  async setup(db: Pool, plan, runId, _http, services) {
    const priceCents = plan.fixtures.priceCents as number;
    const vendor = await db.query(`INSERT INTO vendors (name, timezone) VALUES ($1, 'UTC') RETURNING id`, [`SimCity SC-2 ${runId} #${plan.iteration}`]);
    const vendorId = (vendor.rows[0] as { id: string }).id;
    const slotIds: Record<string, string> = {};
    const attacks = (plan.fixtures.openingAttacks as string[] | undefined) ?? [];
    const slotNames = [...Array.from({ length: plan.fixtures.slots as number }, (_, i) => `S${i + 1}`), ...attacks.map((_, i) => `A${i + 1}`)];
    for (const [index, name] of slotNames.entries()) {
      const result = await db.query(
        `WITH who AS (SELECT set_actor('simcity', 'setup', 'simcity', 'SC-2 fixture'))
         INSERT INTO slots (vendor_id, starts_at, ends_at, capacity, price_cents)
         SELECT $1, date_trunc('hour', bookiji_now()) + interval '3 days' + make_interval(hours => $2 * 2),
                date_trunc('hour', bookiji_now()) + interval '3 days 1 hour' + make_interval(hours => $2 * 2), 1, $3 FROM who RETURNING id`,
        [vendorId, index, priceCents],
      );
      slotIds[name] = (result.rows[0] as { id: string }).id;
    }
    const customerIds: Record<string, string> = {};
    for (const name of [...CUSTOMERS, ...attacks.map((_, i) => `CA${i + 1}`)]) customerIds[name] = await insertCustomer(db, name, runId);
    return {
      vendorId,
      slotIds,
      customerIds,
      keyPrefix: `sc2-${runId}-${plan.iteration}-`,
      services: services as PaymentServices,
      priceCents,
      payments: { payments: [], releases: [], confirmedThenCancelled: [] },
      names: { V: vendorId, ...slotIds, ...customerIds },
    };
  },

  async perform(action, fixture, session) {
    const pool = session.pool;
    const { gateway } = fixture.services;
    const intent = String(action.args.intent ?? '');
    const customer: Actor = { kind: 'customer', id: intent, source: 'simcity', requestId: `${action.kind}:${intent}` };
    switch (action.kind) {
      case 'hold': {
        const result = await claimSlot(
          pool,
          {
            slot: fixture.slotIds[action.args.slot!],
            customer: fixture.customerIds[action.args.customer!],
            hold: true,
            holdTtlSeconds: 60,
            paymentMethod: 'card',
            idempotencyKey: `${fixture.keyPrefix}${intent}`,
          },
          customer,
        );
        return { booking: result.booking.id, replayed: result.replayed };
      }
      case 'checkout': {
        const started = await startCardCheckout(pool, gateway, await bookingOfIntent(pool, fixture, intent), customer);
        return { payment: started.payment.id, intent: started.payment.providerIntentId ?? '' };
      }
      case 'pay':
      case 'pay_declined': {
        const intentId = await intentOfBooking(pool, fixture, await bookingOfIntent(pool, fixture, intent));
        const paid = await payAsCustomer(gateway, intentId, action.kind === 'pay' ? 'pm_card_visa' : 'pm_card_chargeDeclined');
        return { intent: intentId, status: paid.status, declined: paid.declined };
      }
      case 'decline_then_pay': {
        // A customer whose first card is declined pays with another at once:
        // the failure event and the success event race to us, and the
        // provider's plan may deliver the failure last.
        const intentId = await intentOfBooking(pool, fixture, await bookingOfIntent(pool, fixture, intent));
        const declined = await payAsCustomer(gateway, intentId, 'pm_card_chargeDeclined');
        const paid = await payAsCustomer(gateway, intentId, 'pm_card_visa');
        return { intent: intentId, first: declined.status, status: paid.status };
      }
      case 'client_confirm': {
        // The client's word: "I paid, confirm me". Only verified money may confirm.
        const booking = await confirmBooking(pool, { booking: await bookingOfIntent(pool, fixture, intent) }, customer);
        return { booking: booking.id, state: booking.state };
      }
      case 'verify': {
        const verified = await verifyBookingPayment(pool, gateway, await bookingOfIntent(pool, fixture, intent), customer);
        return { booking: verified.booking.id, state: verified.booking.state, payment: verified.payment.status };
      }
      case 'confirm_on_clients_word':
        return confirmOnClientsWord(fixture, pool, intent, customer);
      case 'stale_failure_after_success':
        return staleFailureAfterSuccess(fixture, pool, intent, customer);
      case 'refund_at_provider':
        return refundAtProvider(fixture, pool, intent, customer);
      case 'reconcile': {
        const report = await reconcile(pool, gateway, { dryRun: false, actor: RECONCILE_ACTOR });
        return { expiredHolds: report.expiredHolds.length, repairs: report.repairs.length, eventsRecovered: report.eventsRecovered.length };
      }
      case 'advance_clock': {
        const now = await advanceClock(pool, CLOCK_STEP_MS);
        return { now: now.toISOString() };
      }
      default:
        throw new BookijiError('INTERNAL_ERROR', `SC-2 has no action ${action.kind}`);
    }
  },

  async readTruth(db, fixture) {
    // Bookings and payments from one snapshot, so a booking and its payment are seen at the same instant.
    return inSnapshot(db, async (client) => {
      const truth = await readVendorTruth(client, fixture.vendorId);
      fixture.payments = await readPaymentTruth(client, fixture.vendorId);
      return truth;
    });
  },

  observe(truth, fixture) {
    return instantChecks(truth, fixture.payments, fixture.services);
  },

  async beforeTerminal(fixture, observer) {
    // Heal, then let the chaos settle (Jepsen's final phase): the provider
    // stops injecting faults, every queued webhook is delivered (the plan's
    // drops stay undelivered, as a lost webhook would), reconcile fetches
    // what was lost and releases what is owed, and what its own calls caused
    // is delivered too. The next iteration gets the fault plan back.
    const { sandbox, gateway } = fixture.services;
    const faults = fixture.services.faults;
    sandbox.setFaults({});
    try {
      await sandbox.flushWebhooks();
      for (let round = 0; round < SETTLE_RECONCILE_ROUNDS; round++) {
        await reconcile(observer, gateway, { dryRun: false, actor: RECONCILE_ACTOR });
        await sandbox.flushWebhooks();
      }
    } finally {
      sandbox.setFaults(faults);
    }
  },

  terminal(truth, fixture) {
    return { findings: [...instantChecks(truth, fixture.payments, fixture.services), ...settledPaymentChecks(truth, fixture.payments, fixture.services)] };
  },
};

/** After the settle work: no orphan payment (money or an authorization without a live booking and no refund), and the ledger equals the provider to the cent. */
export function settledPaymentChecks(truth: VendorTruth, payments: PaymentTruth, services: Pick<PaymentServices, 'sandbox'>): Finding[] {
  const findings: Finding[] = [];
  const intents = providerIntents(services);
  const bookings = new Map(truth.bookings.map((b) => [b.id, b]));
  for (const payment of payments.payments) {
    const intent = payment.intentId ? intents.get(payment.intentId) : undefined;
    if (!intent) continue;
    const booking = bookings.get(payment.bookingId);
    const refunded = refundedAtProvider(services, intent.id);
    if (intent.status === 'succeeded' && booking?.state !== 'confirmed' && refunded < intent.amount_received) {
      findings.push({
        oracle: 'no-orphan-payment',
        message: `the provider captured ${intent.amount_received} cents for booking ${payment.bookingId}, which is ${booking?.state ?? 'missing'}, and refunded only ${refunded}`,
        evidence: payment,
      });
    }
    if (intent.status === 'requires_capture' && booking?.state !== 'confirmed' && booking?.state !== 'held') {
      findings.push({
        oracle: 'no-orphan-payment',
        message: `an authorization of ${intent.amount} cents is left on booking ${payment.bookingId}, which is ${booking?.state ?? 'missing'}`,
        evidence: payment,
      });
    }
    if (payment.ledgerCaptured !== intent.amount_received || payment.ledgerRefunded !== refunded) {
      findings.push({
        oracle: 'ledger-reconciles',
        message: `payment ${payment.id}: ledger captured ${payment.ledgerCaptured} / refunded ${payment.ledgerRefunded} cents, provider ${intent.amount_received} / ${refunded}`,
        evidence: payment,
      });
    }
  }
  return findings;
}
