import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { CallformError } from '../errors.js';

/** Who holds the state lock; written beside the lock so a waiting run can name the holder. */
export interface LockInfo {
  id: string;
  operation: string;
  pid: number;
  host: string;
  since: string;
}

export interface StateLock {
  info: LockInfo;
  release(): Promise<void>;
}

export const lockDir = (statePath: string) => `${statePath}.lock`;
export const lockInfoPath = (statePath: string) => `${statePath}.lock.info`;

async function readLockInfo(statePath: string): Promise<LockInfo | null> {
  try {
    return JSON.parse(await readFile(lockInfoPath(statePath), 'utf8')) as LockInfo;
  } catch {
    return null;
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A lock directory without .lock.info: its holder was killed while taking or releasing it (or is doing so right now). */
const NO_HOLDER_HINT = (statePath: string) =>
  `the lock has no holder record (a run was probably killed while taking or releasing it); it expires 10 s after its last refresh: retry with --lock-timeout 15000, or if no callform run is active, remove ${lockDir(statePath)}`;

export function describeHolder(info: LockInfo | null): string {
  if (!info) return 'an unknown process';
  return `${info.operation} (lock ID ${info.id}) by pid ${info.pid} on ${info.host} since ${info.since}`;
}

export interface AcquireOptions {
  operation: string;
  timeoutMs: number;
  /** Called if the lock is taken away while held (force-unlock by someone else); the run goes on. */
  onCompromised?: (err: Error) => void;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

/**
 * Takes the exclusive state lock (proper-lockfile: a directory beside the state,
 * refreshed while held, stale after 10 s). A lock whose holder is a dead process on
 * this host is broken at once, so a run killed with SIGKILL does not block the next.
 */
export async function acquireStateLock(statePath: string, options: AcquireOptions): Promise<StateLock> {
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const now = options.now ?? Date.now;
  const deadline = now() + options.timeoutMs;
  const info: LockInfo = { id: randomUUID(), operation: options.operation, pid: process.pid, host: hostname(), since: new Date().toISOString() };
  const { default: lockfile } = await import('proper-lockfile'); // only commands that write state lock
  for (;;) {
    try {
      const release = await lockfile.lock(statePath, {
        realpath: false,
        stale: 10_000,
        update: 2_000,
        lockfilePath: lockDir(statePath),
        // proper-lockfile throws from a timer by default, which would kill the run mid-apply.
        onCompromised: options.onCompromised ?? (() => undefined),
      });
      await writeFile(lockInfoPath(statePath), JSON.stringify(info) + '\n');
      return {
        info,
        async release() {
          await rm(lockInfoPath(statePath), { force: true });
          await release().catch(() => undefined);
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ELOCKED') {
        throw new CallformError(`cannot lock state file: ${(err as Error).message}`);
      }
      const holder = await readLockInfo(statePath);
      if (holder && holder.host === hostname() && holder.pid !== process.pid && !processAlive(holder.pid)) {
        await breakLock(statePath);
        continue;
      }
      if (now() >= deadline) {
        throw new CallformError(
          `state is locked: ${describeHolder(holder)}`,
          holder
            ? `wait for it to finish, retry with --lock-timeout, or if that run is gone, remove the lock with \`callform force-unlock ${holder.id}\``
            : NO_HOLDER_HINT(statePath),
        );
      }
      await sleep(Math.min(250, Math.max(1, deadline - now())));
    }
  }
}

async function breakLock(statePath: string): Promise<void> {
  await rm(lockInfoPath(statePath), { force: true });
  await rm(lockDir(statePath), { recursive: true, force: true });
}

/** `callform force-unlock ID`: removes the lock only when ID names the current holder. */
export async function forceUnlock(statePath: string, id: string): Promise<LockInfo> {
  const { default: lockfile } = await import('proper-lockfile');
  const holder = await readLockInfo(statePath);
  const locked = await lockfile.check(statePath, { realpath: false, stale: 10_000, lockfilePath: lockDir(statePath) }).catch(() => false);
  if (!holder && !locked) throw new CallformError('the state is not locked', 'nothing to unlock');
  if (!holder) throw new CallformError('the state lock has no holder record, so it has no lock ID to match', NO_HOLDER_HINT(statePath));
  if (!holder || holder.id !== id) {
    throw new CallformError(`lock ID ${id} does not match the current lock (${describeHolder(holder)})`, 'pass the ID printed in the "state is locked" message');
  }
  await breakLock(statePath);
  return holder;
}
