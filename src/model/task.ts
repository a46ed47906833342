import type { TaskCreateSetting, FuncFlag, Lifecycle, TaskPatch } from '../generated/task.js';
import type { ManagedSettings } from '../generated/plan.js';

export type { TaskCreateSetting, FuncFlag, ManagedSettings, Lifecycle, TaskPatch };
export type SendMode = NonNullable<Lifecycle['sendMode']>;

/** The constant `productID` every Callbot body carries. */
export const PRODUCT_ID = 'callbot' as const;

/** A task as the files declare it, defaults merged in, ready to diff. */
export interface DesiredTask {
  userTaskID: string;
  sceneID: string;
  taskCreateSetting: TaskCreateSetting;
  funcFlag: FuncFlag;
  /** callform-only settings (never sent): what to do when the task is running, which fields to send. */
  lifecycle: Lifecycle;
  /** "file:line" of the task's declaration. */
  source: string;
  /** Its own per-environment settings (`environments:`), as declared; applied by config/environment-tasks.ts. */
  environments?: Record<string, TaskPatch>;
  /** The environments it exists in (`only:`); absent: every one. */
  only?: string[];
}

/** What the platform says about a task (listTask): identity and status, never its settings. */
export interface RemoteTask {
  userTaskID: string;
  taskID: string;
  sceneID: string;
  taskStatus: number;
  createTs?: number;
  taskName?: string;
}

/**
 * `record[userTaskID]` when the record has it as an own entry (the state's tasks, its owed
 * resumes): a task named "constructor" or "toString" never finds Object.prototype's member.
 */
export function ownEntry<T>(record: Readonly<Record<string, T>> | undefined, userTaskID: string): T | undefined {
  return record !== undefined && Object.hasOwn(record, userTaskID) ? record[userTaskID] : undefined;
}

/** Stable order of anything keyed by userTaskID (plans, results, listings). */
export function byUserTaskID(a: { userTaskID: string }, b: { userTaskID: string }): number {
  return a.userTaskID < b.userTaskID ? -1 : a.userTaskID > b.userTaskID ? 1 : 0;
}
