/**
 * The test run's temp parent directory (made by global-setup.ts, which points TMPDIR at it):
 * what is left in it, and removing it. Used by the globalSetup teardown and the summary
 * reporter, both in vitest's main process (no vitest runner imports here).
 */
import { readdirSync, rmSync } from 'node:fs';

/** The environment variable holding the run's temp parent (set by global-setup.ts). */
export const RUN_TMP_ENV = 'CALLFORM_TEST_TMP';

/** The names of the entries still in `parent` (sorted), or [] when it is empty or gone. */
export function tempLeftovers(parent: string): string[] {
  try {
    return readdirSync(parent).sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

export function removeRunTemp(parent: string): void {
  rmSync(parent, { recursive: true, force: true, maxRetries: 5, retryDelay: 50 });
}
