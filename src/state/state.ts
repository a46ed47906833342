import { readFile } from 'node:fs/promises';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import type { CallformState, TaskState } from '../generated/state.js';
import { validateState } from '../generated/validators.js';
import { CallformError } from '../errors.js';
import { ajvIssues } from '../config/ajv-issues.js';
import { parseSource } from '../config/source.js';
import { formatIssue } from '../errors.js';
import { TOOL_VERSION } from '../version.js';

export type { CallformState, TaskState };
export const STATE_VERSION = 1;

export function emptyState(): CallformState {
  return { version: STATE_VERSION, lineage: randomUUID(), serial: 0, tasks: {} };
}

export interface LoadedState {
  state: CallformState;
  /** False when no state file existed yet (nothing has been applied). */
  exists: boolean;
}

const KEEP = 'it was left untouched; restore it from a backup or version control, or move it aside to start over';

/** Reads the state file; a corrupt or unknown-version file is refused, never overwritten. */
export async function readState(statePath: string, displayPath = statePath): Promise<LoadedState> {
  let text: string;
  try {
    text = await readFile(statePath, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { state: emptyState(), exists: false };
    throw new CallformError(`cannot read state file ${displayPath}: ${(err as Error).message}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new CallformError(`state file ${displayPath} is not valid JSON (${(err as Error).message})`, KEEP);
  }
  const version = (value as { version?: unknown } | null)?.version;
  if (typeof version === 'number' && version > STATE_VERSION) {
    throw new CallformError(
      `state file ${displayPath} has version ${version}, written by a newer callform; this one understands version ${STATE_VERSION}`,
      'upgrade callform; the file was left untouched',
    );
  }
  if (!validateState(value)) {
    const doc = parseSource(displayPath.endsWith('.json') ? displayPath : `${displayPath}.json`, text).documents[0];
    const issues = ajvIssues(validateState.errors, { file: displayPath, basePath: [], sources: doc ? [{ doc, basePath: [] }] : [] });
    throw new CallformError(
      `state file ${displayPath} is not a valid callform state:\n${issues.slice(0, 10).map((i) => '  ' + formatIssue(i)).join('\n')}`,
      KEEP,
    );
  }
  return { state: value as CallformState, exists: true };
}

/** Atomic replace: temp file in the same directory, fsync, rename. Readers see old or new, never torn. */
export async function writeStateFile(statePath: string, state: CallformState): Promise<void> {
  const text = JSON.stringify(state, null, 2) + '\n'; // snapshot before any await
  const { default: writeFileAtomic } = await import('write-file-atomic'); // not needed by read-only commands
  await writeFileAtomic(statePath, text, { fsync: true, mode: 0o644 });
}

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
  ) {
    this.state = { ...initial, tasks: { ...initial.tasks } };
  }

  get current(): CallformState {
    return this.state;
  }

  // The writer owns its state object (a private copy): mutating it in place keeps a
  // thousand-task apply linear instead of copying the task map per landed update.
  recordApplied(userTaskID: string, entry: TaskState): void {
    this.state.tasks[userTaskID] = entry;
    this.schedule();
  }

  /** Marks settings as sent but not yet confirmed (see TaskState.pending), for tasks already in state. */
  markUnconfirmed(sent: Array<{ userTaskID: string; settings: NonNullable<TaskState['pending']> }>): void {
    for (const { userTaskID, settings } of sent) {
      const entry = this.state.tasks[userTaskID];
      if (entry) this.state.tasks[userTaskID] = { ...entry, pending: settings };
    }
    this.schedule();
  }

  /** Puts back a task's earlier pending mark (or none) once the server has refused a send. */
  restorePending(userTaskID: string, pending: TaskState['pending']): void {
    const entry = this.state.tasks[userTaskID];
    if (!entry) return;
    const { pending: _sent, ...rest } = entry;
    this.state.tasks[userTaskID] = pending ? { ...rest, pending } : rest;
    this.schedule();
  }

  forget(userTaskID: string): void {
    delete this.state.tasks[userTaskID];
    this.schedule();
  }

  private schedule(): void {
    this.dirty = true;
    if (!this.writing) this.writing = this.drain();
  }

  /**
   * Between two writes it pauses for a few times as long as the last write took, so a
   * large state is not re-serialised back to back while updates land (writes stay under
   * ~10% of the time); a small state is still written within milliseconds. flush() cuts
   * the pause short.
   */
  private async drain(): Promise<void> {
    try {
      while (this.dirty) {
        this.dirty = false;
        this.state.serial += 1;
        this.state.toolVersion = TOOL_VERSION;
        const started = performance.now();
        // Serialised synchronously inside write(): later mutations cannot tear this snapshot.
        await this.write(this.statePath, this.state);
        this.writes++;
        if (this.dirty && !this.flushing) await this.pause(Math.min(2000, 9 * (performance.now() - started)));
      }
    } catch (err) {
      this.failure = err;
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
      this.failure = null;
      throw new CallformError(`could not write state file ${path.basename(this.statePath)}: ${(err as Error).message}`);
    }
  }
}
