// The required (non-optional) fields of the Stripe objects the sandbox
// returns, as compile-checked lists: `satisfies Record<RequiredKeys<T>, true>`
// fails to compile if a list misses a required field of the installed
// `stripe` types or names one that does not exist. shapes.test.ts checks at
// run time that every sandbox response carries every listed field, so a new
// required field in a `stripe` upgrade breaks the build of these tests
// instead of slipping through.

import type Stripe from 'stripe';

/** The keys of T that are not optional (`?`). */
export type RequiredKeys<T> = { [K in keyof T]-?: object extends Pick<T, K> ? never : K }[keyof T];

export const PAYMENT_INTENT_FIELDS = {
  id: true,
  object: true,
  allowed_payment_method_types: true,
  amount: true,
  amount_capturable: true,
  amount_received: true,
  application: true,
  application_fee_amount: true,
  automatic_payment_methods: true,
  canceled_at: true,
  cancellation_reason: true,
  capture_method: true,
  client_secret: true,
  confirmation_method: true,
  created: true,
  currency: true,
  customer: true,
  customer_account: true,
  description: true,
  excluded_payment_method_types: true,
  last_payment_error: true,
  latest_charge: true,
  livemode: true,
  managed_payments: true,
  metadata: true,
  next_action: true,
  on_behalf_of: true,
  payment_method: true,
  payment_method_configuration_details: true,
  payment_method_options: true,
  payment_method_types: true,
  payment_record: true,
  processing: true,
  receipt_email: true,
  review: true,
  setup_future_usage: true,
  shipping: true,
  source: true,
  statement_descriptor: true,
  statement_descriptor_suffix: true,
  status: true,
  transfer_group: true,
} satisfies Record<RequiredKeys<Stripe.PaymentIntent>, true>;

export const REFUND_FIELDS = {
  id: true,
  object: true,
  amount: true,
  balance_transaction: true,
  charge: true,
  created: true,
  currency: true,
  customer: true,
  customer_account: true,
  metadata: true,
  payment_intent: true,
  payment_method: true,
  reason: true,
  receipt_number: true,
  source_transfer_reversal: true,
  status: true,
  transfer_reversal: true,
} satisfies Record<RequiredKeys<Stripe.Refund>, true>;

export const CHARGE_FIELDS = {
  id: true,
  object: true,
  amount: true,
  amount_captured: true,
  amount_refunded: true,
  application: true,
  application_fee: true,
  application_fee_amount: true,
  balance_transaction: true,
  billing_details: true,
  calculated_statement_descriptor: true,
  captured: true,
  created: true,
  currency: true,
  customer: true,
  description: true,
  disputed: true,
  failure_balance_transaction: true,
  failure_code: true,
  failure_message: true,
  fraud_details: true,
  livemode: true,
  metadata: true,
  on_behalf_of: true,
  outcome: true,
  paid: true,
  payment_intent: true,
  payment_method: true,
  payment_method_details: true,
  receipt_email: true,
  receipt_number: true,
  receipt_url: true,
  refunded: true,
  review: true,
  shipping: true,
  source: true,
  source_transfer: true,
  statement_descriptor: true,
  statement_descriptor_suffix: true,
  status: true,
  transfer_data: true,
  transfer_group: true,
} satisfies Record<RequiredKeys<Stripe.Charge>, true>;

export const EVENT_FIELDS = {
  id: true,
  object: true,
  api_version: true,
  created: true,
  data: true,
  livemode: true,
  pending_webhooks: true,
  request: true,
  type: true,
} satisfies Record<RequiredKeys<Stripe.EventBase>, true>;

export const LIST_FIELDS = {
  object: true,
  data: true,
  has_more: true,
  url: true,
} satisfies Record<RequiredKeys<Stripe.ApiList<unknown>>, true>;

/** The listed fields missing from a response object (an empty list means complete). */
export function missingFields(object: unknown, fields: Record<string, true>): string[] {
  if (typeof object !== 'object' || object === null) return Object.keys(fields);
  return Object.keys(fields).filter((k) => !(k in object));
}
