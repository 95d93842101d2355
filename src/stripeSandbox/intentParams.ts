// Parameters that create, update and confirm share, read the way Stripe
// reads them (https://docs.stripe.com/api/payment_intents/create, /update,
// /confirm): the payment method (`payment_method` or `payment_method_data`),
// `payment_method_options[card]`, `shipping`, `mandate_data`, `off_session`
// and `error_on_requires_action`.

import type Stripe from 'stripe';
import { errors } from './stripeErrors.js';
import { Params, type FormObject } from './params.js';
import { paymentMethodFromData, resolvePaymentMethod, type MintedPaymentMethod } from './paymentMethods.js';
import type { Store } from './store.js';

const CARD_OPTION_KEYS = [
  'capture_method',
  'request_three_d_secure',
  'request_incremental_authorization',
  'request_extended_authorization',
  'request_multicapture',
  'request_overcapture',
  'setup_future_usage',
  'statement_descriptor_suffix_kana',
  'statement_descriptor_suffix_kanji',
] as const;
const IF_AVAILABLE = ['if_available', 'never'] as const;

/** `payment_method` or `payment_method_data` (not both), minted into a PaymentMethod. */
export function paymentMethodParam(store: Store, params: Params): MintedPaymentMethod | undefined {
  const token = params.string('payment_method');
  if (token !== undefined && params.has('payment_method_data')) {
    throw errors.parameterInvalid('payment_method_data', 'You may only specify one of these parameters: payment_method, payment_method_data.');
  }
  return token !== undefined ? resolvePaymentMethod(store, token) : paymentMethodFromData(store, params);
}

/** `payment_method_options[card][…]` merged onto the intent's current card options. */
export function cardOptions(params: Params, current: Stripe.PaymentIntent.PaymentMethodOptions | null): Stripe.PaymentIntent.PaymentMethodOptions | undefined {
  const raw = params.object('payment_method_options', ['card']);
  if (!raw) return undefined;
  const cardRaw = new Params(raw).object('card', CARD_OPTION_KEYS);
  const card = { ...(current?.card ?? { installments: null, mandate_options: null, network: null, request_three_d_secure: 'automatic' as const }) };
  if (!cardRaw) return { ...current, card };
  const p = new Params(cardRaw);
  const captureMethod = p.string('capture_method');
  if (captureMethod === 'manual') card.capture_method = 'manual';
  else if (captureMethod === '') delete card.capture_method;
  else if (captureMethod !== undefined)
    throw errors.parameterInvalid('payment_method_options[card][capture_method]', 'Invalid capture_method: must be manual or empty.');
  const threeDs = p.enumeration('request_three_d_secure', ['automatic', 'any', 'challenge'] as const);
  if (threeDs) card.request_three_d_secure = threeDs;
  const incremental = p.enumeration('request_incremental_authorization', IF_AVAILABLE);
  if (incremental) card.request_incremental_authorization = incremental;
  const extended = p.enumeration('request_extended_authorization', IF_AVAILABLE);
  if (extended) card.request_extended_authorization = extended;
  const multicapture = p.enumeration('request_multicapture', IF_AVAILABLE);
  if (multicapture) card.request_multicapture = multicapture;
  const overcapture = p.enumeration('request_overcapture', IF_AVAILABLE);
  if (overcapture) card.request_overcapture = overcapture;
  const sfu = p.enumeration('setup_future_usage', ['none', 'off_session', 'on_session'] as const);
  if (sfu) card.setup_future_usage = sfu;
  return { ...current, card };
}

/** `shipping` (name and address required by Stripe); `shipping=` clears it. */
export function shippingParam(params: Params): Stripe.PaymentIntent.Shipping | null | undefined {
  if (params.raw['shipping'] === '') return null;
  const raw = params.object('shipping', ['address', 'name', 'carrier', 'phone', 'tracking_number']);
  if (!raw) return undefined;
  const p = new Params(raw);
  const name = p.string('name', { required: true })!;
  const addressRaw = p.object('address', ['line1', 'line2', 'city', 'state', 'postal_code', 'country']);
  if (!addressRaw) throw errors.parameterMissing('shipping[address]');
  const a = new Params(addressRaw as FormObject);
  return {
    address: {
      city: a.string('city') ?? null,
      country: a.string('country') ?? null,
      line1: a.string('line1') ?? null,
      line2: a.string('line2') ?? null,
      postal_code: a.string('postal_code') ?? null,
      state: a.string('state') ?? null,
    },
    carrier: p.string('carrier') ?? null,
    name,
    phone: p.string('phone') ?? null,
    tracking_number: p.string('tracking_number') ?? null,
  };
}

/** `mandate_data` is read for shape only: card payments in this subset need no mandate. */
export function checkMandateData(params: Params): void {
  const raw = params.object('mandate_data', ['customer_acceptance']);
  if (raw) new Params(raw).object('customer_acceptance', ['type', 'accepted_at', 'online', 'offline']);
}

/** `off_session`: true/false, or Stripe's `one_off` / `recurring`. */
export function offSessionParam(params: Params): boolean | undefined {
  const v = params.string('off_session');
  if (v === undefined) return undefined;
  if (v === 'one_off' || v === 'recurring' || v === 'true') return true;
  if (v === 'false') return false;
  throw errors.parameterInvalid('off_session', `Invalid off_session: ${v}`);
}
