// Reconcile: make our payments and bookings agree with the provider again,
// above both payments and reservations (it drives both; neither imports it),
// whatever was interrupted. Each part is idempotent and safe to run while
// another reconcile, the webhook and checkouts are running:
//
//   1. expired holds → expired (SQL expire_holds, SKIP LOCKED); a card hold's
//      intent is then owed a cancel (trigger bookings_release_payment)
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
//      provider's, and the ledger's sums against the payment, to the cent.

import type { Pool } from '../db/pool.js';
import { expireHolds, type ExpiredHold } from '../engine/holds.js';
import type { Actor } from '../engine/types.js';
import { queryWithRetry } from '../db/pool.js';
import { settlePayment, syncPayment, type SettleStep } from '../payments/actions.js';
import { PAYMENT_EVENT_TYPES, processEvent, recordEvent } from '../payments/events.js';
import type { PaymentGateway } from '../payments/gateway.js';
import { toPayment } from '../payments/rows.js';
import { resumeCommits } from '../reservations/index.js';
import type Stripe from 'stripe';

export interface ReconcileOptions {
  dryRun: boolean;
  actor: Actor;
  /** How far before our newest stored event to ask the provider for events, seconds. */
  eventLookbackSeconds?: number;
  /** Payments looked at per part, at most. */
  batchMax?: number;
}

export interface PaymentRepair {
  paymentId: string;
  bookingId: string;
  before: { status: string; pendingAction: string };
  after: { status: string; pendingAction: string } | null;
  steps: SettleStep[];
  error: string | null;
  skipped: boolean;
}

export interface DriftRow {
  paymentId: string;
  providerIntentId: string;
  oursCapturedCents: number;
  providerCapturedCents: number;
  oursRefundedCents: number;
  providerRefundedCents: number;
  ledgerCapturedCents: number;
  ledgerRefundedCents: number;
  agrees: boolean;
}

export interface ReconcileReport {
  dryRun: boolean;
  expiredHolds: ExpiredHold[];
  eventsRecovered: string[];
  eventsReapplied: string[];
  repairs: PaymentRepair[];
  /** Reservations whose commit was left in progress, and where they ended. */
  commitsResumed: Array<{ reservationId: string; state: string }>;
  drift: DriftRow[];
  totals: { oursNetCents: number; providerNetCents: number; ledgerNetCents: number; driftCount: number };
}

export const EVENT_LOOKBACK_SECONDS_DEFAULT = 3 * 24 * 3600;
const BATCH_MAX_DEFAULT = 500;

export async function reconcile(pool: Pool, gateway: PaymentGateway, options: ReconcileOptions): Promise<ReconcileReport> {
  const actor = options.actor;
  const batchMax = options.batchMax ?? BATCH_MAX_DEFAULT;
  const report: ReconcileReport = {
    dryRun: options.dryRun,
    expiredHolds: [],
    eventsRecovered: [],
    eventsReapplied: [],
    repairs: [],
    commitsResumed: [],
    drift: [],
    totals: { oursNetCents: 0, providerNetCents: 0, ledgerNetCents: 0, driftCount: 0 },
  };

  // 1. Expired holds.
  report.expiredHolds = await expireHolds(pool, { dryRun: options.dryRun, actor });

  // 2. Lost and unapplied events.
  const newest = await queryWithRetry(pool, `SELECT coalesce(max(created), 0) AS created FROM stripe_events`);
  const since = Math.max(0, Number(newest.rows[0]!.created) - (options.eventLookbackSeconds ?? EVENT_LOOKBACK_SECONDS_DEFAULT));
  const providerEvents = await gateway.listEvents(PAYMENT_EVENT_TYPES, since);
  const known = await queryWithRetry(pool, `SELECT event_id, processed_at IS NOT NULL AS processed FROM stripe_events WHERE event_id = ANY($1)`, [
    providerEvents.map((e) => e.id),
  ]);
  const processedIds = new Set(known.rows.filter((r) => r.processed).map((r) => String(r.event_id)));
  const storedIds = new Set(known.rows.map((r) => String(r.event_id)));
  for (const event of providerEvents) {
    if (processedIds.has(event.id)) continue;
    if (!storedIds.has(event.id)) report.eventsRecovered.push(event.id);
    if (options.dryRun) continue;
    await recordEvent(pool, event, 'reconcile');
    await processEvent(pool, event, actor);
  }
  const unapplied = await queryWithRetry(pool, `SELECT payload FROM stripe_events WHERE processed_at IS NULL ORDER BY created, event_id LIMIT $1`, [batchMax]);
  for (const row of unapplied.rows) {
    const event = row.payload as Stripe.Event;
    if (report.eventsRecovered.includes(event.id)) continue;
    report.eventsReapplied.push(event.id);
    if (!options.dryRun) await processEvent(pool, event, actor);
  }

  // 3 and 4. Owed calls, then open payments read from the provider.
  const open = await queryWithRetry(
    pool,
    `SELECT * FROM payments
     WHERE pending_action <> 'none' OR (status IN ('requires_payment', 'failed', 'authorized') AND provider_intent_id IS NOT NULL)
     ORDER BY (pending_action <> 'none') DESC, updated_at, id LIMIT $1`,
    [batchMax],
  );
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
    report.repairs.push(repair);
    if (options.dryRun) continue;
    try {
      const settled = await settleWaitingForLock(() =>
        payment.pendingAction !== 'none' && payment.providerIntentId === null
          ? settlePayment(pool, gateway, payment.id, actor)
          : syncPayment(pool, gateway, payment.id, actor),
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

  // Reservation commits a crash or an outage left in progress: capture what
  // is owed with the same keys, then commit or compensate.
  const inProgress = await queryWithRetry(pool, `SELECT id, state FROM reservations WHERE state = 'COMMIT_IN_PROGRESS' ORDER BY updated_at LIMIT $1`, [batchMax]);
  if (options.dryRun) {
    report.commitsResumed = inProgress.rows.map((r) => ({ reservationId: String(r.id), state: String(r.state) }));
  } else if (inProgress.rows.length > 0) {
    report.commitsResumed = (await resumeCommits(pool, gateway, actor)).map((r) => ({ reservationId: r.id, state: r.state }));
  }

  // 5. Drift, to the cent.
  report.drift = await driftReport(pool, gateway, batchMax);
  for (const row of report.drift) {
    report.totals.oursNetCents += row.oursCapturedCents - row.oursRefundedCents;
    report.totals.providerNetCents += row.providerCapturedCents - row.providerRefundedCents;
    report.totals.ledgerNetCents += row.ledgerCapturedCents - row.ledgerRefundedCents;
    if (!row.agrees) report.totals.driftCount += 1;
  }
  return report;
}

/** Our captured/refunded cents per payment, the ledger's, and the provider's. */
export async function driftReport(pool: Pool, gateway: PaymentGateway, batchMax = BATCH_MAX_DEFAULT): Promise<DriftRow[]> {
  const rows = await queryWithRetry(
    pool,
    `SELECT p.id, p.provider_intent_id, p.amount_captured_cents, p.amount_refunded_cents,
            coalesce(sum(l.amount_cents) FILTER (WHERE l.kind = 'capture'), 0) AS ledger_captured,
            coalesce(sum(l.amount_cents) FILTER (WHERE l.kind = 'refund'), 0) AS ledger_refunded
     FROM payments p LEFT JOIN ledger_entries l ON l.vendor_id = p.vendor_id AND l.payment_id = p.id
     WHERE p.provider_intent_id IS NOT NULL
     GROUP BY p.vendor_id, p.id ORDER BY p.created_at, p.id LIMIT $1`,
    [batchMax],
  );
  const drift: DriftRow[] = [];
  for (const row of rows.rows) {
    const intent = await gateway.retrieveIntent(String(row.provider_intent_id));
    const charge = intent.latest_charge && typeof intent.latest_charge === 'object' ? intent.latest_charge : null;
    const providerCaptured = intent.amount_received ?? 0;
    // Stripe reports an authorization it released (a canceled intent, the
    // uncaptured rest of a partial capture) as refunded on the charge; only
    // refunds of captured money are money given back.
    const providerRefunded = charge ? Math.max(0, (charge.amount_refunded ?? 0) - ((charge.amount ?? 0) - (charge.amount_captured ?? 0))) : 0;
    const entry: DriftRow = {
      paymentId: String(row.id),
      providerIntentId: String(row.provider_intent_id),
      oursCapturedCents: Number(row.amount_captured_cents),
      providerCapturedCents: providerCaptured,
      oursRefundedCents: Number(row.amount_refunded_cents),
      providerRefundedCents: providerRefunded,
      ledgerCapturedCents: Number(row.ledger_captured),
      ledgerRefundedCents: Number(row.ledger_refunded),
      agrees: false,
    };
    entry.agrees =
      entry.oursCapturedCents === entry.providerCapturedCents &&
      entry.oursRefundedCents === entry.providerRefundedCents &&
      entry.ledgerCapturedCents === entry.oursCapturedCents &&
      entry.ledgerRefundedCents === entry.oursRefundedCents;
    drift.push(entry);
  }
  return drift;
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
