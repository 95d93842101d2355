// Our pg module (src/db/pg.ts) loads pg without its Cloudflare probe: no
// undici in a fresh Node process that imports it, the global Response still
// there afterwards, and the same pg as `import 'pg'`. Its twin imports pg
// directly and sees the probe load undici. Each runs in a fresh process
// without a navigator (Node ≥ 21 has one, which answers the probe instead),
// on the compiled dist/ like the other CLI tests (`npm run build`).

import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { BIN } from './helpers.js';

const PG_MODULE = pathToFileURL(path.resolve(path.dirname(BIN), '..', 'dist', 'db', 'pg.js')).href;

interface LoadReport {
  undiciLoaded: boolean;
  responseIsFunction: boolean;
  sameAsPackage: boolean;
}

function loadInFreshNode(specifier: string): LoadReport {
  // undici is read from moduleLoadList before anything touches Response (which would load it).
  const script = `delete globalThis.navigator;
    const pg = (await import(${JSON.stringify(specifier)})).default;
    const undiciLoaded = process.moduleLoadList.some((name) => name.includes('undici'));
    const packaged = (await import('pg')).default;
    console.log(JSON.stringify({ undiciLoaded, responseIsFunction: typeof Response === 'function', sameAsPackage: pg === packaged }));`;
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: path.dirname(BIN), encoding: 'utf8' });
  if (child.status !== 0) throw new Error(child.stderr);
  return JSON.parse(child.stdout) as LoadReport;
}

describe('loading pg', () => {
  it('through src/db/pg.ts skips the Cloudflare probe and leaves Response in place', () => {
    expect(loadInFreshNode(PG_MODULE)).toEqual({ undiciLoaded: false, responseIsFunction: true, sameAsPackage: true });
  });

  it('directly, runs the probe that loads undici', () => {
    // Twin: the plain package import, so the check above could fail.
    expect(loadInFreshNode('pg')).toMatchObject({ undiciLoaded: true });
  });
});
