/**
 * Creating a task: the first of its two calls (createTask with the required fields only;
 * the settings follow with updateTask, see docs/api-notes.md). Never creates a task twice:
 * the `creating` mark is written (fsync) before createTask is sent, and any createTask
 * that does not end in a confirmed success is settled by looking the task up with listTask
 * (queryConditions.userTaskID) — a retried, refused or unanswered create may have landed.
 */
import type { CreateTaskPlan, CreateTaskPayload } from '../model/plan.js';
import type { CreateTaskResponse } from '../api/wire.js';
import type { RemoteTask } from '../model/task.js';
import type { TaskState } from '../generated/state.js';
import type { StateWriter } from '../state/writer.js';
import { creatingEntry } from '../state/entry.js';
import { printable } from '../model/printable.js';
import { ApiError } from '../api/errors.js';
import { errorMessage } from '../errors.js';

/** What creating needs from the API client. */
export interface CreateClient {
  createTask(payload: CreateTaskPayload): Promise<CreateTaskResponse>;
  listTaskPages(conditions: { userTaskID: string[] }, size?: number): Promise<RemoteTask[]>;
}

/** A create that goes ahead. */
export type CreateCall = CreateTaskPlan & { deferred: null };

export type CreateOutcome =
  /** The task exists with the declared sceneID: its settings are sent next. `note`: how that was found out. */
  { ok: true; taskID: string | undefined; note?: string } | { ok: false; message: string; retCode?: number };

/**
 * The write-ahead marks, one flush for every create of the run: each task's entry becomes
 * `creating: requested` before any createTask is sent. Returns the entries as they were
 * (undefined: none), to put back for a create that verifiably did not happen.
 */
export async function markCreating(
  creates: readonly CreateCall[],
  state: StateWriter,
  since: string,
): Promise<Map<string, TaskState | undefined>> {
  const earlier = new Map<string, TaskState | undefined>();
  for (const t of creates) {
    earlier.set(t.userTaskID, state.task(t.userTaskID));
    state.recordApplied(t.userTaskID, creatingEntry(t.sceneID, since, 'requested'));
  }
  if (creates.length > 0) await state.flush();
  return earlier;
}

/** Puts a task's entry back as it was before its write-ahead mark (the task was not created). */
export function unmarkCreating(state: StateWriter, userTaskID: string, earlier: TaskState | undefined): void {
  if (earlier) state.restore(userTaskID, earlier);
  else state.forget(userTaskID);
}

/**
 * createTask, then the state says `created` (the settings are not sent yet). On any
 * failure the task is looked up: found with the declared sceneID, it counts as created;
 * found with another sceneID, a conflict (someone else's task); not found, not created.
 */
export async function sendCreate(
  t: CreateCall,
  client: CreateClient,
  state: StateWriter,
  earlier: TaskState | undefined,
  since: string,
): Promise<CreateOutcome> {
  let failure: unknown;
  try {
    const res = await client.createTask(t.createPayload);
    state.recordApplied(t.userTaskID, creatingEntry(t.sceneID, since, 'created', res.taskID));
    return { ok: true, taskID: res.taskID };
  } catch (err) {
    failure = err;
  }
  const why = `createTask ${errorMessage(failure).replace(/^createTask: /, '')}`;
  const retCode = failure instanceof ApiError ? failure.details.retCode : undefined;
  let found: RemoteTask | undefined;
  try {
    found = (await client.listTaskPages({ userTaskID: [t.userTaskID] })).find((r) => r.userTaskID === t.userTaskID);
  } catch (err) {
    // Outcome unknown: the mark stays, so the next plan looks the task up before creating it.
    return {
      ok: false,
      retCode,
      message: `${why}; looking the task up failed too (${errorMessage(err)}): the next plan or apply looks it up again before creating it`,
    };
  }
  if (!found) {
    unmarkCreating(state, t.userTaskID, earlier);
    return { ok: false, retCode, message: `${why}; listTask does not show the task: not created` };
  }
  if (found.sceneID !== t.sceneID) {
    unmarkCreating(state, t.userTaskID, earlier);
    const remoteScene = printable(String(found.sceneID));
    return {
      ok: false,
      retCode,
      message: `task-conflict: a task with this userTaskID already exists on NXCloud with sceneID "${remoteScene}", but the file says "${t.sceneID}" (${why}); give the new task another userTaskID, or declare sceneID "${remoteScene}" to manage the existing one`,
    };
  }
  state.recordApplied(t.userTaskID, creatingEntry(t.sceneID, since, 'created', found.taskID));
  return {
    ok: true,
    taskID: found.taskID,
    note: `${why}, but listTask shows the task with the declared sceneID (it exists: created by an attempt whose answer was lost, or elsewhere since the plan was made): its settings were sent`,
  };
}
