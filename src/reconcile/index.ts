// Reconcile: make our payments and bookings agree with the provider again,
// above both payments and reservations (it drives both; neither imports it),
// whatever was interrupted. Each part is idempotent and safe to run while
// another reconcile, the webhook and checkouts are running:
//
//   1. expired holds → expired (SQL expire_holds, SKIP LOCKED); a card hold's
//      intent is then owed a cancel (trigger bookings_release_payment); a
//      hold whose slot a running request has locked is left, and reported
//      in `stillHeld` for the next run
//   2. lost webhooks: the provider's events since our newest stored one (minus
//      a margin) that we never stored are stored and applied; stored events
//      never applied (a crash, a 500) are applied
//   3. recovery points: every payment that owes a provider call (create after
//      a crash before/after the provider call, capture, cancel of an expired
//      or stale authorization, refund of money without a booking) gets it,
//      with the same idempotency key as the first attempt
//   4. open payments (waiting, declined, authorized) are read from the
//      provider and applied: the server-side path for anything still missing
//   5. drift: each payment's captured and refunded cents against the
//      provider's, and the ledger's sums against the payment, to the cent;
//      a refund made at the provider is applied (drift.ts)
//
// Without a provider (no STRIPE_SECRET_KEY) the local parts still run (1, and
// stored events never applied) and the provider's parts are reported in
// `skipped` with the reason and a hint. A provider configured but unreachable
// (its first call fails with DEPENDENCY_UNAVAILABLE) gets the same treatment,
// but as a failure.

import type Stripe from 'stripe';
import { BookijiError } from '../errors.js';
import { queryWithRetry, type Pool } from '../db/pool.js';
import { expireHolds, leftHeldBySweep } from '../engine/holds.js';
import { settlePayment, syncPayment } from '../payments/actions.js';
import { PAYMENT_EVENT_TYPES, processEvent, recordEvent } from '../payments/events.js';
import { providerNotConfigured, type PaymentGateway } from '../payments/gateway.js';
import { toPayment } from '../payments/rows.js';
import type { Payment } from '../payments/types.js';
import { resumeCommits } from '../reservations/index.js';
import { driftReport } from './drift.js';
import { PROVIDER_STEPS, stepError, type PaymentRepair, type ReconcileOptions, type ReconcileReport, type SkippedStep } from './types.js';

export * from './types.js';
export { driftReport } from './drift.js';

export const EVENT_LOOKBACK_SECONDS_DEFAULT = 3 * 24 * 3600;
const BATCH_MAX_DEFAULT = 500;

function emptyReport(dryRun: boolean): ReconcileReport {
  return {
    dryRun,
    expiredHolds: [],
    stillHeld: [],
    eventsRecovered: [],
    eventsReapplied: [],
    repairs: [],
    commitsResumed: [],
    drift: [],
    skipped: [],
    totals: { oursNetCents: 0, providerNetCents: 0, ledgerNetCents: 0, driftCount: 0, unreadCount: 0 },
  };
}

/** Every provider part, skipped for one reason: none configured (not a failure) or unreachable (a failure). */
function skipProviderSteps(unreachable: BookijiError | null): SkippedStep[] {
  const why = unreachable ?? providerNotConfigured();
  return PROVIDER_STEPS.map((step) => ({ step, reason: why.message, hint: why.hint, error: unreachable ? stepError(unreachable) : null }));
}

export async function reconcile(pool: Pool, gateway: PaymentGateway | null, options: ReconcileOptions): Promise<ReconcileReport> {
  const batchMax = options.batchMax ?? BATCH_MAX_DEFAULT;
  const report = emptyReport(options.dryRun);
  // 1. Expired holds: no provider needed.
  // Listed first, so a hold the sweep skipped (its slot locked, SKIP LOCKED) is reported as still held.
  const listed = options.dryRun ? [] : await expireHolds(pool, { dryRun: true, actor: options.actor });
  report.expiredHolds = await expireHolds(pool, { dryRun: options.dryRun, actor: options.actor });
  report.stillHeld = await leftHeldBySweep(pool, listed, report.expiredHolds);
  // 2. Lost events; the first provider call also tells whether it is reachable.
  let provider = gateway;
  if (gateway) {
    try {
      report.eventsRecovered = await recoverLostEvents(pool, gateway, options);
    } catch (error) {
      if (!(error instanceof BookijiError) || error.code !== 'DEPENDENCY_UNAVAILABLE') throw error;
      provider = null;
      report.skipped = skipProviderSteps(error);
    }
  } else {
    report.skipped = skipProviderSteps(null);
  }
  report.eventsReapplied = await reapplyStoredEvents(pool, options, report.eventsRecovered, batchMax);
  // 3 and 4. Owed calls, then open payments read from the provider.
  report.repairs = await repairPayments(pool, provider, options, batchMax);
  // Reservation commits a crash or an outage left in progress.
  report.commitsResumed = await resumeReservationCommits(pool, provider, options, batchMax);
  // 5. Drift, to the cent.
  if (provider) report.drift = await driftReport(pool, provider, { batchMax, ...(options.dryRun ? {} : { syncAs: options.actor }) });
  for (const row of report.drift) {
    report.totals.oursNetCents += row.oursCapturedCents - row.oursRefundedCents;
    report.totals.providerNetCents += row.providerCapturedCents - row.providerRefundedCents;
    report.totals.ledgerNetCents += row.ledgerCapturedCents - row.ledgerRefundedCents;
    if (row.error) report.totals.unreadCount += 1;
    else if (!row.agrees) report.totals.driftCount += 1;
  }
  return report;
}

/** The provider's events since our newest stored one (minus a margin) that we never stored: stored and applied. */
async function recoverLostEvents(pool: Pool, gateway: PaymentGateway, options: ReconcileOptions): Promise<string[]> {
  const newest = await queryWithRetry(pool, `SELECT coalesce(max(created), 0) AS created FROM stripe_events`);
  const since = Math.max(0, Number(newest.rows[0]!.created) - (options.eventLookbackSeconds ?? EVENT_LOOKBACK_SECONDS_DEFAULT));
  const providerEvents = await gateway.listEvents(PAYMENT_EVENT_TYPES, since);
  const known = await queryWithRetry(pool, `SELECT event_id, processed_at IS NOT NULL AS processed FROM stripe_events WHERE event_id = ANY($1)`, [
    providerEvents.map((e) => e.id),
  ]);
  const processedIds = new Set(known.rows.filter((r) => r.processed).map((r) => String(r.event_id)));
  const storedIds = new Set(known.rows.map((r) => String(r.event_id)));
  const recovered: string[] = [];
  for (const event of providerEvents) {
    if (processedIds.has(event.id)) continue;
    if (!storedIds.has(event.id)) recovered.push(event.id);
    if (options.dryRun) continue;
    await recordEvent(pool, event, 'reconcile');
    await processEvent(pool, event, options.actor);
  }
  return recovered;
}

/** Stored events never applied (a crash, a 500): applied from their stored payload, no provider needed. */
async function reapplyStoredEvents(pool: Pool, options: ReconcileOptions, recovered: string[], batchMax: number): Promise<string[]> {
  const unapplied = await queryWithRetry(pool, `SELECT payload FROM stripe_events WHERE processed_at IS NULL ORDER BY created, event_id LIMIT $1`, [batchMax]);
  const reapplied: string[] = [];
  for (const row of unapplied.rows) {
    const event = row.payload as Stripe.Event;
    if (recovered.includes(event.id)) continue;
    reapplied.push(event.id);
    if (!options.dryRun) await processEvent(pool, event, options.actor);
  }
  return reapplied;
}

/** Payments owing a provider call or still open; each performed on its own when a provider is there. */
async function repairPayments(pool: Pool, gateway: PaymentGateway | null, options: ReconcileOptions, batchMax: number): Promise<PaymentRepair[]> {
  const open = await queryWithRetry(
    pool,
    `SELECT * FROM payments
     WHERE pending_action <> 'none' OR (status IN ('requires_payment', 'failed', 'authorized') AND provider_intent_id IS NOT NULL)
     ORDER BY (pending_action <> 'none') DESC, updated_at, id LIMIT $1`,
    [batchMax],
  );
  const repairs: PaymentRepair[] = [];
  for (const row of open.rows) {
    const payment = toPayment(row);
    const repair: PaymentRepair = {
      paymentId: payment.id,
      bookingId: payment.bookingId,
      before: { status: payment.status, pendingAction: payment.pendingAction },
      after: null,
      steps: [],
      error: null,
      skipped: false,
    };
    repairs.push(repair);
    if (!options.dryRun && gateway) await repairPayment(pool, gateway, payment, options, repair);
  }
  return repairs;
}

async function repairPayment(pool: Pool, gateway: PaymentGateway, payment: Payment, options: ReconcileOptions, repair: PaymentRepair): Promise<void> {
  try {
    const settled = await settleWaitingForLock(() =>
      payment.pendingAction !== 'none' && payment.providerIntentId === null
        ? settlePayment(pool, gateway, payment.id, options.actor)
        : syncPayment(pool, gateway, payment.id, options.actor),
    );
    repair.after = { status: settled.payment.status, pendingAction: settled.payment.pendingAction };
    repair.steps = settled.steps;
    repair.skipped = settled.skipped;
    const deferred = (settled as { deferredError?: Error | null }).deferredError;
    if (deferred) repair.error = deferred.message;
  } catch (error) {
    // One unreachable payment must not stop the others; the recovery point
    // stays and the next run tries again.
    repair.error = (error as Error).message;
  }
}

// Capture what is owed with the same keys, then commit or compensate; each
// reservation on its own, a failure reported on its row (like a payment's
// repair or drift row) while the others go on.
async function resumeReservationCommits(
  pool: Pool,
  gateway: PaymentGateway | null,
  options: ReconcileOptions,
  batchMax: number,
): Promise<ReconcileReport['commitsResumed']> {
  if (options.dryRun || !gateway) {
    const inProgress = await queryWithRetry(pool, `SELECT id, state FROM reservations WHERE state = 'COMMIT_IN_PROGRESS' ORDER BY updated_at, id LIMIT $1`, [
      batchMax,
    ]);
    return inProgress.rows.map((r) => ({ reservationId: String(r.id), state: String(r.state), error: null }));
  }
  const resumed = await resumeCommits(pool, gateway, options.actor, { batchMax });
  return resumed.map((r) => ({ reservationId: r.reservationId, state: r.state, error: r.error ? stepError(r.error) : null }));
}

// Reconcile is the path that must make progress: when a webhook worker holds
// a payment's lock, wait for it briefly (it holds it for one provider call)
// instead of skipping, so a run never leaves an owed call behind merely
// because it met that worker. Bounded: a payment still busy is reported as
// skipped and the next run takes it.
const LOCK_ATTEMPT_MAX = 6;
const LOCK_WAIT_MS_BASE = 50;

async function settleWaitingForLock<T extends { skipped: boolean }>(attemptSettle: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const result = await attemptSettle();
    if (!result.skipped || attempt >= LOCK_ATTEMPT_MAX) return result;
    await new Promise((resolve) => setTimeout(resolve, LOCK_WAIT_MS_BASE * attempt));
  }
}
