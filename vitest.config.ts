import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Integration, reliability and corpus tests run dist/cli.js: rebuild it first if stale. It also
    // gives the run its own temp directory and fails the run when a test leaves anything in it.
    // postgres-setup.ts starts one real PostgreSQL server for the run (in the system temp dir).
    // Listed last so its teardown runs first: the leftover check's failure cannot skip it.
    globalSetup: ['./test/support/global-setup.ts', './test/support/postgres-setup.ts'],
    reporters: ['default', './test/support/summary-reporter.ts'],
    // Golden files (test/golden, toMatchFileSnapshot): a missing or different one fails the test.
    // CALLFORM_UPDATE_GOLDEN=1 rewrites them (review the diff before committing); so does `vitest -u`.
    update: process.env.CALLFORM_UPDATE_GOLDEN === '1' ? 'all' : 'none',
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Integration tests spawn the CLI; two cores here.
    maxWorkers: 2,
  },
});
