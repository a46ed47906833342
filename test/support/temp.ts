/**
 * Temporary directories for tests, removed by the helpers themselves: a directory made
 * while a test runs (in the test or its beforeEach) is removed when that test finishes,
 * pass or fail; one made outside a test (beforeAll, a describe body) when the test file
 * finishes. Everything lives under `os.tmpdir()`, which the vitest globalSetup
 * (global-setup.ts) points at one directory per run and checks for leftovers at the end.
 *
 * Import this module from test files only (it registers a file-level afterAll hook). In
 * `it.concurrent` tests vitest does not know which test is running: pass scope 'file' there
 * (and remove the directory in a finally when the file makes many).
 */
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, onTestFinished } from 'vitest';

export { REPO_ROOT } from './repo.js';

/** Directories made outside a test: removed when the test file finishes. */
const fileScoped = new Set<string>();

/** Removes a temp directory; retries while a child process that was just killed lets go of it. */
export async function removeTempDir(dir: string): Promise<void> {
  fileScoped.delete(dir);
  await rm(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 50 });
}

afterAll(async () => {
  await Promise.all([...fileScoped].map(removeTempDir));
});

/**
 * When a temp directory is removed: 'auto' at the end of the test that made it (of the file
 * when made outside a test), 'file' at the end of the test file in any case.
 */
export type TempScope = 'auto' | 'file';

/** Registers `dir` for removal (see {@link TempScope}). */
function trackTempDir(dir: string, scope: TempScope = 'auto'): string {
  // The file's afterAll removes it in any case (also when onTestFinished hooks do not run: a
  // test skipped with ctx.skip()); inside a test, it goes as soon as that test finishes.
  fileScoped.add(dir);
  if (scope === 'file') return dir;
  try {
    onTestFinished(() => removeTempDir(dir));
  } catch {
    // Not inside a test: onTestFinished throws there.
  }
  return dir;
}

/** A fresh directory `os.tmpdir()/<prefix>XXXXXX`, removed automatically (see the module comment). */
export async function tempDir(prefix = 'callform-', scope: TempScope = 'auto'): Promise<string> {
  return trackTempDir(await mkdtemp(path.join(tmpdir(), prefix)), scope);
}

/** A fresh temp directory holding `files` (relative path → content), removed automatically. */
export async function tempTree(files: Record<string, string | Uint8Array>, prefix = 'callform-'): Promise<string> {
  const dir = await tempDir(prefix);
  for (const [name, content] of Object.entries(files)) {
    const file = path.join(dir, name);
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, content);
  }
  return dir;
}
