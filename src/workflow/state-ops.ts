/** Moving state between stores (`state pull`, `state push`) and listing it; the backends do the I/O. */
import path from 'node:path';
import type { CallformState } from '../generated/state.js';
import { CallformError } from '../errors.js';
import { readState } from '../state/state.js';
import { dataEqual } from '../model/settings.js';
import type { Project } from './project.js';

/** A state with nothing in it: pushing over it loses nothing. */
const isEmpty = (s: CallformState) => Object.keys(s.tasks).length === 0 && !s.owedResumes;

/**
 * `state push FILE`: writes a state file into the configured store, under the store's lock.
 * Refused when the store holds a non-empty state of another lineage, a higher serial, or
 * the same serial with a different content.
 */
export async function pushState(
  project: Project,
  file: string,
): Promise<{ pushed: CallformState; replaced: CallformState | null }> {
  const source = path.resolve(project.cwd, file);
  const loaded = await readState(source, file);
  if (!loaded.exists) throw new CallformError(`${file} does not exist`, 'pass the path of a callform state file');
  const pushed = loaded.state;
  const lock = await project.state.lock({ operation: `state push ${file}`, timeoutMs: project.settings.lockTimeoutMs });
  try {
    const current = await project.state.read();
    if (current.exists && !isEmpty(current.state)) {
      const held = current.state;
      if (held.lineage !== pushed.lineage)
        throw new CallformError(
          `${project.state.display} holds a state of another lineage (${held.lineage}, serial ${held.serial}); ${file} has lineage ${pushed.lineage}: not pushed`,
          'push only a state that continues the one stored; to start over, point "state" at an empty store',
        );
      if (held.serial > pushed.serial)
        throw new CallformError(
          `${project.state.display} is at serial ${held.serial}, newer than ${file} (serial ${pushed.serial}): not pushed`,
          'pull the current state first (callform state pull); a push never goes back in time',
        );
      // As Terraform: one lineage and serial must name one state (saved plans rely on it).
      if (held.serial === pushed.serial && !dataEqual(held, pushed))
        throw new CallformError(
          `${file} has serial ${pushed.serial}, as ${project.state.display} does, but a different content: not pushed`,
          `a changed state needs a higher serial: set "serial" to ${held.serial + 1} in ${file} to replace the stored one`,
        );
    }
    await project.state.replace(
      pushed,
      current.exists ? { lineage: current.state.lineage, serial: current.state.serial } : null,
    );
    return { pushed, replaced: current.exists ? current.state : null };
  } finally {
    await lock.release();
  }
}

/** `state list`: the state names in the configured Postgres schema. */
export async function listStates(
  project: Project,
): Promise<Array<{ name: string; serial: number; updatedAt: string }>> {
  const store = project.state;
  if (store.kind !== 'postgres')
    throw new CallformError(
      'state list needs the postgres backend: this project keeps its state in a file',
      `the state is ${store.display}; set "state" to { backend: postgres } to share it`,
    );
  const { PostgresStateBackend } = await import('../state/postgres-backend.js');
  if (!(store instanceof PostgresStateBackend)) throw new CallformError('state list needs the postgres backend');
  return store.names();
}
