// The conformance cases against Stripe's own test mode, one test per case:
// how the expectations in cases.ts are checked against the real thing.
// Opt-in: `STRIPE_CONFORMANCE_KEY=sk_test_… npm run conformance:stripe`.
// Not part of `npm test` (its name does not end in .test.ts), and without a
// key vitest.stripe.config.ts selects no file at all, so nothing is skipped.

import Stripe from 'stripe';
import { describe, expect, it } from 'vitest';
import { CONFORMANCE_CASES } from './cases.js';
import { runCase } from './runner.js';

const key = process.env.STRIPE_CONFORMANCE_KEY ?? '';
if (!key.startsWith('sk_test_')) throw new Error('STRIPE_CONFORMANCE_KEY must be a test-mode secret key (sk_test_…); live keys are refused');

const stripe = new Stripe(key, { maxNetworkRetries: 2, timeout: 20_000, appInfo: { name: 'bookiji-conformance' } });

describe('Stripe test mode conformance', () => {
  for (const testCase of CONFORMANCE_CASES) {
    it(`${testCase.id}: ${testCase.title}`, async () => {
      // Proves the expectation (cited in cases.ts) holds on Stripe itself; events are looked for for up to 30 s.
      const outcome = await runCase(stripe, testCase, { eventWaitMs: 30_000 });
      expect(outcome.mismatches, testCase.cite.join(' ')).toEqual([]);
    });
  }
});
