/**
 * Fixtures for tests of the state lock library (src/state/lock.ts) in this process: a temp
 * directory with a state path, lock files written as another run (or an older callform)
 * would leave them, and the refusal an acquire is expected to end in.
 */
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdir, utimes, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import type { CallformError } from '../../src/errors.js';
import { acquireStateLock, type AcquireOptions, type LockInfo, type StateLock } from '../../src/state/lock.js';
import { tempDir } from './temp.js';

/** The pid of a process that has just exited (so no process on this host has it, for now). */
export const deadPid = (): number => spawnSync(process.execPath, ['-e', '']).pid;

/** A holder record; by default a live process on this host (the test runner's parent). */
export const holder = (over: Partial<LockInfo> = {}): LockInfo => ({
  id: randomUUID(),
  operation: 'apply',
  pid: process.ppid,
  host: hostname(),
  since: '2026-11-02T10:00:00.000Z',
  ...over,
});

/** Sets a file's mtime (and atime) `ms` into the past. */
export async function age(file: string, ms: number): Promise<void> {
  const t = new Date(Date.now() - ms);
  await utimes(file, t, t);
}

/** The error an acquire or force-unlock is expected to end in (fails the test when it succeeds). */
export const refusal = (p: Promise<unknown>): Promise<CallformError> =>
  p.then(
    () => {
      throw new Error('expected a refusal');
    },
    (err: CallformError) => err,
  );

/** A state path in a fresh temp directory (removed when the test ends), and locks written there. */
export interface LockScene {
  dir: string;
  statePath: string;
  lockFile: string;
  /** Writes STATE.lock holding `info` (a string is written as it is), last changed `ageMs` ago. */
  writeLock(info: unknown, ageMs?: number): Promise<void>;
  /** An older callform's lock: a STATE.lock directory, with `info` in STATE.lock.info unless null. */
  writeLegacy(info: LockInfo | null, ageMs?: number): Promise<void>;
  /** acquireStateLock for this state path: operation "apply", no waiting, unless `over` says otherwise. */
  acquire(over?: Partial<AcquireOptions>): Promise<StateLock>;
}

export async function lockScene(prefix = 'callform-lock-'): Promise<LockScene> {
  const dir = await tempDir(prefix);
  const statePath = path.join(dir, 'callform.state.json');
  const lockFile = `${statePath}.lock`;
  return {
    dir,
    statePath,
    lockFile,
    async writeLock(info, ageMs = 0) {
      await writeFile(lockFile, typeof info === 'string' ? info : JSON.stringify(info) + '\n');
      if (ageMs) await age(lockFile, ageMs);
    },
    async writeLegacy(info, ageMs = 0) {
      await mkdir(lockFile);
      if (info) await writeFile(`${statePath}.lock.info`, JSON.stringify(info) + '\n');
      if (ageMs) await age(lockFile, ageMs);
    },
    acquire: (over = {}) => acquireStateLock(statePath, { operation: 'apply', timeoutMs: 0, ...over }),
  };
}
