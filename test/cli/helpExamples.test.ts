// Every leaf command's --help teaches by example: at least one runnable
// `bookiji …` line under "Example:" or "Examples:".

import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { registerCommands } from '../../src/cli/commands/groups.js';

function leaves(command: Command, path: string[] = []): Array<{ name: string; command: Command }> {
  const here = [...path, command.name()];
  if (command.commands.length === 0) return [{ name: here.slice(1).join(' '), command }];
  return command.commands.flatMap((child) => leaves(child, here));
}

function helpOf(command: Command): string {
  let text = '';
  command.configureOutput({ writeOut: (chunk) => (text += chunk), writeErr: (chunk) => (text += chunk) });
  command.outputHelp();
  return text;
}

const EXAMPLE = /Examples?:\n(?:\s+.*\n)*?\s+bookiji \S+/;

const program = new Command('bookiji');
await registerCommands(program);

describe('--help of every leaf command', () => {
  const all = leaves(program);

  it('finds the command tree', () => {
    // Guards the walk itself: an empty tree would make the next test pass vacuously.
    expect(all.length).toBeGreaterThan(40);
  });

  it('shows an example invocation in every leaf', () => {
    // Proves CONTRIBUTING's promise for all of them, not a sample.
    const missing = all.filter((leaf) => !EXAMPLE.test(helpOf(leaf.command))).map((leaf) => leaf.name);
    expect(missing).toEqual([]);
  });

  it('notices a leaf without an example', () => {
    // Twin: a command with no after-help text fails the same check.
    const bare = new Command('bare').description('no example');
    expect(EXAMPLE.test(helpOf(bare))).toBe(false);
  });
});
