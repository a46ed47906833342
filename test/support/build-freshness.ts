/**
 * Is dist/ a build of the current src/? The integration, reliability and corpus tests run
 * dist/cli.js, so a stale build would test old code. Used by test/support/global-setup.ts.
 *
 * `npm run build` ends with scripts/postbuild.mjs, which touches dist/.build-stamp only
 * once tsc has succeeded. dist/ is fresh when that stamp exists and no build input
 * (src/, schemas/, tsconfig.json, the bundle and postbuild scripts) is newer than it. The stamp, not
 * simply the newest file in dist/, because tsc emits even when it then fails on type
 * errors: a failed build must not count as fresh. An mtime scan only: cheap enough to
 * run before every test run (about 100 files).
 */
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';

const BUILD_STAMP = path.join('dist', '.build-stamp');
/** What `npm run build` reads (relative to the repository root; missing ones are skipped). */
const BUILD_INPUTS = [
  'src',
  'schemas',
  'tsconfig.json',
  ...['postbuild.mjs', 'bundle.mjs', 'cli-loader.mjs'].map((f) => path.join('scripts', f)),
];

/** The newest file under `entry` (a file or a directory): its path and mtime, or null when there is none. */
async function newest(entry: string): Promise<{ file: string; mtimeMs: number } | null> {
  let st;
  try {
    st = await stat(entry);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  if (!st.isDirectory()) return { file: entry, mtimeMs: st.mtimeMs };
  // A directory's own mtime moves when a file in it is added, renamed or deleted.
  let best = { file: entry, mtimeMs: st.mtimeMs };
  for (const name of await readdir(entry)) {
    const n = await newest(path.join(entry, name));
    if (n && n.mtimeMs >= best.mtimeMs) best = n; // ties: name the file, not its directory
  }
  return best;
}

/** Why the build in `root` is stale (one line, paths relative to root), or null when it is fresh. */
export async function staleBuildReason(
  root: string,
  inputs: string[] = BUILD_INPUTS,
  stamp: string = BUILD_STAMP,
): Promise<string | null> {
  let built: number;
  try {
    built = (await stat(path.join(root, stamp))).mtimeMs;
  } catch {
    return `${stamp} is missing (never built, or the last build failed)`;
  }
  for (const input of inputs) {
    const n = await newest(path.join(root, input));
    if (n && n.mtimeMs > built) return `${path.relative(root, n.file)} is newer than the last build`;
  }
  return null;
}
