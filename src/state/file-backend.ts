/** The file backend: today's JSON state file, its atomic replace and its lock file, unchanged. */
import type { CallformState } from '../generated/state.js';
import type { StateBackend, StoreProblem } from './backend.js';
import { readState, stateDirectoryHint, stateDirectoryProblem, writeStateFile, type LoadedState } from './state.js';
import { acquireStateLock, forceUnlock, lockStatus, type AcquireOptions, type LockStatus } from './lock.js';

export class FileStateBackend implements StateBackend {
  readonly kind = 'file';

  constructor(
    /** Absolute path of the state file. */
    readonly path: string,
    readonly display: string,
  ) {}

  read(): Promise<LoadedState> {
    return readState(this.path, this.display);
  }

  write(state: CallformState): Promise<void> {
    return writeStateFile(this.path, state);
  }

  lock(options: AcquireOptions) {
    return acquireStateLock(this.path, options);
  }

  lockStatus(now?: number): Promise<LockStatus> {
    return lockStatus(this.path, now);
  }

  forceUnlock(id: string) {
    return forceUnlock(this.path, id);
  }

  async writeProblem(): Promise<StoreProblem | null> {
    const problem = await stateDirectoryProblem(this.path);
    return problem ? { problem, hint: stateDirectoryHint(this.path) } : null;
  }

  async close(): Promise<void> {
    // nothing held open between operations
  }
}
