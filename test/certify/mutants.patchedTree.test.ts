// Proves: a TypeScript mutant's tree runs the mutant in every process it starts, the `bookiji` its scenarios spawn (bin/bookiji, as SC-6 starts `serve`) included; without bin/ in the copy, SC-6 could not start serve and "killed" every TypeScript mutant it met, whatever the mutant.
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { makePatchedTree } from '../../src/certify/mutants/patchedTree.js';

const SHIPPED_HELP = "Run the project's catalogue of engine mutants";
const PATCHED_HELP = 'Run the PATCHED catalogue of engine mutants';

describe('the patched tree of a TypeScript mutant', () => {
  it('starts bookiji from its own bin/, which runs the patched dist', () => {
    const tree = makePatchedTree({ file: 'cli/commands/certifyMutants.js', from: SHIPPED_HELP, to: PATCHED_HELP });
    try {
      const bin = path.join(tree.root, 'bin', 'bookiji');
      expect(existsSync(bin)).toBe(true);
      // A link would resolve to the real bin/ and so to the real dist/.
      expect(lstatSync(bin).isSymbolicLink()).toBe(false);
      const help = execFileSync(process.execPath, [bin, 'certify', 'mutants', '--help'], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
      expect(help).toContain(PATCHED_HELP);
      expect(help).not.toContain(SHIPPED_HELP);
    } finally {
      tree.remove();
    }
  }, 60_000);
});
