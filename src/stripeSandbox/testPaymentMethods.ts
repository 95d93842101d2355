// The test payment methods the sandbox understands, named as in Stripe test
// mode (https://docs.stripe.com/testing), and only those: a token Stripe
// would refuse has no place here. Faults Stripe cannot produce on demand (a
// capture that fails) are the fault plan's (faultPlan.ts, captureExpired…).
//
// As in Stripe, confirming with a test token such as `pm_card_visa` attaches a
// freshly minted PaymentMethod id (`pm_…`) to the intent; that minted id can
// be reused later and behaves like the token it came from.
//
// Behaviours:
//   succeed          authorizes; manual capture ⇒ requires_capture, else succeeded
//   decline          HTTP 402 card_error; intent back to requires_payment_method
//   requires_action  3-D Secure: intent goes to requires_action until
//                    `sandbox.completeAction(id, 'succeed' | 'fail')`;
//                    off-session it is declined (authentication_required)

export type TestBehavior = 'succeed' | 'decline' | 'requires_action';

export interface TestPaymentMethod {
  token: string;
  behavior: TestBehavior;
  brand: string;
  last4: string;
  funding: 'credit' | 'debit';
  country: string;
  /** For declines: the error `code`, `decline_code` and message Stripe gives. */
  decline?: { code: string; declineCode: string; message: string };
}

/** A card_declined error with Stripe's decline_code; its message is Stripe's for that code. */
function cardDeclined(declineCode: string, message = 'Your card was declined.'): NonNullable<TestPaymentMethod['decline']> {
  return { code: 'card_declined', declineCode, message };
}

const GENERIC_DECLINE = cardDeclined('generic_decline');
const INSUFFICIENT_FUNDS = cardDeclined('insufficient_funds', 'Your card has insufficient funds.');

function card(
  token: string,
  behavior: TestBehavior,
  brand: string,
  last4: string,
  decline?: TestPaymentMethod['decline'],
  funding: 'credit' | 'debit' = 'credit',
): TestPaymentMethod {
  return { token, behavior, brand, last4, funding, country: 'US', ...(decline ? { decline } : {}) };
}

const TABLE: TestPaymentMethod[] = [
  card('pm_card_visa', 'succeed', 'visa', '4242'),
  card('pm_card_visa_debit', 'succeed', 'visa', '5556', undefined, 'debit'),
  card('pm_card_mastercard', 'succeed', 'mastercard', '4444'),
  card('pm_card_amex', 'succeed', 'amex', '8431'),
  card('pm_card_chargeDeclined', 'decline', 'visa', '0002', GENERIC_DECLINE),
  card('pm_card_visa_chargeDeclined', 'decline', 'visa', '0002', GENERIC_DECLINE),
  card('pm_card_chargeDeclinedInsufficientFunds', 'decline', 'visa', '9995', INSUFFICIENT_FUNDS),
  card('pm_card_visa_chargeDeclinedInsufficientFunds', 'decline', 'visa', '9995', INSUFFICIENT_FUNDS),
  card('pm_card_chargeDeclinedLostCard', 'decline', 'visa', '9987', cardDeclined('lost_card')),
  card('pm_card_chargeDeclinedStolenCard', 'decline', 'visa', '9979', cardDeclined('stolen_card')),
  card('pm_card_chargeDeclinedFraudulent', 'decline', 'visa', '0019', cardDeclined('fraudulent')),
  card('pm_card_chargeDeclinedExpiredCard', 'decline', 'visa', '0069', {
    code: 'expired_card',
    declineCode: 'expired_card',
    message: 'Your card has expired.',
  }),
  card('pm_card_chargeDeclinedIncorrectCvc', 'decline', 'visa', '0127', {
    code: 'incorrect_cvc',
    declineCode: 'incorrect_cvc',
    message: "Your card's security code is incorrect.",
  }),
  card('pm_card_chargeDeclinedProcessingError', 'decline', 'visa', '0119', {
    code: 'processing_error',
    declineCode: 'processing_error',
    message: 'An error occurred while processing your card. Try again in a little bit.',
  }),
  card('pm_card_authenticationRequired', 'requires_action', 'visa', '3184'),
  card('pm_card_threeDSecure2Required', 'requires_action', 'visa', '3220'),
  card('pm_card_threeDSecureRequired', 'requires_action', 'visa', '3063'),
];

const BY_TOKEN = new Map(TABLE.map((pm) => [pm.token, pm]));

export function testPaymentMethod(token: string): TestPaymentMethod | undefined {
  return BY_TOKEN.get(token);
}

export function testPaymentMethodTokens(): string[] {
  return TABLE.map((pm) => pm.token);
}
