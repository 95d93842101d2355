// bookiji payment start | pay | verify | show

import type { Command } from 'commander';
import { CLI_OPERATOR } from '../../engine/actor.js';
import { printJson, printRecord, printTable } from '../output.js';

async function gateway() {
  const { PaymentGateway, gatewayConfigFromEnv } = await import('../../payments/gateway.js');
  return new PaymentGateway(gatewayConfigFromEnv());
}

export function registerPayment(program: Command): void {
  const payment = program
    .command('payment')
    .description('Card payments of held bookings, verified with the payment provider (STRIPE_SECRET_KEY, STRIPE_API_BASE).');
  registerPaymentStart(payment);
  registerPaymentPay(payment);
  registerPaymentVerify(payment);
  registerPaymentShow(payment);
}

function registerPaymentStart(payment: Command): void {
  payment
    .command('start')
    .argument('<booking>', 'a held card booking')
    .description("Create (or find) the booking's PaymentIntent (manual capture) and print its client secret.")
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExample:\n  bookiji book --slot S --customer C --hold --payment-method card\n  bookiji payment start BOOKING')
    .action(async (booking: string, options: { json?: boolean }) => {
      const { withDatabase } = await import('../context.js');
      const { startCardCheckout } = await import('../../payments/checkout.js');
      const g = await gateway();
      const result = await withDatabase(({ pool }) => startCardCheckout(pool, g, booking, CLI_OPERATOR));
      if (options.json) printJson(result);
      else
        printRecord({
          payment: result.payment.id,
          intent: result.payment.providerIntentId,
          status: result.payment.status,
          'client secret': result.clientSecret,
        });
    });
}

function registerPaymentPay(payment: Command): void {
  payment
    .command('pay')
    .argument('<booking>', 'a held card booking')
    .requiredOption('--card <payment-method>', 'a test payment method, e.g. pm_card_visa or pm_card_chargeDeclined')
    .description("Demo and test flow: start the payment, pay as the customer's browser would, then verify with the provider.")
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      "\nOnly the provider's answer confirms the booking; this command asks it like any client would.\n\nExample:\n  bookiji payment pay BOOKING --card pm_card_visa",
    )
    .action(async (booking: string, options: { card: string; json?: boolean }) => {
      const { withDatabase } = await import('../context.js');
      const { startCardCheckout, payAsCustomer, verifyBookingPayment } = await import('../../payments/checkout.js');
      const g = await gateway();
      const result = await withDatabase(async ({ pool }) => {
        const started = await startCardCheckout(pool, g, booking, CLI_OPERATOR);
        await payAsCustomer(g, started.payment.providerIntentId!, options.card);
        return verifyBookingPayment(pool, g, booking, CLI_OPERATOR);
      });
      if (options.json) printJson(result);
      else printRecord({ booking: result.booking.id, state: result.booking.state, payment: result.payment.id, status: result.payment.status });
    });
}

function registerPaymentVerify(payment: Command): void {
  payment
    .command('verify')
    .addHelpText('after', '\nExample:\n  bookiji payment verify B\n')
    .argument('<booking>', 'a card booking')
    .description("Ask the provider about the booking's payment and apply its answer (PAYMENT_REQUIRED if not paid).")
    .option('--json', 'print JSON')
    .action(async (booking: string, options: { json?: boolean }) => {
      const { withDatabase } = await import('../context.js');
      const { verifyBookingPayment } = await import('../../payments/checkout.js');
      const g = await gateway();
      const result = await withDatabase(({ pool }) => verifyBookingPayment(pool, g, booking, CLI_OPERATOR));
      if (options.json) printJson(result);
      else printRecord({ booking: result.booking.id, state: result.booking.state, payment: result.payment.id, status: result.payment.status });
    });
}

function registerPaymentShow(payment: Command): void {
  payment
    .command('show')
    .addHelpText('after', '\nExample:\n  bookiji payment show B --json\n')
    .argument('<booking>', 'a booking id')
    .description("The booking's payment and its ledger (no provider call).")
    .option('--json', 'print JSON')
    .action(async (booking: string, options: { json?: boolean }) => {
      const { withDatabase } = await import('../context.js');
      const { paymentForBooking, ledgerEntries } = await import('../../payments/store.js');
      const { BookijiError } = await import('../../errors.js');
      const result = await withDatabase(async ({ pool }) => {
        const found = await paymentForBooking(pool, booking);
        if (!found) throw new BookijiError('PAYMENT_NOT_FOUND', `no payment for booking ${booking}`);
        return { payment: found, ledger: await ledgerEntries(pool, found.id) };
      });
      if (options.json) printJson(result);
      else {
        printRecord({ ...result.payment });
        printTable(
          ['kind', 'cents', 'currency', 'provider ref', 'event', 'at'],
          result.ledger.map((l) => [l.kind, l.amountCents, l.currency, l.providerRef, l.eventId, l.at.toISOString()]),
        );
      }
    });
}
