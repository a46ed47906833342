/**
 * The state store behind one small interface (after Terraform's statemgr): read, write,
 * lock with a holder record, and the run history. Planning and applying code sees only
 * this; the file lock and the Postgres advisory lock are each backend's own business.
 * The write-ahead marks (pending sends, owed resumes) are part of the state every backend
 * writes, so they reach the store before the calls, whatever the backend.
 */
import path from 'node:path';
import type { CallformState } from '../generated/state.js';
import type { StateSetting as StateSettingValue } from '../generated/config.js';
import type { LoadedState } from './state.js';
import type { ExpectedSettings } from './read-expected.js';
import type { AcquireOptions, LockInfo, LockStatus, StateLock } from './lock.js';
import type { HistoryQuery, HistoryRun } from './history.js';

export interface BackendLockOptions extends AcquireOptions {
  /**
   * The lock is gone while held (Postgres: its connection dropped, so the server released
   * it). The run must start no new API call; the calls in flight may finish.
   */
  onLost?: (err: Error) => void;
}

/** The resolved `state` setting: a file path (absolute), or a Postgres state. */
export type StateSetting =
  | { backend: 'file'; path: string }
  | { backend: 'postgres'; urlEnv: string; schema: string; name: string; skipSchemaCreation: boolean };

const DEFAULT_STATE_FILE = 'callform.state.json';
const DEFAULT_URL_ENV = 'CALLFORM_DATABASE_URL';

/**
 * The `state` setting as written (a path, or a postgres object; absent: the default file),
 * resolved against the settings file's directory. `environment` names the state when the
 * object leaves `name` out (per-environment states); without one it is "default".
 */
export function resolveStateSetting(
  value: StateSettingValue | undefined,
  baseDir: string,
  environment?: string,
): StateSetting {
  if (value === undefined || typeof value === 'string')
    return { backend: 'file', path: path.resolve(baseDir, value ?? DEFAULT_STATE_FILE) };
  return {
    backend: 'postgres',
    urlEnv: value.urlEnv ?? DEFAULT_URL_ENV,
    schema: value.schema ?? 'callform',
    name: value.name ?? environment ?? 'default',
    skipSchemaCreation: value.skipSchemaCreation ?? false,
  };
}

/** A problem that keeps apply from writing the state, with how to fix it. */
export interface StoreProblem {
  problem: string;
  hint: string;
}

export interface StateBackend {
  readonly kind: StateSetting['backend'];
  /** How users see the store: a path relative to the working directory, or postgres schema.name. */
  readonly display: string;
  /**
   * `expected`: the settings a plan expects each entry to record (it must never reject). A
   * store may use it to read faster (the file backend does: read-expected.ts); the state
   * read is the same either way.
   */
  read(expected?: Promise<ExpectedSettings | null>): Promise<LoadedState>;
  /**
   * Saves the whole state. Postgres: a transaction that refuses the write unless the stored
   * state has the same lineage and a lower serial (compare-and-swap), whatever the lock says.
   */
  write(state: CallformState): Promise<void>;
  /**
   * Replaces the state as a whole (state push, under the lock, after its checks): only if
   * the store still holds `expected` (null: no state yet).
   */
  replace(state: CallformState, expected: { lineage: string; serial: number } | null): Promise<void>;
  lock(options: BackendLockOptions): Promise<StateLock>;
  lockStatus(now?: number): Promise<LockStatus>;
  /** A holder record as the "state is locked" message shows it. */
  describeHolder(holder: LockInfo | null): string;
  /** File backend only: Postgres locks die with the holder's connection. */
  forceUnlock(id: string): Promise<LockInfo>;
  /** Where the store is, for doctor (Postgres: database, server version, schema version; no credentials). */
  describeStore(): Promise<string>;
  /** Why apply could not save the state here (doctor), or null. */
  writeProblem(): Promise<StoreProblem | null>;
  /** Records one apply; called after the run's state is saved. */
  appendHistory(run: HistoryRun): Promise<void>;
  /** Runs newest first, as the query selects them. */
  readHistory(query: HistoryQuery): Promise<HistoryRun[]>;
  /** Closes connections (a no-op for files). */
  close(): Promise<void>;
}

export interface BackendContext {
  cwd: string;
  env: NodeJS.ProcessEnv;
}

/** The store the resolved `state` setting names (the Postgres client is loaded only when used). */
export async function openStateBackend(setting: StateSetting, ctx: BackendContext): Promise<StateBackend> {
  if (setting.backend === 'file') {
    const { FileStateBackend } = await import('./file-backend.js');
    return new FileStateBackend(setting.path, path.relative(ctx.cwd, setting.path) || setting.path);
  }
  const { PostgresStateBackend } = await import('./postgres-backend.js');
  return new PostgresStateBackend(setting, ctx.env);
}
