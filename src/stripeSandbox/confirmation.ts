// What happens when a PaymentIntent is confirmed (or its customer finishes
// 3-D Secure): the card network's answer and the events Stripe creates for it.
//
//   approved, manual capture     charge.succeeded (uncaptured) → requires_capture,
//                                payment_intent.amount_capturable_updated
//   approved, automatic          charge.succeeded → succeeded, payment_intent.succeeded
//   approved, automatic_async    as automatic, then charge.updated once the balance
//                                transaction exists (docs.stripe.com/payments/payment-intents/asynchronous-capture)
//   declined                     charge.failed → requires_payment_method,
//                                payment_intent.payment_failed, HTTP 402 card_error
//   authentication needed        on-session: requires_action, next_action
//                                `redirect_to_url` when a return_url was given, else
//                                `use_stripe_sdk`; off-session (or
//                                error_on_requires_action): declined with
//                                `authentication_required` (docs.stripe.com/declines/codes,
//                                docs.stripe.com/payments/save-and-reuse "off-session payments")
//
// A confirmation of an intent whose automatic payment methods allow redirects
// needs a `return_url` (Stripe's 400 on `return_url`), even for a card.

import type Stripe from 'stripe';
import { BookijiError, validationError } from '../errors.js';
import { createCharge, getCharge } from './charges.js';
import { newId } from './ids.js';
import { ApiError, docUrl, errors } from './stripeErrors.js';
import type { IntentRecord, OpContext, Store } from './store.js';

export interface IntentOptions {
  /** Base URL of the sandbox, for `next_action` links. */
  baseUrl: string;
}

interface Decline {
  code: string;
  declineCode: string;
  message: string;
}

const AUTHENTICATION_REQUIRED: Decline = {
  code: 'authentication_required',
  declineCode: 'authentication_required',
  message: 'Your card was declined. This transaction requires authentication.',
};

export function snapshot(rec: IntentRecord): Stripe.PaymentIntent {
  return structuredClone(rec.pi);
}

/** The capture method in force: the card's payment_method_options override the intent's. */
export function effectiveCaptureMethod(pi: Stripe.PaymentIntent): Stripe.PaymentIntent.CaptureMethod {
  return pi.payment_method_options?.card?.capture_method === 'manual' ? 'manual' : pi.capture_method;
}

/** The card network approved: authorize (manual) or authorize and capture. */
function authorize(store: Store, rec: IntentRecord, ctx: OpContext): void {
  const pi = rec.pi;
  const captureMethod = effectiveCaptureMethod(pi);
  const manual = captureMethod === 'manual';
  const balancePending = captureMethod === 'automatic_async';
  const charge = createCharge(store, pi, rec.method!, pi.payment_method as string, { ok: true, captured: !manual, balancePending });
  pi.latest_charge = charge.id;
  pi.next_action = null;
  pi.last_payment_error = null;
  store.emit('charge.succeeded', structuredClone(charge), ctx);
  if (manual) {
    pi.status = 'requires_capture';
    pi.amount_capturable = pi.amount;
    store.emit('payment_intent.amount_capturable_updated', snapshot(rec), ctx);
    return;
  }
  pi.status = 'succeeded';
  pi.amount_received = pi.amount;
  store.emit('payment_intent.succeeded', snapshot(rec), ctx);
  if (balancePending) {
    charge.balance_transaction = newId('txn');
    store.emit('charge.updated', structuredClone(charge), ctx);
  }
}

/** The card network declined: record it, emit charge.failed and payment_failed, throw the 402. */
function decline(store: Store, rec: IntentRecord, ctx: OpContext, reason: Decline): never {
  const pi = rec.pi;
  const method = rec.method!;
  const paymentMethod = store.paymentMethods.get(pi.payment_method as string)?.object;
  const charge = createCharge(store, pi, { ...method, decline: reason }, pi.payment_method as string, { ok: false });
  pi.latest_charge = charge.id;
  pi.status = 'requires_payment_method';
  pi.payment_method = null;
  pi.next_action = null;
  const error = {
    type: 'card_error' as const,
    code: reason.code,
    decline_code: reason.declineCode,
    message: reason.message,
    charge: charge.id,
    doc_url: docUrl(reason.code),
  };
  pi.last_payment_error = { ...error, ...(paymentMethod ? { payment_method: structuredClone(paymentMethod) } : {}) };
  delete rec.method;
  store.emit('charge.failed', structuredClone(charge), ctx);
  store.emit('payment_intent.payment_failed', snapshot(rec), ctx);
  throw new ApiError(402, { ...error, payment_intent: snapshot(rec), ...(paymentMethod ? { payment_method: structuredClone(paymentMethod) } : {}) }, true);
}

function requireAction(store: Store, rec: IntentRecord, opts: IntentOptions, ctx: OpContext): void {
  const pi = rec.pi;
  const link = `${opts.baseUrl}/sandbox/three_d_secure/${pi.id}`;
  pi.status = 'requires_action';
  pi.next_action = rec.returnUrl
    ? { type: 'redirect_to_url', redirect_to_url: { url: link, return_url: rec.returnUrl } }
    : { type: 'use_stripe_sdk', use_stripe_sdk: { type: 'three_d_secure_redirect', stripe_js: link, source: newId('src') } };
  store.emit('payment_intent.requires_action', snapshot(rec), ctx);
}

function requireReturnUrlIfRedirectsAllowed(rec: IntentRecord): void {
  const apm = rec.pi.automatic_payment_methods;
  if (apm?.enabled !== true || apm.allow_redirects === 'never' || rec.returnUrl) return;
  throw errors.parameterInvalid(
    'return_url',
    'A `return_url` must be specified because this Payment Intent is configured to automatically accept the payment methods enabled in the Dashboard, some of which may require a full page redirect to succeed. ' +
      'If you do not want to accept redirect-based payment methods, set `automatic_payment_methods[enabled]` to `true` and `automatic_payment_methods[allow_redirects]` to `never` when creating Setup Intents and Payment Intents.',
  );
}

export function runConfirmation(store: Store, rec: IntentRecord, opts: IntentOptions, ctx: OpContext): void {
  if (!rec.pi.payment_method || !rec.method) {
    throw errors.unexpectedState(
      snapshot(rec),
      "You cannot confirm this PaymentIntent because it's missing a payment method. " +
        'You can either update the PaymentIntent with a payment method and then confirm it again, or confirm it again directly with a payment method.',
      false,
    );
  }
  requireReturnUrlIfRedirectsAllowed(rec);
  switch (rec.method.behavior) {
    case 'succeed':
      authorize(store, rec, ctx);
      return;
    case 'decline':
      decline(store, rec, ctx, rec.method.decline!);
      return;
    case 'requires_action':
      if (rec.noActionPossible) {
        decline(store, rec, ctx, AUTHENTICATION_REQUIRED);
        return;
      }
      requireAction(store, rec, opts, ctx);
      return;
  }
}

/** A capture the fault plan fails: the authorization lapsed, the intent is canceled (Stripe's charge_expired_for_capture). */
export function failCaptureAsExpired(store: Store, rec: IntentRecord, ctx: OpContext): never {
  const pi = rec.pi;
  const charge = getCharge(store, pi.latest_charge as string);
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

/**
 * The customer finishes (or fails) 3-D Secure on a `requires_action` intent.
 * Not an API call: the resulting events carry `request: { id: null }`.
 */
export function completeAction(store: Store, id: string, outcome: 'succeed' | 'fail'): Stripe.PaymentIntent {
  const rec = store.intents.get(id);
  if (!rec) throw validationError('paymentIntentId', `no such payment_intent: '${id}'`);
  if (rec.pi.status !== 'requires_action') {
    throw new BookijiError('INVALID_TRANSITION', `completeAction: payment_intent ${id} has status ${rec.pi.status}, not requires_action`, {
      details: { paymentIntentId: id, status: rec.pi.status },
    });
  }
  const ctx: OpContext = { requestId: null, idempotencyKey: null, apiVersion: store.accountApiVersion };
  const pi = rec.pi;
  if (outcome === 'succeed') {
    authorize(store, rec, ctx);
    return snapshot(rec);
  }
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
  return snapshot(rec);
}
