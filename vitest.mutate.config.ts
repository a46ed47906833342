import { defineConfig } from 'vitest/config';

/**
 * Vitest config for mutation testing (`npm run mutate`, see stryker.config.mjs and
 * docs/testing.md): the fast unit tests only, with no globalSetup, since none of them runs
 * dist/cli.js. Stryker runs these tests once per mutant, so they must stay quick.
 */
export default defineConfig({
  test: {
    include: ['test/unit/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
