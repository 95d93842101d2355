// Public surface of the Stripe sandbox; see README.md in this folder.

export { startStripeSandbox } from './server.js';
export type { StripeSandbox, StripeSandboxOptions, RequestLogEntry } from './server.js';
export { stripeClient } from './client.js';
export type { FaultOptions, FaultDecision, ApiFaultDecision, EventFaultDecision, ApiFault } from './faultPlan.js';
export type { DeliveryAttempt, DeliveryKind, DeliveryOutcome } from './webhookDelivery.js';
export { signatureHeader, computeSignature, verifyStripeSignature } from './signature.js';
export { testPaymentMethodTokens } from './testPaymentMethods.js';
export type { TestBehavior } from './testPaymentMethods.js';
