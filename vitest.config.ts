import { defineConfig } from 'vitest/config';

// Test files run in parallel worker processes; each file that needs a
// database gets its own, cloned from a migrated template on one PostgreSQL
// server that the global setup starts in a temporary directory (test/setup).
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/setup/globalSetup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 2,
    reporters: process.env.CI ? ['default'] : ['default'],
  },
});
