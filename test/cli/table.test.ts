// renderTable (src/cli/table.ts) draws plain tables itself and hands the rest
// to cli-table3: either way the text must be cli-table3's, byte for byte.
// Seeded tables of plain ASCII (the path drawn by us) and of colour codes,
// wide and combining characters, emoji, line breaks and ragged rows (the
// path handed on), compared with cli-table3 drawing the same table. Its twin
// draws without the rules between rows and is caught.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { renderTable, renderWithCliTable3 } from '../../src/cli/table.js';

type Render = (head: string[], rows: string[][]) => string;

const plainCell = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((code) => String.fromCharCode(code)), maxLength: 12 });
const oddCell = fc.oneof(
  plainCell,
  fc.constantFrom('\u001b[1mbold\u001b[22m', '\u001b[32mconfirmed\u001b[39m', '日本語', 'e\u0301', '👩‍💻 dev', 'two\nlines', '\t', '', '│─'),
  fc.string({ maxLength: 6 }),
);

function tables(cell: fc.Arbitrary<string>, ragged: boolean): fc.Arbitrary<{ head: string[]; rows: string[][] }> {
  return fc.integer({ min: 1, max: 5 }).chain((columns) => {
    const row = ragged ? fc.array(cell, { minLength: 0, maxLength: columns + 1 }) : fc.array(cell, { minLength: columns, maxLength: columns });
    return fc.record({ head: fc.array(cell, { minLength: columns, maxLength: columns }), rows: fc.array(row, { maxLength: 5 }) });
  });
}

/** The first table on which `render` and cli-table3 differ, or undefined. */
function firstDifference(render: Render, cell: fc.Arbitrary<string>, ragged: boolean, seed: number): { head: string[]; rows: string[][] } | undefined {
  const samples = fc.sample(tables(cell, ragged), { seed, numRuns: 300 });
  return samples.find(({ head, rows }) => render(head, rows) !== renderWithCliTable3(head, rows));
}

describe('renderTable', () => {
  it('draws plain ASCII tables as cli-table3 does', () => {
    expect(firstDifference(renderTable, plainCell, false, 13)).toBeUndefined();
  });

  it('gives every other table to cli-table3', () => {
    expect(firstDifference(renderTable, oddCell, true, 31)).toBeUndefined();
  });

  it('draws the table of a slot list as cli-table3 does', () => {
    const head = ['id', 'start', 'end', 'capacity', 'booked', 'available', 'price', 'legacy'];
    const row = ['57b46597-caf5-4a8c-882b-22198c06e71b', '2030-01-31T09:00:00.000Z', '2030-01-31T09:30:00.000Z', '3', '1', '2', '4500 EUR', ''];
    expect(renderTable(head, [row, row])).toBe(renderWithCliTable3(head, [row, row]));
    expect(renderTable(head, [])).toBe(renderWithCliTable3(head, []));
  });

  it('notices a table drawn differently', () => {
    // Twin: the same drawing without the rules between rows.
    const withoutRules: Render = (head, rows) =>
      renderTable(head, rows)
        .split('\n')
        .filter((line) => !line.startsWith('├'))
        .join('\n');
    expect(firstDifference(withoutRules, plainCell, false, 13)).toBeDefined();
  });
});
