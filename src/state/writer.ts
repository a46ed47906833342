import path from 'node:path';
import type { CallformState, TaskState } from '../generated/state.js';
import { CallformError } from '../errors.js';
import { TOOL_VERSION } from '../version.js';
import { writeStateFile, STATE_VERSION } from './state.js';
import { withUnconfirmed, type SentSettings } from './entry.js';
import { putMember } from './json-match.js';
import { ownEntry } from '../model/task.js';

/**
 * Owns the state during an apply: every mutation bumps the serial and is persisted
 * promptly. Writes are serialised and coalesced (a burst of landed updates becomes
 * one write), so the file never records an update the server did not confirm, and
 * at most a few confirmed ones are missing if the process dies — a re-run re-sends
 * those, which updateTask tolerates (it sets values).
 */
export class StateWriter {
  private writing: Promise<void> | null = null;
  private dirty = false;
  private failure: unknown = null;
  private flushing = false;
  private wake: () => void = () => undefined;
  writes = 0;

  private state: CallformState;

  constructor(
    readonly statePath: string,
    initial: CallformState,
    private readonly write: (p: string, s: CallformState) => Promise<void> = writeStateFile,
    /** How the state is named in a write error (default: the file's name). */
    private readonly label = `file ${path.basename(statePath)}`,
  ) {
    this.state = { ...initial, tasks: { ...initial.tasks } };
  }

  get current(): CallformState {
    return this.state;
  }

  /**
   * True once a write failed: the file may lag what the server got, so apply starts no
   * further call (a send whose mark or confirmation cannot be recorded is not safe).
   * It stays true; every later flush() rethrows the failure.
   */
  get failed(): boolean {
    return this.failure !== null;
  }

  /**
   * Ends writing for good: the store can no longer be trusted to take writes (Postgres: the
   * lock's connection dropped). Apply sees `failed` and starts no new call; flush() throws `err`.
   */
  abort(err: Error): void {
    this.failure ??= err;
    this.wake(); // a drain pausing between writes ends now
  }

  /** A task's entry, if the state has one. */
  task(userTaskID: string): TaskState | undefined {
    return ownEntry(this.state.tasks, userTaskID);
  }

  // The writer owns its state object (a private copy): mutating it in place keeps a
  // thousand-task apply linear instead of copying the task map per landed update.
  /** A confirmed update (or a state-only one): the entry becomes exactly what was applied. */
  recordApplied(userTaskID: string, entry: TaskState): void {
    putMember(this.state.tasks, userTaskID, entry);
    this.schedule();
  }

  /**
   * Adds settings about to be sent to each task's unconfirmed mark (see TaskState.pending),
   * for tasks already in state. Returns the entries as they were, for {@link restore}.
   */
  markUnconfirmed(
    sent: ReadonlyArray<{ userTaskID: string; settings: SentSettings }>,
    since: string,
  ): Map<string, TaskState> {
    const earlier = new Map<string, TaskState>();
    for (const { userTaskID, settings } of sent) {
      const entry = this.task(userTaskID);
      if (!entry) continue;
      earlier.set(userTaskID, entry);
      putMember(this.state.tasks, userTaskID, withUnconfirmed(entry, settings, since));
    }
    this.schedule();
    return earlier;
  }

  /** Puts a task's entry back as it was (a send the server verifiably refused changed nothing). */
  restore(userTaskID: string, entry: TaskState): void {
    putMember(this.state.tasks, userTaskID, entry);
    this.schedule();
  }

  forget(userTaskID: string): void {
    delete this.state.tasks[userTaskID];
    this.schedule();
  }

  /** The policy this apply runs under (null: none), so later plans can say when it changed. */
  recordPolicy(digest: string | null): void {
    if (this.state.policyDigest === digest) return;
    this.state.policyDigest = digest;
    this.schedule();
  }

  /** Records that callform is about to pause the task and owes it a resume (flush() before the pause call). */
  oweResume(userTaskID: string, since: string): void {
    this.state.owedResumes = { ...this.state.owedResumes, [userTaskID]: { since, phase: 'pausing' } };
    this.schedule();
  }

  /** The pause was seen to take effect. */
  markPaused(userTaskID: string): void {
    const owed = ownEntry(this.state.owedResumes, userTaskID);
    if (!owed) return;
    this.state.owedResumes = { ...this.state.owedResumes, [userTaskID]: { ...owed, phase: 'paused' } };
    this.schedule();
  }

  /** The resume is confirmed (or no longer due: the task runs or finished). */
  clearResume(userTaskID: string): void {
    const owed = this.state.owedResumes;
    if (!owed || !ownEntry(owed, userTaskID)) return;
    const { [userTaskID]: _done, ...rest } = owed;
    this.state.owedResumes = rest;
    if (Object.keys(rest).length === 0) delete this.state.owedResumes;
    this.schedule();
  }

  private schedule(): void {
    this.dirty = true;
    // Nothing is written after a failure. (A drain that ends without an await would also
    // clear `writing` before this assignment, leaving a settled promise flush() awaits forever.)
    if (!this.writing && this.failure === null) this.writing = this.drain();
  }

  /**
   * Between two writes it pauses for a few times as long as the last write took, so a
   * large state is not re-serialised back to back while updates land (writes stay under
   * ~10% of the time); a small state is still written within milliseconds. flush() cuts
   * the pause short.
   */
  private async drain(): Promise<void> {
    try {
      while (this.dirty && this.failure === null) {
        this.dirty = false;
        this.state.serial += 1;
        this.state.toolVersion = TOOL_VERSION;
        this.state.version = STATE_VERSION;
        const started = performance.now();
        // Serialised synchronously inside write(): later mutations cannot tear this snapshot.
        await this.write(this.statePath, this.state);
        this.writes++;
        // record() may have set `dirty` again during the await (the narrowing above does not know).
        if ((this.dirty as boolean) && !this.flushing)
          await this.pause(Math.min(2000, 9 * (performance.now() - started)));
      }
    } catch (err) {
      this.failure ??= err;
    } finally {
      this.writing = null;
    }
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  /** Waits for every scheduled write; rethrows a write failure. */
  async flush(): Promise<void> {
    this.flushing = true;
    this.wake();
    while (this.writing) await this.writing;
    this.flushing = false;
    if (this.failure) {
      const err = this.failure;
      if (err instanceof CallformError) throw err;
      throw new CallformError(`could not write state ${this.label}: ${(err as Error).message}`);
    }
  }
}
