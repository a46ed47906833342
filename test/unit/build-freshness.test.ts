import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import { mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { staleBuildReason } from '../support/build-freshness.js';

describe('build freshness check (global setup)', () => {
  let root: string;
  const at = (rel: string) => path.join(root, rel);
  const age = async (rel: string, secondsAgo: number) => {
    const t = new Date(Date.now() - secondsAgo * 1000);
    await utimes(at(rel), t, t);
  };
  beforeEach(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'callform-fresh-'));
    await mkdir(at('src/state'), { recursive: true });
    await mkdir(at('schemas'));
    await mkdir(at('dist'));
    await writeFile(at('src/state/lock.ts'), '');
    await writeFile(at('schemas/task.schema.json'), '{}');
    await writeFile(at('tsconfig.json'), '{}');
    for (const f of ['src/state/lock.ts', 'src/state', 'src', 'schemas/task.schema.json', 'schemas', 'tsconfig.json'])
      await age(f, 60);
    await writeFile(at('dist/.build-stamp'), '');
    await age('dist/.build-stamp', 30);
  });
  afterEach(() => rm(root, { recursive: true, force: true }));

  it('is fresh when no input is newer than the build stamp', async () => {
    expect(await staleBuildReason(root)).toBeNull();
  });

  it('flags a src file newer than the build', async () => {
    await age('src/state/lock.ts', 1);
    expect(await staleBuildReason(root)).toBe(`${path.join('src', 'state', 'lock.ts')} is newer than the last build`);
  });

  it('flags a schema (generated validators) or tsconfig newer than the build', async () => {
    await age('schemas/task.schema.json', 1);
    expect(await staleBuildReason(root)).toMatch(/task\.schema\.json is newer than the last build/);
    await age('schemas/task.schema.json', 60);
    await age('tsconfig.json', 1);
    expect(await staleBuildReason(root)).toMatch(/tsconfig\.json is newer/);
  });

  it('flags a new file in src', async () => {
    await writeFile(at('src/new.ts'), '');
    expect(await staleBuildReason(root)).toMatch(/^src.* is newer than the last build$/);
  });

  it('flags a deleted src file (its directory changed)', async () => {
    await rm(at('src/state/lock.ts'));
    expect(await staleBuildReason(root)).toBe(`${path.join('src', 'state')} is newer than the last build`);
  });

  it('flags a missing stamp (never built, or the last build failed before postbuild)', async () => {
    await rm(at('dist/.build-stamp'));
    expect(await staleBuildReason(root)).toMatch(/\.build-stamp is missing/);
  });
});
