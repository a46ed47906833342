/**
 * The review layer of a plan: what a reviewer needs beyond the field changes. Risk
 * callouts, readable dialing windows and the policy check, added to a plan as format 2.1
 * fields. Pure: the plan and the compiled policy in, a plan out.
 */
import type { CallformPlan, PolicyReport, TaskPlan } from '../model/plan.js';
import { isPlain, setPath, leaves, type ManagedSettings } from '../model/settings.js';
import { evaluatePolicy, type Policy, type PolicySubject } from '../policy/index.js';
import { classifyRisks } from './risks.js';
import { dialWindowChange } from './dial-windows.js';

export { classifyRisks, RISK_DETECTORS, type RiskDetector } from './risks.js';
export { dialWindowChange, readableWindow, changesDialWindow, type ReadableWindow } from './dial-windows.js';

/** What the server will hold for a task after apply: its declared settings, plus whatever the payload sends. */
function settingsToCheck(task: TaskPlan): ManagedSettings | null {
  if (task.action === 'forget' || !task.after) return null;
  const payload = task.action === 'update' ? task.payload : null;
  if (!payload) return task.after;
  // Normally the payload is a part of `after`; checking the union means a saved plan whose
  // payload was edited by hand is checked on what it would really send.
  const out = structuredClone(task.after) as unknown as Record<string, unknown>;
  for (const [path, value] of leaves({ taskCreateSetting: payload.taskCreateSetting ?? {}, funcFlag: payload.funcFlag ?? {} }, '')) {
    if (!isPlain(value) || Object.keys(value).length > 0) setPath(out, path, value);
  }
  return out as unknown as ManagedSettings;
}

/** The tasks of a plan as policy subjects (forgotten tasks declare nothing and are not checked). */
export function policySubjects(plan: Pick<CallformPlan, 'tasks'>): PolicySubject[] {
  const subjects: PolicySubject[] = [];
  for (const task of plan.tasks) {
    const settings = settingsToCheck(task);
    if (!settings) continue;
    subjects.push({ userTaskID: task.userTaskID, sceneID: task.sceneID, taskCreateSetting: settings.taskCreateSetting, funcFlag: settings.funcFlag, ...(task.source ? { source: task.source } : {}) });
  }
  return subjects;
}

export function policyReport(policy: Policy, plan: Pick<CallformPlan, 'tasks'>): PolicyReport {
  const result = evaluatePolicy(policy, policySubjects(plan));
  return { digest: policy.digest, sources: policy.sources, rules: policy.rules.length, ...result };
}

/** The plan with its risks, dialing windows and policy report (format 2.1). */
export function reviewPlan(plan: CallformPlan, policy: Policy | null): CallformPlan {
  const dialWindows = plan.tasks.map(dialWindowChange).filter((w) => w !== null);
  return { ...plan, risks: classifyRisks(plan), dial_windows: dialWindows, policy: policy ? policyReport(policy, plan) : null };
}
