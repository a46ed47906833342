/**
 * The state lock as a library, in a temp directory, with injected clocks (nothing waits
 * on real time). test/reliability/lock.test.ts covers the same module across processes
 * and under SIGKILL; this file pins its exact answers (messages, hints, what doctor sees,
 * the wait) so `npm run mutate` can judge src/state/lock.ts from the fast tests alone
 * (docs/testing.md).
 */
import { describe, it, expect, beforeEach, vi } from 'vitest';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import {
  STALE_MS,
  acquireStateLock,
  describeHolder,
  forceUnlock,
  holderRunsHere,
  legacyLockInfoPath,
  lockPath,
  lockStatus,
  type LockInfo,
} from '../../src/state/lock.js';
import { age, deadPid, holder, lockScene, refusal, type LockScene } from '../support/lock-fixtures.js';
import { parseJson } from '../support/json.js';
import { matching } from '../support/expect.js';

let scene: LockScene;
let dir: string;
let statePath: string;
let lockFile: string;
beforeEach(async () => {
  scene = await lockScene('callform-mut-lock-');
  ({ dir, statePath, lockFile } = scene);
});

/** What lockStatus says about breaking the lock ('free' when there is none). */
async function breakable(now?: number): Promise<string | null> {
  const s = await lockStatus(statePath, now);
  return s.locked ? s.breakable : 'free';
}

describe('lock names and constants', () => {
  it('paths beside the state file', () => {
    expect(lockPath('/x/s.json')).toBe('/x/s.json.lock');
    expect(legacyLockInfoPath('/x/s.json')).toBe('/x/s.json.lock.info');
    expect(STALE_MS).toBe(10_000);
  });

  it('describeHolder', () => {
    expect(describeHolder(null)).toBe('an unknown process');
    expect(describeHolder(holder({ id: 'L1', pid: 42, host: 'h1' }))).toBe(
      'apply (lock ID L1) by pid 42 on h1 since 2026-11-02T10:00:00.000Z',
    );
  });

  it('a process of another user (signalling it is not permitted, EPERM) is alive: its lock is respected', async () => {
    const other = holder({ pid: 4242 });
    const kill = vi.spyOn(process, 'kill').mockImplementation(() => {
      throw Object.assign(new Error('kill EPERM'), { code: 'EPERM' });
    });
    try {
      expect(holderRunsHere(other)).toBe(true);
      await scene.writeLock(other);
      expect(await breakable()).toBeNull();
    } finally {
      kill.mockRestore();
    }
  });

  it('holderRunsHere: a live pid on this host only', () => {
    expect(holderRunsHere(holder({ pid: process.pid }))).toBe(true);
    expect(holderRunsHere(holder({ pid: deadPid() }))).toBe(false);
    expect(holderRunsHere(holder({ pid: process.pid, host: `${hostname()}-elsewhere` }))).toBe(false);
  });
});

describe('lockStatus (what doctor sees)', () => {
  it('free', async () => {
    expect(await lockStatus(statePath)).toEqual({ locked: false });
  });

  it('held by a live run here: not breakable until stale, then says for how long', async () => {
    const other = holder();
    await scene.writeLock(other);
    expect(await lockStatus(statePath)).toEqual({ locked: true, holder: other, breakable: null });
    const now = Date.now();
    expect(await breakable(now + STALE_MS - 1000)).toBeNull();
    expect(await breakable(now + 12_400)).toMatch(/^not refreshed for 1[23] s$/);
  });

  it('exactly 10 s without refresh is not stale yet', async () => {
    await scene.writeLock(holder({ host: 'elsewhere' }));
    const { mtimeMs } = await import('node:fs/promises').then((fs) => fs.stat(lockFile));
    expect(await breakable(mtimeMs + STALE_MS)).toBeNull();
    expect(await breakable(mtimeMs + STALE_MS + 1)).toBe('not refreshed for 10 s');
  });

  it('a dead holder here is breakable at once; a dead pid on another host is not', async () => {
    const pid = deadPid();
    await scene.writeLock(holder({ pid }));
    expect(await breakable()).toBe(`holder pid ${pid} is dead`);
    await scene.writeLock(holder({ pid, host: 'elsewhere' }));
    expect(await breakable()).toBeNull();
  });

  it('our own pid is dead unless this process holds that lock', async () => {
    await scene.writeLock(holder({ pid: process.pid }));
    expect(await breakable()).toBe(`holder pid ${process.pid} is dead`);
    await rm(lockFile);
    const lock = await scene.acquire();
    expect(await lockStatus(statePath)).toEqual({ locked: true, holder: lock.info, breakable: null });
    await lock.release();
  });

  it('a record missing optional fields reads them as "?"; one missing id, pid or host is no record', async () => {
    await scene.writeLock({ id: 'L1', pid: 7, host: 'h' });
    expect((await lockStatus(statePath)) as unknown).toMatchObject({
      holder: { id: 'L1', operation: '?', pid: 7, host: 'h', since: '?' },
    });
    await scene.writeLock({ id: 'L1', pid: 7, host: 'h', operation: 5, since: 6 });
    expect((await lockStatus(statePath)) as unknown).toMatchObject({
      holder: { id: 'L1', operation: '5', pid: 7, host: 'h', since: '6' },
    });
    for (const bad of [
      { pid: 7, host: 'h' },
      { id: 'L1', host: 'h' },
      { id: 'L1', pid: '7', host: 'h' },
      { id: 'L1', pid: 7 },
      null,
      'not json',
    ]) {
      await scene.writeLock(bad === 'not json' ? 'not json' : bad);
      expect((await lockStatus(statePath)) as unknown, JSON.stringify(bad)).toMatchObject({ holder: null });
    }
  });

  it("an older callform's lock directory: its .lock.info names the holder", async () => {
    const other = holder({ host: 'elsewhere' });
    await scene.writeLegacy(other);
    expect(await lockStatus(statePath)).toEqual({ locked: true, holder: other, breakable: null });
    await rm(lockFile, { recursive: true });
    await rm(legacyLockInfoPath(statePath));
    await scene.writeLegacy(null);
    expect(await lockStatus(statePath)).toMatchObject({ locked: true, holder: null });
  });
});

describe('acquireStateLock', () => {
  it('the record names this run; release removes the lock once, twice is harmless', async () => {
    const lock = await scene.acquire({ operation: 'import' });
    expect(lock.info).toEqual({
      id: matching(/^[0-9a-f-]{36}$/),
      operation: 'import',
      pid: process.pid,
      host: hostname(),
      since: matching(/^\d{4}-\d\d-\d\dT/),
    });
    expect(await readFile(lockFile, 'utf8')).toBe(JSON.stringify(lock.info) + '\n');
    await lock.release();
    await lock.release();
    expect(await readdir(dir)).toEqual([]);
  });

  it('a live holder: the exact refusal and hint', async () => {
    const other = holder({ host: 'elsewhere', id: 'L-7' });
    await scene.writeLock(other);
    const err = await refusal(scene.acquire());
    expect(err.message).toBe(`state is locked: ${describeHolder(other)}`);
    expect(err.hint).toBe(
      'wait for it to finish, retry with --lock-timeout, or if that run is gone, remove the lock with `callform force-unlock L-7`',
    );
  });

  it('no valid record in a lock file, or none in an old lock directory: the hints say which', async () => {
    await scene.writeLock('');
    const err = await refusal(scene.acquire());
    expect(err.message).toBe('state is locked: an unknown process');
    expect(err.hint).toBe(
      `the lock file has no valid holder record (callform did not write it, or a system crash cut it short); it counts as stale 10 s after its last change: retry with --lock-timeout 15000, or if no callform run is active, remove ${lockFile}`,
    );
    await rm(lockFile);
    await scene.writeLegacy(null);
    const legacy = await refusal(scene.acquire());
    expect(legacy.hint).toBe(
      `the lock has no holder record (an older callform was probably killed while taking or releasing it); it expires 10 s after its last refresh: retry with --lock-timeout 15000, or if no callform run is active, remove ${lockFile}`,
    );
  });

  it('waits in steps of at most 250 ms (never less than 1), telling once whom it waits for, up to the deadline', async () => {
    const other = holder({ host: 'elsewhere' });
    await scene.writeLock(other);
    let t = Date.now();
    const t0 = t;
    const sleeps: number[] = [];
    const waits: unknown[] = [];
    const err = await refusal(
      scene.acquire({
        timeoutMs: 600,
        now: () => t,
        sleep: async (ms) => {
          sleeps.push(ms);
          t += ms;
        },
        onWait: (h) => waits.push(h),
      }),
    );
    expect(err.message).toContain('elsewhere');
    expect(sleeps).toEqual([250, 250, 100]);
    expect(t - t0).toBe(600);
    expect(waits).toEqual([other]);
  });

  it('without an injected clock it really waits, then refuses', async () => {
    await scene.writeLock(holder({ host: 'elsewhere' }));
    const err = await refusal(scene.acquire({ timeoutMs: 30 }));
    expect(err.message).toContain('elsewhere');
  });

  it('a wait that would be zero sleeps 1 ms', async () => {
    await scene.writeLock(holder({ host: 'elsewhere' }));
    const t = Date.now();
    const sleeps: number[] = [];
    // deadline t+1; the look (t) and the deadline check (t) pass; the wait is computed at t+5.
    const clock = [t, t, t, t + 5];
    await refusal(
      scene.acquire({
        timeoutMs: 1,
        now: () => clock.shift() ?? t + 10,
        sleep: async (ms) => void sleeps.push(ms),
      }),
    );
    expect(sleeps).toEqual([1]);
  });

  it('breaks a dead holder here at once, and an old layout with its .lock.info', async () => {
    await scene.writeLegacy(holder({ pid: deadPid() }));
    const lock = await scene.acquire();
    expect(existsSync(legacyLockInfoPath(statePath))).toBe(false);
    expect(JSON.parse(await readFile(lockFile, 'utf8'))).toEqual(lock.info);
    await lock.release();
    expect(await readdir(dir)).toEqual([]);
  });

  it('a stray .lock.info beside a free lock is removed by the next holder', async () => {
    await writeFile(legacyLockInfoPath(statePath), JSON.stringify(holder()));
    const lock = await scene.acquire();
    expect(existsSync(legacyLockInfoPath(statePath))).toBe(false);
    await lock.release();
  });

  it('sweeps temp files: dead pids here at once, any once older than 10 s; keeps live and fresh ones', async () => {
    const tag = createHash('sha256').update(hostname()).digest('hex').slice(0, 8);
    const names = {
      deadHere: `${lockFile}.tmp-${tag}-${deadPid()}-aaaaaa`,
      liveHere: `${lockFile}.tmp-${tag}-${process.ppid}-bbbbbb`,
      ownPid: `${lockFile}.tmp-${tag}-${process.pid}-cccccc`,
      zeroPid: `${lockFile}.tmp-${tag}-0-dddddd`,
      badPid: `${lockFile}.tmp-${tag}-x-eeeeee`,
      freshElsewhere: `${lockFile}.tmp-ffffffff-123-ffffff`,
      oldElsewhere: `${lockFile}.tmp-ffffffff-456-gggggg`,
      oldDir: `${lockFile}.tmp-ffffffff-789-hhhhhh`,
      tenSeconds: `${lockFile}.tmp-ffffffff-999-iiiiii`,
    };
    for (const [k, f] of Object.entries(names)) {
      if (k === 'oldDir') {
        await mkdir(f);
        await writeFile(path.join(f, 'inside'), '');
      } else await writeFile(f, '');
    }
    await age(names.oldElsewhere, 11_000);
    await age(names.oldDir, 11_000);
    await age(names.tenSeconds, 9_000);
    await writeFile(`${statePath}.other`, 'not ours');
    await age(`${statePath}.other`, 60_000); // however old: not a lock temp file
    await (await scene.acquire()).release();
    expect((await readdir(dir)).sort()).toEqual(
      [
        names.liveHere,
        names.ownPid,
        names.zeroPid,
        names.badPid,
        names.freshElsewhere,
        names.tenSeconds,
        `${statePath}.other`,
      ]
        .map((f) => path.basename(f))
        .sort(),
    );
  });

  it('sweeps by the clock the run was given: a temp file exactly 10 s old stays, one a millisecond older goes', async () => {
    const tag = createHash('sha256').update(hostname()).digest('hex').slice(0, 8);
    const temp = `${lockFile}.tmp-ffffffff-123-aaaaaa`;
    // Not a whole pid: never judged by pid (it stays while fresh, like any other).
    const oddPid = `${lockFile}.tmp-${tag}-1.5-bbbbbb`;
    const past = new Date(Date.now() - 5_000);
    for (const f of [temp, oddPid]) {
      await writeFile(f, '');
      await utimes(f, past, past);
    }
    const { mtimeMs } = await stat(temp); // as the filesystem stored it
    await (await scene.acquire({ now: () => mtimeMs + STALE_MS })).release();
    expect((await readdir(dir)).sort()).toEqual([path.basename(temp), path.basename(oddPid)].sort());
    await (await scene.acquire({ now: () => mtimeMs + STALE_MS + 1 })).release();
    expect(await readdir(dir)).toEqual([]);
  });

  it('a lock path in a missing directory: a clear error, and nothing held', async () => {
    const err = await refusal(acquireStateLock(path.join(dir, 'no', 's.json'), { operation: 'apply', timeoutMs: 0 }));
    expect(err.message).toBe(
      `cannot lock state file: the state file's directory ${path.join(dir, 'no')} does not exist`,
    );
  });

  it('a release that finds its lock removed reports it once; one that finds it replaced names the new holder', async () => {
    const told: string[] = [];
    const a = await scene.acquire({ onCompromised: (e) => told.push(e.message) });
    await rm(lockFile);
    await a.release();
    expect(told).toEqual([`${lockFile} was removed`]);

    const again: string[] = [];
    const b = await scene.acquire({
      onCompromised: (e) => {
        again.push(e.message);
        throw new Error('a failing callback is ignored');
      },
    });
    await forceUnlock(statePath, b.info.id);
    const c = await scene.acquire();
    await b.release();
    expect(again).toEqual([`${lockFile} now belongs to ${describeHolder(c.info)}`]);
    expect(parseJson<LockInfo>(await readFile(lockFile, 'utf8')).id).toBe(c.info.id);
    await c.release();
    expect(await readdir(dir)).toEqual([]);
  });

  it("the heartbeat notices a lock taken away (once) and stops; release then leaves the new holder's lock", async () => {
    const told: string[] = [];
    const a = await scene.acquire({ refreshMs: 5, onCompromised: (e) => told.push(e.message) });
    await forceUnlock(statePath, a.info.id);
    await expect.poll(() => told.length, { timeout: 10_000 }).toBe(1);
    expect(told[0]).toBe(`${lockFile} was removed`);
    const b = await scene.acquire();
    await a.release();
    expect(told).toHaveLength(1);
    expect(parseJson<LockInfo>(await readFile(lockFile, 'utf8')).id).toBe(b.info.id);
    await b.release();
  });

  it('the heartbeat notices its lock replaced by another run (a new file at the name) and names the new holder', async () => {
    const told: string[] = [];
    const a = await scene.acquire({ refreshMs: 5, onCompromised: (e) => told.push(e.message) });
    const other = holder({ host: 'elsewhere' });
    await writeFile(`${dir}/replacement`, JSON.stringify(other) + '\n');
    await rename(`${dir}/replacement`, lockFile);
    await expect.poll(() => told.length, { timeout: 10_000 }).toBe(1);
    expect(told).toEqual([`${lockFile} now belongs to ${describeHolder(other)}`]);
    await a.release();
    expect(told).toHaveLength(1);
    expect(JSON.parse(await readFile(lockFile, 'utf8'))).toEqual(other);
  });

  it('after release the heartbeat stops: no refresh, no false alarm, and a second release reports nothing', async () => {
    const told: string[] = [];
    const a = await scene.acquire({ refreshMs: 2, onCompromised: (e) => told.push(e.message) });
    await a.release();
    await a.release();
    await new Promise((r) => setTimeout(r, 40)); // twenty heartbeats' worth
    expect(told).toEqual([]);
    expect(await readdir(dir)).toEqual([]);
  });

  it('the heartbeat refreshes the lock file, raises no alarm over its own lock, and release removes it', async () => {
    const told: string[] = [];
    const a = await scene.acquire({ refreshMs: 5, onCompromised: (e) => told.push(e.message) });
    await age(lockFile, 60_000);
    await expect.poll(() => breakable(), { timeout: 10_000 }).toBeNull();
    await a.release();
    expect(told).toEqual([]);
    expect(await readdir(dir)).toEqual([]);
  });

  it("a lock without a holder record is broken once stale: a lock file, or an older callform's directory", async () => {
    await scene.writeLock('', 11_000);
    await (await scene.acquire()).release();
    expect(await readdir(dir)).toEqual([]);
    await scene.writeLegacy(null, 11_000);
    await (await scene.acquire()).release();
    expect(await readdir(dir)).toEqual([]);
  });
});

describe('forceUnlock', () => {
  it('refuses when free, without a record, or for another ID; returns the holder it removed', async () => {
    const free = await refusal(forceUnlock(statePath, 'x'));
    expect([free.message, free.hint]).toEqual(['the state is not locked', 'nothing to unlock']);
    await scene.writeLock('garbage');
    const none = await refusal(forceUnlock(statePath, 'x'));
    expect(none.message).toBe('the state lock has no holder record, so it has no lock ID to match');
    expect(none.hint).toMatch(/^the lock file has no valid holder record/);
    const other = holder({ host: 'elsewhere' });
    await scene.writeLock(other);
    const wrong = await refusal(forceUnlock(statePath, 'nope'));
    expect([wrong.message, wrong.hint]).toEqual([
      `lock ID nope does not match the current lock (${describeHolder(other)})`,
      'pass the ID printed in the "state is locked" message',
    ]);
    expect(await forceUnlock(statePath, other.id)).toEqual(other);
    expect(await readdir(dir)).toEqual([]);
  });

  it('an old lock directory with its record: removed with its .lock.info', async () => {
    const other = holder({ host: 'elsewhere' });
    await scene.writeLegacy(other);
    expect(await forceUnlock(statePath, other.id)).toEqual(other);
    expect(await readdir(dir)).toEqual([]);
  });
});
