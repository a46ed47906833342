/**
 * The state lock under filesystem conditions a real disk rarely shows on demand, injected
 * through node:fs/promises: a filesystem without hard links (link() fails), a lock that
 * another run replaces, releases or rewrites between this run's look and its break (or its
 * force-unlock), a look, a refresh or a release that fails, and a prepared record swept away
 * before its link.
 */
import { describe, it, expect, beforeEach, afterEach, vi } from 'vitest';
import * as fs from 'node:fs/promises';
import type { RmOptions } from 'node:fs';
import path from 'node:path';
import {
  acquireStateLock,
  describeHolder,
  forceUnlock,
  lockStatus,
  type AcquireOptions,
  type LockInfo,
  type StateLock,
} from '../../src/state/lock.js';
import { deadPid, holder, lockScene, refusal, type LockScene } from '../support/lock-fixtures.js';

type FaultyFn = 'lstat' | 'open' | 'rename' | 'link' | 'readdir' | 'rm';
/** Runs before a call of `fn` whose arguments match `when`, `times` times (then it is gone); throw in it to fail the call. */
interface Fault {
  fn: FaultyFn;
  when: (args: string[]) => boolean;
  run: (args: string[]) => void | Promise<void>;
  times: number;
}
const faults = vi.hoisted(() => ({
  list: [] as Fault[],
  /** Replaces FileHandle.utimes (the heartbeat's refresh) while set. */
  utimes: null as null | (() => Promise<void>),
  /** Record files opened to take the lock ('wx'), and how many of them were closed. */
  records: { opened: 0, closed: 0 },
}));

vi.mock('node:fs/promises', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs/promises')>();
  const before = async (fn: FaultyFn, args: unknown[]) => {
    const names = args.map(String);
    const f = faults.list.find((x) => x.fn === fn && x.when(names));
    if (!f) return;
    if (--f.times === 0) faults.list.splice(faults.list.indexOf(f), 1);
    await f.run(names);
  };
  const wrap =
    <A extends unknown[], R>(fn: FaultyFn, call: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      await before(fn, args);
      return call(...args);
    };
  return {
    ...real,
    lstat: wrap('lstat', (p: string) => real.lstat(p)),
    rename: wrap('rename', (from: string, to: string) => real.rename(from, to)),
    link: wrap('link', (existing: string, target: string) => real.link(existing, target)),
    readdir: wrap('readdir', (p: string) => real.readdir(p)),
    rm: wrap('rm', (p: string, options?: RmOptions) => real.rm(p, options)),
    open: wrap('open', async (p: string, flags: string) => {
      const fh = await real.open(p, flags);
      const utimes = fh.utimes.bind(fh);
      fh.utimes = (a, m) => (faults.utimes ? faults.utimes() : utimes(a, m));
      if (flags === 'wx') {
        faults.records.opened++;
        const close = fh.close.bind(fh);
        fh.close = () => {
          faults.records.closed++;
          return close();
        };
      }
      return fh;
    }),
  };
});

/** Adds a fault (once, unless `times` says otherwise). */
const fault = (fn: FaultyFn, when: (args: string[]) => boolean, run: Fault['run'], times = 1) =>
  void faults.list.push({ fn, when, run, times });

const errno = (code: string, what = 'operation not permitted, link') =>
  Object.assign(new Error(`${code}: ${what}`), { code });

describe('state lock: injected filesystem conditions', () => {
  let scene: LockScene;
  let dir: string;
  let statePath: string;
  let lockFile: string;
  beforeEach(async () => {
    scene = await lockScene('callform-lockfs-');
    ({ dir, statePath, lockFile } = scene);
  });
  afterEach(() => {
    faults.list.length = 0;
    faults.utimes = null;
  });
  const acquire = (over: Partial<AcquireOptions> = {}) => scene.acquire(over);

  it.each(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS'])(
    'a filesystem without hard links (link() fails with %s): a clear error, no lock and no temp file left',
    async (code) => {
      const tried: string[] = [];
      fault(
        'link',
        () => true,
        ([, target]) => {
          tried.push(target);
          throw errno(code);
        },
        Infinity,
      );
      const err = await refusal(acquire());
      expect(tried).toEqual([lockFile]); // one attempt: no retry loop, no fallback that skips the lock
      expect(err.message).toBe(`cannot lock state file: cannot create the hard link ${lockFile} (${code})`);
      expect(err.hint).toMatch(/needs a filesystem that supports hard links/);
      expect(await fs.readdir(dir)).toEqual([]);
      // The same directory with working links: the lock is free (nothing half-taken blocks it).
      faults.list.length = 0;
      await (await acquire()).release();
      expect(await fs.readdir(dir)).toEqual([]);
    },
  );

  it('any other link() failure is reported as it is, and leaves nothing behind', async () => {
    fault(
      'link',
      () => true,
      () => Promise.reject(errno('EIO', 'i/o error, link')),
    );
    const err = await refusal(acquire());
    expect(err.message).toBe('cannot lock state file: EIO: i/o error, link');
    expect(await fs.readdir(dir)).toEqual([]);
  });

  it('a dead lock replaced by another run while this one breaks it: the new lock is kept, this run is refused', async () => {
    await scene.writeLock(holder({ pid: deadPid() }));
    // This run looks at the dead lock and decides to break it; just before its rename,
    // another run breaks the same dead lock and takes the lock.
    let other: StateLock | undefined;
    const compromised: string[] = [];
    fault(
      'rename',
      ([from]) => from === lockFile,
      async () => {
        other = await acquireStateLock(statePath, {
          operation: 'apply',
          timeoutMs: 0,
          onCompromised: (e) => compromised.push(e.message),
        });
      },
    );
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

  /** A lock file naming a live run on another host, `ageMs` old (stale past 10 s). */
  async function otherHostLock(ageMs = 0): Promise<LockInfo> {
    const info = holder({ pid: 4242, host: 'ci-runner-7' });
    await scene.writeLock(info, ageMs);
    return info;
  }
  const isLock = (args: string[]) => args[0] === lockFile;

  describe('looking at the lock', () => {
    it('a lock that cannot be looked at is an error, never "free" (acquire and doctor)', async () => {
      await otherHostLock();
      fault('lstat', isLock, () => Promise.reject(errno('EIO', 'i/o error, lstat')), 2);
      const err = await refusal(acquire());
      expect(err.message).toBe('cannot lock state file: EIO: i/o error, lstat');
      await expect(lockStatus(statePath)).rejects.toThrow('EIO: i/o error, lstat');
    });

    it('a lock file that cannot be opened is an error too', async () => {
      await otherHostLock();
      fault(
        'open',
        ([p, flags]) => p === lockFile && flags === 'r',
        () => Promise.reject(errno('EMFILE', 'too many open files')),
      );
      expect((await refusal(acquire())).message).toBe('cannot lock state file: EMFILE: too many open files');
    });

    it('a lock released just before the look counts as free: the next attempt takes it', async () => {
      await otherHostLock();
      fault('lstat', isLock, () => fs.rm(lockFile));
      const lock = await acquire();
      expect(JSON.parse(await fs.readFile(lockFile, 'utf8'))).toEqual(lock.info);
      await lock.release();
    });

    it('a lock released between the look and the read counts as free: the next attempt takes it', async () => {
      await otherHostLock();
      const remove = () => fs.rm(lockFile);
      fault('open', ([p, flags]) => p === lockFile && flags === 'r', remove);
      const lock = await acquire();
      expect(JSON.parse(await fs.readFile(lockFile, 'utf8'))).toEqual(lock.info);
      await lock.release();
      await otherHostLock();
      fault('open', ([p, flags]) => p === lockFile && flags === 'r', remove);
      expect(await lockStatus(statePath)).toEqual({ locked: false });
      expect(await fs.readdir(dir)).toEqual([]);
    });
  });

  describe('taking the lock', () => {
    it('a record file that cannot be created (the directory exists): the error as it is, nothing held', async () => {
      fault(
        'open',
        ([, flags]) => flags === 'wx',
        () => Promise.reject(errno('ENOSPC', 'no space left on device')),
      );
      const err = await refusal(acquire());
      expect([err.message, err.hint]).toEqual(['cannot lock state file: ENOSPC: no space left on device', undefined]);
      expect(await fs.readdir(dir)).toEqual([]);
    });

    it("a prepared record removed before its link (another host's sweep): written again, and the lock is taken", async () => {
      const linked: string[] = [];
      fault(
        'link',
        () => true,
        ([temp]) => fs.rm(temp),
      );
      fault(
        'link',
        () => true,
        ([temp]) => void linked.push(temp),
      );
      const lock = await acquire();
      expect(linked).toHaveLength(1);
      expect(JSON.parse(await fs.readFile(lockFile, 'utf8'))).toEqual(lock.info);
      await lock.release();
      expect(await fs.readdir(dir)).toEqual([]);
    });

    it('refused attempts close every record file they opened (a run waiting on a lock does not leak descriptors)', async () => {
      await otherHostLock();
      faults.records = { opened: 0, closed: 0 };
      for (let i = 0; i < 3; i++) await refusal(acquire());
      fault(
        'link',
        () => true,
        () => Promise.reject(errno('EPERM')),
      );
      await refusal(acquire());
      expect(faults.records).toEqual({ opened: 4, closed: 4 });
    });

    it('temp files beside the lock that cannot be listed are left for later: the lock is still taken', async () => {
      fault(
        'readdir',
        ([p]) => p === dir,
        () => Promise.reject(errno('EACCES', 'permission denied, scandir')),
      );
      const lock = await acquire();
      expect(JSON.parse(await fs.readFile(lockFile, 'utf8'))).toEqual(lock.info);
      await lock.release();
    });
  });

  describe('waiting', () => {
    it('without an injected sleep, waits on a timer between looks (no busy loop)', async () => {
      await otherHostLock();
      let looks = 0;
      fault('lstat', isLock, () => void looks++, Infinity);
      await refusal(acquire({ timeoutMs: 100 }));
      expect(looks).toBeGreaterThanOrEqual(1);
      expect(looks).toBeLessThanOrEqual(5);
    });

    it('the holder refreshes its lock every 2 s by default, or at the interval asked for', async () => {
      let refreshes = 0;
      faults.utimes = () => {
        refreshes++;
        return Promise.resolve();
      };
      vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
      try {
        const lock = await acquire();
        await vi.advanceTimersByTimeAsync(1_999);
        expect(refreshes).toBe(0);
        await vi.advanceTimersByTimeAsync(1);
        await expect.poll(() => refreshes).toBe(1);
        await lock.release();
        const quick = await acquire({ refreshMs: 500 });
        await vi.advanceTimersByTimeAsync(500);
        await expect.poll(() => refreshes).toBe(2);
        await quick.release();
      } finally {
        vi.useRealTimers();
      }
    });
  });

  describe('breaking a stale lock', () => {
    it('moved aside, then swept by another run before this one removes it: the break still succeeds', async () => {
      await otherHostLock(11_000);
      fault(
        'rm',
        ([p]) => p.startsWith(`${lockFile}.tmp-`),
        ([aside]) => fs.rm(aside),
      );
      const lock = await acquire();
      expect(JSON.parse(await fs.readFile(lockFile, 'utf8'))).toEqual(lock.info);
      await lock.release();
      expect(await fs.readdir(dir)).toEqual([]);
    });

    it("an older callform's dead lock directory replaced by a live one during the break: kept, with its record", async () => {
      await scene.writeLegacy(holder({ pid: deadPid() }));
      const rival = holder({ host: 'ci-runner-7' });
      fault('rename', isLock, async () => {
        // The rival's own directory (made while the old one exists: a new inode), then its record.
        await fs.mkdir(`${lockFile}-rival`);
        await fs.rm(lockFile, { recursive: true });
        await fs.rename(`${lockFile}-rival`, lockFile);
        await fs.writeFile(`${statePath}.lock.info`, JSON.stringify(rival));
      });
      const err = await refusal(acquire());
      expect(err.message).toBe(`state is locked: ${describeHolder(rival)}`);
      expect((await fs.lstat(lockFile)).isDirectory()).toBe(true);
      expect(JSON.parse(await fs.readFile(`${statePath}.lock.info`, 'utf8'))).toEqual(rival);
      expect((await fs.readdir(dir)).sort()).toEqual([
        path.basename(lockFile),
        path.basename(`${statePath}.lock.info`),
      ]);
    });

    it('released by its holder just before the break: this run takes the lock', async () => {
      await otherHostLock(11_000);
      fault('rename', isLock, () => fs.rm(lockFile));
      const lock = await acquire();
      expect(JSON.parse(await fs.readFile(lockFile, 'utf8'))).toEqual(lock.info);
      await lock.release();
      expect(await fs.readdir(dir)).toEqual([]);
    });

    it('a break that fails: the error names the lock file, and the stale lock stays', async () => {
      const stale = await otherHostLock(11_000);
      fault('rename', isLock, () => Promise.reject(errno('EBUSY', 'resource busy or locked, rename')));
      const err = await refusal(acquire());
      expect(err.message).toBe(`cannot break the stale state lock ${lockFile}: EBUSY: resource busy or locked, rename`);
      expect(JSON.parse(await fs.readFile(lockFile, 'utf8'))).toEqual(stale);
    });

    it('a stale lock without a record, rewritten in place by another run before the break, is kept', async () => {
      await fs.writeFile(lockFile, '');
      await fs.utimes(lockFile, new Date(Date.now() - 11_000), new Date(Date.now() - 11_000));
      let rival: LockInfo | undefined;
      // Same inode (a reused inode number looks the same), a fresh mtime, and now a record.
      fault('rename', isLock, async () => void (rival = await otherHostLock()));
      const err = await refusal(acquire());
      expect(err.message).toBe(`state is locked: ${describeHolder(rival!)}`);
      expect(JSON.parse(await fs.readFile(lockFile, 'utf8'))).toEqual(rival);
      expect(await fs.readdir(dir)).toEqual([path.basename(lockFile)]);
    });

    it('a replacing lock that cannot be put back (a third run took the name): nothing moved aside is left', async () => {
      await otherHostLock(11_000);
      let third: LockInfo | undefined;
      fault('rename', isLock, async ([, aside]) => {
        await fs.rm(lockFile);
        await otherHostLock(); // the rival's new lock (a new inode)
        // The rival's lock is moved aside; before it can be linked back, a third run takes the name.
        fault(
          'link',
          ([existing, target]) => existing === aside && target === lockFile,
          async () => void (third = await otherHostLock()),
        );
      });
      const err = await refusal(acquire());
      expect(err.message).toBe(`state is locked: ${describeHolder(third!)}`);
      expect(JSON.parse(await fs.readFile(lockFile, 'utf8'))).toEqual(third);
      expect(await fs.readdir(dir)).toEqual([path.basename(lockFile)]);
    });
    it('a dead lock rewritten in place by another run with the same mtime is still told apart by its holder ID', async () => {
      await scene.writeLock(holder({ pid: deadPid() })); // breakable at once: its holder is dead
      const { mtime } = await fs.stat(lockFile);
      const rival = holder({ host: 'ci-runner-8' });
      fault('rename', isLock, async () => {
        await scene.writeLock(rival);
        await fs.utimes(lockFile, mtime, mtime); // same inode, same mtime: only the record differs
      });
      const err = await refusal(acquire());
      expect(err.message).toBe(`state is locked: ${describeHolder(rival)}`);
      expect(JSON.parse(await fs.readFile(lockFile, 'utf8'))).toEqual(rival);
    });

    it('a stale lock rewritten in place without a valid record during the break is kept, as "an unknown process"', async () => {
      await otherHostLock(11_000);
      fault('rename', isLock, () => scene.writeLock('{"half": '));
      const err = await refusal(acquire());
      expect(err.message).toBe('state is locked: an unknown process');
      expect(await fs.readFile(lockFile, 'utf8')).toBe('{"half": ');
      expect(await fs.readdir(dir)).toEqual([path.basename(lockFile)]);
    });

    it("an older callform's replacing directory that cannot be put back (a third run took the name): nothing left aside", async () => {
      await scene.writeLegacy(holder({ pid: deadPid() }));
      let third: LockInfo | undefined;
      fault('rename', isLock, async ([, aside]) => {
        await fs.mkdir(`${lockFile}-rival`);
        await fs.writeFile(`${lockFile}-rival/inside`, '');
        await fs.rm(lockFile, { recursive: true });
        await fs.rename(`${lockFile}-rival`, lockFile);
        fault(
          'rename',
          ([from, to]) => from === aside && to === lockFile,
          async () => void (third = await otherHostLock()),
        );
      });
      const err = await refusal(acquire());
      expect(err.message).toBe(`state is locked: ${describeHolder(third!)}`);
      // The dead holder's .lock.info stays until the next holder sweeps it.
      expect((await fs.readdir(dir)).sort()).toEqual([
        path.basename(lockFile),
        path.basename(`${statePath}.lock.info`),
      ]);
    });
  });

  describe('force-unlock', () => {
    it('a lock released while force-unlock runs: "not locked", and why', async () => {
      const { id } = await otherHostLock();
      fault('rename', isLock, () => fs.rm(lockFile));
      const err = await refusal(forceUnlock(statePath, id));
      expect([err.message, err.hint]).toEqual([
        'the state is not locked',
        `lock ${id} was released while force-unlock ran; nothing to unlock`,
      ]);
    });

    it('a lock that changes hands while force-unlock runs: nothing removed, the new holder keeps it', async () => {
      const { id } = await otherHostLock();
      let next: LockInfo | undefined;
      fault('rename', isLock, async () => {
        await fs.rm(lockFile);
        next = await otherHostLock();
      });
      const err = await refusal(forceUnlock(statePath, id));
      expect([err.message, err.hint]).toEqual([
        `lock ${id} changed hands while force-unlock ran; nothing was removed`,
        'run callform force-unlock again with the ID now printed',
      ]);
      expect(JSON.parse(await fs.readFile(lockFile, 'utf8'))).toEqual(next);
      expect(await fs.readdir(dir)).toEqual([path.basename(lockFile)]);
    });
  });

  describe('holding and releasing', () => {
    it('failed refreshes are retried and never end the run; release then removes the lock', async () => {
      let failed = 0;
      faults.utimes = () => {
        failed++;
        return Promise.reject(errno('EIO', 'i/o error, futimes'));
      };
      const told: string[] = [];
      const lock = await acquire({ refreshMs: 5, onCompromised: (e) => told.push(e.message) });
      await expect.poll(() => failed, { timeout: 10_000 }).toBeGreaterThanOrEqual(2);
      await lock.release();
      expect(told).toEqual([]);
      expect(await fs.readdir(dir)).toEqual([]);
    });

    it('on a slow disk refreshes queue up, yet a lost lock is reported once', async () => {
      const told: string[] = [];
      const lock = await acquire({ refreshMs: 5, onCompromised: (e) => told.push(e.message) });
      // Every look at the lock name takes 30 ms: beats every 5 ms queue up behind it.
      fault('lstat', isLock, () => new Promise((r) => setTimeout(r, 30)), Infinity);
      await new Promise((r) => setTimeout(r, 20));
      await fs.rm(lockFile);
      await expect.poll(() => told.length, { timeout: 10_000 }).toBe(1);
      await new Promise((r) => setTimeout(r, 150)); // the queued beats run, and find the lock gone too
      faults.list.length = 0;
      await lock.release();
      expect(told).toEqual([`${lockFile} was removed`]);
    });

    it('a release that cannot remove the lock leaves it behind, and the next run here breaks it at once', async () => {
      const told: string[] = [];
      const lock = await acquire({ onCompromised: (e) => told.push(e.message) });
      fault('rename', isLock, () => Promise.reject(errno('EIO', 'i/o error, rename')));
      await lock.release(); // does not throw: the run is over either way
      expect(told).toEqual([]); // not "taken away": it is still ours on disk
      expect(await lockStatus(statePath)).toEqual({
        locked: true,
        holder: lock.info,
        breakable: `holder pid ${process.pid} is dead`,
      });
      const next = await acquire();
      await next.release();
      expect(await fs.readdir(dir)).toEqual([]);
    });
  });
});
