// src/cli/colour.ts skips chalk only where chalk prints no colour. Each case
// runs a fresh Node with stdout piped (as scripts and the bench run us) and
// the case's environment and flags, and prints every style through chalk
// itself and through ours. Ours must equal chalk's everywhere, and wherever
// chalkPrintsPlain says plain, chalk must have printed no escape code. Its
// twin: a rule that looks at the terminal alone calls FORCE_COLOR plain and
// is caught. On the compiled dist/ like the other CLI tests (`npm run build`).

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { chalkPrintsPlain } from '../../src/cli/colour.js';
import { BIN } from './helpers.js';

const ROOT = path.resolve(path.dirname(BIN), '..');
const COLOUR_MODULE = pathToFileURL(path.join(ROOT, 'dist', 'cli', 'colour.js')).href;
const CHALK_MODULE = pathToFileURL(path.join(ROOT, 'node_modules', 'chalk', 'source', 'index.js')).href;

const PRINT_STYLES = `
const chalk = (await import(${JSON.stringify(CHALK_MODULE)})).default;
const ours = (await import(${JSON.stringify(COLOUR_MODULE)})).chalk;
const styles = (c) => [c.bold('b'), c.dim('d'), c.green('g'), c.green.bold('gb'), c.red('r', 2), c.red.bold('rb'), c.yellow(''), c.yellow.bold('yb')];
console.log(JSON.stringify({ chalk: styles(chalk), ours: styles(ours) }));
`;

interface Case {
  name: string;
  env: Record<string, string>;
  flags: string[];
}

const CASES: Case[] = [
  { name: 'nothing set', env: {}, flags: [] },
  { name: 'FORCE_COLOR=1', env: { FORCE_COLOR: '1' }, flags: [] },
  { name: 'FORCE_COLOR empty', env: { FORCE_COLOR: '' }, flags: [] },
  { name: 'FORCE_COLOR=0', env: { FORCE_COLOR: '0' }, flags: [] },
  { name: 'FORCE_COLOR=3 with --no-color', env: { FORCE_COLOR: '3' }, flags: ['--no-color'] },
  { name: 'Azure Pipelines', env: { TF_BUILD: 'True', AGENT_NAME: 'agent' }, flags: [] },
  { name: 'a colour terminal type, but piped', env: { TERM: 'xterm-256color', COLORTERM: 'truecolor' }, flags: [] },
  { name: 'CI on GitHub Actions, piped', env: { CI: 'true', GITHUB_ACTIONS: 'true' }, flags: [] },
  { name: 'NO_COLOR', env: { NO_COLOR: '1' }, flags: [] },
  { name: '--color', env: {}, flags: ['--color'] },
  { name: '--color=256', env: {}, flags: ['--color=256'] },
];

const workDir = mkdtempSync(path.join(os.tmpdir(), 'bookiji-colour-'));
const script = path.join(workDir, 'styles.mjs');
writeFileSync(script, PRINT_STYLES);
afterAll(() => rmSync(workDir, { recursive: true, force: true }));

function stylesUnder(testCase: Case): { chalk: string[]; ours: string[] } {
  const env: Record<string, string | undefined> = {
    ...process.env,
    FORCE_COLOR: undefined,
    NO_COLOR: undefined,
    TF_BUILD: undefined,
    CI: undefined,
    ...testCase.env,
  };
  const child = spawnSync(process.execPath, [script, ...testCase.flags], { env, encoding: 'utf8' });
  if (child.status !== 0) throw new Error(child.stderr);
  return JSON.parse(child.stdout) as { chalk: string[]; ours: string[] };
}

const observed = CASES.map((testCase) => ({ testCase, ...stylesUnder(testCase) }));

/** Cases a rule calls plain where chalk printed colour. */
function wronglyPlain(rule: (env: NodeJS.ProcessEnv, argv: readonly string[], stdoutIsTerminal: boolean) => boolean): string[] {
  return observed
    .filter(({ testCase, chalk }) => rule(testCase.env, ['node', 'script', ...testCase.flags], false) && chalk.some((text) => text.includes('\u001b[')))
    .map(({ testCase }) => testCase.name);
}

describe('colours', () => {
  it('are chalk’s, with and without chalk loaded', () => {
    for (const { testCase, chalk, ours } of observed) expect({ case: testCase.name, styles: ours }).toEqual({ case: testCase.name, styles: chalk });
    // Guards the cases: some must colour, or the equality above proves nothing about loading chalk.
    expect(observed.filter(({ chalk }) => chalk.some((text) => text.includes('\u001b['))).length).toBeGreaterThan(3);
  });

  it('skip chalk only where it prints no colour', () => {
    expect(wronglyPlain(chalkPrintsPlain)).toEqual([]);
  });

  it('notice a rule that calls forced colour plain', () => {
    // Twin: looking at the terminal alone.
    expect(wronglyPlain((_env, _argv, stdoutIsTerminal) => !stdoutIsTerminal)).toContain('FORCE_COLOR=1');
  });
});
