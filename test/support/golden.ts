/**
 * Golden files (test/golden): the output must equal the committed file. A missing or different
 * golden file fails the test; CALLFORM_UPDATE_GOLDEN=1 (see vitest.config.ts) rewrites them.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'vitest';
import { REPO_ROOT } from './repo.js';

const GOLDEN_DIR = path.join(REPO_ROOT, 'test', 'golden');
const UPDATE_GOLDEN = process.env.CALLFORM_UPDATE_GOLDEN === '1';

/** Compares `actual` with test/golden/<name>. */
export async function expectGolden(actual: string, name: string): Promise<void> {
  const file = path.join(GOLDEN_DIR, name);
  if (!UPDATE_GOLDEN && !existsSync(file))
    throw new Error(
      `golden file test/golden/${name} is missing\nhint: CALLFORM_UPDATE_GOLDEN=1 npx vitest run <this test file> writes it; review and commit it`,
    );
  await expect(actual).toMatchFileSnapshot(
    file,
    `test/golden/${name} (CALLFORM_UPDATE_GOLDEN=1 rewrites it after an intended change)`,
  );
}
