// The sandbox and these tests compile against the installed `stripe` types,
// and the same compiler rejects a deliberately incomplete Stripe object.

import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../..');
const tscPath = path.join(repo, 'node_modules/typescript/bin/tsc');

function typecheck(project: string): { status: number | null; output: string } {
  const run = spawnSync(process.execPath, [tscPath, '-p', project], { cwd: repo, encoding: 'utf8' });
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

describe('type checking against the stripe package', () => {
  it('compiles the sandbox and its tests cleanly', () => {
    // Proves every object the sandbox builds and every typed response in the tests matches Stripe's TypeScript types.
    const result = typecheck('test/sandbox/tsconfig.json');
    expect(result.output).toBe('');
    expect(result.status).toBe(0);
  });

  it('compiles the conformance suite, its runner and its lenient fixture cleanly', () => {
    // Proves the conformance cases call real SDK methods with Stripe's own types (test/conformance/tsconfig.json).
    const result = typecheck('test/conformance/tsconfig.json');
    expect(result.output).toBe('');
    expect(result.status).toBe(0);
  });

  it('fails on a PaymentIntent missing a field and on an incomplete field list', () => {
    // Twin: the same compiler run on the ill-typed fixture reports exactly the two missing fields.
    const result = typecheck('test/sandbox/fixtures/typeErrors/tsconfig.json');
    expect(result.status).not.toBe(0);
    expect(result.output).toContain("Property 'client_secret' is missing");
    expect(result.output).toContain("Property 'status' is missing");
  });
});
