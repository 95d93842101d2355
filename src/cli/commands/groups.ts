// Each top-level command and how to load its definition alone, so that
// `bookiji slot list` loads and builds the slot group instead of all of them
// (module loading and commander's option objects were most of a data
// command's start-up). `registerCommands` in index.ts stays the one list of
// the whole tree, used for `bookiji --help` and everything that is not a
// known group; test/cli/commandGroups.test.ts proves this table registers
// exactly what it does, group by group.

import type { Command } from 'commander';

export interface CommandGroup {
  /** The top-level command's name, as typed after `bookiji`. */
  name: string;
  /** Loads the group's module and registers its full definition on `program`. */
  register(program: Command): Promise<void>;
}

export const COMMAND_GROUPS: readonly CommandGroup[] = [
  { name: 'db', register: async (program) => (await import('./db.js')).registerDb(program) },
  {
    name: 'vendor',
    register: async (program) => {
      const [{ registerVendor }, { registerVendorImportIcs }] = await Promise.all([import('./vendor.js'), import('./schedule.js')]);
      registerVendor(program);
      registerVendorImportIcs(program);
    },
  },
  { name: 'customer', register: async (program) => (await import('./customer.js')).registerCustomer(program) },
  { name: 'slot', register: async (program) => (await import('./slot.js')).registerSlot(program) },
  { name: 'schedule', register: async (program) => (await import('./schedule.js')).registerSchedule(program) },
  { name: 'book', register: async (program) => (await import('./book.js')).registerBook(program) },
  { name: 'booking', register: async (program) => (await import('./booking.js')).registerBooking(program) },
  { name: 'holds', register: async (program) => (await import('./holds.js')).registerHolds(program) },
  { name: 'verify', register: async (program) => (await import('./verify.js')).registerVerify(program) },
  { name: 'audit', register: async (program) => (await import('./audit.js')).registerAudit(program) },
  { name: 'simcity', register: async (program) => (await import('./simcity.js')).registerSimcity(program) },
  { name: 'serve', register: async (program) => (await import('./serve.js')).registerServe(program) },
  { name: 'apikey', register: async (program) => (await import('./apikey.js')).registerApikey(program) },
  { name: 'forensics', register: async (program) => (await import('./forensics.js')).registerForensics(program) },
  { name: 'keys', register: async (program) => (await import('./keys.js')).registerKeys(program) },
  { name: 'certify', register: async (program) => (await import('./certify.js')).registerCertify(program) },
  { name: 'reconcile', register: async (program) => (await import('./reconcile.js')).registerReconcile(program) },
  { name: 'payment', register: async (program) => (await import('./payment.js')).registerPayment(program) },
  { name: 'stripe-sandbox', register: async (program) => (await import('./stripeSandbox.js')).registerStripeSandbox(program) },
  { name: 'reservation', register: async (program) => (await import('./reservation.js')).registerReservation(program) },
];

/**
 * The group `argv` invokes, when its first argument names one
 * (`bookiji slot list …`). Anything else (`--help`, `--version`, options
 * before the command, `help`, an unknown word) gets undefined: those need the
 * whole tree, to list it or to suggest a command.
 */
export function invokedGroup(argv: readonly string[]): CommandGroup | undefined {
  const first = argv[2];
  return COMMAND_GROUPS.find((group) => group.name === first);
}
