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
import { BookijiError, validationError } from '../errors.js';
import { createCharge, getCharge } from './charges.js';
import { ApiError, docUrl, errors } from './stripeErrors.js';
import { newId, randomToken } from './ids.js';
import { paginate } from './list.js';
import { applyMetadata, inRange, Params } from './params.js';
import { newestFirst, type IntentRecord, type OpContext, type Store } from './store.js';
import { testPaymentMethod, type TestPaymentMethod } from './testPaymentMethods.js';

export interface IntentOptions {
  /** Base URL of the sandbox, for `next_action` links. */
  baseUrl: string;
  /**
   * Treat intents created without `payment_method_types` or
   * `automatic_payment_methods` like a default Stripe account does: automatic
   * payment methods with redirects allowed, so confirming needs `return_url`.
   * (With an explicit `automatic_payment_methods[enabled]=true` and
   * `allow_redirects` other than `never`, `return_url` is always required.)
   */
  strictReturnUrl: boolean;
}

const CAPTURE_METHODS = ['automatic', 'automatic_async', 'manual'] as const;
const CANCELLATION_REASONS = ['duplicate', 'fraudulent', 'requested_by_customer', 'abandoned'] as const;
const CANCELABLE: Stripe.PaymentIntent.Status[] = [
  'requires_payment_method',
  'requires_capture',
  'requires_confirmation',
  'requires_action',
  'processing',
];
const CONFIRMABLE: Stripe.PaymentIntent.Status[] = ['requires_payment_method', 'requires_confirmation'];
const EDITABLE: Stripe.PaymentIntent.Status[] = ['requires_payment_method', 'requires_confirmation', 'requires_action'];

// Stripe's minimum charge amounts (smallest currency unit) for common currencies.
const AMOUNT_MIN_BY_CURRENCY: Record<string, number> = {
  usd: 50, eur: 50, gbp: 30, cad: 50, aud: 50, nzd: 50, chf: 50, sgd: 50, hkd: 400,
  jpy: 50, dkk: 250, nok: 300, sek: 300, mxn: 1000, brl: 50, inr: 50, pln: 200, czk: 1500,
};
// Stripe's ceiling: eight digits in the smallest currency unit.
const AMOUNT_MAX = 99_999_999;

const APM_EXPLICIT = Symbol('apmExplicit');
type Rec = IntentRecord & { [APM_EXPLICIT]?: boolean };

// ── helpers ────────────────────────────────────────────────────────────────

export function getIntent(store: Store, id: string, param = 'id'): Rec {
  const rec = store.intents.get(id);
  if (!rec) throw errors.resourceMissing('payment_intent', id, param);
  return rec;
}

function snapshot(rec: IntentRecord): Stripe.PaymentIntent {
  return structuredClone(rec.pi);
}

export function renderIntent(store: Store, rec: IntentRecord, expand: string[] = []): Stripe.PaymentIntent {
  const pi = snapshot(rec);
  if (expand.includes('latest_charge') && typeof pi.latest_charge === 'string') {
    pi.latest_charge = structuredClone(getCharge(store, pi.latest_charge));
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

function resolvePaymentMethod(store: Store, token: string, param = 'payment_method'): { id: string; method: TestPaymentMethod } {
  const known = testPaymentMethod(token);
  if (known) {
    // As in Stripe test mode, a test token mints a new PaymentMethod.
    const id = newId('pm');
    store.paymentMethods.set(id, known);
    return { id, method: known };
  }
  const minted = store.paymentMethods.get(token);
  if (minted) return { id: token, method: minted };
  throw errors.parameterInvalid(param, `No such PaymentMethod: '${token}'`, 'resource_missing');
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

// ── transitions shared by confirm and completeAction ──────────────────────

/** The card network approved: authorize (manual) or authorize and capture. */
function authorize(store: Store, rec: IntentRecord, ctx: OpContext): void {
  const pi = rec.pi;
  const method = rec.method!;
  const pmId = pi.payment_method as string;
  const manual = pi.capture_method === 'manual';
  if (!manual && method.behavior === 'capture_fails') {
    decline(store, rec, ctx, { code: 'card_declined', declineCode: 'generic_decline', message: 'Your card was declined.' });
  }
  const charge = createCharge(store, pi, method, pmId, { ok: true, captured: !manual });
  pi.latest_charge = charge.id;
  pi.next_action = null;
  pi.last_payment_error = null;
  if (manual) {
    pi.status = 'requires_capture';
    pi.amount_capturable = pi.amount;
    store.emit('payment_intent.amount_capturable_updated', snapshot(rec), ctx);
  } else {
    pi.status = 'succeeded';
    pi.amount_received = pi.amount;
    store.emit('payment_intent.succeeded', snapshot(rec), ctx);
  }
}

/** The card network declined: record it, emit payment_failed and throw the 402. */
function decline(
  store: Store,
  rec: IntentRecord,
  ctx: OpContext,
  reason: { code: string; declineCode: string; message: string },
): never {
  const pi = rec.pi;
  const method = rec.method!;
  const charge = createCharge(store, pi, { ...method, decline: reason }, pi.payment_method as string, { ok: false });
  pi.latest_charge = charge.id;
  pi.status = 'requires_payment_method';
  pi.payment_method = null;
  pi.next_action = null;
  pi.last_payment_error = {
    type: 'card_error',
    code: reason.code,
    decline_code: reason.declineCode,
    message: reason.message,
    charge: charge.id,
    doc_url: docUrl(reason.code),
  };
  delete rec.method;
  store.emit('payment_intent.payment_failed', snapshot(rec), ctx);
  throw new ApiError(
    402,
    {
      type: 'card_error',
      code: reason.code,
      decline_code: reason.declineCode,
      message: reason.message,
      charge: charge.id,
      doc_url: docUrl(reason.code),
      payment_intent: snapshot(rec),
    },
    true,
  );
}

function requireAction(store: Store, rec: IntentRecord, opts: IntentOptions, ctx: OpContext): void {
  const pi = rec.pi;
  const source = newId('src');
  pi.status = 'requires_action';
  pi.next_action = {
    type: 'use_stripe_sdk',
    use_stripe_sdk: {
      type: 'three_d_secure_redirect',
      stripe_js: `${opts.baseUrl}/sandbox/three_d_secure/${pi.id}`,
      source,
    },
  };
  store.emit('payment_intent.requires_action', snapshot(rec), ctx);
}

function runConfirmation(store: Store, rec: Rec, opts: IntentOptions, ctx: OpContext): void {
  const pi = rec.pi;
  if (!pi.payment_method || !rec.method) {
    throw errors.unexpectedState(
      snapshot(rec),
      "You cannot confirm this PaymentIntent because it's missing a payment method. " +
        'You can either update the PaymentIntent with a payment method and then confirm it again, or confirm it again directly with a payment method.',
      false,
    );
  }
  const apm = pi.automatic_payment_methods;
  const redirectsAllowed = apm?.enabled === true && apm.allow_redirects !== 'never';
  if (redirectsAllowed && (rec[APM_EXPLICIT] || opts.strictReturnUrl) && !rec.returnUrl) {
    throw errors.parameterInvalid(
      'return_url',
      'A `return_url` must be specified because this Payment Intent is configured to automatically accept the payment methods enabled in the Dashboard, some of which may require a full page redirect to succeed. ' +
        'If you do not want to accept redirect-based payment methods, set `automatic_payment_methods[enabled]` to `true` and `automatic_payment_methods[allow_redirects]` to `never` when creating Setup Intents and Payment Intents.',
    );
  }
  switch (rec.method.behavior) {
    case 'succeed':
    case 'capture_fails':
      authorize(store, rec, ctx);
      return;
    case 'decline':
      return decline(store, rec, ctx, rec.method.decline!);
    case 'requires_action':
      requireAction(store, rec, opts, ctx);
      return;
  }
}

// ── endpoints ─────────────────────────────────────────────────────────────

export function createIntent(store: Store, params: Params, opts: IntentOptions, ctx: OpContext): Stripe.PaymentIntent {
  params.allow([
    'amount', 'currency', 'capture_method', 'payment_method', 'confirm', 'metadata', 'description',
    'customer', 'receipt_email', 'payment_method_types', 'automatic_payment_methods', 'return_url',
    'off_session', 'setup_future_usage', 'statement_descriptor', 'statement_descriptor_suffix',
    'transfer_group', 'confirmation_method',
  ]);
  const amount = params.integer('amount', { required: true })!;
  const currencyRaw = params.string('currency', { required: true })!;
  const currency = currencyRaw.toLowerCase();
  if (!/^[a-z]{3}$/.test(currency)) {
    throw errors.parameterInvalid('currency', `Invalid currency: ${currencyRaw}. Currencies are three-letter ISO codes.`);
  }
  validateAmount(amount, currency);
  const captureMethod = params.enumeration('capture_method', CAPTURE_METHODS) ?? 'automatic_async';
  const confirmationMethod = params.enumeration('confirmation_method', ['automatic', 'manual'] as const) ?? 'automatic';
  const confirm = params.boolean('confirm') ?? false;
  const metadata = applyMetadata({}, params.metadata());
  const paymentMethodTypes = params.stringArray('payment_method_types');
  const apmRaw = params.object('automatic_payment_methods', ['enabled', 'allow_redirects']);
  if (paymentMethodTypes && apmRaw) {
    throw errors.parameterInvalid(
      'automatic_payment_methods',
      'You may only specify one of these parameters: automatic_payment_methods, payment_method_types.',
    );
  }
  let automaticPaymentMethods: Stripe.PaymentIntent.AutomaticPaymentMethods | null = null;
  if (apmRaw) {
    const apmParams = new Params(apmRaw);
    const enabled = apmParams.boolean('enabled');
    if (enabled === undefined) throw errors.parameterMissing('automatic_payment_methods[enabled]');
    const allowRedirects = apmParams.enumeration('allow_redirects', ['always', 'never'] as const);
    automaticPaymentMethods = { enabled, ...(allowRedirects ? { allow_redirects: allowRedirects } : {}) };
  } else if (!paymentMethodTypes) {
    automaticPaymentMethods = { enabled: true };
  }
  const returnUrl = params.string('return_url');
  if (returnUrl !== undefined && !confirm) {
    throw errors.parameterInvalid('return_url', 'You can only specify `return_url` when `confirm` is true.');
  }
  if (params.has('off_session') && !confirm) {
    throw errors.parameterInvalid('off_session', 'You can only specify `off_session` when `confirm` is true.');
  }
  params.boolean('off_session');
  const paymentMethodToken = params.string('payment_method');
  const resolved = paymentMethodToken ? resolvePaymentMethod(store, paymentMethodToken) : undefined;

  const id = newId('pi');
  const pi: Stripe.PaymentIntent = {
    id,
    object: 'payment_intent',
    allowed_payment_method_types: null,
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
    payment_method: resolved?.id ?? null,
    payment_method_configuration_details: null,
    payment_method_options: {
      card: { installments: null, mandate_options: null, network: null, request_three_d_secure: 'automatic' },
    },
    payment_method_types: paymentMethodTypes ?? ['card'],
    payment_record: null,
    processing: null,
    receipt_email: params.string('receipt_email') ?? null,
    review: null,
    setup_future_usage: params.enumeration('setup_future_usage', ['off_session', 'on_session'] as const) ?? null,
    shipping: null,
    source: null,
    statement_descriptor: params.string('statement_descriptor') ?? null,
    statement_descriptor_suffix: params.string('statement_descriptor_suffix') ?? null,
    status: resolved ? 'requires_confirmation' : 'requires_payment_method',
    transfer_data: null,
    transfer_group: params.string('transfer_group') ?? null,
  };
  const rec: Rec = { seq: store.nextSeq(), pi };
  if (resolved) rec.method = resolved.method;
  if (returnUrl !== undefined) rec.returnUrl = returnUrl;
  if (apmRaw) rec[APM_EXPLICIT] = true;

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
  return renderIntent(store, rec, params.expand());
}

export function retrieveIntent(store: Store, id: string, params: Params): Stripe.PaymentIntent {
  params.allow(['client_secret']);
  return renderIntent(store, getIntent(store, id), params.expand());
}

export function updateIntent(store: Store, id: string, params: Params): Stripe.PaymentIntent {
  params.allow([
    'metadata', 'description', 'amount', 'payment_method', 'receipt_email', 'customer',
    'capture_method', 'transfer_group', 'statement_descriptor', 'statement_descriptor_suffix',
  ]);
  const rec = getIntent(store, id);
  const pi = rec.pi;
  const metadata = applyMetadata(pi.metadata, params.metadata());
  const description = params.nullableString('description');
  const amount = params.integer('amount');
  const captureMethod = params.enumeration('capture_method', CAPTURE_METHODS);
  const token = params.string('payment_method');
  const touchesPayment = amount !== undefined || token !== undefined || captureMethod !== undefined;
  if (touchesPayment && !EDITABLE.includes(pi.status)) {
    throw errors.unexpectedState(
      snapshot(rec),
      `You cannot update this PaymentIntent's amount, capture_method or payment_method because it has a status of ${pi.status}.`,
    );
  }
  if (amount !== undefined) validateAmount(amount, pi.currency);
  const resolved = token !== undefined ? resolvePaymentMethod(store, token) : undefined;

  pi.metadata = metadata;
  if (description !== undefined) pi.description = description;
  if (amount !== undefined) pi.amount = amount;
  if (captureMethod !== undefined) pi.capture_method = captureMethod;
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
  if (resolved) {
    pi.payment_method = resolved.id;
    rec.method = resolved.method;
    pi.next_action = null;
    pi.status = 'requires_confirmation';
  }
  // "It will be cleared if the PaymentIntent is later updated for any reason."
  pi.last_payment_error = null;
  return renderIntent(store, rec, params.expand());
}

export function confirmIntent(store: Store, id: string, params: Params, opts: IntentOptions, ctx: OpContext): Stripe.PaymentIntent {
  params.allow(['payment_method', 'return_url', 'off_session', 'receipt_email', 'setup_future_usage', 'capture_method']);
  const rec = getIntent(store, id);
  const pi = rec.pi;
  if (!CONFIRMABLE.includes(pi.status)) throw unexpectedState(rec, 'confirm', CONFIRMABLE);
  params.boolean('off_session');
  const captureMethod = params.enumeration('capture_method', CAPTURE_METHODS);
  const setupFutureUsage = params.enumeration('setup_future_usage', ['off_session', 'on_session'] as const);
  const receiptEmail = params.string('receipt_email');
  const returnUrl = params.string('return_url');
  const token = params.string('payment_method');
  const resolved = token !== undefined ? resolvePaymentMethod(store, token) : undefined;

  if (resolved) {
    pi.payment_method = resolved.id;
    rec.method = resolved.method;
  }
  if (captureMethod !== undefined) pi.capture_method = captureMethod;
  if (setupFutureUsage !== undefined) pi.setup_future_usage = setupFutureUsage;
  if (receiptEmail !== undefined) pi.receipt_email = receiptEmail;
  if (returnUrl !== undefined) rec.returnUrl = returnUrl;
  runConfirmation(store, rec, opts, ctx);
  return renderIntent(store, rec, params.expand());
}

export function captureIntent(store: Store, id: string, params: Params, ctx: OpContext): Stripe.PaymentIntent {
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
  const charge = getCharge(store, pi.latest_charge as string);

  if (rec.method?.behavior === 'capture_fails') {
    // Bookiji's capture-failure card: the authorization has lapsed.
    charge.refunded = true;
    charge.amount_refunded = charge.amount;
    pi.status = 'canceled';
    pi.cancellation_reason = 'expired';
    pi.canceled_at = store.now();
    pi.amount_capturable = 0;
    store.emit('payment_intent.canceled', snapshot(rec), ctx);
    throw new ApiError(
      400,
      {
        type: 'invalid_request_error',
        code: 'charge_expired_for_capture',
        message: `The authorization for charge ${charge.id} has expired and can no longer be captured; the PaymentIntent was canceled.`,
        doc_url: docUrl('charge_expired_for_capture'),
        charge: charge.id,
        payment_intent: snapshot(rec),
      },
      true,
    );
  }

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
  store.emit('payment_intent.succeeded', snapshot(rec), ctx);
  return renderIntent(store, rec, params.expand());
}

export function cancelIntent(store: Store, id: string, params: Params, ctx: OpContext): Stripe.PaymentIntent {
  params.allow(['cancellation_reason']);
  const rec = getIntent(store, id);
  const pi = rec.pi;
  if (!CANCELABLE.includes(pi.status)) throw unexpectedState(rec, 'cancel', CANCELABLE);
  const reason = params.enumeration('cancellation_reason', CANCELLATION_REASONS) ?? null;
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
  return renderIntent(store, rec, params.expand());
}

export function listIntents(store: Store, params: Params): Stripe.ApiList<Stripe.PaymentIntent> {
  params.allow(['limit', 'starting_after', 'ending_before', 'created', 'customer']);
  const created = params.range('created');
  const customer = params.string('customer');
  const expand = params.expand().filter((e) => e.startsWith('data.')).map((e) => e.slice(5));
  const all = newestFirst(store.intents.values()).map((rec) => ({ seq: rec.seq, id: rec.pi.id, rec }));
  const matching = all.filter(
    (x) => inRange(x.rec.pi.created, created) && (customer === undefined || x.rec.pi.customer === customer),
  );
  const toItem = (x: (typeof all)[number]) => ({ seq: x.seq, id: x.id, item: x.rec });
  const page = paginate(params, '/v1/payment_intents', 'payment_intent', all.map(toItem), matching.map(toItem));
  return { ...page, data: page.data.map((rec) => renderIntent(store, rec, expand)) };
}

/**
 * The customer finishes (or fails) 3-D Secure on a `requires_action` intent.
 * Not an API call: the resulting events carry `request: { id: null }`.
 */
export function completeAction(
  store: Store,
  id: string,
  outcome: 'succeed' | 'fail',
  apiVersion: string,
): Stripe.PaymentIntent {
  const rec = store.intents.get(id);
  if (!rec) throw validationError('paymentIntentId', `no such payment_intent: '${id}'`);
  if (rec.pi.status !== 'requires_action') {
    throw new BookijiError('INVALID_TRANSITION', `completeAction: payment_intent ${id} has status ${rec.pi.status}, not requires_action`, {
      details: { paymentIntentId: id, status: rec.pi.status },
    });
  }
  const ctx: OpContext = { requestId: null, idempotencyKey: null, apiVersion };
  const pi = rec.pi;
  if (outcome === 'succeed') {
    try {
      authorize(store, rec, ctx);
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
    }
  } else {
    pi.status = 'requires_payment_method';
    pi.payment_method = null;
    pi.next_action = null;
    pi.last_payment_error = {
      type: 'invalid_request_error',
      code: 'payment_intent_authentication_failure',
      message:
        'The provided PaymentMethod has failed authentication. You can provide payment_method_data or a new PaymentMethod to attempt to fulfill this PaymentIntent again.',
      doc_url: docUrl('payment_intent_authentication_failure'),
    };
    delete rec.method;
    store.emit('payment_intent.payment_failed', snapshot(rec), ctx);
  }
  return snapshot(rec);
}
