/**
 * The state lock: one `apply` at a time per state file.
 *
 * Layout. `STATE.lock` is a regular file whose content IS the holder record (LockInfo
 * JSON). To take the lock, a run writes its record to a unique temp file beside it
 * (`STATE.lock.tmp-<host hash>-<pid>-<random>`) and `link()`s that file to `STATE.lock`.
 * link() is atomic and fails with EEXIST when the name exists, so the lock and its holder
 * record appear in the same instant: no lock ever exists without a record. A SIGKILL at
 * any point leaves either no lock (at most a temp file, swept later) or a complete lock
 * that names a pid which is now dead, and the next run on this host breaks it at once.
 *
 * Why link() and not the alternatives: proper-lockfile (mkdir, then a separate
 * `.lock.info`) cannot make the record part of taking the lock, which is the bug this
 * replaces. Renaming a prepared directory that holds the record would be atomic too, but
 * rename() silently replaces an *empty* directory (an older callform's lock just after its
 * mkdir), is not portable to Windows, and a directory cannot be refreshed through a
 * descriptor. With a file, the holder keeps a descriptor on its own inode: the heartbeat
 * (mtime, every 2 s) touches that inode and nothing else, and "is the lock still mine"
 * is "does STATE.lock still have my inode". It needs a filesystem with hard links (any
 * local Linux/macOS/Windows disk, NFS); elsewhere taking the lock fails with a clear error.
 *
 * Breaking. A lock is broken when its holder is a dead process on this host, or when it
 * has not been refreshed for 10 s (holder on another host, or a stuck / reused pid).
 * Breaking renames the exact lock that was inspected to a unique name, then checks the
 * inode of what it moved (see {@link removeIfSame}): two runs that find the same dead lock
 * cannot both take the lock, and a release or force-unlock never deletes a lock that
 * meanwhile belongs to someone else.
 *
 * Old layout. An older callform used proper-lockfile: a `STATE.lock` *directory* plus
 * `STATE.lock.info`. Such a leftover is handled as that version did: broken at once when
 * `.lock.info` names a dead pid on this host, otherwise once the directory has not been
 * refreshed for 10 s; a fresh one without `.lock.info` is reported as "an unknown process".
 * Both versions contend for the same name `STATE.lock`, so they still exclude each other.
 */
import { hostname } from 'node:os';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { Stats } from 'node:fs';
import { link, lstat, open, readdir, readFile, rename, rm, unlink, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { CallformError } from '../errors.js';
import { stateDirectoryHint, stateDirectoryProblem } from './state.js';

/** Who holds the state lock: the content of the lock file, so a waiting run can name the holder. */
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

/** A lock not refreshed for this long is stale and may be broken (also proper-lockfile's value, for old leftovers). */
export const STALE_MS = 10_000;
const REFRESH_MS = 2_000;

/** The lock file (the holder record) for a state file. */
export const lockPath = (statePath: string) => `${statePath}.lock`;
/** Where an older callform (proper-lockfile layout) wrote its holder record. */
export const legacyLockInfoPath = (statePath: string) => `${statePath}.lock.info`;

const TEMP_MARK = '.tmp-';
let hostTag: string | undefined;
/** Short, filename-safe tag of this host, so a sweep can tell its own host's temp files. */
const thisHostTag = () => (hostTag ??= createHash('sha256').update(hostname()).digest('hex').slice(0, 8));
/** A unique name beside the lock for a record being prepared or a lock being removed. */
const tempPath = (lock: string) =>
  `${lock}${TEMP_MARK}${thisHostTag()}-${process.pid}-${randomBytes(6).toString('hex')}`;

/** Lock IDs held by this process: a lock naming our own pid but not listed here was left by an earlier process that had our pid. */
const heldHere = new Set<string>();

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const code = (err: unknown) => (err as NodeJS.ErrnoException | undefined)?.code;

function parseHolder(text: string): LockInfo | null {
  try {
    const v = JSON.parse(text) as Partial<LockInfo> | null;
    if (v && typeof v.id === 'string' && typeof v.pid === 'number' && typeof v.host === 'string') {
      return {
        id: v.id,
        operation: String(v.operation ?? '?'),
        pid: v.pid,
        host: v.host,
        since: String(v.since ?? '?'),
      };
    }
  } catch {
    // not a record callform wrote
  }
  return null;
}

/** The lock found at STATE.lock: what it is (its inode and mtime) and whom it names. */
interface Seen {
  legacy: boolean;
  stat: Stats;
  holder: LockInfo | null;
}

/** Looks at the current lock, or null when there is none (it may have just been released). */
async function inspect(statePath: string): Promise<Seen | null> {
  const file = lockPath(statePath);
  let st: Stats;
  try {
    st = await lstat(file);
  } catch (err) {
    if (code(err) === 'ENOENT') return null;
    throw err;
  }
  if (st.isDirectory()) {
    const holder = await readFile(legacyLockInfoPath(statePath), 'utf8').then(parseHolder, () => null);
    return { legacy: true, stat: st, holder };
  }
  // Read through one descriptor, so the record and the inode/mtime belong to the same lock.
  let fh: FileHandle;
  try {
    fh = await open(file, 'r');
  } catch (err) {
    if (code(err) === 'ENOENT') return null;
    throw err;
  }
  try {
    const stat = await fh.stat();
    return { legacy: false, stat, holder: parseHolder(await fh.readFile('utf8')) };
  } finally {
    await fh.close();
  }
}

/** Why a lock may be broken now, or null when it must be respected. */
function breakReason(seen: Seen, now: number): string | null {
  const h = seen.holder;
  if (h && h.host === hostname()) {
    if (h.pid === process.pid ? !heldHere.has(h.id) : !processAlive(h.pid)) return `holder pid ${h.pid} is dead`;
  }
  if (now - seen.stat.mtimeMs > STALE_MS) return `not refreshed for ${Math.round((now - seen.stat.mtimeMs) / 1000)} s`;
  return null;
}

const sameFile = (a: Stats, b: Stats) => a.ino === b.ino && a.dev === b.dev;

/** The lock a caller means to remove: its inode, and the holder ID it carried (null: no readable record). */
interface Expected {
  stat: Stats;
  id: string | null;
}

/** Whether the file moved aside is the lock expected: same inode and same holder (an inode number is reused). */
async function isExpected(aside: string, moved: Stats, expected: Expected): Promise<boolean> {
  if (!sameFile(moved, expected.stat)) return false;
  if (moved.isDirectory()) return true; // an older callform's lock directory: never rewritten in place
  if (expected.id === null) return moved.mtimeMs === expected.stat.mtimeMs;
  const record = await readFile(aside, 'utf8').then(parseHolder, () => null);
  return record?.id === expected.id;
}

/**
 * Removes the lock at `file` only if it is still the one described by `expected`.
 *
 * The race this closes: runs A and B both inspect the same dead lock L1. A removes it and
 * takes the lock (L2). If B now simply unlinked STATE.lock, it would delete A's live L2
 * and take the lock too: two applies at once. Instead B renames whatever is at STATE.lock
 * to a unique name (atomic: B now owns exactly what it moved) and compares its inode with
 * L1's. Same inode: B removed L1 and nothing else. Different: B moved A's L2, so it links
 * it straight back and reports "replaced". The inode alone is not enough: A's L2 is a new
 * file that may get L1's freed inode number, so the moved file's holder ID must match too
 * (and, for a lock without a readable record, its mtime). (Only a third run that takes the lock in those
 * few microseconds could then cost A its lock; A's heartbeat notices and warns.)
 * Release and force-unlock go through here too, so neither deletes a lock that meanwhile
 * belongs to someone else.
 */
async function removeIfSame(file: string, expected: Expected): Promise<'removed' | 'gone' | 'replaced'> {
  const aside = tempPath(file);
  try {
    await rename(file, aside);
  } catch (err) {
    if (code(err) === 'ENOENT') return 'gone';
    throw err;
  }
  const moved = await lstat(aside);
  if (await isExpected(aside, moved, expected)) {
    await rm(aside, { recursive: true, force: true });
    return 'removed';
  }
  try {
    if (moved.isDirectory()) await rename(aside, file);
    else await link(aside, file);
  } catch {
    // Someone took the free name in between: the lock we moved is lost either way.
  }
  await rm(aside, { recursive: true, force: true });
  return 'replaced';
}

/** Removes the lock seen (and an old layout's .lock.info with it). */
async function breakLock(statePath: string, seen: Seen): Promise<'removed' | 'gone' | 'replaced'> {
  const outcome = await removeIfSame(lockPath(statePath), { stat: seen.stat, id: seen.holder?.id ?? null });
  if (outcome === 'removed' && seen.legacy) await rm(legacyLockInfoPath(statePath), { force: true });
  return outcome;
}

/**
 * Deletes temp files left beside the lock by runs killed while taking, breaking or
 * releasing it: those of dead processes on this host, and any older than {@link STALE_MS}
 * (a live run's temp file exists for a few milliseconds). Best effort; called by the
 * holder right after taking the lock.
 */
async function sweepTemps(file: string, now: number): Promise<void> {
  const dir = path.dirname(file);
  const prefix = path.basename(file) + TEMP_MARK;
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => n.startsWith(prefix));
  } catch {
    return;
  }
  for (const name of names) {
    const [tag, pidText] = name.slice(prefix.length).split('-');
    const pid = Number(pidText);
    const full = path.join(dir, name);
    try {
      const deadHere =
        tag === thisHostTag() && Number.isInteger(pid) && pid > 0 && pid !== process.pid && !processAlive(pid);
      if (deadHere || now - (await lstat(full)).mtimeMs > STALE_MS) await rm(full, { recursive: true, force: true });
    } catch {
      // gone already, or not ours to remove
    }
  }
}

/** Why a lock names no holder: an older callform killed between its mkdir and its .lock.info write, or a file callform did not write. */
const NO_HOLDER_HINT = (statePath: string, seen: Seen | null) =>
  seen?.legacy === false
    ? `the lock file has no valid holder record (callform did not write it, or a system crash cut it short); it counts as stale 10 s after its last change: retry with --lock-timeout 15000, or if no callform run is active, remove ${lockPath(statePath)}`
    : `the lock has no holder record (an older callform was probably killed while taking or releasing it); it expires 10 s after its last refresh: retry with --lock-timeout 15000, or if no callform run is active, remove ${lockPath(statePath)}`;

/** What `doctor` reports about the lock: free, or held (by whom), and whether the next run would break it. */
export type LockStatus = { locked: false } | { locked: true; holder: LockInfo | null; breakable: string | null };

/** Reads the lock without taking or changing it. */
export async function lockStatus(statePath: string, now = Date.now()): Promise<LockStatus> {
  const seen = await inspect(statePath);
  return seen ? { locked: true, holder: seen.holder, breakable: breakReason(seen, now) } : { locked: false };
}

export function describeHolder(info: LockInfo | null): string {
  if (!info) return 'an unknown process';
  return `${info.operation} (lock ID ${info.id}) by pid ${info.pid} on ${info.host} since ${info.since}`;
}

function lockedError(statePath: string, seen: Seen): CallformError {
  const holder = seen.holder;
  return new CallformError(
    `state is locked: ${describeHolder(holder)}`,
    holder
      ? `wait for it to finish, retry with --lock-timeout, or if that run is gone, remove the lock with \`callform force-unlock ${holder.id}\``
      : NO_HOLDER_HINT(statePath, seen),
  );
}

/** A failed link() of the prepared record to the lock name. */
function cannotLock(err: unknown, file: string): CallformError {
  const c = code(err);
  if (c === 'EPERM' || c === 'ENOTSUP' || c === 'EOPNOTSUPP' || c === 'ENOSYS') {
    return new CallformError(
      `cannot lock state file: cannot create the hard link ${file} (${c})`,
      'the state lock needs a filesystem that supports hard links: keep the state file on a local disk or NFS',
    );
  }
  return new CallformError(`cannot lock state file: ${(err as Error).message}`);
}

export interface AcquireOptions {
  operation: string;
  timeoutMs: number;
  /** Called (once) if the lock is taken away while held (force-unlock by someone else); the run goes on. */
  onCompromised?: (err: Error) => void;
  /** Called once when the lock is held by a live run and this one starts waiting for it. */
  onWait?: (holder: LockInfo | null) => void;
  sleep?: (ms: number) => Promise<void>;
  /** Clock (ms) for the wait deadline and for judging staleness. */
  now?: () => number;
  /** Heartbeat interval (default 2 s; tests shorten it). */
  refreshMs?: number;
}

/** Writes the record to a fresh temp file and tries to link it to the lock name; the open file on success, null when held. */
async function tryTake(file: string, info: LockInfo): Promise<FileHandle | null> {
  for (;;) {
    const temp = tempPath(file);
    const fh = await open(temp, 'wx').catch(async (err: Error) => {
      // The lock sits next to the state file: a missing directory is the settings' "state" path.
      const problem = await stateDirectoryProblem(file);
      if (problem) throw new CallformError(`cannot lock state file: ${problem}`, stateDirectoryHint(file));
      throw new CallformError(`cannot lock state file: ${err.message}`);
    });
    let taken = false;
    try {
      await fh.writeFile(JSON.stringify(info) + '\n');
      await link(temp, file);
      taken = true;
      return fh;
    } catch (err) {
      if (code(err) === 'EEXIST') return null;
      // ENOENT: another host's sweep mistook our temp file for a leftover (host tag clash); write it again.
      if (code(err) !== 'ENOENT') throw cannotLock(err, file);
    } finally {
      if (!taken) await fh.close();
      // On success the lock name keeps the inode (and our descriptor refreshes it).
      await unlink(temp).catch(() => undefined);
    }
  }
}

/**
 * Takes the exclusive state lock, waiting up to `timeoutMs` for a live holder. A lock
 * whose holder is a dead process on this host is broken at once, and any lock not
 * refreshed for 10 s is stale and broken, so a killed run never blocks the next one.
 */
export async function acquireStateLock(statePath: string, options: AcquireOptions): Promise<StateLock> {
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const now = options.now ?? Date.now;
  const deadline = now() + options.timeoutMs;
  const file = lockPath(statePath);
  const info: LockInfo = {
    id: randomUUID(),
    operation: options.operation,
    pid: process.pid,
    host: hostname(),
    since: new Date().toISOString(),
  };
  heldHere.add(info.id); // before the lock can exist, so it never looks like an earlier process's
  let fh: FileHandle | null;
  let waited = false;
  try {
    for (;;) {
      fh = await tryTake(file, info);
      if (fh) break;
      const seen = await inspect(statePath).catch((err) => {
        throw new CallformError(`cannot lock state file: ${(err as Error).message}`);
      });
      if (!seen) continue; // released between our attempt and our look
      if (breakReason(seen, now())) {
        await breakLock(statePath, seen).catch((err) => {
          throw new CallformError(`cannot break the stale state lock ${file}: ${(err as Error).message}`);
        });
        continue;
      }
      if (now() >= deadline) throw lockedError(statePath, seen);
      if (!waited) options.onWait?.(seen.holder);
      waited = true;
      await sleep(Math.min(250, Math.max(1, deadline - now())));
    }
  } catch (err) {
    heldHere.delete(info.id);
    throw err;
  }
  const handle = fh;
  const mine = await handle.stat();
  // Litter from killed runs; and an old layout's .lock.info cannot belong to anyone now that we hold STATE.lock.
  await sweepTemps(file, now());
  await rm(legacyLockInfoPath(statePath), { force: true }).catch(() => undefined);

  let lost = false;
  const lose = (why: string) => {
    if (lost) return;
    lost = true;
    clearInterval(timer);
    try {
      options.onCompromised?.(new Error(why));
    } catch {
      // a failing callback must not crash the run (it used to fire from a timer)
    }
  };
  const whyLost = async (): Promise<string> => {
    const seen = await inspect(statePath).catch(() => null);
    return seen ? `${file} now belongs to ${describeHolder(seen.holder)}` : `${file} was removed`;
  };
  let beat: Promise<void> = Promise.resolve();
  const heartbeat = async () => {
    try {
      const t = new Date();
      await handle.utimes(t, t); // our inode only, whoever holds the name now
      const st = await lstat(file).catch(() => null);
      if (!st || !sameFile(st, mine)) lose(await whyLost());
    } catch {
      // a failed refresh is retried at the next beat; staleness takes 10 s
    }
  };
  const timer = setInterval(() => {
    if (!lost) beat = beat.then(heartbeat);
  }, options.refreshMs ?? REFRESH_MS);
  timer.unref();

  let released = false;
  return {
    info,
    async release() {
      if (released) return;
      released = true;
      clearInterval(timer);
      await beat;
      try {
        if (!lost) {
          const outcome = await removeIfSame(file, { stat: mine, id: info.id }).catch(() => 'failed' as const);
          if (outcome === 'gone' || outcome === 'replaced')
            lose(outcome === 'gone' ? `${file} was removed` : await whyLost());
        }
      } finally {
        // Only now: until it is gone, our lock must not look like an earlier process's to another acquire in this process.
        heldHere.delete(info.id);
        await handle.close().catch(() => undefined);
      }
    },
  };
}

/** True when the holder is a process on this host that is still running (force-unlock warns then). */
export const holderRunsHere = (holder: LockInfo): boolean => holder.host === hostname() && processAlive(holder.pid);

/** `callform force-unlock ID`: removes the lock only when ID names its current holder. */
export async function forceUnlock(statePath: string, id: string): Promise<LockInfo> {
  const seen = await inspect(statePath);
  if (!seen) throw new CallformError('the state is not locked', 'nothing to unlock');
  const holder = seen.holder;
  if (!holder)
    throw new CallformError(
      'the state lock has no holder record, so it has no lock ID to match',
      NO_HOLDER_HINT(statePath, seen),
    );
  if (holder.id !== id) {
    throw new CallformError(
      `lock ID ${id} does not match the current lock (${describeHolder(holder)})`,
      'pass the ID printed in the "state is locked" message',
    );
  }
  const outcome = await breakLock(statePath, seen);
  if (outcome === 'gone')
    throw new CallformError(
      'the state is not locked',
      `lock ${id} was released while force-unlock ran; nothing to unlock`,
    );
  if (outcome === 'replaced')
    throw new CallformError(
      `lock ${id} changed hands while force-unlock ran; nothing was removed`,
      'run callform force-unlock again with the ID now printed',
    );
  return holder;
}
