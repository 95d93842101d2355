import { defineConfig } from 'vitest/config';

// `npm run conformance:stripe`: the conformance cases against Stripe's test
// mode. Needs STRIPE_CONFORMANCE_KEY=sk_test_…; without it no file is
// selected and the run passes with nothing to do (no skipped test is left
// behind in any suite). No PostgreSQL is needed.
const key = process.env.STRIPE_CONFORMANCE_KEY;
if (!key) console.log('conformance:stripe: STRIPE_CONFORMANCE_KEY is not set; nothing to run against Stripe test mode.');

export default defineConfig({
  test: {
    include: key ? ['test/conformance/stripe.conformance.ts'] : [],
    passWithNoTests: true,
    testTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 1,
  },
});
