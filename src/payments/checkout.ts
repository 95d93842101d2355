// Card checkout: hold → PaymentIntent (manual capture) → the customer pays at
// the provider → the provider's word (webhook or server-side retrieve)
// confirms the booking. Nothing the client says confirms anything: asking us
// to "check my payment" only makes us ask the provider.

import { BookijiError } from '../errors.js';
import { queryWithRetry, type Pool } from '../db/pool.js';
import { actorArgs } from '../engine/actor.js';
import { getBooking } from '../engine/bookings.js';
import type { Actor, Booking } from '../engine/types.js';
import { settlePayment, syncPayment } from './actions.js';
import type { PaymentGateway } from './gateway.js';
import { toPayment } from './rows.js';
import { getPayment, paymentForBooking } from './store.js';
import type { Payment } from './types.js';

export interface CheckoutStart {
  payment: Payment;
  /** For the customer's browser (Stripe.js confirms the intent with it). */
  clientSecret: string | null;
}

/**
 * Starts (or resumes) the card payment of a held booking. The payment row and
 * its recovery point are committed before the provider is called; a retry,
 * or reconcile after a crash, repeats the call with the same idempotency key.
 */
export async function startCardCheckout(pool: Pool, gateway: PaymentGateway, bookingId: string, actor: Actor): Promise<CheckoutStart> {
  const result = await queryWithRetry(pool, 'SELECT begin_card_payment($1, $2, $3, $4, $5) AS payment', [bookingId, ...actorArgs(actor)]);
  let payment = toPayment(result.rows[0]!.payment);
  if (payment.pendingAction === 'create') {
    const settled = await settlePayment(pool, gateway, payment.id, actor);
    payment = settled.payment;
  }
  if (!payment.providerIntentId) {
    throw new BookijiError('DEPENDENCY_UNAVAILABLE', `the payment intent of booking ${bookingId} is being created by another worker`, {
      details: { paymentId: payment.id },
    });
  }
  const intent = await gateway.retrieveIntent(payment.providerIntentId);
  return { payment, clientSecret: intent.client_secret };
}

/**
 * The customer's side, as Stripe.js does it in a browser: confirm the intent
 * with a payment method. For the CLI's demo flow and for tests; the server
 * never trusts its outcome, it waits for the provider's word.
 */
export async function payAsCustomer(gateway: PaymentGateway, intentId: string, paymentMethod: string): Promise<{ status: string; declined: boolean }> {
  try {
    const intent = await gateway.call('confirm payment intent', () => gateway.stripe.paymentIntents.confirm(intentId, { payment_method: paymentMethod }));
    return { status: intent.status, declined: false };
  } catch (error) {
    if (error instanceof BookijiError && error.code === 'PAYMENT_FAILED') return { status: 'requires_payment_method', declined: true };
    throw error;
  }
}

/**
 * "I paid": verify with the provider, apply what it says, and answer with the
 * booking. A booking still without verified money is PAYMENT_REQUIRED.
 */
export async function verifyBookingPayment(
  pool: Pool,
  gateway: PaymentGateway,
  bookingId: string,
  actor: Actor,
): Promise<{ booking: Booking; payment: Payment }> {
  const payment = await paymentForBooking(pool, bookingId);
  if (!payment) {
    throw new BookijiError('PAYMENT_REQUIRED', `booking ${bookingId} has no card payment: start one with \`bookiji payment start\``, {
      details: { bookingId },
    });
  }
  const settled = await syncPayment(pool, gateway, payment.id, actor);
  const booking = await getBooking(pool, settled.payment.bookingId);
  if (booking.paymentMethod === 'card' && booking.state !== 'confirmed') {
    throw new BookijiError('PAYMENT_REQUIRED', `booking ${booking.id} is ${booking.state}; the provider reports the payment ${settled.payment.status}`, {
      details: { bookingId: booking.id, paymentStatus: settled.payment.status },
    });
  }
  return { booking, payment: await getPayment(pool, settled.payment.id) };
}
