import { maskValue } from '../model/redact.js';
import { printable } from '../model/printable.js';
import { TASK_STATUS_LABEL } from '../model/status.js';
import {
  deferralOf,
  isChange,
  isCreate,
  type CallformPlan,
  type TaskPlan,
  type SettingChange,
  type OwedResumePlan,
  unreadTasks,
} from '../model/plan.js';

/** The one line an online plan with unread statuses (--refresh changed) carries, or null. */
export function unreadNote(plan: CallformPlan): string | null {
  const n = unreadTasks(plan).length;
  if (n === 0) return null;
  return `--refresh changed: the statuses of ${n} unchanged task${n === 1 ? ' were' : 's were'} not read; tasks missing remotely and sceneID mismatches among them are not detected (--refresh all reads every task)`;
}

/** How a task shows in a plan: its action, or the reason it is held back. */
export type TaskLabel = TaskPlan['action'] | 'blocked' | 'error';
export const taskLabel = (t: TaskPlan): TaskLabel => deferralOf(t)?.reason ?? t.action;

const FORGET_NOTE = 'no longer declared in any task file: removed from state only; the remote task keeps its settings';

/** The field changes a task shows (none for unchanged and forgotten tasks). */
export const changesOf = (t: TaskPlan): SettingChange[] => (isChange(t) || isCreate(t) ? t.changes : []);

/** Fields a task's updateTask call carries (0 without a call). */
export const sentCount = (t: TaskPlan): number => ((isChange(t) || isCreate(t)) && t.payload ? t.sentFields.length : 0);

/** An update that finishes a creation: an earlier apply created the task and did not send its settings. */
export const isCreatedUpdate = (t: TaskPlan): boolean => isChange(t) && t.created === true;

/** The one-line explanation of a task: why it is held back, or what forgetting means. */
export function noteOf(t: TaskPlan): string | undefined {
  return deferralOf(t)?.message ?? (t.action === 'forget' ? FORGET_NOTE : undefined);
}

export function showValue(value: unknown): string {
  return value === undefined ? '(unset)' : JSON.stringify(maskValue(value));
}

export function summaryLine(plan: CallformPlan): string {
  const s = plan.summary;
  const parts = s.create ? [`${s.create} to create`, `${s.update} to update`] : [`${s.update} to update`];
  if (s.blocked) parts.push(`${s.blocked} blocked`);
  if (s.forget) parts.push(`${s.forget} to forget`);
  if (s.error) parts.push(`${s.error} error${s.error === 1 ? '' : 's'}`);
  if (s.resume) parts.push(`${s.resume} to resume`);
  parts.push(`${s.noop} unchanged`);
  return parts.join(', ');
}

export function remoteText(t: TaskPlan): string | undefined {
  if (!t.remote) return undefined;
  const status = t.remote.taskStatus;
  return printable(`${t.remote.taskID} ${TASK_STATUS_LABEL[status] ?? `status ${status}`}`.trim());
}

/** What an update sends, when that is not simply "the changed fields". */
export function sendNote(t: TaskPlan): string | undefined {
  if (!isChange(t) || !t.payload) return undefined;
  const n = t.sentFields.length;
  const fields = `${n} field${n === 1 ? '' : 's'}`;
  if (t.resync) return `resync: sends every declared field (${fields}), whatever the state says`;
  if (t.sendMode === 'declared') return `sendMode declared: sends every declared field (${fields})`;
  return undefined;
}

/** "since 2026-…" and what the task's status is now, for an owed resume. */
export function resumeText(r: OwedResumePlan): string {
  const status = r.remote
    ? `, now ${TASK_STATUS_LABEL[r.remote.taskStatus] ?? printable(`status ${r.remote.taskStatus}`)}`
    : '';
  return `${r.userTaskID} was paused by callform and not resumed (since ${r.since}${status})`;
}
