/**
 * The review layer of a plan: what a reviewer needs beyond the field changes. Risk
 * callouts, readable dialing windows and the policy check, added to a plan as format 2.1
 * fields. Pure: the plan and the compiled policy in, a plan out.
 */
import {
  summarize,
  type CallformPlan,
  type DialWindowChange,
  type PlanRisk,
  type PlanSummary,
  type PolicyReport,
  type TaskPlan,
} from '../model/plan.js';
import { dataEqual, isPlain, setPath, leaves, type ManagedSettings } from '../model/settings.js';
import type { PolicySubject } from '../policy/types.js';
import { classifyRisks } from './risks.js';
import { dialWindowChange } from './dial-windows.js';

export { classifyRisks, RISK_DETECTORS, type RiskDetector, type SentChanges } from './risks.js';
export { dialWindowChange, readableWindow, changesDialWindow, type ReadableWindow } from './dial-windows.js';

/** True when every value in `sent` is the same in `declared` (objects compared key by key). */
function sendsDeclared(sent: object | undefined, declared: object): boolean {
  for (const key in sent) {
    const value = (sent as Record<string, unknown>)[key];
    const own = (declared as Record<string, unknown>)[key];
    if (isPlain(value) && isPlain(own) ? !sendsDeclared(value, own) : !dataEqual(value, own)) return false;
  }
  return true;
}

/** What the server will hold for a task after apply: its declared settings, plus whatever the payload sends. */
function settingsToCheck(task: TaskPlan): ManagedSettings | null {
  if (task.action === 'forget') return null;
  // Structural: any action that carries a payload (update, and actions added later) is checked on it.
  const payload = 'payload' in task ? task.payload : null;
  const after = task.after;
  if (
    !payload ||
    (sendsDeclared(payload.taskCreateSetting, after.taskCreateSetting) &&
      sendsDeclared(payload.funcFlag, after.funcFlag))
  )
    return after;
  // A saved plan whose payload was edited by hand is checked on what it would really send.
  const out = structuredClone(after) as unknown as Record<string, unknown>;
  for (const [path, value] of leaves(
    { taskCreateSetting: payload.taskCreateSetting ?? {}, funcFlag: payload.funcFlag ?? {} },
    '',
  )) {
    if (!isPlain(value) || Object.keys(value).length > 0) setPath(out, path, value);
  }
  return out as unknown as ManagedSettings;
}

/** The tasks of a plan as policy subjects (forgotten tasks declare nothing and are not checked). */
export function policySubjects(plan: Pick<CallformPlan, 'tasks'>): PolicySubject[] {
  const subjects: PolicySubject[] = [];
  for (const task of plan.tasks) {
    const settings = settingsToCheck(task);
    if (settings)
      subjects.push({
        userTaskID: task.userTaskID,
        sceneID: task.sceneID,
        taskCreateSetting: settings.taskCreateSetting,
        funcFlag: settings.funcFlag,
        source: task.source,
      });
  }
  return subjects;
}

/** The parts of a plan derived from its task entries: what a reviewer reads before the tasks. */
export interface DerivedParts {
  summary: PlanSummary;
  risks: PlanRisk[];
  dial_windows: DialWindowChange[];
}

/**
 * The summary, risks and dialing-window changes of a plan, from its task entries (and owed
 * resumes) alone. Used when a plan is made and when a saved plan is read: the two agree
 * unless the file was edited.
 */
export function derivePlanParts(plan: Pick<CallformPlan, 'tasks' | 'resumes'>): DerivedParts {
  return {
    summary: summarize(plan.tasks, plan.resumes),
    // Every task that sends something is classified: a resync or sendMode declared sends
    // fields without a diff (classifyRisks skips the tasks that send nothing).
    risks: classifyRisks(plan),
    dial_windows: plan.tasks.map(dialWindowChange).filter((w) => w !== null),
  };
}

/**
 * The plan with its summary, risks, dialing windows and policy report (format 2.1); the
 * report (null: no policy configured) comes from policy/evaluate.ts over
 * policySubjects(plan), run by the workflow.
 */
export function reviewPlan(plan: CallformPlan, policy: PolicyReport | null): CallformPlan {
  return { ...plan, ...derivePlanParts(plan), policy };
}
