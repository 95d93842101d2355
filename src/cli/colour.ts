// The colours of our output: chalk, or, where chalk would print no colour,
// plain text without loading chalk (about 14 ms of CPU in every command's
// start-up with stdout piped, as in scripts and the bench). Every module in
// src imports chalk from here (biome.json forbids 'chalk' elsewhere in src).
//
// chalk 5 picks one colour level when it loads, from stdout (its vendored
// supports-color). The level is 0, so every style returns its text as it is,
// whenever stdout is not a terminal and nothing forces colour: FORCE_COLOR
// unset, no --color… flag in argv, not Azure Pipelines (TF_BUILD with
// AGENT_NAME). Only then is chalk skipped; otherwise chalk loads and decides.
// test/cli/colour.test.ts runs chalk under those conditions and others.

import { isatty } from 'node:tty';

type Style = (...text: unknown[]) => string;

export interface Colours {
  bold: Style;
  dim: Style;
  green: Style & { bold: Style };
  red: Style & { bold: Style };
  yellow: Style & { bold: Style };
}

/** True where chalk's colour level is certainly 0 (it may be 0 elsewhere too: then chalk is loaded to say so). */
export function chalkPrintsPlain(env: NodeJS.ProcessEnv, argv: readonly string[], stdoutIsTerminal: boolean): boolean {
  const forced = 'FORCE_COLOR' in env || argv.some((arg) => arg.startsWith('--color')) || ('TF_BUILD' in env && 'AGENT_NAME' in env);
  return !forced && !stdoutIsTerminal;
}

// What a chalk style at level 0 returns: its arguments as text, joined by spaces.
const unstyled: Style = (...text) => (text.length === 1 ? `${text[0]}` : text.join(' '));
const withBold = (style: Style): Style & { bold: Style } => Object.assign((...text: unknown[]) => style(...text), { bold: unstyled });

export const PLAIN_COLOURS: Colours = { bold: unstyled, dim: unstyled, green: withBold(unstyled), red: withBold(unstyled), yellow: withBold(unstyled) };

export const chalk: Colours = chalkPrintsPlain(process.env, process.argv, isatty(1)) ? PLAIN_COLOURS : (await import('chalk')).default;
