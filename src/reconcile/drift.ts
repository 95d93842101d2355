// Drift, to the cent: each payment's captured and refunded cents against the
// provider's, and the ledger's sums against the payment. Each payment is read
// on its own: an intent the provider cannot return is reported on its row and
// the others go on (one bad intent used to abort the run with a misleading
// PAYMENT_FAILED). Outside a dry run, a payment whose money differs from the
// provider's (a refund made in the provider's dashboard) gets the provider's
// word applied, then is measured again.

import type Stripe from 'stripe';
import { queryWithRetry, type Pool } from '../db/pool.js';
import type { Actor } from '../engine/types.js';
import type { PaymentGateway } from '../payments/gateway.js';
import { applyIntent } from '../payments/store.js';
import { stepError, type DriftRow } from './types.js';

type Row = Record<string, unknown>;

const DRIFT_SQL = `SELECT p.id, p.vendor_id, p.provider_intent_id, p.amount_captured_cents, p.amount_refunded_cents,
        coalesce(sum(l.amount_cents) FILTER (WHERE l.kind = 'capture'), 0) AS ledger_captured,
        coalesce(sum(l.amount_cents) FILTER (WHERE l.kind = 'refund'), 0) AS ledger_refunded
 FROM payments p LEFT JOIN ledger_entries l ON l.vendor_id = p.vendor_id AND l.payment_id = p.id
 WHERE p.provider_intent_id IS NOT NULL AND ($2::uuid IS NULL OR p.id = $2)
 GROUP BY p.vendor_id, p.id ORDER BY p.created_at, p.id LIMIT $1`;

/** Captured and refunded cents as the provider counts them. */
function providerMoney(intent: Stripe.PaymentIntent): { capturedCents: number; refundedCents: number } {
  const charge = intent.latest_charge && typeof intent.latest_charge === 'object' ? intent.latest_charge : null;
  // Stripe reports an authorization it released (a canceled intent, the
  // uncaptured rest of a partial capture) as refunded on the charge; only
  // refunds of captured money are money given back.
  const refundedCents = charge ? Math.max(0, (charge.amount_refunded ?? 0) - ((charge.amount ?? 0) - (charge.amount_captured ?? 0))) : 0;
  return { capturedCents: intent.amount_received ?? 0, refundedCents };
}

function driftRow(row: Row, provider: { capturedCents: number; refundedCents: number }): DriftRow {
  const entry: DriftRow = {
    paymentId: String(row.id),
    providerIntentId: String(row.provider_intent_id),
    oursCapturedCents: Number(row.amount_captured_cents),
    providerCapturedCents: provider.capturedCents,
    oursRefundedCents: Number(row.amount_refunded_cents),
    providerRefundedCents: provider.refundedCents,
    ledgerCapturedCents: Number(row.ledger_captured),
    ledgerRefundedCents: Number(row.ledger_refunded),
    agrees: false,
    synced: false,
    error: null,
  };
  entry.agrees =
    entry.oursCapturedCents === entry.providerCapturedCents &&
    entry.oursRefundedCents === entry.providerRefundedCents &&
    entry.ledgerCapturedCents === entry.oursCapturedCents &&
    entry.ledgerRefundedCents === entry.oursRefundedCents;
  return entry;
}

export interface DriftOptions {
  batchMax: number;
  /** Apply the provider's word where ours differs; omitted in a dry run. */
  syncAs?: Actor;
}

/** Our captured/refunded cents per payment, the ledger's, and the provider's. */
export async function driftReport(pool: Pool, gateway: PaymentGateway, options: DriftOptions): Promise<DriftRow[]> {
  const rows = await queryWithRetry(pool, DRIFT_SQL, [options.batchMax, null]);
  const drift: DriftRow[] = [];
  for (const row of rows.rows) drift.push(await driftOfPayment(pool, gateway, row, options.syncAs));
  return drift;
}

async function driftOfPayment(pool: Pool, gateway: PaymentGateway, row: Row, syncAs: Actor | undefined): Promise<DriftRow> {
  let intent: Stripe.PaymentIntent;
  try {
    intent = await gateway.retrieveIntent(String(row.provider_intent_id));
  } catch (error) {
    return { ...driftRow(row, { capturedCents: 0, refundedCents: 0 }), agrees: false, error: stepError(error) };
  }
  const first = driftRow(row, providerMoney(intent));
  const oursDiffers = first.oursCapturedCents !== first.providerCapturedCents || first.oursRefundedCents !== first.providerRefundedCents;
  if (!syncAs || !oursDiffers) return first;
  try {
    await applyIntent(pool, { vendorId: String(row.vendor_id), id: first.paymentId }, intent, { actor: syncAs });
  } catch (error) {
    return { ...first, error: stepError(error) };
  }
  const again = await queryWithRetry(pool, DRIFT_SQL, [1, first.paymentId]);
  return { ...driftRow(again.rows[0]!, providerMoney(intent)), synced: true };
}
