// @ts-check
/**
 * Mutation testing (`npm run mutate`): see docs/testing.md for how to run it, read the
 * report, and the surviving mutants we accept as equivalent.
 *
 * @type {import('@stryker-mutator/api/core').PartialStrykerOptions}
 */
export default {
  testRunner: 'vitest',
  // Unit tests only, no globalSetup: none of them runs dist/cli.js.
  vitest: { configFile: 'vitest.mutate.config.ts' },
  checkers: ['typescript'],
  tsconfigFile: 'tsconfig.json',
  mutate: [
    'src/apply/**/*.ts',
    'src/state/**/*.ts',
    'src/plan/**/*.ts',
    'src/model/**/*.ts',
    'src/policy/**/*.ts',
    // Re-export barrels: nothing to mutate but export lists.
    '!src/**/index.ts',
  ],
  coverageAnalysis: 'perTest',
  // Run every test that covers a mutant, not just up to the first failure: the report then
  // lists all the tests that kill each mutant (docs/testing.md).
  disableBail: true,
  incremental: true,
  incrementalFile: 'reports/stryker-incremental.json',
  // 2 cores on the shared machine; raise it on your own.
  concurrency: 1,
  // The machine is busy: give a slow test run room before calling it a timeout.
  timeoutMS: 20_000,
  ignorePatterns: ['dist', 'coverage', 'bench/work', 'bench/results.json', '.stryker-tmp*'],
  reporters: ['clear-text', 'progress-append-only', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/mutation.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  clearTextReporter: { allowColor: false, logTests: false, reportScoreTable: true },
};
