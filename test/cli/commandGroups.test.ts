// The command groups (src/cli/commands/groups.ts), each registered alone as
// `bookiji <group>` does, against the whole tree `bookiji --help` builds
// (registerCommands): the same top-level commands in the same order, and each
// group with the same commands, options and help text as in the whole tree.
// A group that loads only part of its definition, or needs another group to
// complete it, fails.

import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { type CommandGroup, COMMAND_GROUPS, invokedGroup, registerCommands } from '../../src/cli/commands/groups.js';
import { registerVendor } from '../../src/cli/commands/vendor.js';

function helpOf(command: Command): string {
  let text = '';
  command.configureOutput({ writeOut: (chunk) => (text += chunk), writeErr: (chunk) => (text += chunk) });
  command.outputHelp();
  return text;
}

/** Every command under `command` (itself included), keyed by its path, with its help text. */
function helpTree(command: Command, path: string[] = []): Map<string, string> {
  const here = [...path, command.name()];
  const tree = new Map([[here.join(' '), helpOf(command)]]);
  for (const child of command.commands) for (const [key, help] of helpTree(child, here)) tree.set(key, help);
  return tree;
}

/** What differs between `table` and the whole tree; empty when they agree. */
async function driftOf(table: readonly CommandGroup[]): Promise<string[]> {
  const whole = new Command('bookiji');
  await registerCommands(whole);
  const wholeNames = whole.commands.map((command) => command.name());
  const tableNames = table.map((group) => group.name);
  const drift = wholeNames.join(' ') === tableNames.join(' ') ? [] : [`names: table [${tableNames.join(' ')}], tree [${wholeNames.join(' ')}]`];
  for (const group of table) {
    const alone = new Command('bookiji');
    (await group.load())(alone);
    const registered = alone.commands.map((command) => command.name());
    if (registered.join(' ') !== group.name) drift.push(`${group.name}: registers [${registered.join(' ')}]`);
    const inWhole = whole.commands.find((command) => command.name() === group.name);
    const expected = inWhole ? helpTree(inWhole, ['bookiji']) : new Map<string, string>();
    const actual = alone.commands[0] ? helpTree(alone.commands[0], ['bookiji']) : new Map<string, string>();
    for (const key of new Set([...expected.keys(), ...actual.keys()])) {
      if (expected.get(key) !== actual.get(key)) drift.push(`${key}: help differs`);
    }
  }
  return drift;
}

describe('the command group table', () => {
  it('registers, group by group, exactly the tree --help lists', async () => {
    expect(await driftOf(COMMAND_GROUPS)).toEqual([]);
  });

  it('notices a drifted table', async () => {
    // Twin: one group missing, and vendor loading only part of itself (no import-ics).
    const drifted = COMMAND_GROUPS.filter((group) => group.name !== 'holds').map((group) =>
      group.name === 'vendor' ? { name: 'vendor', load: async () => registerVendor } : group,
    );
    const drift = await driftOf(drifted);
    expect(drift.some((line) => line.startsWith('names:'))).toBe(true);
    expect(drift).toContain('bookiji vendor import-ics: help differs');
    expect(drift).toContain('bookiji vendor: help differs');
  });

  it('picks the group only when the first argument names it', () => {
    const argv = (...args: string[]): string[] => ['node', 'bookiji', ...args];
    expect(invokedGroup(argv('slot', 'list', '--vendor', 'V'))?.name).toBe('slot');
    expect(invokedGroup(argv('stripe-sandbox', 'start'))?.name).toBe('stripe-sandbox');
    for (const wholeTree of [argv(), argv('--help'), argv('--version'), argv('--debug', 'slot', 'list'), argv('help', 'slot'), argv('teleport')]) {
      expect(invokedGroup(wholeTree)).toBeUndefined();
    }
  });
});
