// A booking driven through a messy but legitimate history, for forensics to
// reconstruct: a hold under an idempotency key, a retry of the same request,
// a refused confirmation attempt on a card hold of the same customer, a
// reschedule of the hold, a confirmation, a reschedule of the confirmed
// booking, and a cancellation with a reason. Every step goes through the
// engine's own functions, with the actor a real caller would have.

import { BookijiError } from '../../errors.js';
import type { Pool } from '../../db/pool.js';
import { cancelBooking, claimSlot, confirmBooking, rescheduleBooking } from '../../engine/bookings.js';
import { addCustomer } from '../../engine/customers.js';
import { addSlot } from '../../engine/slots.js';
import type { Actor } from '../../engine/types.js';
import { addVendor } from '../../engine/vendors.js';
import { databaseNow } from '../../engine/clock.js';

export interface MessyHistory {
  bookingId: string;
  vendorId: string;
  slotIds: string[];
  /** What was done, in order, for the report. */
  steps: string[];
}

const OPERATOR: Actor = { kind: 'operator', id: 'certify', source: 'simcity' };

export async function driveMessyHistory(pool: Pool, label: string): Promise<MessyHistory> {
  const vendor = await addVendor(pool, { name: `Forensics vendor ${label}`, timezone: 'Europe/Paris' });
  const customer = await addCustomer(pool, { name: 'Ada Quinn Lovelace', email: `ada-${label}@example.test` });
  const customerActor: Actor = { kind: 'customer', id: customer.id, source: 'api', requestId: `req-${label}-1` };
  const now = await databaseNow(pool);
  const hour = 3_600_000;
  const slots = [];
  for (let i = 0; i < 4; i++) {
    const start = new Date(now.getTime() + (48 + i * 2) * hour);
    slots.push(await addSlot(pool, { vendor: vendor.id, start: start.toISOString(), end: new Date(start.getTime() + hour).toISOString(), priceCents: 4_500 }, OPERATOR));
  }
  const [a, b, c, d] = slots as [typeof slots[0], typeof slots[0], typeof slots[0], typeof slots[0]];
  const steps: string[] = [];
  const key = `messy-${label}`;

  const first = await claimSlot(pool, { slot: a.id, customer: customer.id, hold: true, paymentMethod: 'pay_on_arrival', idempotencyKey: key }, customerActor);
  steps.push(`hold placed on slot ${a.id} under idempotency key ${key}`);
  const retry = await claimSlot(pool, { slot: a.id, customer: customer.id, hold: true, paymentMethod: 'pay_on_arrival', idempotencyKey: key }, { ...customerActor, requestId: `req-${label}-2` });
  if (!retry.replayed || retry.booking.id !== first.booking.id) throw new Error('an idempotent retry did not return the first outcome');
  steps.push('the same request retried: the first outcome was returned, nothing written');

  const card = await claimSlot(pool, { slot: d.id, customer: customer.id, hold: true, paymentMethod: 'card' }, { ...customerActor, requestId: `req-${label}-3` });
  try {
    await confirmBooking(pool, { booking: card.booking.id }, { ...customerActor, requestId: `req-${label}-4` });
    throw new Error('a card hold was confirmed without a verified payment');
  } catch (error) {
    if (!(error instanceof BookijiError) || error.code !== 'PAYMENT_REQUIRED') throw error;
  }
  await cancelBooking(pool, { booking: card.booking.id, reason: 'card payment not completed; customer chose to pay on arrival' }, { ...customerActor, requestId: `req-${label}-5` });
  steps.push('a card hold on another slot could not be confirmed without payment (PAYMENT_REQUIRED) and was cancelled');

  await rescheduleBooking(pool, { booking: first.booking.id, slot: b.id }, { ...customerActor, requestId: `req-${label}-6` });
  steps.push(`hold rescheduled to slot ${b.id}`);
  await confirmBooking(pool, { booking: first.booking.id }, { ...customerActor, requestId: `req-${label}-7` });
  steps.push('hold confirmed (pay on arrival)');
  await rescheduleBooking(pool, { booking: first.booking.id, slot: c.id }, { kind: 'vendor', id: vendor.id, source: 'api', requestId: `req-${label}-8` });
  steps.push(`confirmed booking rescheduled by the vendor to slot ${c.id}`);
  await cancelBooking(pool, { booking: first.booking.id, reason: 'customer fell ill' }, { ...customerActor, requestId: `req-${label}-9` });
  steps.push('cancelled by the customer: customer fell ill');
  return { bookingId: first.booking.id, vendorId: vendor.id, slotIds: slots.map((s) => s.id), steps };
}
