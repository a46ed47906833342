import { printable } from './printable.js';

/** Task status enumeration (listTask / mgrTaskStatus / taskCallback). */
export const TaskStatus = {
  NotStarted: 1,
  Running: 2,
  Completed: 3,
  CompletedFailed: 4,
  Paused: 5,
} as const;
export type TaskStatusCode = (typeof TaskStatus)[keyof typeof TaskStatus];

export const TASK_STATUS_LABEL: Readonly<Record<number, string>> = {
  1: 'not started',
  2: 'running',
  3: 'completed',
  4: 'completed (failed)',
  5: 'paused',
};

export function isTaskStatus(value: unknown): value is TaskStatusCode {
  return typeof value === 'number' && Number.isInteger(value) && Object.hasOwn(TASK_STATUS_LABEL, value);
}

/**
 * "2 (running)": a status code with its meaning, for messages. The status comes from the
 * server, whose answers are not trusted to hold a number here: anything else is shown escaped.
 */
export function describeStatus(status: number): string {
  if (!isTaskStatus(status)) return `${printable(String(status))} (unknown)`;
  return `${status} (${TASK_STATUS_LABEL[status]})`;
}

/** updateTask is documented to work only for these statuses. */
export function isUpdatableStatus(status: number): boolean {
  return status === TaskStatus.NotStarted || status === TaskStatus.Paused;
}

/** Finished tasks (completed, or completed with failure) never run or change again. */
export function isFinishedStatus(status: number): boolean {
  return status === TaskStatus.Completed || status === TaskStatus.CompletedFailed;
}
