// A booking driven through a messy but legitimate history, for forensics to
// reconstruct: a hold under an idempotency key, a retry of the same request,
// a refused confirmation attempt on a card hold of the same customer, a
// reschedule of the hold, a confirmation, a reschedule of the confirmed
// booking, and a cancellation with a reason. Every step goes through the
// engine's own functions, with the actor a real caller would have.
//
// When the payments module is installed, a second history runs through it
// too (`driveMessyPaymentHistory`): a card hold and its retry, a payment
// intent, a confirmation refused for want of money, a reschedule, the
// authorization arriving by webhook and then delivered twice, a reschedule
// by the vendor, and a cancellation.

import { BookijiError } from '../errors.js';
import type { Pool } from '../db/pool.js';
import { cancelBooking, claimSlot, confirmBooking, rescheduleBooking } from '../engine/bookings.js';
import { addCustomer } from '../engine/customers.js';
import { addSlot } from '../engine/slots.js';
import type { Actor } from '../engine/types.js';
import { addVendor } from '../engine/vendors.js';
import { databaseNow } from '../engine/clock.js';

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
    slots.push(
      await addSlot(pool, { vendor: vendor.id, start: start.toISOString(), end: new Date(start.getTime() + hour).toISOString(), priceCents: 4_500 }, OPERATOR),
    );
  }
  const [a, b, c, d] = slots as [(typeof slots)[0], (typeof slots)[0], (typeof slots)[0], (typeof slots)[0]];
  const steps: string[] = [];
  const key = `messy-${label}`;

  const first = await claimSlot(pool, { slot: a.id, customer: customer.id, hold: true, paymentMethod: 'pay_on_arrival', idempotencyKey: key }, customerActor);
  steps.push(`hold placed on slot ${a.id} under idempotency key ${key}`);
  const retry = await claimSlot(
    pool,
    { slot: a.id, customer: customer.id, hold: true, paymentMethod: 'pay_on_arrival', idempotencyKey: key },
    { ...customerActor, requestId: `req-${label}-2` },
  );
  if (!retry.replayed || retry.booking.id !== first.booking.id) throw new Error('an idempotent retry did not return the first outcome');
  steps.push('the same request retried: the first outcome was returned, nothing written');

  const card = await claimSlot(
    pool,
    { slot: d.id, customer: customer.id, hold: true, paymentMethod: 'card' },
    { ...customerActor, requestId: `req-${label}-3` },
  );
  try {
    await confirmBooking(pool, { booking: card.booking.id }, { ...customerActor, requestId: `req-${label}-4` });
    throw new Error('a card hold was confirmed without a verified payment');
  } catch (error) {
    if (!(error instanceof BookijiError) || error.code !== 'PAYMENT_REQUIRED') throw error;
  }
  await cancelBooking(
    pool,
    { booking: card.booking.id, reason: 'card payment not completed; customer chose to pay on arrival' },
    { ...customerActor, requestId: `req-${label}-5` },
  );
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

export async function paymentsInstalled(pool: Pool): Promise<boolean> {
  const result = await pool.query(
    `SELECT to_regprocedure('begin_card_payment(uuid, text, text, text, text)') IS NOT NULL
        AND to_regprocedure('record_payment_intent(uuid, uuid, text, text, text, text)') IS NOT NULL
        AND to_regprocedure('apply_payment_state(uuid, uuid, text, integer, integer, integer, text, text, text, text, text, text, text)') IS NOT NULL
        AND to_regclass('stripe_events') IS NOT NULL AS present`,
  );
  return Boolean(result.rows[0]?.present);
}

/** Stores a provider event the way the webhook endpoint does, before it is applied. */
async function storeEvent(pool: Pool, eventId: string, type: string, intentId: string, status: string): Promise<void> {
  await pool.query(
    `INSERT INTO stripe_events (event_id, type, object_id, created, payload, received_via, deliveries)
     VALUES ($1, $2, $3, extract(epoch FROM now())::bigint, $4, 'webhook', 1)
     ON CONFLICT (event_id) DO UPDATE SET deliveries = stripe_events.deliveries + 1`,
    [eventId, type, intentId, JSON.stringify({ id: eventId, type, data: { object: { id: intentId, object: 'payment_intent', status } } })],
  );
}

async function applyProvider(pool: Pool, vendorId: string, paymentId: string, status: string, amountCapturable: number, eventId: string): Promise<string> {
  const result = await pool.query(`SELECT apply_payment_state($1, $2, $3, $4, 0, 0, NULL, NULL, NULL, $5, 'system', 'stripe', 'webhook') AS r`, [
    vendorId,
    paymentId,
    status,
    amountCapturable,
    eventId,
  ]);
  return String((result.rows[0].r as { outcome: string }).outcome);
}

export async function driveMessyPaymentHistory(pool: Pool, label: string): Promise<MessyHistory> {
  const vendor = await addVendor(pool, { name: `Forensics card vendor ${label}`, timezone: 'Europe/Paris' });
  const customer = await addCustomer(pool, { name: 'Grace Brewster Hopper', email: `grace-${label}@example.test` });
  const actor = (n: number): Actor => ({ kind: 'customer', id: customer.id, source: 'api', requestId: `req-${label}-card-${n}` });
  const now = await databaseNow(pool);
  const hour = 3_600_000;
  const slots = [];
  for (let i = 0; i < 3; i++) {
    const start = new Date(now.getTime() + (72 + i * 2) * hour);
    slots.push(
      await addSlot(pool, { vendor: vendor.id, start: start.toISOString(), end: new Date(start.getTime() + hour).toISOString(), priceCents: 6_000 }, OPERATOR),
    );
  }
  const [a, b, c] = slots as [(typeof slots)[0], (typeof slots)[0], (typeof slots)[0]];
  const steps: string[] = [];
  const key = `messy-card-${label}`;
  const intent = `pi_certify_${label.replace(/[^A-Za-z0-9]/g, '')}`;

  const hold = await claimSlot(pool, { slot: a.id, customer: customer.id, hold: true, paymentMethod: 'card', idempotencyKey: key }, actor(1));
  await claimSlot(pool, { slot: a.id, customer: customer.id, hold: true, paymentMethod: 'card', idempotencyKey: key }, actor(2));
  steps.push('card hold placed under an idempotency key, and the request retried (replayed)');
  const payment = (await pool.query(`SELECT begin_card_payment($1, 'customer', $2, 'api', $3) AS p`, [hold.booking.id, customer.id, `req-${label}-card-3`]))
    .rows[0].p as { id: string };
  await pool.query(`SELECT record_payment_intent($1, $2, $3, 'system', 'stripe', 'api')`, [vendor.id, payment.id, intent]);
  steps.push(`payment started, provider intent ${intent} recorded`);
  // A declined attempt would cancel the hold in the payments module (its own
  // history, SC-2's to drive); here the customer simply has not paid yet.
  try {
    await confirmBooking(pool, { booking: hold.booking.id }, actor(4));
    throw new Error('a card hold was confirmed before its payment was verified');
  } catch (error) {
    if (!(error instanceof BookijiError) || error.code !== 'PAYMENT_REQUIRED') throw error;
  }
  steps.push('a confirmation without money was refused (PAYMENT_REQUIRED)');
  await rescheduleBooking(pool, { booking: hold.booking.id, slot: b.id }, actor(5));
  steps.push(`hold rescheduled to slot ${b.id}`);
  await storeEvent(pool, `evt_${label}_2`, 'payment_intent.amount_capturable_updated', intent, 'requires_capture');
  const authorized = await applyProvider(pool, vendor.id, payment.id, 'requires_capture', 6_000, `evt_${label}_2`);
  await storeEvent(pool, `evt_${label}_2`, 'payment_intent.amount_capturable_updated', intent, 'requires_capture');
  const duplicate = await applyProvider(pool, vendor.id, payment.id, 'requires_capture', 6_000, `evt_${label}_2`);
  steps.push(`the retry was authorized by webhook (${authorized}); the same webhook delivered again changed nothing (${duplicate})`);
  await rescheduleBooking(pool, { booking: hold.booking.id, slot: c.id }, { kind: 'vendor', id: vendor.id, source: 'api', requestId: `req-${label}-card-6` });
  steps.push(`confirmed booking rescheduled by the vendor to slot ${c.id}`);
  await cancelBooking(pool, { booking: hold.booking.id, reason: 'customer travelling' }, actor(7));
  steps.push('cancelled by the customer: customer travelling');
  return { bookingId: hold.booking.id, vendorId: vendor.id, slotIds: slots.map((s) => s.id), steps };
}
