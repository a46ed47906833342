/**
 * The state lock under filesystem conditions a real disk rarely shows on demand, injected
 * through node:fs/promises: a filesystem without hard links (link() fails), and a lock that
 * another run replaces between this run's look at a dead lock and its break.
 */
import { describe, it, expect, beforeEach, afterEach, vi } from 'vitest';
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import { acquireStateLock, describeHolder, type LockInfo, type StateLock } from '../../src/state/lock.js';
import type { CallformError } from '../../src/errors.js';

const hooks = vi.hoisted(() => ({
  /** Replaces link() while set. */
  link: null as null | ((existing: string, target: string) => Promise<void>),
  /** Runs (once) before the next rename() whose source is this path. */
  beforeRename: null as null | { from: string; run: () => Promise<void> },
}));

vi.mock('node:fs/promises', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs/promises')>();
  return {
    ...real,
    link: (existing: string, target: string) =>
      hooks.link ? hooks.link(existing, target) : real.link(existing, target),
    rename: async (from: string, to: string) => {
      const hook = hooks.beforeRename;
      if (hook && hook.from === from) {
        hooks.beforeRename = null;
        await hook.run();
      }
      return real.rename(from, to);
    },
  };
});

const errno = (code: string) => Object.assign(new Error(`${code}: operation not permitted, link`), { code });

describe('state lock: injected filesystem conditions', () => {
  let dir: string;
  let statePath: string;
  let lockFile: string;
  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(tmpdir(), 'callform-lockfs-'));
    statePath = path.join(dir, 'callform.state.json');
    lockFile = `${statePath}.lock`;
  });
  afterEach(async () => {
    hooks.link = null;
    hooks.beforeRename = null;
    await fs.rm(dir, { recursive: true, force: true });
  });

  const acquire = () => acquireStateLock(statePath, { operation: 'apply', timeoutMs: 0 });
  const refusal = (p: Promise<unknown>) =>
    p.then(
      () => {
        throw new Error('expected the lock to be refused');
      },
      (err: CallformError) => err,
    );

  it.each(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS'])(
    'a filesystem without hard links (link() fails with %s): a clear error, no lock and no temp file left',
    async (code) => {
      const tried: string[] = [];
      hooks.link = (_existing, target) => {
        tried.push(target);
        return Promise.reject(errno(code));
      };
      const err = await refusal(acquire());
      expect(tried).toEqual([lockFile]); // one attempt: no retry loop, no fallback that skips the lock
      expect(err.message).toBe(`cannot lock state file: cannot create the hard link ${lockFile} (${code})`);
      expect(err.hint).toMatch(/needs a filesystem that supports hard links/);
      expect(await fs.readdir(dir)).toEqual([]);
      // The same directory with working links: the lock is free (nothing half-taken blocks it).
      hooks.link = null;
      await (await acquire()).release();
      expect(await fs.readdir(dir)).toEqual([]);
    },
  );

  it('any other link() failure is reported as it is, and leaves nothing behind', async () => {
    hooks.link = () => Promise.reject(Object.assign(new Error('EIO: i/o error, link'), { code: 'EIO' }));
    const err = await refusal(acquire());
    expect(err.message).toBe('cannot lock state file: EIO: i/o error, link');
    expect(await fs.readdir(dir)).toEqual([]);
  });

  it('a dead lock replaced by another run while this one breaks it: the new lock is kept, this run is refused', async () => {
    const dead = spawnSync(process.execPath, ['-e', '']).pid;
    const stale: LockInfo = {
      id: randomUUID(),
      operation: 'apply',
      pid: dead,
      host: hostname(),
      since: '2026-11-02T10:00:00.000Z',
    };
    await fs.writeFile(lockFile, JSON.stringify(stale) + '\n');
    // This run looks at the dead lock and decides to break it; just before its rename,
    // another run breaks the same dead lock and takes the lock.
    let other: StateLock | undefined;
    const compromised: string[] = [];
    hooks.beforeRename = {
      from: lockFile,
      run: async () => {
        other = await acquireStateLock(statePath, {
          operation: 'apply',
          timeoutMs: 0,
          onCompromised: (e) => compromised.push(e.message),
        });
      },
    };
    const err = await refusal(acquire());
    expect(other, 'the other run took the lock during the break').toBeDefined();
    expect(err.message).toBe(`state is locked: ${describeHolder(other!.info)}`);
    // The other run's lock is in place, as the same file (its heartbeat still finds its inode).
    expect(JSON.parse(await fs.readFile(lockFile, 'utf8'))).toEqual(other!.info);
    const names = await fs.readdir(dir);
    expect(names).toEqual([path.basename(lockFile)]); // nothing moved aside is left
    await other!.release();
    expect(compromised, 'the other run lost its lock').toEqual([]);
    expect(await fs.readdir(dir)).toEqual([]);
  });
});
