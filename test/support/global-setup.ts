/**
 * Vitest global setup: never test a stale build. If dist/ is not a successful build of
 * the current sources (see build-freshness.ts), run `npm run build` once, say so in one
 * line, and fail the whole run loudly if the build fails. `npm test` builds first, so
 * there this is only an mtime scan. In watch mode the check runs again before each rerun.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';
import { staleBuildReason } from './build-freshness.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

async function ensureFreshBuild(): Promise<void> {
  const reason = await staleBuildReason(REPO);
  if (!reason) return;
  const started = Date.now();
  const r = spawnSync('npm', ['run', 'build'], { cwd: REPO, encoding: 'utf8', shell: process.platform === 'win32' });
  if (r.error || r.status !== 0) {
    const output = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim();
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

export default async function setup(project: TestProject): Promise<void> {
  await ensureFreshBuild();
  project.onTestsRerun(() => ensureFreshBuild());
}
