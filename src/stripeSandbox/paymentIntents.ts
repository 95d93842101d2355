// PaymentIntents: Stripe's state machine, its errors and its events.
//
//   requires_payment_method ──(payment_method)──▶ requires_confirmation
//   requires_confirmation ──confirm──▶ requires_action (3-D Secure)
//                                    ▶ requires_capture (capture_method=manual)
//                                    ▶ succeeded (automatic capture)
//                                    ▶ requires_payment_method (declined, HTTP 402)
//   requires_action ──customer finishes 3DS (sandbox.completeAction)──▶ as confirm
//   requires_capture ──capture──▶ succeeded
//   any of requires_* ──cancel──▶ canceled
//
// Any other move answers HTTP 400 `payment_intent_unexpected_state` with the
// intent in the error, as Stripe does. Events: payment_intent.created,
// .requires_action, .amount_capturable_updated, .succeeded, .payment_failed,
// .canceled — each with a snapshot of the intent as `data.object`.

import type Stripe from 'stripe';
import { automaticPaymentMethodsByDefault } from './apiVersions.js';
import { getCharge } from './charges.js';
import { failCaptureAsExpired, runConfirmation, snapshot, type IntentOptions } from './confirmation.js';
import { requireCurrency } from './currencies.js';
import { checkExpand } from './expand.js';
import { type ApiError, errors } from './stripeErrors.js';
import { newId, randomToken } from './ids.js';
import { cardOptions, checkMandateData, offSessionParam, paymentMethodParam, shippingParam } from './intentParams.js';
import { paginate } from './list.js';
import { applyMetadata, inRange, Params } from './params.js';
import { newestFirst, type IntentRecord, type OpContext, type Store } from './store.js';

export type { IntentOptions } from './confirmation.js';

const CAPTURE_METHODS = ['automatic', 'automatic_async', 'manual'] as const;
const CANCELLATION_REASONS = ['duplicate', 'fraudulent', 'requested_by_customer', 'abandoned'] as const;
const CANCELABLE: Stripe.PaymentIntent.Status[] = ['requires_payment_method', 'requires_capture', 'requires_confirmation', 'requires_action', 'processing'];
const CONFIRMABLE: Stripe.PaymentIntent.Status[] = ['requires_payment_method', 'requires_confirmation'];
const EDITABLE: Stripe.PaymentIntent.Status[] = ['requires_payment_method', 'requires_confirmation', 'requires_action'];

// Stripe's minimum charge amounts (smallest currency unit) for common currencies.
const AMOUNT_MIN_BY_CURRENCY: Record<string, number> = {
  usd: 50,
  eur: 50,
  gbp: 30,
  cad: 50,
  aud: 50,
  nzd: 50,
  chf: 50,
  sgd: 50,
  hkd: 400,
  jpy: 50,
  dkk: 250,
  nok: 300,
  sek: 300,
  mxn: 1000,
  brl: 50,
  inr: 50,
  pln: 200,
  czk: 1500,
};
// Stripe's ceiling: eight digits in the smallest currency unit.
const AMOUNT_MAX = 99_999_999;

// ── helpers ────────────────────────────────────────────────────────────────

// Stripe names the path parameter `intent` (openapi/spec3.json, /v1/payment_intents/{intent}).
export function getIntent(store: Store, id: string, param = 'intent'): IntentRecord {
  const rec = store.intents.get(id);
  if (!rec) throw errors.resourceMissing('payment_intent', id, param);
  return rec;
}

export function renderIntent(store: Store, rec: IntentRecord, expand: string[] = []): Stripe.PaymentIntent {
  const pi = snapshot(rec);
  if (expand.includes('latest_charge') && typeof pi.latest_charge === 'string') {
    pi.latest_charge = structuredClone(getCharge(store, pi.latest_charge));
  }
  if (expand.includes('payment_method') && typeof pi.payment_method === 'string') {
    const minted = store.paymentMethods.get(pi.payment_method);
    if (minted) pi.payment_method = structuredClone(minted.object);
  }
  return pi;
}

function validateAmount(amount: number, currency: string, param = 'amount'): void {
  const min = AMOUNT_MIN_BY_CURRENCY[currency] ?? 1;
  if (amount < min) {
    throw errors.parameterInvalid(param, `Amount must be at least ${min} ${currency} (smallest currency unit).`, 'amount_too_small');
  }
  if (amount > AMOUNT_MAX) {
    throw errors.parameterInvalid(param, `Amount must be no more than ${AMOUNT_MAX} ${currency} (smallest currency unit).`, 'amount_too_large');
  }
}

function unexpectedState(rec: IntentRecord, action: string, allowed: readonly string[]): ApiError {
  const status = rec.pi.status;
  const message =
    action === 'confirm' && status === 'succeeded'
      ? 'You cannot confirm this PaymentIntent because it has already succeeded after being previously confirmed.'
      : `You cannot ${action} this PaymentIntent because it has a status of ${status}. ` +
        `Only a PaymentIntent with one of the following statuses may be ${action === 'cancel' ? 'canceled' : `${action}d`}: ${allowed.join(', ')}.`;
  return errors.unexpectedState(snapshot(rec), message);
}

// ── endpoints ─────────────────────────────────────────────────────────────

const ALLOWED_TYPES_SINCE = '2026-09-30';

const CREATE_PARAMS = [
  'allowed_payment_method_types',
  'amount',
  'currency',
  'capture_method',
  'payment_method',
  'confirm',
  'metadata',
  'description',
  'customer',
  'receipt_email',
  'payment_method_types',
  'automatic_payment_methods',
  'return_url',
  'off_session',
  'setup_future_usage',
  'statement_descriptor',
  'statement_descriptor_suffix',
  'transfer_group',
  'confirmation_method',
  'payment_method_options',
  'error_on_requires_action',
  'payment_method_data',
  'shipping',
  'mandate_data',
];

/**
 * `automatic_payment_methods`, or a fixed list of types: `payment_method_types`
 * before 2026-09-30.endive, `allowed_payment_method_types` since (stripe-node
 * 23.0.0 CHANGELOG: "Remove support for `payment_method_types` on
 * PaymentIntentCreateParams"). Without either, the default depends on the
 * API version (automatic payment methods since 2023-08-16).
 */
function paymentMethodChoice(
  params: Params,
  apiVersion: string,
): {
  automaticPaymentMethods: Stripe.PaymentIntent.AutomaticPaymentMethods | null;
  paymentMethodTypes: string[];
  allowedPaymentMethodTypes: Stripe.PaymentIntent.AllowedPaymentMethodType[] | null;
} {
  if (params.has('payment_method_types') && apiVersion.slice(0, 10) >= ALLOWED_TYPES_SINCE) throw errors.parameterUnknown('payment_method_types');
  const allowed = params.stringArray('allowed_payment_method_types') as Stripe.PaymentIntent.AllowedPaymentMethodType[] | undefined;
  const fixedTypes = params.stringArray('payment_method_types') ?? allowed;
  const apmRaw = params.object('automatic_payment_methods', ['enabled', 'allow_redirects']);
  if (fixedTypes && apmRaw) {
    throw errors.parameterInvalid(
      'automatic_payment_methods',
      `You may only specify one of these parameters: automatic_payment_methods, ${allowed ? 'allowed_payment_method_types' : 'payment_method_types'}.`,
    );
  }
  const allowedPaymentMethodTypes = allowed ?? null;
  if (apmRaw) {
    const apmParams = new Params(apmRaw);
    const enabled = apmParams.boolean('enabled');
    if (enabled === undefined) throw errors.parameterMissing('automatic_payment_methods[enabled]');
    const allowRedirects = apmParams.enumeration('allow_redirects', ['always', 'never'] as const);
    return {
      automaticPaymentMethods: { enabled, ...(allowRedirects ? { allow_redirects: allowRedirects } : {}) },
      paymentMethodTypes: ['card'],
      allowedPaymentMethodTypes,
    };
  }
  if (fixedTypes) return { automaticPaymentMethods: null, paymentMethodTypes: fixedTypes, allowedPaymentMethodTypes };
  return {
    automaticPaymentMethods: automaticPaymentMethodsByDefault(apiVersion) ? { enabled: true } : null,
    paymentMethodTypes: ['card'],
    allowedPaymentMethodTypes,
  };
}

/** Parameters Stripe accepts only together with `confirm=true`. */
function requireConfirmFor(params: Params, confirm: boolean): void {
  for (const name of ['return_url', 'off_session', 'error_on_requires_action', 'mandate_data']) {
    if (params.has(name) && !confirm) {
      throw errors.parameterInvalid(name, `You can only specify \`${name}\` when \`confirm\` is true.`);
    }
  }
}

/** What this confirmation may do: off-session or error_on_requires_action forbid a customer action. */
function readConfirmationParams(params: Params, rec: IntentRecord): void {
  const offSession = offSessionParam(params);
  const errorOnAction = params.boolean('error_on_requires_action');
  checkMandateData(params);
  const returnUrl = params.string('return_url');
  if (returnUrl !== undefined) rec.returnUrl = returnUrl;
  rec.noActionPossible = offSession === true || errorOnAction === true;
}

// biome-ignore lint/complexity/noExcessiveLinesPerFunction: long because it spells out Stripe's whole PaymentIntent object, which the compiler checks field by field against the SDK's type.
export function createIntent(store: Store, params: Params, opts: IntentOptions, ctx: OpContext): Stripe.PaymentIntent {
  params.allow(CREATE_PARAMS);
  const amount = params.integer('amount', { required: true })!;
  const currency = requireCurrency(params.string('currency', { required: true })!);
  validateAmount(amount, currency);
  const captureMethod = params.enumeration('capture_method', CAPTURE_METHODS) ?? 'automatic_async';
  const confirmationMethod = params.enumeration('confirmation_method', ['automatic', 'manual'] as const) ?? 'automatic';
  const confirm = params.boolean('confirm') ?? false;
  const metadata = applyMetadata({}, params.metadata());
  const { automaticPaymentMethods, paymentMethodTypes, allowedPaymentMethodTypes } = paymentMethodChoice(params, ctx.apiVersion);
  requireConfirmFor(params, confirm);
  const expand = checkExpand('payment_intent', params.expand());
  const options = cardOptions(params, null);
  const shipping = shippingParam(params);
  const resolved = paymentMethodParam(store, params);

  const id = newId('pi');
  const pi: Stripe.PaymentIntent = {
    id,
    object: 'payment_intent',
    allowed_payment_method_types: allowedPaymentMethodTypes,
    amount,
    amount_capturable: 0,
    amount_received: 0,
    application: null,
    application_fee_amount: null,
    automatic_payment_methods: automaticPaymentMethods,
    canceled_at: null,
    cancellation_reason: null,
    capture_method: captureMethod,
    client_secret: `${id}_secret_${randomToken(25)}`,
    confirmation_method: confirmationMethod,
    created: store.now(),
    currency,
    customer: params.string('customer') ?? null,
    customer_account: null,
    description: params.nullableString('description') ?? null,
    excluded_payment_method_types: null,
    last_payment_error: null,
    latest_charge: null,
    livemode: false,
    managed_payments: null,
    metadata,
    next_action: null,
    on_behalf_of: null,
    payment_method: resolved?.object.id ?? null,
    payment_method_configuration_details: null,
    payment_method_options: options ?? {
      card: { installments: null, mandate_options: null, network: null, request_three_d_secure: 'automatic' },
    },
    payment_method_types: paymentMethodTypes,
    payment_record: null,
    processing: null,
    receipt_email: params.string('receipt_email') ?? null,
    review: null,
    setup_future_usage: params.enumeration('setup_future_usage', ['off_session', 'on_session'] as const) ?? null,
    shipping: shipping ?? null,
    source: null,
    statement_descriptor: params.string('statement_descriptor') ?? null,
    statement_descriptor_suffix: params.string('statement_descriptor_suffix') ?? null,
    status: resolved ? 'requires_confirmation' : 'requires_payment_method',
    transfer_data: null,
    transfer_group: params.string('transfer_group') ?? null,
  };
  const rec: IntentRecord = { seq: store.nextSeq(), pi };
  if (resolved) rec.method = resolved.method;
  if (confirm) readConfirmationParams(params, rec);

  if (confirm && !resolved) {
    // Stripe refuses the whole request: nothing is created.
    throw errors.unexpectedState(
      structuredClone(pi),
      "You cannot confirm this PaymentIntent because it's missing a payment method. Provide `payment_method` together with `confirm=true`.",
      false,
    );
  }
  store.intents.set(id, rec);
  store.emit('payment_intent.created', snapshot(rec), ctx);
  if (confirm) runConfirmation(store, rec, opts, ctx);
  return renderIntent(store, rec, expand);
}

export function retrieveIntent(store: Store, id: string, params: Params): Stripe.PaymentIntent {
  params.allow(['client_secret']);
  const expand = checkExpand('payment_intent', params.expand());
  return renderIntent(store, getIntent(store, id), expand);
}

export function updateIntent(store: Store, id: string, params: Params): Stripe.PaymentIntent {
  params.allow([
    'metadata',
    'description',
    'amount',
    'payment_method',
    'receipt_email',
    'customer',
    'capture_method',
    'transfer_group',
    'statement_descriptor',
    'statement_descriptor_suffix',
    'payment_method_options',
    'payment_method_data',
    'shipping',
    'setup_future_usage',
  ]);
  const rec = getIntent(store, id);
  const pi = rec.pi;
  const expand = checkExpand('payment_intent', params.expand());
  const metadata = applyMetadata(pi.metadata, params.metadata());
  const description = params.nullableString('description');
  const amount = params.integer('amount');
  const captureMethod = params.enumeration('capture_method', CAPTURE_METHODS);
  const touchesPayment = amount !== undefined || params.has('payment_method') || params.has('payment_method_data') || captureMethod !== undefined;
  if (touchesPayment && !EDITABLE.includes(pi.status)) {
    throw errors.unexpectedState(
      snapshot(rec),
      `You cannot update this PaymentIntent's amount, capture_method or payment_method because it has a status of ${pi.status}.`,
    );
  }
  if (amount !== undefined) validateAmount(amount, pi.currency);
  const options = cardOptions(params, pi.payment_method_options);
  const shipping = shippingParam(params);
  const setupFutureUsage = params.enumeration('setup_future_usage', ['off_session', 'on_session'] as const);
  const resolved = paymentMethodParam(store, params);

  pi.metadata = metadata;
  if (description !== undefined) pi.description = description;
  if (amount !== undefined) pi.amount = amount;
  if (captureMethod !== undefined) pi.capture_method = captureMethod;
  if (options) pi.payment_method_options = options;
  if (shipping !== undefined) pi.shipping = shipping;
  if (setupFutureUsage !== undefined) pi.setup_future_usage = setupFutureUsage;
  applyNullableStrings(pi, params);
  if (resolved) {
    pi.payment_method = resolved.object.id;
    rec.method = resolved.method;
    pi.next_action = null;
    pi.status = 'requires_confirmation';
  }
  // "It will be cleared if the PaymentIntent is later updated for any reason."
  pi.last_payment_error = null;
  return renderIntent(store, rec, expand);
}

function applyNullableStrings(pi: Stripe.PaymentIntent, params: Params): void {
  const receiptEmail = params.nullableString('receipt_email');
  if (receiptEmail !== undefined) pi.receipt_email = receiptEmail;
  const customer = params.nullableString('customer');
  if (customer !== undefined) pi.customer = customer;
  const transferGroup = params.nullableString('transfer_group');
  if (transferGroup !== undefined) pi.transfer_group = transferGroup;
  const sd = params.nullableString('statement_descriptor');
  if (sd !== undefined) pi.statement_descriptor = sd;
  const sds = params.nullableString('statement_descriptor_suffix');
  if (sds !== undefined) pi.statement_descriptor_suffix = sds;
}

export function confirmIntent(store: Store, id: string, params: Params, opts: IntentOptions, ctx: OpContext): Stripe.PaymentIntent {
  params.allow([
    'payment_method',
    'return_url',
    'off_session',
    'receipt_email',
    'setup_future_usage',
    'capture_method',
    'payment_method_options',
    'error_on_requires_action',
    'payment_method_data',
    'shipping',
    'mandate_data',
  ]);
  const rec = getIntent(store, id);
  const pi = rec.pi;
  if (!CONFIRMABLE.includes(pi.status)) throw unexpectedState(rec, 'confirm', CONFIRMABLE);
  const expand = checkExpand('payment_intent', params.expand());
  const captureMethod = params.enumeration('capture_method', CAPTURE_METHODS);
  const setupFutureUsage = params.enumeration('setup_future_usage', ['off_session', 'on_session'] as const);
  const receiptEmail = params.string('receipt_email');
  const options = cardOptions(params, pi.payment_method_options);
  const shipping = shippingParam(params);
  readConfirmationParams(params, rec);
  const resolved = paymentMethodParam(store, params);

  if (resolved) {
    pi.payment_method = resolved.object.id;
    rec.method = resolved.method;
  }
  if (captureMethod !== undefined) pi.capture_method = captureMethod;
  if (setupFutureUsage !== undefined) pi.setup_future_usage = setupFutureUsage;
  if (receiptEmail !== undefined) pi.receipt_email = receiptEmail;
  if (options) pi.payment_method_options = options;
  if (shipping !== undefined) pi.shipping = shipping;
  runConfirmation(store, rec, opts, ctx);
  return renderIntent(store, rec, expand);
}

/** `captureFails`: the fault plan's decision for this request (Stripe cannot fail a capture on demand). */
export function captureIntent(store: Store, id: string, params: Params, ctx: OpContext, captureFails = false): Stripe.PaymentIntent {
  params.allow(['amount_to_capture', 'metadata', 'statement_descriptor', 'statement_descriptor_suffix', 'final_capture']);
  const rec = getIntent(store, id);
  const pi = rec.pi;
  if (pi.status !== 'requires_capture') {
    throw errors.unexpectedState(
      snapshot(rec),
      `This PaymentIntent could not be captured because it has a status of ${pi.status}. ` +
        'Only a PaymentIntent with one of the following statuses may be captured: requires_capture.',
    );
  }
  const amountToCapture = params.integer('amount_to_capture', { min: 1 }) ?? pi.amount_capturable;
  if (amountToCapture > pi.amount_capturable) {
    throw errors.parameterInvalid(
      'amount_to_capture',
      `The amount to capture (${amountToCapture}) must be less than or equal to the amount capturable (${pi.amount_capturable}).`,
      'amount_too_large',
    );
  }
  const metadata = applyMetadata(pi.metadata, params.metadata());
  const expand = checkExpand('payment_intent', params.expand());
  const charge = getCharge(store, pi.latest_charge as string);
  if (captureFails) failCaptureAsExpired(store, rec, ctx);

  pi.metadata = metadata;
  const sds = params.string('statement_descriptor_suffix');
  if (sds !== undefined) pi.statement_descriptor_suffix = sds;
  charge.captured = true;
  charge.amount_captured = amountToCapture;
  // Stripe releases the uncaptured remainder, which shows as refunded.
  charge.amount_refunded = charge.amount - amountToCapture;
  charge.balance_transaction = newId('txn');
  pi.status = 'succeeded';
  pi.amount_received = amountToCapture;
  pi.amount_capturable = 0;
  store.emit('charge.captured', structuredClone(charge), ctx);
  store.emit('payment_intent.succeeded', snapshot(rec), ctx);
  return renderIntent(store, rec, expand);
}

export function cancelIntent(store: Store, id: string, params: Params, ctx: OpContext): Stripe.PaymentIntent {
  params.allow(['cancellation_reason']);
  const rec = getIntent(store, id);
  const pi = rec.pi;
  if (!CANCELABLE.includes(pi.status)) throw unexpectedState(rec, 'cancel', CANCELABLE);
  const reason = params.enumeration('cancellation_reason', CANCELLATION_REASONS) ?? null;
  const expand = checkExpand('payment_intent', params.expand());
  if (pi.status === 'requires_capture' && typeof pi.latest_charge === 'string') {
    const charge = getCharge(store, pi.latest_charge);
    charge.refunded = true;
    charge.amount_refunded = charge.amount;
  }
  pi.status = 'canceled';
  pi.cancellation_reason = reason;
  pi.canceled_at = store.now();
  pi.amount_capturable = 0;
  pi.next_action = null;
  store.emit('payment_intent.canceled', snapshot(rec), ctx);
  return renderIntent(store, rec, expand);
}

export function listIntents(store: Store, params: Params): Stripe.ApiList<Stripe.PaymentIntent> {
  params.allow(['limit', 'starting_after', 'ending_before', 'created', 'customer']);
  const created = params.range('created');
  const customer = params.string('customer');
  const expand = checkExpand('payment_intent', params.expand(), true);
  const all = newestFirst(store.intents.values()).map((rec) => ({ seq: rec.seq, id: rec.pi.id, rec }));
  const matching = all.filter((x) => inRange(x.rec.pi.created, created) && (customer === undefined || x.rec.pi.customer === customer));
  const toItem = (x: (typeof all)[number]) => ({ seq: x.seq, id: x.id, item: x.rec });
  const page = paginate(params, '/v1/payment_intents', 'payment_intent', all.map(toItem), matching.map(toItem));
  return { ...page, data: page.data.map((rec) => renderIntent(store, rec, expand)) };
}

/**
 * `POST /v1/payment_intents/:id/increment_authorization`
 * (https://docs.stripe.com/payments/incremental-authorization): raises the
 * authorized amount of a requires_capture intent whose card options asked for
 * `request_incremental_authorization=if_available`.
 */
export function incrementAuthorization(store: Store, id: string, params: Params, ctx: OpContext): Stripe.PaymentIntent {
  params.allow(['amount', 'description', 'metadata', 'statement_descriptor']);
  const rec = getIntent(store, id);
  const pi = rec.pi;
  const expand = checkExpand('payment_intent', params.expand());
  const amount = params.integer('amount', { required: true })!;
  if (pi.status !== 'requires_capture') {
    throw errors.unexpectedState(
      snapshot(rec),
      `You cannot increment the authorization of this PaymentIntent because it has a status of ${pi.status}. Only a PaymentIntent with status requires_capture can be incremented.`,
    );
  }
  if (pi.payment_method_options?.card?.request_incremental_authorization !== 'if_available') {
    throw errors.parameterInvalid(
      'payment_method_options[card][request_incremental_authorization]',
      'This PaymentIntent was not created with `payment_method_options[card][request_incremental_authorization]=if_available`, so its authorization cannot be incremented.',
    );
  }
  if (amount <= pi.amount) throw errors.parameterInvalid('amount', `The new amount (${amount}) must be greater than the current amount (${pi.amount}).`);
  validateAmount(amount, pi.currency);
  pi.metadata = applyMetadata(pi.metadata, params.metadata());
  const description = params.nullableString('description');
  if (description !== undefined) pi.description = description;
  const charge = getCharge(store, pi.latest_charge as string);
  charge.amount = amount;
  if (charge.payment_method_details?.card) charge.payment_method_details.card.amount_authorized = amount;
  pi.amount = amount;
  pi.amount_capturable = amount;
  store.emit('charge.updated', structuredClone(charge), ctx);
  store.emit('payment_intent.amount_capturable_updated', snapshot(rec), ctx);
  return renderIntent(store, rec, expand);
}
