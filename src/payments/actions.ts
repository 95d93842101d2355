// Performing the provider call a payment owes (its recovery point), then
// applying the provider's answer. Used right after a decision (checkout,
// webhook) and by reconcile after a crash; all three may race, which is safe:
// every call carries the same idempotency key, and applying is monotonic.
//
// A worker takes a session advisory lock per payment with try-lock semantics,
// so concurrent reconcilers skip a payment another one is settling instead of
// queueing behind it (the SKIP LOCKED idea for work that spans a provider call,
// where holding a row lock across the network would block the webhook path).

import { BookijiError } from '../errors.js';
import type { Pool } from '../db/pool.js';
import type { Actor } from '../engine/types.js';
import type { PaymentGateway } from './gateway.js';
import { applyFacts, applyIntent, claimOwedCancel, getPayment, recordIntent } from './store.js';
import type { ApplyOutcome, Payment, PendingAction } from './types.js';

export interface SettleStep {
  action: PendingAction | 'sync';
  outcome: ApplyOutcome | 'intent_recorded';
}

export interface SettleResult {
  payment: Payment;
  steps: SettleStep[];
  /** Another worker held the payment; nothing was done here. */
  skipped: boolean;
}

const SETTLE_STEP_MAX = 5;

export function intentMetadata(payment: Payment): Record<string, string> {
  return {
    bookiji_payment_id: payment.id,
    bookiji_vendor_id: payment.vendorId,
    bookiji_booking_id: payment.firstBookingId,
    bookiji_purpose: payment.purpose,
  };
}

/** Runs `work` holding the payment's advisory lock, or returns null at once if another worker holds it. */
export async function withPaymentLock<T>(pool: Pool, paymentId: string, work: () => Promise<T>): Promise<T | null> {
  const client = await pool.connect();
  let locked = false;
  try {
    const result = await client.query(`SELECT pg_try_advisory_lock(hashtextextended('payment:' || $1, 0)) AS locked`, [paymentId]);
    locked = Boolean(result.rows[0]?.locked);
    if (!locked) return null;
    return await work();
  } finally {
    if (locked) await client.query(`SELECT pg_advisory_unlock(hashtextextended('payment:' || $1, 0))`, [paymentId]).catch(() => undefined);
    client.release();
  }
}

/** Performs owed provider calls until the payment owes none (or a step changes nothing). */
export async function settlePayment(pool: Pool, gateway: PaymentGateway, paymentId: string, actor: Actor): Promise<SettleResult> {
  const steps: SettleStep[] = [];
  const done = await withPaymentLock(pool, paymentId, async () => {
    let payment = await getPayment(pool, paymentId);
    for (let i = 0; i < SETTLE_STEP_MAX && payment.pendingAction !== 'none'; i++) {
      const before = `${payment.status}/${payment.pendingAction}/${payment.providerIntentId}`;
      payment = await performOwedCall(pool, gateway, payment, actor, steps);
      if (`${payment.status}/${payment.pendingAction}/${payment.providerIntentId}` === before) break;
    }
    return payment;
  });
  if (done === null) return { payment: await getPayment(pool, paymentId), steps, skipped: true };
  return { payment: done, steps, skipped: false };
}

async function performOwedCall(pool: Pool, gateway: PaymentGateway, payment: Payment, actor: Actor, steps: SettleStep[]): Promise<Payment> {
  const key = (what: string) => `${payment.idempotencyPrefix}:${what}`;
  switch (payment.pendingAction) {
    case 'none':
      return payment;
    case 'create': {
      // Same key as the first attempt: if the provider made the intent before
      // we crashed, this returns it instead of making a second one.
      const intent = await gateway.createIntent({
        amountCents: payment.amountCents,
        currency: payment.currency,
        idempotencyKey: key('create'),
        metadata: intentMetadata(payment),
        description: `Bookiji ${payment.purpose} ${payment.firstBookingId}`,
      });
      const recorded = await recordIntent(pool, payment, intent.id, actor);
      steps.push({ action: 'create', outcome: 'intent_recorded' });
      return recorded;
    }
    case 'capture': {
      const intentId = payment.providerIntentId!;
      try {
        const intent = await gateway.captureIntent(intentId, key('capture'));
        const applied = await applyIntent(pool, payment, intent, { actor });
        steps.push({ action: 'capture', outcome: applied.outcome });
        return applied.payment;
      } catch (error) {
        return syncAfterRefusal(pool, gateway, payment, actor, steps, error);
      }
    }
    case 'cancel':
      return performOwedCancel(pool, gateway, payment, actor, steps, key('cancel'));
    case 'refund': {
      const intentId = payment.providerIntentId!;
      const owedCents = payment.amountCapturedCents - payment.amountRefundedCents;
      try {
        const refund = await gateway.refundIntent(intentId, owedCents, key('refund'));
        const applied = await applyFacts(
          pool,
          payment,
          {
            status: 'succeeded',
            amountCapturable: 0,
            amountReceived: payment.amountCapturedCents,
            amountRefunded: payment.amountRefundedCents + refund.amount,
            failureCode: null,
            failureMessage: null,
          },
          { actor, providerRef: refund.id },
        );
        steps.push({ action: 'refund', outcome: applied.outcome });
        return applied.payment;
      } catch (error) {
        return syncAfterRefusal(pool, gateway, payment, actor, steps, error);
      }
    }
  }
}

// A cancel is owed when a booking lost its slot (a decline, an expired hold,
// the customer's cancellation) or money arrived with no booking to pay for.
// Until our cancel reaches Stripe, a customer whose card was declined can
// still confirm the same intent (it went back to requires_payment_method),
// and that retry's authorization re-claims the slot. Stripe has no
// conditional cancel, so the decision is re-checked at two depths right
// before the call:
//   1. the provider's current state is read and applied first, so a retry
//      that already went through withdraws the cancel (its booking is
//      re-claimed and a capture is owed instead);
//   2. claim_owed_cancel re-checks the decision under the payment's row locks
//      and records cancel_sent_at; an authorization applied after that is owed
//      back and never confirms a booking, because this call may void it.
// Without the claim, a retry landing between the decision and the call ended
// as a confirmed booking whose intent we had canceled (SimCity SC-2).
async function performOwedCancel(
  pool: Pool,
  gateway: PaymentGateway,
  payment: Payment,
  actor: Actor,
  steps: SettleStep[],
  idempotencyKey: string,
): Promise<Payment> {
  const intentId = payment.providerIntentId!;
  const current = await applyIntent(pool, payment, await gateway.retrieveIntent(intentId), { actor });
  steps.push({ action: 'sync', outcome: current.outcome });
  if (current.payment.pendingAction !== 'cancel') return current.payment;
  const claim = await claimOwedCancel(pool, payment, actor);
  if (!claim.claimed) {
    steps.push({ action: 'cancel', outcome: 'unchanged' });
    return claim.payment;
  }
  try {
    const intent = await gateway.cancelIntent(intentId, idempotencyKey);
    const applied = await applyIntent(pool, payment, intent, { actor });
    steps.push({ action: 'cancel', outcome: applied.outcome });
    return applied.payment;
  } catch (error) {
    return syncAfterRefusal(pool, gateway, payment, actor, steps, error);
  }
}

// The provider refused the call for a reason other than being unreachable
// (the intent moved on: already captured, canceled, expired): its current
// state is the truth, so read it and apply it.
async function syncAfterRefusal(pool: Pool, gateway: PaymentGateway, payment: Payment, actor: Actor, steps: SettleStep[], error: unknown): Promise<Payment> {
  if (error instanceof BookijiError && error.code === 'DEPENDENCY_UNAVAILABLE') throw error;
  const intent = await gateway.retrieveIntent(payment.providerIntentId!);
  const applied = await applyIntent(pool, payment, intent, { actor });
  steps.push({ action: 'sync', outcome: applied.outcome });
  return applied.payment;
}

/**
 * Server-side verification: read the intent from the provider, apply it, then
 * perform what it owes. The verdict is already committed when the owed call
 * runs, so a provider outage there is reported in `deferredError` (the
 * recovery point stays for reconcile) instead of failing the verification.
 */
export async function syncPayment(
  pool: Pool,
  gateway: PaymentGateway,
  paymentId: string,
  actor: Actor,
): Promise<SettleResult & { deferredError: BookijiError | null }> {
  const payment = await getPayment(pool, paymentId);
  const steps: SettleStep[] = [];
  if (payment.providerIntentId) {
    const intent = await gateway.retrieveIntent(payment.providerIntentId);
    const applied = await applyIntent(pool, payment, intent, { actor });
    steps.push({ action: 'sync', outcome: applied.outcome });
  }
  try {
    const settled = await settlePayment(pool, gateway, paymentId, actor);
    return { ...settled, steps: [...steps, ...settled.steps], deferredError: null };
  } catch (error) {
    if (!(error instanceof BookijiError) || error.code !== 'DEPENDENCY_UNAVAILABLE') throw error;
    return { payment: await getPayment(pool, paymentId), steps, skipped: false, deferredError: error };
  }
}
