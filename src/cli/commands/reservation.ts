// bookiji reservation create | show | confirm | authorize | commit | cancel

import type { Command } from 'commander';
import { CLI_OPERATOR } from '../../engine/actor.js';
import { printJson, printRecord, printTable } from '../output.js';

async function gateway() {
  const { PaymentGateway, gatewayConfigFromEnv } = await import('../../payments/gateway.js');
  return new PaymentGateway(gatewayConfigFromEnv());
}

function printReservation(reservation: import('../../reservations/types.js').Reservation, json?: boolean): void {
  if (json) printJson(reservation);
  else printRecord({ reservation: reservation.id, state: reservation.state, booking: reservation.bookingId, slot: reservation.slotId, expires: reservation.expiresAt, amount: `${reservation.amountCents} ${reservation.currency}`, deposit: reservation.depositCents });
}

export function registerReservation(program: Command): void {
  const reservation = program
    .command('reservation')
    .description('Reservations: vendor confirmation, dual authorization (vendor deposit + requester payment) and atomic commit.')
    .addHelpText(
      'after',
      `
Flow (each step refuses what the state machine does not allow):
  bookiji reservation create --vendor V --start 2030-01-01T10:00:00Z --end 2030-01-01T11:00:00Z --requester C --partner P --key K
  bookiji reservation confirm R                     # the vendor accepts (TTL 10 → 30 min)
  bookiji reservation authorize R --role vendor_deposit --card pm_card_visa
  bookiji reservation authorize R --role requester --card pm_card_visa   # TTL → 15 min
  bookiji reservation commit R                      # revalidate, capture both, or compensate
  bookiji reservation cancel R --reason "..."       # before or after commit: money owed back
Every stage's TTL ends at the slot's start at the latest; a commit that cannot
finish before then fails and both sides are compensated. The reservation's
booking is paid only through the reservation (\`payment pay\` refuses it).
The payment steps need STRIPE_SECRET_KEY (and STRIPE_API_BASE for \`bookiji stripe-sandbox\`).`,
    );

  reservation
    .command('create')
    .description('Hold a vendor\'s slot for a partner\'s requester and ask the vendor to confirm.')
    .requiredOption('--vendor <id>', 'vendor id')
    .requiredOption('--start <iso>', 'slot start (ISO 8601)')
    .requiredOption('--end <iso>', 'slot end (ISO 8601)')
    .requiredOption('--requester <id>', 'customer id of the requester')
    .requiredOption('--partner <id>', 'partner id')
    .requiredOption('--key <idempotency-key>', 'idempotency key: a retry with the same key returns the first reservation')
    .option('--json', 'print JSON')
    .action(async (options: { vendor: string; start: string; end: string; requester: string; partner: string; key: string; json?: boolean }) => {
      const { withDatabase } = await import('../context.js');
      const { createReservation } = await import('../../reservations/index.js');
      const result = await withDatabase(({ pool }) =>
        createReservation(
          pool,
          { vendorId: options.vendor, slotStartTime: new Date(options.start), slotEndTime: new Date(options.end), requesterId: options.requester, partnerId: options.partner, idempotencyKey: options.key },
          CLI_OPERATOR,
        ),
      );
      printReservation(result.reservation, options.json);
    });

  reservation
    .command('show')
    .argument('<reservation>', 'reservation id')
    .description('The reservation, its payments and its state history.')
    .option('--json', 'print JSON')
    .action(async (id: string, options: { json?: boolean }) => {
      const { withDatabase } = await import('../context.js');
      const { getReservation } = await import('../../reservations/index.js');
      const detail = await withDatabase(({ pool }) => getReservation(pool, id));
      if (options.json) printJson(detail);
      else {
        printReservation(detail);
        printTable(['role', 'payment', 'intent', 'status', 'cents'], detail.payments.map((p) => [p.role, p.paymentId, p.providerIntentId, p.status, p.amountCents]));
        printTable(['from', 'to', 'cause', 'actor', 'at'], detail.history.map((h) => [h.fromState, h.toState, h.cause, `${h.actorKind}${h.actorId ? `:${h.actorId}` : ''}`, h.at.toISOString()]));
      }
    });

  reservation
    .command('confirm')
    .argument('<reservation>', 'reservation id')
    .description('The vendor accepts the reservation.')
    .option('--json', 'print JSON')
    .action(async (id: string, options: { json?: boolean }) => {
      const { withDatabase } = await import('../context.js');
      const { vendorConfirmReservation } = await import('../../reservations/index.js');
      printReservation(await withDatabase(({ pool }) => vendorConfirmReservation(pool, id, CLI_OPERATOR)), options.json);
    });

  reservation
    .command('authorize')
    .argument('<reservation>', 'reservation id')
    .requiredOption('--role <role>', 'vendor_deposit or requester')
    .requiredOption('--card <payment-method>', 'payment method id, e.g. pm_card_visa')
    .description('Authorize one side\'s money (manual capture) and move the reservation on.')
    .option('--json', 'print JSON')
    .action(async (id: string, options: { role: string; card: string; json?: boolean }) => {
      const { withDatabase } = await import('../context.js');
      const { authorizeVendorDeposit, authorizeRequester } = await import('../../reservations/index.js');
      const { validationError } = await import('../../errors.js');
      if (options.role !== 'vendor_deposit' && options.role !== 'requester') throw validationError('role', 'vendor_deposit or requester');
      const g = await gateway();
      const step = options.role === 'vendor_deposit' ? authorizeVendorDeposit : authorizeRequester;
      printReservation(await withDatabase(({ pool }) => step(pool, g, id, { paymentMethod: options.card }, CLI_OPERATOR)), options.json);
    });

  reservation
    .command('commit')
    .argument('<reservation>', 'reservation id')
    .description('Revalidate availability, capture both authorizations, confirm the booking; compensate if a capture fails.')
    .option('--json', 'print JSON')
    .action(async (id: string, options: { json?: boolean }) => {
      const { withDatabase } = await import('../context.js');
      const { commitReservation } = await import('../../reservations/index.js');
      const g = await gateway();
      printReservation(await withDatabase(({ pool }) => commitReservation(pool, g, id, CLI_OPERATOR)), options.json);
    });

  reservation
    .command('cancel')
    .argument('<reservation>', 'reservation id')
    .requiredOption('--reason <text>', 'why (kept in the history)')
    .description('Cancel, before or after commit: the slot is released and any money is owed back, authorizations released, captures refunded (reconcile makes the provider calls).')
    .option('--json', 'print JSON')
    .action(async (id: string, options: { reason: string; json?: boolean }) => {
      const { withDatabase } = await import('../context.js');
      const { cancelReservation } = await import('../../reservations/index.js');
      printReservation(await withDatabase(({ pool }) => cancelReservation(pool, id, options.reason, CLI_OPERATOR)), options.json);
    });
}
