// A TypeScript mutant runs from a copy of the built tree with one dist file
// patched: node_modules, migrations and scenarios are linked, package.json
// copied, so the child process resolves everything as the real one does.
// bin/ is copied, not linked: scenarios that start `bookiji serve` run the
// copy's bin/bookiji, and Node resolves a linked entry script to its real
// path, whose `../dist` is the real engine's, not the mutant's.

import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { replaceOnce } from './sqlEdit.js';
import type { DistPatch } from './types.js';

/** The package root: this file sits three levels below it, in src/ or dist/. */
export function packageRoot(): string {
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
}

export interface PatchedTree {
  root: string;
  remove(): void;
}

export function makePatchedTree(patch: DistPatch, root = packageRoot()): PatchedTree {
  const copy = mkdtempSync(path.join(tmpdir(), 'bookiji-mutant-'));
  const remove = (): void => rmSync(copy, { recursive: true, force: true });
  try {
    for (const copied of ['dist', 'bin']) cpSync(path.join(root, copied), path.join(copy, copied), { recursive: true });
    for (const linked of ['node_modules', 'migrations', 'scenarios']) symlinkSync(path.join(root, linked), path.join(copy, linked), 'dir');
    writeFileSync(path.join(copy, 'package.json'), readFileSync(path.join(root, 'package.json')));
    const file = path.join(copy, 'dist', patch.file);
    writeFileSync(file, replaceOnce(readFileSync(file, 'utf8'), patch.from, patch.to, `dist/${patch.file}`));
  } catch (error) {
    remove();
    throw error;
  }
  return { root: copy, remove };
}
