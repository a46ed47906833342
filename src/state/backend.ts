/**
 * The state store behind one small interface (after Terraform's statemgr): read, write,
 * lock with a holder record, and the run history. Planning and applying code sees only
 * this; the file lock and the Postgres advisory lock are each backend's own business.
 * The write-ahead marks (pending sends, owed resumes) are part of the state every backend
 * writes, so they reach the store before the calls, whatever the backend.
 */
import path from 'node:path';
import type { CallformState } from '../generated/state.js';
import type { LoadedState } from './state.js';
import type { AcquireOptions, LockInfo, LockStatus, StateLock } from './lock.js';

/** The resolved `state` setting: a file path (absolute), or a Postgres state. */
export type StateSetting = { backend: 'file'; path: string };

/** A problem that keeps apply from writing the state, with how to fix it. */
export interface StoreProblem {
  problem: string;
  hint: string;
}

export interface StateBackend {
  readonly kind: StateSetting['backend'];
  /** How users see the store: a path relative to the working directory, or postgres schema.name. */
  readonly display: string;
  read(): Promise<LoadedState>;
  /**
   * Saves the whole state. Postgres: a transaction that refuses the write unless the stored
   * state has the same lineage and a lower serial (compare-and-swap), whatever the lock says.
   */
  write(state: CallformState): Promise<void>;
  lock(options: AcquireOptions): Promise<StateLock>;
  lockStatus(now?: number): Promise<LockStatus>;
  /** File backend only: Postgres locks die with the holder's connection. */
  forceUnlock(id: string): Promise<LockInfo>;
  /** Why apply could not save the state here (doctor), or null. */
  writeProblem(): Promise<StoreProblem | null>;
  /** Closes connections (a no-op for files). */
  close(): Promise<void>;
}

export interface BackendContext {
  cwd: string;
  env: NodeJS.ProcessEnv;
}

/** The store the resolved `state` setting names (the Postgres client is loaded only when used). */
export async function openStateBackend(setting: StateSetting, ctx: BackendContext): Promise<StateBackend> {
  const { FileStateBackend } = await import('./file-backend.js');
  return new FileStateBackend(setting.path, path.relative(ctx.cwd, setting.path) || setting.path);
}
