import { defineConfig } from 'vitest/config';

// The sandbox tests need no PostgreSQL, so they can also run without the
// project's global setup: `npx vitest run --config test/sandbox/vitest.config.ts`.
// The project's own config (`npx vitest run test/sandbox`) runs them as well.
export default defineConfig({
  test: {
    include: ['test/sandbox/**/*.test.ts'],
    testTimeout: 60_000,
    pool: 'forks',
    maxWorkers: 2,
  },
});
