// PaymentMethods minted from Stripe's test tokens (`pm_card_visa` →
// `pm_…`), kept as Stripe's PaymentMethod object so that
// `GET /v1/payment_methods/:id` and card errors' `payment_method` carry the
// real shape (https://docs.stripe.com/api/payment_methods/object).
// `payment_method_data[card][token]=tok_visa` mints one the same way
// (https://docs.stripe.com/testing#cards: `tok_…` test tokens).

import type Stripe from 'stripe';
import { checkExpand } from './expand.js';
import { errors } from './stripeErrors.js';
import { newId, randomToken } from './ids.js';
import type { Params } from './params.js';
import type { Store } from './store.js';
import { testPaymentMethod, type TestPaymentMethod } from './testPaymentMethods.js';

export interface MintedPaymentMethod {
  method: TestPaymentMethod;
  object: Stripe.PaymentMethod;
}

function mint(store: Store, method: TestPaymentMethod): MintedPaymentMethod {
  const id = newId('pm');
  const object: Stripe.PaymentMethod = {
    id,
    object: 'payment_method',
    allow_redisplay: 'unspecified',
    billing_details: { address: null, email: null, name: null, phone: null, tax_id: null },
    card: {
      brand: method.brand,
      checks: { address_line1_check: null, address_postal_code_check: null, cvc_check: 'unchecked' },
      country: method.country,
      display_brand: method.brand,
      exp_month: 12,
      exp_year: new Date(store.now() * 1000).getUTCFullYear() + 3,
      fingerprint: randomToken(16),
      funding: method.funding,
      generated_from: null,
      last4: method.last4,
      networks: { available: [method.brand], preferred: null },
      regulated_status: 'unregulated',
      three_d_secure_usage: { supported: true },
      wallet: null,
    },
    created: store.now(),
    customer: null,
    customer_account: null,
    livemode: false,
    metadata: {},
    type: 'card',
  };
  const minted = { method, object };
  store.paymentMethods.set(id, minted);
  return minted;
}

/** A test token (`pm_card_visa`) mints a new PaymentMethod; a minted id is reused. */
export function resolvePaymentMethod(store: Store, token: string, param = 'payment_method'): MintedPaymentMethod {
  const known = testPaymentMethod(token);
  if (known) return mint(store, known);
  const minted = store.paymentMethods.get(token);
  if (minted) return minted;
  throw errors.parameterInvalid(param, `No such PaymentMethod: '${token}'`, 'resource_missing');
}

/** `payment_method_data`: type card with a test `tok_…` (tok_visa ⇒ pm_card_visa's behaviour). */
export function paymentMethodFromData(store: Store, params: Params): MintedPaymentMethod | undefined {
  const data = params.object('payment_method_data', ['type', 'card', 'billing_details', 'metadata', 'allow_redisplay']);
  if (!data) return undefined;
  if (data['type'] !== 'card') {
    throw errors.parameterInvalid('payment_method_data[type]', 'The sandbox models card payment methods only: payment_method_data[type] must be card.');
  }
  const card = data['card'];
  const token = typeof card === 'object' && !Array.isArray(card) ? card['token'] : undefined;
  const method = typeof token === 'string' && token.startsWith('tok_') ? testPaymentMethod(`pm_card_${token.slice(4)}`) : undefined;
  if (!method) throw errors.parameterInvalid('payment_method_data[card][token]', `No such token: '${String(token)}'`, 'resource_missing');
  return mint(store, method);
}

export function retrievePaymentMethod(store: Store, id: string, params: Params): Stripe.PaymentMethod {
  params.allow([]);
  checkExpand('payment_method', params.expand());
  const minted = store.paymentMethods.get(id);
  if (!minted) throw errors.resourceMissing('payment_method', id, 'payment_method');
  return structuredClone(minted.object);
}
