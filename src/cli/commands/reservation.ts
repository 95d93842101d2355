// bookiji reservation create | show | confirm | authorize | commit | cancel

import { type Command, Option } from 'commander';
import { CLI_OPERATOR } from '../../engine/actor.js';
import { BookijiError } from '../../errors.js';
import { printJson, printRecord, printTable } from '../output.js';

async function gateway() {
  const { PaymentGateway, gatewayConfigFromEnv } = await import('../../payments/gateway.js');
  return new PaymentGateway(gatewayConfigFromEnv());
}

function printReservation(reservation: import('../../reservations/types.js').Reservation, json?: boolean): void {
  if (json) printJson(reservation);
  else
    printRecord({
      reservation: reservation.id,
      state: reservation.state,
      booking: reservation.bookingId,
      slot: reservation.slotId,
      expires: reservation.expiresAt,
      amount: `${reservation.amountCents} ${reservation.currency}`,
      deposit: reservation.depositCents,
    });
}

export function registerReservation(program: Command): void {
  const reservation = program
    .command('reservation')
    .description('Reservations: vendor confirmation, dual authorization (vendor deposit + requester payment) and atomic commit.')
    .addHelpText(
      'after',
      `
Flow (each step refuses what the state machine does not allow):
  bookiji reservation create --vendor V --start 2030-01-01T10:00:00Z --end 2030-01-01T11:00:00Z --requester C --partner P --idempotency-key K
  bookiji reservation confirm R                     # the vendor accepts (TTL 10 → 30 min)
  bookiji reservation authorize R --role vendor_deposit --card pm_card_visa
  bookiji reservation authorize R --role requester --card pm_card_visa   # TTL → 15 min
  bookiji reservation commit R                      # revalidate, capture both, or compensate
  bookiji reservation cancel R --reason "..."       # before or after commit: money owed back
Every stage's TTL ends at the slot's start at the latest; a commit that cannot
finish before then fails and both sides are compensated. The reservation's
booking is paid only through the reservation (\`payment pay\` refuses it) and
moves only with it (\`booking reschedule\` refuses it). Cards are charged
off-session: one that needs 3-D Secure fails that side's authorization.
The payment steps need STRIPE_SECRET_KEY (and STRIPE_API_BASE for \`bookiji stripe-sandbox\`).`,
    );
  registerReservationCreate(reservation);
  registerReservationShow(reservation);
  registerReservationConfirm(reservation);
  registerReservationAuthorize(reservation);
  registerReservationCommit(reservation);
  registerReservationCancel(reservation);
}

function registerReservationCreate(reservation: Command): void {
  reservation
    .command('create')
    .description("Hold a vendor's slot for a partner's requester and ask the vendor to confirm.")
    .addHelpText(
      'after',
      '\nExample:\n  bookiji reservation create --vendor V --start 2030-01-01T10:00:00Z --end 2030-01-01T11:00:00Z --requester C --partner P --idempotency-key K --json\n',
    )
    .requiredOption('--vendor <id>', 'vendor id')
    .requiredOption('--start <iso>', 'slot start (ISO 8601)')
    .requiredOption('--end <iso>', 'slot end (ISO 8601)')
    .requiredOption('--requester <id>', 'customer id of the requester')
    .requiredOption('--partner <id>', 'partner id')
    .option('--idempotency-key <key>', 'idempotency key (required): a retry with the same key returns the first reservation')
    // The flag's former name, before it was aligned with `book --idempotency-key`; kept so scripts keep working.
    .addOption(new Option('--key <key>', 'deprecated: use --idempotency-key').hideHelp())
    .option('--json', 'print JSON')
    .action(
      async (options: {
        vendor: string;
        start: string;
        end: string;
        requester: string;
        partner: string;
        idempotencyKey?: string;
        key?: string;
        json?: boolean;
      }) => {
        const idempotencyKey = options.idempotencyKey ?? options.key;
        if (idempotencyKey === undefined) throw new BookijiError('USAGE_ERROR', "required option '--idempotency-key <key>' not specified");
        const { withDatabase } = await import('../context.js');
        const { createReservation } = await import('../../reservations/index.js');
        const result = await withDatabase(({ pool }) =>
          createReservation(
            pool,
            {
              vendorId: options.vendor,
              slotStartTime: new Date(options.start),
              slotEndTime: new Date(options.end),
              requesterId: options.requester,
              partnerId: options.partner,
              idempotencyKey,
            },
            CLI_OPERATOR,
          ),
        );
        printReservation(result.reservation, options.json);
      },
    );
}

function registerReservationShow(reservation: Command): void {
  reservation
    .command('show')
    .argument('<reservation>', 'reservation id')
    .description('The reservation, its payments and its state history.')
    .addHelpText('after', '\nExample:\n  bookiji reservation show 3f6c2a1e-8b4d-4c1a-9e2f-5a7b8c9d0e1f --json\n')
    .option('--json', 'print JSON')
    .action(async (id: string, options: { json?: boolean }) => {
      const { withDatabase } = await import('../context.js');
      const { getReservation } = await import('../../reservations/index.js');
      const detail = await withDatabase(({ pool }) => getReservation(pool, id));
      if (options.json) printJson(detail);
      else {
        printReservation(detail);
        printTable(
          ['role', 'payment', 'intent', 'status', 'cents'],
          detail.payments.map((p) => [p.role, p.paymentId, p.providerIntentId, p.status, p.amountCents]),
        );
        printTable(
          ['from', 'to', 'cause', 'actor', 'at'],
          detail.history.map((h) => [h.fromState, h.toState, h.cause, `${h.actorKind}${h.actorId ? `:${h.actorId}` : ''}`, h.at.toISOString()]),
        );
      }
    });
}

function registerReservationConfirm(reservation: Command): void {
  reservation
    .command('confirm')
    .argument('<reservation>', 'reservation id')
    .description('The vendor accepts the reservation.')
    .addHelpText('after', '\nExample:\n  bookiji reservation confirm 3f6c2a1e-8b4d-4c1a-9e2f-5a7b8c9d0e1f\n')
    .option('--json', 'print JSON')
    .action(async (id: string, options: { json?: boolean }) => {
      const { withDatabase } = await import('../context.js');
      const { vendorConfirmReservation } = await import('../../reservations/index.js');
      printReservation(await withDatabase(({ pool }) => vendorConfirmReservation(pool, id, CLI_OPERATOR)), options.json);
    });
}

function registerReservationAuthorize(reservation: Command): void {
  reservation
    .command('authorize')
    .argument('<reservation>', 'reservation id')
    .requiredOption('--role <role>', 'vendor_deposit or requester')
    .requiredOption('--card <payment-method>', 'payment method id, e.g. pm_card_visa')
    .description("Authorize one side's money (manual capture) and move the reservation on.")
    .addHelpText('after', '\nExample:\n  bookiji reservation authorize 3f6c2a1e-8b4d-4c1a-9e2f-5a7b8c9d0e1f --role vendor_deposit --card pm_card_visa\n')
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
}

function registerReservationCommit(reservation: Command): void {
  reservation
    .command('commit')
    .argument('<reservation>', 'reservation id')
    .description('Revalidate availability, capture both authorizations, confirm the booking; compensate if a capture fails.')
    .addHelpText('after', '\nExample:\n  bookiji reservation commit 3f6c2a1e-8b4d-4c1a-9e2f-5a7b8c9d0e1f\n')
    .option('--json', 'print JSON')
    .action(async (id: string, options: { json?: boolean }) => {
      const { withDatabase } = await import('../context.js');
      const { commitReservation } = await import('../../reservations/index.js');
      const g = await gateway();
      printReservation(await withDatabase(({ pool }) => commitReservation(pool, g, id, CLI_OPERATOR)), options.json);
    });
}

function registerReservationCancel(reservation: Command): void {
  reservation
    .command('cancel')
    .argument('<reservation>', 'reservation id')
    .requiredOption('--reason <text>', 'why (kept in the history)')
    .description(
      'Cancel, before or after commit: the slot is released and any money is owed back, authorizations released, captures refunded (reconcile makes the provider calls).',
    )
    .addHelpText('after', '\nExample:\n  bookiji reservation cancel 3f6c2a1e-8b4d-4c1a-9e2f-5a7b8c9d0e1f --reason "customer asked"\n')
    .option('--json', 'print JSON')
    .action(async (id: string, options: { reason: string; json?: boolean }) => {
      const { withDatabase } = await import('../context.js');
      const { cancelReservation } = await import('../../reservations/index.js');
      printReservation(await withDatabase(({ pool }) => cancelReservation(pool, id, options.reason, CLI_OPERATOR)), options.json);
    });
}
