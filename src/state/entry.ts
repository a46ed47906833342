/**
 * Pure transitions of one task's state entry. The rule they keep: a field whose value on
 * the server is uncertain (sent, answer never confirmed) stays marked until a confirmed
 * update replaces the entry, whatever happens to the files in between.
 */
import type { TaskState } from '../generated/state.js';
import type { ManagedSettings } from '../model/settings.js';
import { mergeLeaves } from '../model/settings.js';
import type { TaskCreateSetting, FuncFlag } from '../model/task.js';

/** The settings part of an updateTask body: what may land on the server. */
export interface SentSettings {
  taskCreateSetting?: TaskCreateSetting;
  funcFlag?: FuncFlag;
}

type Pending = NonNullable<TaskState['pending']>;

/**
 * The entry with `sent` added to its unconfirmed mark. The mark only grows: a new send
 * never drops the uncertainty of an earlier one (the v1 lost update). `since` stays the
 * time of the oldest unconfirmed send.
 */
export function withUnconfirmed(entry: TaskState, sent: SentSettings, since: string): TaskState {
  const { since: earlierSince, ...earlier } = entry.pending ?? { since };
  const pending: Pending = { since: earlierSince, ...mergeLeaves<SentSettings>(earlier, sent) };
  return { ...entry, pending };
}

/** The entry after a confirmed update (or a state-only one): exactly the applied settings, nothing uncertain. */
export function appliedEntry(
  sceneID: string,
  settings: ManagedSettings,
  taskID: string | undefined,
  appliedAt: string,
): TaskState {
  return {
    sceneID,
    ...(taskID ? { taskID } : {}),
    taskCreateSetting: settings.taskCreateSetting,
    funcFlag: settings.funcFlag,
    appliedAt,
  };
}

/**
 * The entry of a task callform is creating (the write-ahead `creating` mark): no settings
 * known on the server yet, so the next plan sends every declared field. `requested`: the
 * createTask outcome is unknown; `created`: the task is confirmed to exist.
 */
export function creatingEntry(
  sceneID: string,
  since: string,
  phase: NonNullable<TaskState['creating']>['phase'],
  taskID?: string,
): TaskState {
  return {
    sceneID,
    ...(taskID ? { taskID } : {}),
    taskCreateSetting: {},
    funcFlag: {},
    appliedAt: since,
    creating: { since, phase },
  };
}
