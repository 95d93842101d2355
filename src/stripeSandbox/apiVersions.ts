// Stripe-Version: which API versions the sandbox accepts, and the account's
// own version (the one events are rendered in).
//
// Stripe refuses a `Stripe-Version` header naming no released version with
// HTTP 400 (https://docs.stripe.com/api/versioning), and renders every event
// in the account's default API version, not in the version of the request
// that caused it (https://docs.stripe.com/api/events/object#event_object-api_version,
// https://docs.stripe.com/webhooks/versioning). The list is the
// versions stripe-node has pinned (node_modules/stripe/CHANGELOG.md, "API
// version" entries) plus a few older, widely pinned ones; add one here when a
// caller needs it. A version not listed is refused, which is the safe side.

import Stripe from 'stripe';
import { errors } from './stripeErrors.js';

const KNOWN_API_VERSIONS = new Set<string>([
  '2015-02-18',
  '2017-08-15',
  '2018-02-28',
  '2019-02-19',
  '2019-05-16',
  '2019-08-08',
  '2019-12-03',
  '2020-03-02',
  '2020-08-27',
  '2022-08-01',
  '2022-11-15',
  '2023-08-16',
  '2023-10-16',
  '2024-04-10',
  '2024-06-20',
  '2024-09-30.acacia',
  '2024-10-28.acacia',
  '2024-11-20.acacia',
  '2024-12-18.acacia',
  '2025-01-27.acacia',
  '2025-02-24.acacia',
  '2025-03-31.basil',
  '2025-04-30.basil',
  '2025-05-28.basil',
  '2025-06-30.basil',
  '2025-07-30.basil',
  '2025-08-27.basil',
  '2025-09-30.clover',
  '2025-10-29.clover',
  '2025-11-17.clover',
  '2025-12-15.clover',
  '2026-01-28.clover',
  '2026-02-25.clover',
  '2026-03-25.dahlia',
  '2026-04-22.dahlia',
  '2026-05-27.dahlia',
  '2026-06-24.dahlia',
  '2026-07-29.dahlia',
  '2026-08-26.dahlia',
  '2026-09-30.endive',
  '2026-10-28.endive',
  Stripe.API_VERSION,
]);

export function isKnownApiVersion(version: string): boolean {
  return KNOWN_API_VERSIONS.has(version);
}

/** The request's API version (header, else the account's); an unknown one is Stripe's 400. */
export function requestApiVersion(header: string | undefined, accountApiVersion: string): string {
  if (header === undefined) return accountApiVersion;
  if (!isKnownApiVersion(header)) {
    throw errors.invalidRequest(400, `Invalid Stripe API version: ${header}`, 'Stripe-Version');
  }
  return header;
}

/**
 * Since 2023-08-16 an intent created without `payment_method_types` has
 * automatic payment methods enabled (redirects allowed) by default
 * (https://docs.stripe.com/upgrades#2023-08-16); before, it was card only.
 */
export function automaticPaymentMethodsByDefault(apiVersion: string): boolean {
  return apiVersion.slice(0, 10) >= '2023-08-16';
}
