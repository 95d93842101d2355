// Refunds of a succeeded PaymentIntent's charge, full or partial, as many as
// the captured amount allows. Each emits `refund.created` (the refund) and
// `charge.refunded` (the charge with its new `amount_refunded`/`refunded`).
// `POST /v1/refunds/:id` updates metadata and emits `refund.updated`
// (https://docs.stripe.com/api/refunds/update, /api/events/types#refund.updated).

import type Stripe from 'stripe';
import { getCharge } from './charges.js';
import { checkExpand } from './expand.js';
import { errors } from './stripeErrors.js';
import { newId } from './ids.js';
import { paginate } from './list.js';
import { applyMetadata, inRange, type Params } from './params.js';
import { getIntent, renderIntent } from './paymentIntents.js';
import { newestFirst, type OpContext, type RefundRecord, type Store } from './store.js';

const REASONS = ['duplicate', 'fraudulent', 'requested_by_customer'] as const;

function render(store: Store, rec: RefundRecord, expand: string[]): Stripe.Refund {
  const refund = structuredClone(rec.refund);
  if (expand.includes('charge') && typeof refund.charge === 'string') {
    refund.charge = structuredClone(getCharge(store, refund.charge));
  }
  if (expand.includes('payment_intent') && typeof refund.payment_intent === 'string') {
    refund.payment_intent = renderIntent(store, getIntent(store, refund.payment_intent));
  }
  return refund;
}

/** The charge a refund names, by its payment intent (which must have a successful charge) or by id. */
function chargeToRefund(store: Store, piId: string | undefined, chargeId: string | undefined): { charge: Stripe.Charge; paymentIntentId: string } {
  if (piId !== undefined) {
    const rec = getIntent(store, piId, 'payment_intent');
    if (rec.pi.status !== 'succeeded' || typeof rec.pi.latest_charge !== 'string') {
      throw errors.unexpectedState(
        structuredClone(rec.pi),
        `This PaymentIntent (${piId}) does not have a successful charge to refund (status: ${rec.pi.status}).`,
      );
    }
    const charge = getCharge(store, rec.pi.latest_charge);
    if (chargeId !== undefined && chargeId !== charge.id) {
      throw errors.parameterInvalid('charge', `Charge ${chargeId} does not belong to PaymentIntent ${piId}.`);
    }
    return { charge, paymentIntentId: piId };
  }
  const found = store.charges.get(chargeId!);
  if (!found) throw errors.parameterInvalid('charge', `No such charge: '${chargeId}'`, 'resource_missing');
  return { charge: found.charge, paymentIntentId: found.charge.payment_intent as string };
}

export function createRefund(store: Store, params: Params, ctx: OpContext): Stripe.Refund {
  params.allow(['payment_intent', 'charge', 'amount', 'reason', 'metadata', 'instructions_email']);
  const expand = checkExpand('refund', params.expand());
  const piId = params.string('payment_intent');
  const chargeId = params.string('charge');
  if (piId === undefined && chargeId === undefined) {
    throw errors.parameterInvalid(
      'payment_intent',
      'One of the following params should be provided for this request: payment_intent or charge.',
      'parameter_missing',
    );
  }
  const { charge, paymentIntentId } = chargeToRefund(store, piId, chargeId);
  if (charge.status !== 'succeeded' || !charge.captured) {
    throw errors.parameterInvalid('charge', `Charge ${charge.id} has not been captured and cannot be refunded.`, 'charge_not_refundable');
  }
  // Everything refunded so far, not counting an uncaptured remainder released at capture.
  const released = charge.amount - charge.amount_captured;
  const refundable = charge.amount_captured - (charge.amount_refunded - released);
  if (refundable <= 0) {
    throw errors.parameterInvalid('charge', `Charge ${charge.id} has already been refunded.`, 'charge_already_refunded');
  }
  const amount = params.integer('amount', { min: 1 }) ?? refundable;
  if (amount > refundable) {
    throw errors.parameterInvalid('amount', `Refund amount (${amount}) is greater than unrefunded amount on charge (${refundable})`, 'amount_too_large');
  }
  const reason = params.enumeration('reason', REASONS) ?? null;
  const metadata = applyMetadata({}, params.metadata());
  params.string('instructions_email');

  const refund: Stripe.Refund = {
    id: newId('re'),
    object: 'refund',
    amount,
    balance_transaction: newId('txn'),
    charge: charge.id,
    created: store.now(),
    currency: charge.currency,
    customer: typeof charge.customer === 'string' ? charge.customer : null,
    customer_account: null,
    destination_details: { type: 'card', card: { reference_status: 'pending', reference_type: 'acquirer_reference_number', type: 'refund' } },
    metadata,
    payment_intent: paymentIntentId,
    payment_method: charge.payment_method,
    reason,
    receipt_number: null,
    source_transfer_reversal: null,
    status: 'succeeded',
    transfer_reversal: null,
  };
  const rec: RefundRecord = { seq: store.nextSeq(), refund };
  store.refunds.set(refund.id, rec);
  charge.amount_refunded += amount;
  charge.refunded = charge.amount_refunded >= charge.amount;
  store.emit('refund.created', structuredClone(refund), ctx);
  store.emit('charge.refunded', structuredClone(charge), ctx);
  return render(store, rec, expand);
}

function getRefund(store: Store, id: string): RefundRecord {
  const rec = store.refunds.get(id);
  if (!rec) throw errors.resourceMissing('refund', id, 'refund');
  return rec;
}

export function retrieveRefund(store: Store, id: string, params: Params): Stripe.Refund {
  params.allow([]);
  const expand = checkExpand('refund', params.expand());
  return render(store, getRefund(store, id), expand);
}

export function updateRefund(store: Store, id: string, params: Params, ctx: OpContext): Stripe.Refund {
  params.allow(['metadata']);
  const expand = checkExpand('refund', params.expand());
  const rec = getRefund(store, id);
  rec.refund.metadata = applyMetadata(rec.refund.metadata ?? {}, params.metadata());
  store.emit('refund.updated', structuredClone(rec.refund), ctx);
  return render(store, rec, expand);
}

export function listRefunds(store: Store, params: Params): Stripe.ApiList<Stripe.Refund> {
  params.allow(['limit', 'starting_after', 'ending_before', 'created', 'payment_intent', 'charge']);
  const created = params.range('created');
  const pi = params.string('payment_intent');
  const charge = params.string('charge');
  const all = newestFirst(store.refunds.values()).map((rec) => ({ seq: rec.seq, id: rec.refund.id, item: rec }));
  const matching = all.filter(
    (x) =>
      inRange(x.item.refund.created, created) &&
      (pi === undefined || x.item.refund.payment_intent === pi) &&
      (charge === undefined || x.item.refund.charge === charge),
  );
  const expand = checkExpand('refund', params.expand(), true);
  const page = paginate(params, '/v1/refunds', 'refund', all, matching);
  return { ...page, data: page.data.map((rec) => render(store, rec, expand)) };
}
