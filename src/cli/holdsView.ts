// Holds as an operator acts on them (`holds list`, `holds expire`,
// `reconcile --dry-run`): the vendor by name, the slot's start in the
// vendor's zone beside UTC, the customer redacted as support sees them, how
// long past its TTL, and the payment behind it with what expiring it owes.
// JSON keeps every id and adds these fields.

import type { Pool } from '../db/pool.js';
import { holdDetails, minutesPastTtl, owedOnExpiry, type HoldDetail, type HoldPayment, type OwedOnExpiry } from '../engine/holds.js';
import { timeInZone } from '../forensics/localTime.js';
import { redactCustomer } from '../forensics/redact.js';
import type { RedactedCustomer } from '../forensics/types.js';

export interface OpsHoldFields {
  vendorName: string;
  vendorTimezone: string;
  slotStartsAt: string;
  slotStartsAtVendorTime: string;
  customer: RedactedCustomer;
  minutesPastTtl: number | null;
  paymentMethod: string;
  payment: HoldPayment | null;
  owedOnExpiry: OwedOnExpiry;
}

function opsFields(detail: HoldDetail, holdExpiresAt: Date | null): OpsHoldFields {
  return {
    vendorName: detail.vendorName,
    vendorTimezone: detail.vendorTimezone,
    slotStartsAt: detail.slotStartsAt.toISOString(),
    slotStartsAtVendorTime: timeInZone(detail.slotStartsAt, detail.vendorTimezone),
    customer: redactCustomer({ id: detail.customerId, name: detail.customerName, email: detail.customerEmail }),
    minutesPastTtl: minutesPastTtl(holdExpiresAt ?? detail.holdExpiresAt, detail.dbNow),
    paymentMethod: detail.paymentMethod,
    payment: detail.payment,
    owedOnExpiry: owedOnExpiry(detail.payment),
  };
}

/**
 * Each item with the operator's fields added. `holdExpiresAt` on the item
 * wins over the booking's (an expired hold's TTL is cleared from the row).
 */
export async function withOpsFields<T extends { holdExpiresAt: Date | null }>(
  pool: Pool,
  items: T[],
  bookingIdOf: (item: T) => string,
): Promise<Array<T & OpsHoldFields>> {
  const details = await holdDetails(pool, items.map(bookingIdOf));
  return items.flatMap((item) => {
    const detail = details.get(bookingIdOf(item));
    return detail ? [{ ...item, ...opsFields(detail, item.holdExpiresAt) }] : [];
  });
}

export const OPS_HOLD_HEAD = ['booking', 'vendor', 'slot start (vendor time)', 'slot start (UTC)', 'customer', 'past TTL', 'payment', 'owed on expiry'];

function money(cents: number, currency: string | null): string {
  return `${(cents / 100).toFixed(2)} ${currency ?? ''}`.trim();
}

export function describeOwed(owed: OwedOnExpiry): string {
  switch (owed.action) {
    case 'none':
      return 'nothing';
    case 'release':
      return `release the ${money(owed.cents, owed.currency)} authorization`;
    case 'refund':
      return `refund ${money(owed.cents, owed.currency)}`;
    case 'cancel_intent':
      return 'cancel the intent (voids any authorization made since)';
  }
}

function describePayment(payment: HoldPayment | null, paymentMethod: string): string {
  if (!payment) return paymentMethod === 'card' ? 'card, no payment started' : paymentMethod;
  return `${payment.status} ${money(payment.amountCents, payment.currency)}${payment.providerIntentId ? ` (${payment.providerIntentId})` : ''}`;
}

export function opsHoldRow(bookingId: string, hold: OpsHoldFields): string[] {
  return [
    bookingId,
    hold.vendorName,
    `${hold.slotStartsAtVendorTime} (${hold.vendorTimezone})`,
    hold.slotStartsAt,
    `${hold.customer.name} <${hold.customer.email}>`,
    hold.minutesPastTtl === null ? 'not yet' : `${hold.minutesPastTtl} min`,
    describePayment(hold.payment, hold.paymentMethod),
    describeOwed(hold.owedOnExpiry),
  ];
}
