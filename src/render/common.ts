import { maskValue } from '../model/redact.js';
import { TASK_STATUS_LABEL } from '../model/status.js';
import { summaryKey, deferralOf, type CallformPlan, type TaskPlan, type SettingChange, type PlanSummary } from '../model/plan.js';

/** How a task shows in a plan: its action, or the reason it is held back. */
export type TaskLabel = keyof PlanSummary;
export const taskLabel = (t: TaskPlan): TaskLabel => summaryKey(t);

export const FORGET_NOTE = 'no longer declared in any task file: removed from state only; the remote task keeps its settings';

/** The field changes a task shows (none for unchanged and forgotten tasks). */
export const changesOf = (t: TaskPlan): SettingChange[] => (t.action === 'update' ? t.changes : []);

/** The one-line explanation of a task: why it is held back, or what forgetting means. */
export function noteOf(t: TaskPlan): string | undefined {
  return deferralOf(t)?.message ?? (t.action === 'forget' ? FORGET_NOTE : undefined);
}

export function showValue(value: unknown): string {
  return value === undefined ? '(unset)' : JSON.stringify(maskValue(value));
}

export function summaryLine(plan: CallformPlan): string {
  const s = plan.summary;
  const parts = [`${s.update} to update`];
  if (s.blocked) parts.push(`${s.blocked} blocked`);
  if (s.forget) parts.push(`${s.forget} to forget`);
  if (s.error) parts.push(`${s.error} error${s.error === 1 ? '' : 's'}`);
  parts.push(`${s.noop} unchanged`);
  return parts.join(', ');
}

export function remoteText(t: TaskPlan): string | undefined {
  if (!t.remote) return undefined;
  const status = t.remote.taskStatus;
  return `${t.remote.taskID} ${TASK_STATUS_LABEL[status] ?? `status ${status}`}`.trim();
}
