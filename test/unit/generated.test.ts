import { describe, it, expect } from 'vitest';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT as REPO, tempDir } from '../support/temp.js';

describe('generated code', () => {
  it('src/generated matches what `npm run gen` produces from schemas/ (no drift)', async () => {
    const out = await tempDir('callform-gen-');
    execFileSync(process.execPath, [path.join(REPO, 'scripts', 'gen.mjs'), out], { cwd: REPO, stdio: 'pipe' });
    const committed = path.join(REPO, 'src', 'generated');
    const names = readdirSync(out).sort();
    expect(readdirSync(committed).sort()).toEqual(names);
    for (const name of names) {
      expect(readFileSync(path.join(committed, name), 'utf8'), `${name} is stale: run npm run gen and commit`).toBe(
        readFileSync(path.join(out, name), 'utf8'),
      );
    }
  }, 60_000);
});
