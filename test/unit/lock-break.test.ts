// Breaking a stale lock must never remove a lock that took the old one's place, even when
// the new lock file got the old one's inode number back (a freed inode is reused at once on
// ext4 and tmpfs). Found as a flake under load: two runs breaking the same dead lock both won.
import { mkdtemp, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

/** Runs once, just before the breaker's rename of STATE.lock: stands for a rival run's new lock. */
const beforeLockRename = vi.hoisted(() => ({ hook: null as null | ((file: string) => Promise<void>) }));

vi.mock('node:fs/promises', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs/promises')>();
  return {
    ...fs,
    rename: async (from: string, to: string) => {
      const hook = beforeLockRename.hook;
      if (hook && from.endsWith('.lock')) {
        beforeLockRename.hook = null;
        await hook(from);
      }
      return fs.rename(from, to);
    },
  };
});

const { acquireStateLock } = await import('../../src/state/lock.js');

const record = (id: string) =>
  JSON.stringify({ id, operation: 'apply', pid: 4242, host: 'another-host', since: '2026-01-01T00:00:00.000Z' }) + '\n';

describe('breaking a stale lock', () => {
  let dir: string;
  let statePath: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'callform-lockbreak-'));
    statePath = path.join(dir, 'callform.state.json');
    await writeFile(`${statePath}.lock`, record('stale-one'));
    const old = new Date(Date.now() - 3_600_000);
    await utimes(`${statePath}.lock`, old, old);
  });
  afterEach(async () => {
    beforeLockRename.hook = null;
    await rm(dir, { recursive: true, force: true });
  });

  it('leaves alone a new lock that reuses the stale one’s inode, and reports its holder', async () => {
    beforeLockRename.hook = async (file) => {
      // Same inode, new holder, fresh mtime: what a rival's new lock looks like after inode reuse.
      await writeFile(file, record('rival-live'));
    };
    await expect(acquireStateLock(statePath, { operation: 'apply', timeoutMs: 0 })).rejects.toThrow(
      /state is locked.*another-host/,
    );
    expect(JSON.parse(await readFile(`${statePath}.lock`, 'utf8'))).toMatchObject({ id: 'rival-live' });
  });

  it('breaks the stale lock itself when nothing replaced it', async () => {
    const lock = await acquireStateLock(statePath, { operation: 'apply', timeoutMs: 0 });
    expect(JSON.parse(await readFile(`${statePath}.lock`, 'utf8'))).toMatchObject({ id: lock.info.id });
    await lock.release();
  });
});
