// Every top-level command, in the order `bookiji --help` lists them, and how
// to load its definition alone, so that `bookiji slot list` loads and builds
// the slot group instead of all of them (module loading and commander's
// option objects were most of a data command's start-up). The whole tree,
// for `bookiji --help` and everything that names no group, is this list
// registered in order (registerCommands); test/cli/commandGroups.test.ts
// proves each group registered alone is what it is in the whole tree.

import type { Command } from 'commander';

export interface CommandGroup {
  /** The top-level command's name, as typed after `bookiji`. */
  name: string;
  /** Loads the group's module; what it returns registers the group's full definition on a program. */
  load(): Promise<(program: Command) => void>;
}

export const COMMAND_GROUPS: readonly CommandGroup[] = [
  { name: 'db', load: async () => (await import('./db.js')).registerDb },
  {
    name: 'vendor',
    load: async () => {
      const [{ registerVendor }, { registerVendorImportIcs }] = await Promise.all([import('./vendor.js'), import('./schedule.js')]);
      return (program) => {
        registerVendor(program);
        registerVendorImportIcs(program);
      };
    },
  },
  { name: 'customer', load: async () => (await import('./customer.js')).registerCustomer },
  { name: 'slot', load: async () => (await import('./slot.js')).registerSlot },
  { name: 'schedule', load: async () => (await import('./schedule.js')).registerSchedule },
  { name: 'book', load: async () => (await import('./book.js')).registerBook },
  { name: 'booking', load: async () => (await import('./booking.js')).registerBooking },
  { name: 'holds', load: async () => (await import('./holds.js')).registerHolds },
  { name: 'verify', load: async () => (await import('./verify.js')).registerVerify },
  { name: 'audit', load: async () => (await import('./audit.js')).registerAudit },
  { name: 'simcity', load: async () => (await import('./simcity.js')).registerSimcity },
  { name: 'serve', load: async () => (await import('./serve.js')).registerServe },
  { name: 'apikey', load: async () => (await import('./apikey.js')).registerApikey },
  { name: 'forensics', load: async () => (await import('./forensics.js')).registerForensics },
  { name: 'keys', load: async () => (await import('./keys.js')).registerKeys },
  { name: 'certify', load: async () => (await import('./certify.js')).registerCertify },
  { name: 'reconcile', load: async () => (await import('./reconcile.js')).registerReconcile },
  { name: 'payment', load: async () => (await import('./payment.js')).registerPayment },
  { name: 'stripe-sandbox', load: async () => (await import('./stripeSandbox.js')).registerStripeSandbox },
  { name: 'reservation', load: async () => (await import('./reservation.js')).registerReservation },
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

/** Every group on `program`, in the list's order (modules loaded in parallel). */
export async function registerCommands(program: Command): Promise<void> {
  const registrars = await Promise.all(COMMAND_GROUPS.map((group) => group.load()));
  for (const register of registrars) register(program);
}
