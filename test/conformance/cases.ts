// The conformance cases: ONE list of request → response → event
// expectations that any Stripe-compatible server must meet, run through the
// real `stripe` SDK by runner.ts. In `npm test` they run against our sandbox
// (conformance.test.ts); with STRIPE_CONFORMANCE_KEY=sk_test_… they run
// against Stripe's test mode (`npm run conformance:stripe`), which is how an
// expectation here is checked against the real thing.
//
// Each case cites where Stripe documents the behaviour (docs.stripe.com, or
// the published OpenAPI spec, github.com/stripe/openapi openapi/spec3.json).
// `guards` names the leniency the case exists to catch; the lenient fixture
// (fixtures/lenientProxy.ts) must fail every such case.
//
// Arguments may refer to earlier results: '$pi.id' is the `id` of the step
// saved `as: 'pi'`.

import type { Shape } from './match.js';

export interface Step {
  /** SDK method, e.g. 'paymentIntents.create'. */
  call: string;
  args: unknown[];
  /** Saves the result (or the error) for later steps and event checks. */
  as?: string;
  expect: { ok: Shape } | { error: Shape };
}

export interface EventExpectation {
  /** Reference to the PaymentIntent id whose events are checked, e.g. '$pi.id'. */
  of: string;
  /** Event types that must appear, in this order of creation (others may come between). */
  types: string[];
  /** When false, only presence is checked, not order. */
  ordered?: boolean;
  /** Shape every matching event must have (e.g. its api_version). */
  each?: Shape;
}

export interface ConformanceCase {
  id: string;
  title: string;
  cite: string[];
  guards: string | null;
  steps: Step[];
  events?: EventExpectation;
}

const NO_REDIRECTS = { enabled: true, allow_redirects: 'never' };
const card = (paymentMethod: string, extra: Record<string, unknown> = {}) => ({
  amount: 1000,
  currency: 'usd',
  automatic_payment_methods: NO_REDIRECTS,
  payment_method: paymentMethod,
  confirm: true,
  ...extra,
});
const invalidRequest = (status: number, extra: Record<string, Shape> = {}): Shape => ({ statusCode: status, rawType: 'invalid_request_error', ...extra });

export const CONFORMANCE_CASES: ConformanceCase[] = [
  {
    id: 'return-url-required-by-default',
    title: 'a server-side confirmation of an intent with default (automatic, redirecting) payment methods needs return_url',
    cite: ['https://docs.stripe.com/api/payment_intents/create#create_payment_intent-return_url', 'https://docs.stripe.com/upgrades#2023-08-16'],
    guards: 'confirms without return_url',
    steps: [
      {
        call: 'paymentIntents.create',
        args: [{ amount: 1000, currency: 'usd', payment_method: 'pm_card_visa', confirm: true }],
        expect: { error: invalidRequest(400, { param: 'return_url' }) },
      },
    ],
  },
  {
    id: 'return-url-required-when-redirects-allowed',
    title: 'automatic_payment_methods[enabled]=true without allow_redirects=never needs return_url',
    cite: ['https://docs.stripe.com/api/payment_intents/create#create_payment_intent-automatic_payment_methods-allow_redirects'],
    guards: 'confirms without return_url',
    steps: [
      {
        call: 'paymentIntents.create',
        args: [{ ...card('pm_card_visa'), automatic_payment_methods: { enabled: true } }],
        expect: { error: invalidRequest(400, { param: 'return_url' }) },
      },
    ],
  },
  {
    id: 'no-redirects-confirms-without-return-url',
    title: 'allow_redirects=never confirms server-side without return_url',
    cite: ['https://docs.stripe.com/api/payment_intents/create#create_payment_intent-automatic_payment_methods-allow_redirects'],
    guards: null,
    steps: [
      { call: 'paymentIntents.create', args: [card('pm_card_visa')], expect: { ok: { object: 'payment_intent', status: 'succeeded', amount_received: 1000 } } },
    ],
  },
  {
    id: 'off-session-authentication-required',
    title: 'off_session with a card that needs authentication is declined with authentication_required (402)',
    cite: [
      'https://docs.stripe.com/payments/save-and-reuse#charge-saved-payment-method',
      'https://docs.stripe.com/declines/codes',
      'https://docs.stripe.com/testing#authentication-and-setup',
    ],
    guards: 'off_session ignored',
    steps: [
      {
        call: 'paymentIntents.create',
        args: [card('pm_card_authenticationRequired', { off_session: true })],
        as: 'declined',
        expect: { error: { statusCode: 402, rawType: 'card_error', code: 'authentication_required', payment_intent: { status: 'requires_payment_method' } } },
      },
    ],
    events: { of: '$declined.payment_intent.id', types: ['payment_intent.created', 'payment_intent.payment_failed'] },
  },
  {
    id: 'three-d-secure-with-return-url-redirects',
    title: 'on-session 3-D Secure with a return_url answers next_action redirect_to_url',
    cite: [
      'https://docs.stripe.com/api/payment_intents/object#payment_intent_object-next_action-redirect_to_url',
      'https://docs.stripe.com/payments/3d-secure/authentication-flow#manual-redirect',
    ],
    guards: 'use_stripe_sdk despite return_url',
    steps: [
      {
        call: 'paymentIntents.create',
        args: [{ amount: 1000, currency: 'usd', payment_method: 'pm_card_authenticationRequired', confirm: true, return_url: 'https://example.com/return' }],
        expect: {
          ok: {
            status: 'requires_action',
            next_action: { type: 'redirect_to_url', redirect_to_url: { return_url: 'https://example.com/return', url: { $type: 'string' } } },
          },
        },
      },
    ],
  },
  {
    id: 'unsupported-currency',
    title: 'a currency Stripe does not support is a 400 on currency',
    cite: ['https://docs.stripe.com/currencies'],
    guards: 'any currency accepted',
    steps: [
      { call: 'paymentIntents.create', args: [{ ...card('pm_card_visa'), currency: 'zzz' }], expect: { error: invalidRequest(400, { param: 'currency' }) } },
    ],
  },
  {
    id: 'unknown-expand-field',
    title: 'expanding a field that cannot be expanded is a 400',
    cite: ['https://docs.stripe.com/api/expanding_objects', 'openapi/spec3.json#/components/schemas/payment_intent/x-expandableFields'],
    guards: 'unknown expand ignored',
    steps: [
      {
        call: 'paymentIntents.create',
        args: [{ amount: 1000, currency: 'usd', automatic_payment_methods: NO_REDIRECTS }],
        as: 'pi',
        expect: { ok: { status: 'requires_payment_method' } },
      },
      {
        call: 'paymentIntents.retrieve',
        args: ['$pi.id', { expand: ['no_such_field'] }],
        expect: { error: invalidRequest(400, { message: { $match: 'cannot be expanded' } }) },
      },
    ],
  },
  {
    id: 'unknown-api-version',
    title: 'a Stripe-Version that names no released version is a 400',
    cite: ['https://docs.stripe.com/api/versioning', 'https://docs.stripe.com/upgrades'],
    guards: 'any Stripe-Version accepted',
    steps: [
      {
        call: 'paymentIntents.create',
        args: [{ amount: 1000, currency: 'usd', automatic_payment_methods: NO_REDIRECTS }, { apiVersion: '1999-01-01' }],
        expect: { error: invalidRequest(400) },
      },
    ],
  },
  {
    id: 'events-use-account-api-version',
    title: "events are rendered in the account's API version, not the causing request's",
    cite: ['https://docs.stripe.com/api/events/object#event_object-api_version', 'https://docs.stripe.com/webhooks/versioning'],
    guards: "events copy the request's version",
    steps: [
      {
        call: 'paymentIntents.create',
        args: [{ amount: 1000, currency: 'usd', automatic_payment_methods: NO_REDIRECTS }, { apiVersion: '2024-06-20' }],
        as: 'pi',
        expect: { ok: { status: 'requires_payment_method' } },
      },
    ],
    events: { of: '$pi.id', types: ['payment_intent.created'], each: { api_version: { $not: '2024-06-20' } } },
  },
  {
    id: 'card-error-fields',
    title: 'a decline is a 402 card_error naming the charge, the payment method and the request log',
    cite: [
      'https://docs.stripe.com/api/errors#errors-payment_method',
      'https://docs.stripe.com/api/errors#errors-request_log_url',
      'https://docs.stripe.com/testing#declined-payments',
    ],
    guards: 'card errors without payment_method and request_log_url',
    steps: [
      {
        call: 'paymentIntents.create',
        args: [card('pm_card_chargeDeclined')],
        as: 'declined',
        expect: {
          error: {
            statusCode: 402,
            rawType: 'card_error',
            code: 'card_declined',
            decline_code: 'generic_decline',
            charge: { $match: '^ch_' },
            payment_method: { id: { $match: '^pm_' }, object: 'payment_method' },
            request_log_url: { $match: '^https://dashboard\\.stripe\\.com/.*logs/req_' },
            payment_intent: { status: 'requires_payment_method', last_payment_error: { code: 'card_declined' } },
          },
        },
      },
    ],
    events: { of: '$declined.payment_intent.id', types: ['payment_intent.created', 'charge.failed', 'payment_intent.payment_failed'] },
  },
  {
    id: 'unknown-intent-param',
    title: 'an unknown PaymentIntent is a 404 resource_missing on param intent',
    cite: ['openapi/spec3.json#/paths/~1v1~1payment_intents~1{intent}/get (path parameter `intent`)', 'https://docs.stripe.com/error-codes#resource-missing'],
    guards: "param 'id'",
    steps: [
      {
        call: 'paymentIntents.retrieve',
        args: ['pi_3ZZZZZZZZZZZZZZZZZZZZZZZ'],
        expect: { error: invalidRequest(404, { code: 'resource_missing', param: 'intent' }) },
      },
    ],
  },
  {
    id: 'automatic-async-events',
    title: 'an automatic_async payment sends charge.succeeded, payment_intent.succeeded, then charge.updated',
    cite: ['https://docs.stripe.com/payments/payment-intents/asynchronous-capture', 'https://docs.stripe.com/api/events/types#event_types-charge.succeeded'],
    guards: 'no charge events',
    steps: [
      { call: 'paymentIntents.create', args: [card('pm_card_visa', { capture_method: 'automatic_async' })], as: 'pi', expect: { ok: { status: 'succeeded' } } },
    ],
    events: { of: '$pi.id', types: ['payment_intent.created', 'charge.succeeded', 'payment_intent.succeeded', 'charge.updated'] },
  },
  {
    id: 'manual-capture-events',
    title: 'a manual capture sends charge.succeeded before amount_capturable_updated, and charge.captured with payment_intent.succeeded',
    cite: ['https://docs.stripe.com/payments/place-a-hold-on-a-payment-method', 'https://docs.stripe.com/api/events/types#event_types-charge.captured'],
    guards: 'no charge events',
    steps: [
      {
        call: 'paymentIntents.create',
        args: [card('pm_card_visa', { capture_method: 'manual' })],
        as: 'pi',
        expect: { ok: { status: 'requires_capture', amount_capturable: 1000 } },
      },
      { call: 'paymentIntents.capture', args: ['$pi.id'], expect: { ok: { status: 'succeeded', amount_received: 1000 } } },
    ],
    events: {
      of: '$pi.id',
      types: ['payment_intent.created', 'charge.succeeded', 'payment_intent.amount_capturable_updated', 'charge.captured', 'payment_intent.succeeded'],
    },
  },
  {
    id: 'refund-update-events',
    title: 'a refund sends refund.created and charge.refunded; updating it sends refund.updated',
    cite: ['https://docs.stripe.com/api/refunds/update', 'https://docs.stripe.com/api/events/types#event_types-refund.updated'],
    guards: 'endpoint missing',
    steps: [
      { call: 'paymentIntents.create', args: [card('pm_card_visa')], as: 'pi', expect: { ok: { status: 'succeeded' } } },
      {
        call: 'refunds.create',
        args: [{ payment_intent: '$pi.id', amount: 400 }],
        as: 'refund',
        expect: { ok: { object: 'refund', amount: 400, status: 'succeeded' } },
      },
      {
        call: 'refunds.update',
        args: ['$refund.id', { metadata: { reason_code: 'r1' } }],
        expect: { ok: { id: '$refund.id', metadata: { reason_code: 'r1' } } },
      },
    ],
    events: { of: '$pi.id', types: ['refund.created', 'charge.refunded', 'refund.updated'], ordered: false },
  },
  {
    id: 'intent-options-accepted',
    title: 'payment_method_options, shipping and error_on_requires_action are valid on create',
    cite: [
      'https://docs.stripe.com/api/payment_intents/create#create_payment_intent-payment_method_options',
      'https://docs.stripe.com/api/payment_intents/create#create_payment_intent-shipping',
      'https://docs.stripe.com/api/payment_intents/create#create_payment_intent-error_on_requires_action',
    ],
    guards: 'valid parameters refused',
    steps: [
      {
        call: 'paymentIntents.create',
        args: [
          card('pm_card_visa', {
            payment_method_options: { card: { request_three_d_secure: 'automatic' } },
            shipping: { name: 'Ada Lovelace', address: { line1: '1 Main St', city: 'Paris', postal_code: '75001', country: 'FR' } },
            error_on_requires_action: true,
          }),
        ],
        expect: { ok: { status: 'succeeded', shipping: { name: 'Ada Lovelace', address: { city: 'Paris' } } } },
      },
    ],
  },
  {
    id: 'payment-method-data-accepted',
    title: 'payment_method_data with a test card token confirms',
    cite: ['https://docs.stripe.com/api/payment_intents/create#create_payment_intent-payment_method_data', 'https://docs.stripe.com/testing#cards'],
    guards: 'valid parameters refused',
    steps: [
      {
        call: 'paymentIntents.create',
        args: [
          {
            amount: 1000,
            currency: 'usd',
            automatic_payment_methods: NO_REDIRECTS,
            confirm: true,
            payment_method_data: { type: 'card', card: { token: 'tok_visa' } },
          },
        ],
        expect: { ok: { status: 'succeeded', payment_method: { $match: '^pm_' } } },
      },
    ],
  },
  {
    id: 'retrieve-payment-method',
    title: 'GET /v1/payment_methods/:id returns the card the intent was paid with',
    cite: ['https://docs.stripe.com/api/payment_methods/retrieve'],
    guards: 'endpoint missing',
    steps: [
      { call: 'paymentIntents.create', args: [card('pm_card_visa')], as: 'pi', expect: { ok: { status: 'succeeded' } } },
      {
        call: 'paymentMethods.retrieve',
        args: ['$pi.payment_method'],
        expect: { ok: { object: 'payment_method', type: 'card', card: { brand: 'visa', last4: '4242' } } },
      },
    ],
  },
  {
    id: 'list-charges',
    title: "GET /v1/charges?payment_intent= lists the intent's charge",
    cite: ['https://docs.stripe.com/api/charges/list'],
    guards: 'endpoint missing',
    steps: [
      { call: 'paymentIntents.create', args: [card('pm_card_visa')], as: 'pi', expect: { ok: { status: 'succeeded' } } },
      {
        call: 'charges.list',
        args: [{ payment_intent: '$pi.id' }],
        expect: { ok: { object: 'list', data: [{ object: 'charge', payment_intent: '$pi.id', paid: true }] } },
      },
    ],
  },
  {
    // Whether an increment succeeds depends on the account (an IC+ pricing
    // feature, card brand, merchant category), so the universal part is
    // checked: the endpoint exists and refuses an intent that did not ask for
    // incremental authorization with a 400, not a 404.
    id: 'increment-authorization-endpoint',
    title: 'increment_authorization exists and refuses an intent created without request_incremental_authorization',
    cite: ['https://docs.stripe.com/api/payment_intents/increment_authorization', 'https://docs.stripe.com/payments/incremental-authorization#availability'],
    guards: 'endpoint missing',
    steps: [
      { call: 'paymentIntents.create', args: [card('pm_card_visa', { capture_method: 'manual' })], as: 'pi', expect: { ok: { status: 'requires_capture' } } },
      { call: 'paymentIntents.incrementAuthorization', args: ['$pi.id', { amount: 1500 }], expect: { error: invalidRequest(400) } },
    ],
  },
  {
    id: 'no-project-only-card-tokens',
    title: 'a card token Stripe does not have (pm_card_bookiji_captureFails) is refused',
    cite: ['https://docs.stripe.com/testing#cards'],
    guards: 'project-only test token',
    steps: [
      {
        call: 'paymentIntents.create',
        args: [card('pm_card_bookiji_captureFails')],
        expect: { error: { rawType: 'invalid_request_error', code: 'resource_missing', param: 'payment_method' } },
      },
    ],
  },
];
