// How the CLI speaks: tables and colour for people, JSON for scripts.
// chalk already honours NO_COLOR, FORCE_COLOR and a non-TTY stdout.

import { chalk } from './colour.js';
import { BookijiError } from '../errors.js';
import { renderTable } from './table.js';

export interface OutputOptions {
  json?: boolean;
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export function printTable(head: string[], rows: Array<Array<string | number | boolean | null | undefined>>): void {
  const cells = rows.map((row) => row.map((cell) => (cell === null || cell === undefined ? '' : String(cell))));
  const bold = head.map((h) => chalk.bold(h));
  process.stdout.write(`${renderTable(bold, cells)}\n`);
}

/** Key/value block for one record. */
export function printRecord(record: Record<string, unknown>): void {
  const width = Math.max(...Object.keys(record).map((k) => k.length));
  for (const [key, value] of Object.entries(record)) {
    process.stdout.write(`${chalk.dim(key.padEnd(width))}  ${formatValue(value)}\n`);
  }
}

export function formatValue(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

export function success(message: string): void {
  process.stdout.write(`${chalk.green('✔')} ${message}\n`);
}

export function note(message: string): void {
  process.stderr.write(`${chalk.dim(message)}\n`);
}

export function stateColour(state: string): string {
  switch (state) {
    case 'confirmed':
      return chalk.green(state);
    case 'held':
      return chalk.yellow(state);
    case 'cancelled':
    case 'expired':
      return chalk.dim(state);
    default:
      return state;
  }
}

/** Errors go to stderr: code, message, hint; JSON when asked. Never a stack unless --debug. */
export function printError(error: BookijiError, options: { json: boolean; debug: boolean }): void {
  if (options.json) {
    process.stderr.write(`${JSON.stringify({ error: error.toJSON() })}\n`);
  } else {
    process.stderr.write(`${chalk.red(`error ${error.code}`)}: ${error.message}\n`);
    process.stderr.write(`${chalk.dim(`hint: ${error.hint}`)}\n`);
  }
  if (options.debug) {
    process.stderr.write(`${error.stack ?? ''}\n`);
    if (error.cause instanceof Error) process.stderr.write(`caused by: ${error.cause.stack ?? error.cause.message}\n`);
  }
}
