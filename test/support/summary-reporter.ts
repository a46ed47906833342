import type { Reporter, TestModule } from 'vitest/node';
import { RUN_TMP_ENV, tempLeftovers } from './run-temp.js';

/**
 * Prints the closing line CI reads: `N passed, N failed[, N skipped]`. Temp entries the tests
 * left in the run's temp directory (see global-setup.ts) count as one failure, named here;
 * the globalSetup teardown then fails the run's exit code.
 */
export default class SummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>, unhandledErrors: ReadonlyArray<unknown>): void {
    let passed = 0;
    let failed = 0;
    let skipped = 0;
    for (const mod of testModules) {
      for (const test of mod.children.allTests()) {
        const state = test.result().state;
        if (state === 'passed') passed++;
        else if (state === 'failed') failed++;
        else skipped++;
      }
      // A file that failed to load has no tests but is a failure.
      if (mod.state() === 'failed' && [...mod.children.allTests()].length === 0) failed++;
    }
    failed += unhandledErrors.length;
    const runTmp = process.env[RUN_TMP_ENV];
    const left = runTmp ? tempLeftovers(runTmp) : [];
    if (left.length > 0) {
      failed++;
      process.stdout.write(`\nFAIL temp files left behind in ${runTmp}: ${left.join(', ')}\n`);
    }
    process.stdout.write(`\n${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}\n`);
  }
}
