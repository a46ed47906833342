/**
 * The plan model (schemas/plan.schema.json): what each task's action is, and separately,
 * why a task is held back. Terraform's split: a small action set (noop, update, forget)
 * (and create, format 2.2) plus a deferral reason (blocked, error) with an explanation.
 */
import type {
  CallformPlan,
  TaskPlan,
  NoopTaskPlan,
  UpdateTaskPlan,
  PauseUpdateTaskPlan,
  ForgetTaskPlan,
  CreateTaskPlan,
  CreateTaskPayload,
  OwedResumePlan,
  Deferral,
  SettingChange,
  UpdateTaskPayload,
  RemoteView,
  PlanRisk,
  DialWindowChange,
  DialWindowView as NullableDialWindowView,
  DialCells,
  PolicyReport as NullablePolicyReport,
  PolicyViolation,
  PolicyExemption,
} from '../generated/plan.js';

export type {
  CallformPlan,
  TaskPlan,
  NoopTaskPlan,
  UpdateTaskPlan,
  PauseUpdateTaskPlan,
  ForgetTaskPlan,
  CreateTaskPlan,
  CreateTaskPayload,
  OwedResumePlan,
  Deferral,
  SettingChange,
  UpdateTaskPayload,
  RemoteView,
};

/** The tasks whose settings change: a plain update, or one wrapped in pause → update → resume. */
export type ChangeTaskPlan = UpdateTaskPlan | PauseUpdateTaskPlan;
export type { PlanRisk, DialWindowChange, DialCells, PolicyViolation, PolicyExemption };
/** A whole dialing window, readably (`dial_windows[].before/after` when known). */
export type DialWindowView = NonNullable<NullableDialWindowView>;
/** The policy check of a plan (`policy`, when a policy is configured). */
export type PolicyReport = NonNullable<NullablePolicyReport>;
export type RiskKind = PlanRisk['kind'];

export type PlanAction = TaskPlan['action'];
export type DeferReason = Deferral['reason'];
export type DeferCode = Deferral['code'];
export type PlanSummary = CallformPlan['summary'];

/** Major.minor; see the schema's description of format_version. */
export const PLAN_FORMAT_VERSION = '2.2' as const;

/** The deferral of a task, or null when it goes ahead (forget is never held back). */
export function deferralOf(t: TaskPlan): Deferral | null {
  return t.action === 'forget' ? null : t.deferred;
}

export function isChange(t: TaskPlan): t is ChangeTaskPlan {
  return t.action === 'update' || t.action === 'pause-update-resume';
}

export function isCreate(t: TaskPlan): t is CreateTaskPlan {
  return t.action === 'create';
}

/** Which summary bucket a task counts in: its deferral reason when held back, else its action. */
export function summaryKey(t: TaskPlan): Exclude<keyof PlanSummary, 'resume'> {
  return deferralOf(t)?.reason ?? (t.action === 'pause-update-resume' ? 'update' : t.action);
}

export function summarize(tasks: readonly TaskPlan[], resumes: readonly OwedResumePlan[]): PlanSummary {
  const summary: Required<PlanSummary> = {
    create: 0,
    update: 0,
    noop: 0,
    blocked: 0,
    forget: 0,
    error: 0,
    resume: resumes.length,
  };
  for (const t of tasks) summary[summaryKey(t)]++;
  // Present only when the plan creates tasks: plans without creates read as before 2.2.
  if (summary.create > 0) return summary;
  const { create: _none, ...rest } = summary;
  return rest;
}

/** True when applying the plan would change something, or something needs attention (blocked, errors, owed resumes). */
export function planHasChanges(plan: CallformPlan): boolean {
  const s = plan.summary;
  return (s.create ?? 0) + s.update + s.blocked + s.forget + s.error + s.resume > 0;
}

/** True when apply has something to do: a create, an update, a forget or an owed resume. */
export function planHasWork(plan: CallformPlan): boolean {
  const s = plan.summary;
  return (s.create ?? 0) + s.update + s.forget + s.resume > 0;
}
