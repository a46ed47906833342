/**
 * Vitest global setup.
 *
 * Never test a stale build: if dist/ is not a successful build of the current sources (see
 * build-freshness.ts), run `npm run build` once, say so in one line, and fail the whole run
 * loudly if the build fails. `npm test` builds first, so there this is only an mtime scan. In
 * watch mode the check runs again before each rerun.
 *
 * No temp files left behind: the run gets its own parent directory (`callform-test-run-*` in
 * the OS temp directory) and TMPDIR points at it, so `os.tmpdir()` in the test workers and in
 * every CLI or simulator they spawn lands there (several runs on one machine do not see each
 * other's files). At the end the teardown lists what is left in it, removes it, and fails the
 * run (exit code 1, naming the leftovers) when anything was left: the tests' helpers
 * (test/support/temp.ts) remove what they make, and callform itself must not leak temp files.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { staleBuildReason } from './build-freshness.js';
import { REPO_ROOT as REPO } from './repo.js';
import { RUN_TMP_ENV, tempLeftovers, removeRunTemp } from './run-temp.js';

async function ensureFreshBuild(): Promise<void> {
  const reason = await staleBuildReason(REPO);
  if (!reason) return;
  const started = Date.now();
  const r = spawnSync('npm', ['run', 'build'], { cwd: REPO, encoding: 'utf8', shell: process.platform === 'win32' });
  if (r.error || r.status !== 0) {
    // Both are null when npm could not be started at all (r.error).
    const output = `${(r.stdout as string | null) ?? ''}${(r.stderr as string | null) ?? ''}`.trim();
    throw new Error(
      `dist/ is stale (${reason}) and \`npm run build\` failed (${r.error ? r.error.message : `exit ${r.status}`}): not running the tests against an old build.\n${output}`,
    );
  }
  const still = await staleBuildReason(REPO);
  if (still) throw new Error(`dist/ is still stale after \`npm run build\`: ${still}`);
  process.stdout.write(
    `[build] dist/ was stale (${reason}): rebuilt with npm run build in ${((Date.now() - started) / 1000).toFixed(1)} s\n`,
  );
}

/** Creates the run's temp parent and points TMPDIR (so os.tmpdir()) at it; returns the teardown check. */
function useRunTemp(): () => void {
  const outer = process.env.TMPDIR;
  const parent = mkdtempSync(path.join(tmpdir(), 'callform-test-run-'));
  process.env.TMPDIR = parent;
  process.env[RUN_TMP_ENV] = parent;
  return () => {
    const left = tempLeftovers(parent);
    if (outer === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = outer;
    delete process.env[RUN_TMP_ENV];
    removeRunTemp(parent);
    if (left.length > 0) {
      // A teardown error alone is only logged by vitest: set the exit code too.
      process.exitCode = 1;
      throw new Error(
        `the tests left ${left.length} temp ${left.length === 1 ? 'entry' : 'entries'} behind (removed now): ${left.join(', ')}\n` +
          'hint: make temp dirs with tempDir()/tempTree()/createProject() from test/support (they remove them), or remove them in afterEach/afterAll/finally',
      );
    }
  };
}

export default async function setup(project: TestProject): Promise<() => void> {
  await ensureFreshBuild();
  project.onTestsRerun(() => ensureFreshBuild());
  return useRunTemp();
}
