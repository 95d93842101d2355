// bookiji schedule set | show | refresh, and bookiji vendor import-ics:
// availability computed from rules rather than typed slot by slot.

import type { Command } from 'commander';
import { printJson, printRecord } from '../output.js';

const RULES_EXAMPLE = `{
  "timezone": "Europe/Paris",
  "weeklyHours": { "1": [{ "start": "09:00", "end": "12:00" }, { "start": "14:00", "end": "18:00" }], "2": [{ "start": "09:00", "end": "18:00" }] },
  "overrides": [{ "date": "2030-12-24", "hours": [] }],
  "slotDurationMin": 30, "bufferBeforeMin": 0, "bufferAfterMin": 10,
  "minNoticeMin": 120, "maxDaysAhead": 60, "capacityPerSlot": 1
}`;

export function registerSchedule(program: Command): void {
  const schedule = program
    .command('schedule')
    .description("Vendors' schedule rules (weekly hours, overrides, buffers, notice, horizon) and the slots made from them.");
  registerScheduleSet(schedule);
  registerScheduleShow(schedule);
  registerScheduleRefresh(schedule);
}

function registerScheduleSet(schedule: Command): void {
  schedule
    .command('set <vendor>')
    .description("Set a vendor's schedule rules from a JSON file (validated; unknown fields refused). Run `schedule refresh` to apply.")
    .requiredOption('--file <path>', "rules as JSON (weekdays 1 = Monday … 7 = Sunday, wall times in the vendor's zone)")
    .option('--price-cents <n>', 'price of each generated slot in minor units', '0')
    .option('--currency <code>', 'currency of the price', 'EUR')
    .option('--json', 'print JSON')
    .addHelpText('after', `\nExample:\n  bookiji schedule set V --file rules.json --price-cents 4500\n\nrules.json:\n${RULES_EXAMPLE}`)
    .action(async (vendor: string, options: { file: string; priceCents: string; currency: string; json?: boolean }) => {
      const { readFile } = await import('node:fs/promises');
      const { BookijiError } = await import('../../errors.js');
      let rules: unknown;
      try {
        rules = JSON.parse(await readFile(options.file, 'utf8'));
      } catch (error) {
        throw new BookijiError('VALIDATION_ERROR', `file: cannot read JSON from ${options.file}: ${(error as Error).message}`, { details: { field: 'file' } });
      }
      const { withDatabase } = await import('../context.js');
      const { setSchedule } = await import('../../api/schedules.js');
      const { CLI_OPERATOR } = await import('../../engine/actor.js');
      const stored = await withDatabase(({ pool }) =>
        setSchedule(pool, vendor, rules, { priceCents: options.priceCents, currency: options.currency }, CLI_OPERATOR),
      );
      if (options.json) printJson(stored);
      else
        printRecord({
          vendor: stored.vendorId,
          timezone: stored.rules.timezone,
          'slot minutes': stored.rules.slotDurationMin,
          'days ahead': stored.rules.maxDaysAhead,
          updated: stored.updatedAt,
        });
    });
}

function registerScheduleShow(schedule: Command): void {
  schedule
    .command('show <vendor>')
    .description("Show a vendor's schedule rules.")
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExample:\n  bookiji schedule show V --json')
    .action(async (vendor: string, options: { json?: boolean }) => {
      const { withDatabase } = await import('../context.js');
      const { getSchedule } = await import('../../api/schedules.js');
      const stored = await withDatabase(({ pool }) => getSchedule(pool, vendor));
      if (options.json) printJson(stored);
      else printRecord({ vendor: stored.vendorId, price: `${stored.priceCents} ${stored.currency}`, rules: stored.rules, updated: stored.updatedAt });
    });
}

function registerScheduleRefresh(schedule: Command): void {
  schedule
    .command('refresh <vendor>')
    .description(
      "Regenerate the vendor's slots from its rules and imported busy times, from now to its horizon. Booked slots the rules drop become legacy (kept for their bookings, hidden from new ones).",
    )
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExample:\n  bookiji schedule refresh V')
    .action(async (vendor: string, options: { json?: boolean }) => {
      const { withDatabase } = await import('../context.js');
      const { refreshSchedule } = await import('../../api/schedules.js');
      const { CLI_OPERATOR } = await import('../../engine/actor.js');
      const result = await withDatabase(({ pool }) => refreshSchedule(pool, vendor, CLI_OPERATOR));
      if (options.json) printJson(result);
      else
        printRecord({
          from: result.window.from,
          to: result.window.to,
          created: result.created,
          kept: result.kept,
          'made legacy': result.madeLegacy,
          restored: result.restored,
          deleted: result.deleted,
          blocked: result.blocked,
        });
    });
}

/** Adds `import-ics` to the existing `vendor` command group. */
export function registerVendorImportIcs(program: Command): void {
  const vendor = program.commands.find((command) => command.name() === 'vendor');
  if (!vendor) throw new Error('registerVendorImportIcs: register the vendor command first');
  vendor
    .command('import-ics <vendor> <file>')
    .description('Import busy times from an iCalendar file (recurring events expanded), replacing the previous import. Run `schedule refresh` to apply.')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExample:\n  bookiji vendor import-ics V ~/exports/dr-rivera.ics && bookiji schedule refresh V')
    .action(async (vendorId: string, file: string, options: { json?: boolean }) => {
      const { withDatabase } = await import('../context.js');
      const { importIcsFile } = await import('../../api/schedules.js');
      const { CLI_OPERATOR } = await import('../../engine/actor.js');
      const result = await withDatabase(({ pool }) => importIcsFile(pool, vendorId, file, CLI_OPERATOR));
      if (options.json) printJson(result);
      else printRecord({ import: result.importId, 'busy intervals': result.intervals, imported: result.importedAt });
    });
}
