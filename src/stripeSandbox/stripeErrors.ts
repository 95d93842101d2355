// Stripe's error JSON, as the REST API writes it and the `stripe` SDK parses it.
// This is the wire format of the simulated provider, not a Bookiji error:
// Bookiji's own errors stay in src/errors.ts (BookijiError), which the
// sandbox uses for misuse of its JavaScript API (bad options, bad test calls).
//
// Every failure the sandbox answers with is an `ApiError`: an HTTP status and
// the body's `error` object. The SDK picks its error class from the status
// (400/404 → StripeInvalidRequestError, or StripeIdempotencyError when
// `type` is `idempotency_error`; 401 → StripeAuthenticationError; 402 →
// StripeCardError; ≥500 → StripeAPIError), so statuses here follow Stripe's.
//
// `stored` says whether the idempotency layer keeps the answer for replay:
// Stripe saves a result once an endpoint has started executing (card
// declines, state errors) but not when the parameters failed validation.

import type Stripe from 'stripe';

export type StripeErrorType = 'api_error' | 'card_error' | 'idempotency_error' | 'invalid_request_error';

export interface StripeErrorObject {
  type: StripeErrorType;
  message: string;
  code?: string;
  decline_code?: string;
  param?: string;
  doc_url?: string;
  charge?: string;
  payment_intent?: Stripe.PaymentIntent;
  /** Card errors: the PaymentMethod that was declined, as Stripe includes it. */
  payment_method?: Stripe.PaymentMethod;
  /** Card errors: the request in the Dashboard's log (set by the server, which knows the request id). */
  request_log_url?: string;
}

export interface StripeErrorBody {
  error: StripeErrorObject;
}

export class ApiError extends Error {
  readonly status: number;
  readonly error: StripeErrorObject;
  readonly stored: boolean;

  constructor(status: number, error: StripeErrorObject, stored = false) {
    super(error.message);
    this.name = 'ApiError';
    this.status = status;
    this.error = error;
    this.stored = stored;
  }

  body(): StripeErrorBody {
    return { error: this.error };
  }
}

export function docUrl(code: string): string {
  return `https://stripe.com/docs/error-codes/${code.replace(/_/g, '-')}`;
}

function invalid(status: number, message: string, extra: Partial<StripeErrorObject> = {}, stored = false): ApiError {
  const error: StripeErrorObject = { type: 'invalid_request_error', message, ...extra };
  if (error.code && !error.doc_url) error.doc_url = docUrl(error.code);
  return new ApiError(status, error, stored);
}

export const errors = {
  invalidRequest(status: number, message: string, param?: string): ApiError {
    return invalid(status, message, param ? { param } : {});
  },

  missingApiKey(): ApiError {
    return invalid(
      401,
      "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication for details, or we can help at https://support.stripe.com/.",
    );
  },

  invalidApiKey(key: string): ApiError {
    const redacted = key.length > 12 ? `${key.slice(0, 8)}${'*'.repeat(Math.max(4, key.length - 12))}${key.slice(-4)}` : '***';
    return invalid(401, `Invalid API Key provided: ${redacted}`);
  },

  unrecognizedUrl(method: string, path: string): ApiError {
    return invalid(404, `Unrecognized request URL (${method}: ${path}). Please see https://stripe.com/docs or we can help at https://support.stripe.com/.`);
  },

  resourceMissing(kind: string, id: string, param = 'id'): ApiError {
    return invalid(404, `No such ${kind}: '${id}'`, { code: 'resource_missing', param });
  },

  parameterMissing(param: string): ApiError {
    return invalid(400, `Missing required param: ${param}.`, { code: 'parameter_missing', param });
  },

  parameterUnknown(param: string): ApiError {
    return invalid(400, `Received unknown parameter: ${param}`, { code: 'parameter_unknown', param });
  },

  parameterInvalid(param: string, message: string, code?: string): ApiError {
    return invalid(400, message, code ? { code, param } : { param });
  },

  unexpectedState(paymentIntent: Stripe.PaymentIntent, message: string, stored = true): ApiError {
    return invalid(400, message, { code: 'payment_intent_unexpected_state', payment_intent: paymentIntent }, stored);
  },

  idempotencyMismatch(key: string): ApiError {
    return new ApiError(400, {
      type: 'idempotency_error',
      message: `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${key}' if you meant to execute a different request.`,
    });
  },

  cannotExpand(field: string): ApiError {
    return invalid(400, `This property cannot be expanded (${field}).`);
  },

  apiError(): ApiError {
    return new ApiError(500, {
      type: 'api_error',
      message: 'An unknown error occurred while processing your request (injected by the Bookiji Stripe sandbox fault plan).',
    });
  },

  invalidForm(): ApiError {
    return invalid(400, 'Invalid request body: could not parse form-encoded parameters.');
  },
};
