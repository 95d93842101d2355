// Charges: every confirmation attempt that reaches the card network makes one
// (`pi.latest_charge`), succeeded or failed, as in Stripe. Exposed read-only
// through `GET /v1/charges/:id` and `GET /v1/charges`, and as the object of
// the charge events (https://docs.stripe.com/api/events/types):
//   charge.succeeded  an authorization (captured or not) was made
//   charge.failed     the attempt was declined
//   charge.captured   a manual-capture charge was captured
//   charge.updated    automatic_async: the balance transaction arrived after
//                     the capture (https://docs.stripe.com/payments/payment-intents/asynchronous-capture)
//   charge.refunded   a refund was made
// Each charge event is emitted before the payment_intent.* event of the same
// step, as Stripe creates them; charge.updated comes last.

import type Stripe from 'stripe';
import { checkExpand } from './expand.js';
import { errors } from './stripeErrors.js';
import { newId, randomToken } from './ids.js';
import { paginate } from './list.js';
import { inRange, type Params } from './params.js';
import { newestFirst, type Store } from './store.js';
import type { TestPaymentMethod } from './testPaymentMethods.js';

export function createCharge(
  store: Store,
  pi: Stripe.PaymentIntent,
  method: TestPaymentMethod,
  paymentMethodId: string,
  outcome: { ok: true; captured: boolean; balancePending?: boolean } | { ok: false },
): Stripe.Charge {
  const id = newId('ch');
  const created = store.now();
  const declined = !outcome.ok;
  const decline = method.decline ?? { code: 'card_declined', declineCode: 'generic_decline', message: 'Your card was declined.' };
  const captured = outcome.ok && outcome.captured;
  const charge: Stripe.Charge = {
    id,
    object: 'charge',
    amount: pi.amount,
    amount_captured: captured ? pi.amount : 0,
    amount_refunded: 0,
    application: null,
    application_fee: null,
    application_fee_amount: null,
    balance_transaction: captured && !(outcome.ok && outcome.balancePending) ? newId('txn') : null,
    billing_details: { address: null, email: null, name: null, phone: null, tax_id: null },
    calculated_statement_descriptor: 'BOOKIJI',
    captured,
    created,
    currency: pi.currency,
    customer: typeof pi.customer === 'string' ? pi.customer : null,
    description: pi.description,
    disputed: false,
    failure_balance_transaction: null,
    failure_code: declined ? decline.code : null,
    failure_message: declined ? decline.message : null,
    fraud_details: {},
    livemode: false,
    metadata: { ...pi.metadata },
    on_behalf_of: null,
    outcome: chargeOutcome(declined ? decline.declineCode : null),
    paid: !declined,
    payment_intent: pi.id,
    payment_method: paymentMethodId,
    payment_method_details: cardDetails(store, pi, method, declined),
    receipt_email: pi.receipt_email,
    receipt_number: null,
    receipt_url: null,
    refunded: false,
    review: null,
    shipping: null,
    source: null,
    source_transfer: null,
    statement_descriptor: null,
    statement_descriptor_suffix: null,
    status: declined ? 'failed' : 'succeeded',
    transfer_data: null,
    transfer_group: null,
  };
  store.charges.set(id, { seq: store.nextSeq(), charge });
  return charge;
}

/** The network's verdict: declined with the test card's decline code, or authorized. */
function chargeOutcome(declineCode: string | null): Stripe.Charge.Outcome {
  return declineCode !== null
    ? {
        advice_code: null,
        network_advice_code: null,
        network_decline_code: null,
        network_status: 'declined_by_network',
        reason: declineCode,
        risk_level: 'normal',
        seller_message: 'The bank did not return any further details with this decline.',
        type: 'issuer_declined',
      }
    : {
        advice_code: null,
        network_advice_code: null,
        network_decline_code: null,
        network_status: 'approved_by_network',
        reason: null,
        risk_level: 'normal',
        seller_message: 'Payment complete.',
        type: 'authorized',
      };
}

function cardDetails(store: Store, pi: Stripe.PaymentIntent, method: TestPaymentMethod, declined: boolean): Stripe.Charge.PaymentMethodDetails {
  return {
    type: 'card',
    card: {
      amount_authorized: declined ? null : pi.amount,
      authorization_code: declined ? null : randomToken(6),
      brand: method.brand,
      checks: { address_line1_check: null, address_postal_code_check: null, cvc_check: 'pass' },
      country: method.country,
      electronic_commerce_indicator: null,
      exp_month: 12,
      exp_year: new Date(store.now() * 1000).getUTCFullYear() + 3,
      funding: method.funding,
      installments: null,
      last4: method.last4,
      mandate: null,
      network: method.brand,
      network_transaction_id: declined ? null : randomToken(15),
      regulated_status: 'unregulated',
      three_d_secure: null,
      transaction_link_id: null,
      wallet: null,
    },
  };
}

export function getCharge(store: Store, id: string): Stripe.Charge {
  const rec = store.charges.get(id);
  if (!rec) throw errors.resourceMissing('charge', id);
  return rec.charge;
}

export function retrieveCharge(store: Store, id: string, params: Params): Stripe.Charge {
  params.allow([]);
  checkExpand('charge', params.expand());
  return structuredClone(getCharge(store, id));
}

/** `GET /v1/charges`: newest first, filtered by payment_intent, customer, created. */
export function listCharges(store: Store, params: Params): Stripe.ApiList<Stripe.Charge> {
  params.allow(['limit', 'starting_after', 'ending_before', 'created', 'customer', 'payment_intent', 'transfer_group']);
  checkExpand('charge', params.expand(), true);
  const created = params.range('created');
  const pi = params.string('payment_intent');
  const customer = params.string('customer');
  const transferGroup = params.string('transfer_group');
  const all = newestFirst(store.charges.values()).map((rec) => ({ seq: rec.seq, id: rec.charge.id, item: rec.charge }));
  const matching = all.filter(
    ({ item }) =>
      inRange(item.created, created) &&
      (pi === undefined || item.payment_intent === pi) &&
      (customer === undefined || item.customer === customer) &&
      (transferGroup === undefined || item.transfer_group === transferGroup),
  );
  const page = paginate(params, '/v1/charges', 'charge', all, matching);
  return { ...page, data: page.data.map((c) => structuredClone(c)) };
}
