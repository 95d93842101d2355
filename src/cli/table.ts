// The text of a table as cli-table3 draws it with our settings (box
// characters, one space of padding, a rule between rows), without loading
// cli-table3 when it is not needed. Its first table took about 20 ms of a
// `bookiji slot list` (module loading, then drawing through cold code that
// measures every cell with string-width), a tenth of the command. Cells that
// are plain printable ASCII, one line each, in rows as long as the head, are
// one column each wide as their length, so we draw those ourselves; anything
// else (colour codes, wide or combining characters, line breaks, ragged
// rows) goes to cli-table3 itself. test/cli/table.test.ts proves both give
// the same text.

import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

const PLAIN_ASCII = /^[\x20-\x7e]*$/;

export function renderTable(head: string[], rows: string[][]): string {
  const all = [head, ...rows];
  const plain = head.length > 0 && all.every((row) => row.length === head.length && row.every((cell) => PLAIN_ASCII.test(cell)));
  return plain ? renderPlainTable(all) : renderWithCliTable3(head, rows);
}

function renderPlainTable(all: string[][]): string {
  const widths = all[0]!.map((_, column) => Math.max(...all.map((row) => row[column]!.length)));
  const rule = (left: string, middle: string, right: string): string => left + widths.map((width) => '─'.repeat(width + 2)).join(middle) + right;
  const line = (row: string[]): string => `│${row.map((cell, column) => ` ${cell.padEnd(widths[column]!)} `).join('│')}│`;
  const body = all.flatMap((row, index) => (index === 0 ? [line(row)] : [rule('├', '┼', '┤'), line(row)]));
  return [rule('┌', '┬', '┐'), ...body, rule('└', '┴', '┘')].join('\n');
}

export function renderWithCliTable3(head: string[], rows: string[][]): string {
  const Table = require('cli-table3') as typeof import('cli-table3');
  const table = new Table({ head, style: { head: [], border: [] } });
  for (const row of rows) table.push(row);
  return table.toString();
}
