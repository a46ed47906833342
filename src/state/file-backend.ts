/** The file backend: today's JSON state file, its atomic replace and its lock file, unchanged. */
import type { CallformState } from '../generated/state.js';
import type { StateBackend, StoreProblem } from './backend.js';
import type { ExpectedSettings } from './read-expected.js';
import { readState, stateDirectoryHint, stateDirectoryProblem, writeStateFile, type LoadedState } from './state.js';
import {
  acquireStateLock,
  describeHolder,
  forceUnlock,
  lockStatus,
  type AcquireOptions,
  type LockInfo,
  type LockStatus,
} from './lock.js';
import { appendHistoryLine, readHistoryLines, selectRuns, type HistoryQuery, type HistoryRun } from './history.js';

export class FileStateBackend implements StateBackend {
  readonly kind = 'file';

  constructor(
    /** Absolute path of the state file. */
    readonly path: string,
    readonly display: string,
  ) {}

  read(expected?: Promise<ExpectedSettings | null>): Promise<LoadedState> {
    return readState(this.path, this.display, expected);
  }

  write(state: CallformState): Promise<void> {
    return writeStateFile(this.path, state);
  }

  /** Under the lock nobody else writes the file: the atomic replace is enough. */
  replace(state: CallformState): Promise<void> {
    return writeStateFile(this.path, state);
  }

  lock(options: AcquireOptions) {
    return acquireStateLock(this.path, options);
  }

  lockStatus(now?: number): Promise<LockStatus> {
    return lockStatus(this.path, now);
  }

  describeHolder(holder: LockInfo | null): string {
    return describeHolder(holder);
  }

  forceUnlock(id: string) {
    return forceUnlock(this.path, id);
  }

  describeStore(): Promise<string> {
    return Promise.resolve(`state file ${this.display}`);
  }

  async writeProblem(): Promise<StoreProblem | null> {
    const problem = await stateDirectoryProblem(this.path);
    return problem ? { problem, hint: stateDirectoryHint(this.path) } : null;
  }

  /** `<state>.history.jsonl` beside the state file. */
  get historyPath(): string {
    return `${this.path}.history.jsonl`;
  }

  appendHistory(run: HistoryRun): Promise<void> {
    return appendHistoryLine(this.historyPath, run);
  }

  async readHistory(query: HistoryQuery): Promise<HistoryRun[]> {
    return selectRuns(await readHistoryLines(this.historyPath), query);
  }

  async close(): Promise<void> {
    // nothing held open between operations
  }
}
