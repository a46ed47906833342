import type { CallformPlan, TaskPlan } from '../generated/plan.js';
import { maskValue } from '../api/redact.js';
import { TASK_STATUS_LABEL } from '../api/types.js';

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
  return `${t.remote.taskID ?? ''}${status !== undefined ? ` ${TASK_STATUS_LABEL[status] ?? `status ${status}`}` : ''}`.trim();
}

export function payloadFieldCount(t: TaskPlan): number {
  return t.changes.filter((c) => c.kind !== 'unmanage').length;
}
