// The conformance suite against our Stripe sandbox (strict by default), and
// proof that the suite has teeth: the same cases against a deliberately
// lenient fixture (fixtures/lenientProxy.ts, the leniencies of issue 16 in
// front of the same sandbox) fail every case that guards against one.
// The same cases run against Stripe's test mode with `npm run conformance:stripe`.

import { afterEach, describe, expect, it } from 'vitest';
import { startStripeSandbox, stripeClient, type StripeSandbox } from '../../src/stripeSandbox/index.js';
import { CONFORMANCE_CASES } from './cases.js';
import { startLenientProxy, type LenientProxy } from './fixtures/lenientProxy.js';
import { runCases } from './runner.js';

let sandbox: StripeSandbox | undefined;
let proxy: LenientProxy | undefined;
afterEach(async () => {
  await proxy?.close();
  await sandbox?.close();
  proxy = undefined;
  sandbox = undefined;
});

const open = () => startStripeSandbox({ apiKey: 'sk_test_bookiji_conformance', webhookSecret: 'whsec_bookiji_conformance', seed: 'conformance' });

describe('Stripe conformance', () => {
  it('every case holds against our sandbox', async () => {
    // Proves the sandbox answers each documented request as Stripe does (responses, errors and events).
    sandbox = await open();
    const outcomes = await runCases(stripeClient(sandbox), CONFORMANCE_CASES);
    expect(outcomes.filter((o) => o.mismatches.length > 0)).toEqual([]);
    expect(outcomes).toHaveLength(CONFORMANCE_CASES.length);
  });

  it('fails every guarded case against a lenient server', async () => {
    // Twin: the leniencies the suite exists to catch, each made by the fixture, are each caught by at least one case.
    sandbox = await open();
    proxy = await startLenientProxy(sandbox.url);
    const outcomes = await runCases(stripeClient({ apiKey: sandbox.apiKey, host: proxy.host, port: proxy.port }), CONFORMANCE_CASES);
    const failed = new Set(outcomes.filter((o) => o.mismatches.length > 0).map((o) => o.id));
    const guarded = CONFORMANCE_CASES.filter((c) => c.guards !== null);
    expect(guarded.filter((c) => !failed.has(c.id)).map((c) => c.id)).toEqual([]);
    // Every leniency the fixture makes is guarded by some case, and unguarded cases still pass through it.
    expect(new Set(guarded.map((c) => c.guards))).toEqual(new Set(proxy.leniencies));
    expect(CONFORMANCE_CASES.filter((c) => c.guards === null && failed.has(c.id)).map((c) => c.id)).toEqual([]);
  });

  it('cites a source for every case and names each case once', () => {
    // Proves the list is usable as a reference: unique ids, each with at least one doc or spec citation.
    const ids = CONFORMANCE_CASES.map((c) => c.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const c of CONFORMANCE_CASES) expect(c.cite.length, c.id).toBeGreaterThan(0);
    for (const c of CONFORMANCE_CASES) for (const cite of c.cite) expect(cite, c.id).toMatch(/^(https:\/\/docs\.stripe\.com\/|openapi\/spec3\.json#)/);
  });
});
