import type { CallformPlan, TaskPlan, ManagedSettings } from '../generated/plan.js';
import type { CallformState } from '../generated/state.js';
import type { DesiredTask } from '../config/load-tasks.js';
import { PRODUCT_ID, byUserTaskID, describeStatus, isUpdatableStatus, type ListedTask } from '../api/types.js';
import { diffSettings, payloadSettings, withoutUnconfirmed } from './diff.js';
import { targetFilter } from './targets.js';

export type { CallformPlan, TaskPlan };
export type PlanAction = TaskPlan['action'];
export const PLAN_FORMAT_VERSION = '1.0';

export interface PlanInput {
  desired: DesiredTask[];
  state: CallformState;
  stateExists: boolean;
  /** Remote view by userTaskID; null for an offline plan (statuses not read). */
  remote: Map<string, ListedTask> | null;
  targets: string[] | null;
  filesDigest: string;
  toolVersion: string;
  now: Date;
}

export const DELAYED_EFFECT_WARNING =
  'the server applies phoneEncrypt and SMS changes after about 5 minutes, and not to numbers already completed or imported';

function delayedEffect(payload: TaskPlan['payload']): string[] {
  const ff = payload?.funcFlag;
  if (!ff) return [];
  return 'phoneEncrypt' in ff || 'smsEnable' in ff || 'smsFuncFlag' in ff ? [DELAYED_EFFECT_WARNING] : [];
}

function planTask(task: DesiredTask, input: PlanInput): TaskPlan {
  const recorded = input.state.tasks[task.userTaskID];
  const applied: ManagedSettings | null = recorded ? { taskCreateSetting: recorded.taskCreateSetting, funcFlag: recorded.funcFlag } : null;
  const { since, ...unconfirmed } = recorded?.pending ?? { since: undefined };
  const before = applied && since ? withoutUnconfirmed(applied, unconfirmed) : applied;
  const pendingWarning = since ? [`an earlier apply (${since}) sent some of these settings without getting a confirmation; they are sent again so the server surely matches the files`] : [];
  const after: ManagedSettings = { taskCreateSetting: task.taskCreateSetting, funcFlag: task.funcFlag };
  const remoteTask = input.remote?.get(task.userTaskID);
  const base = {
    userTaskID: task.userTaskID,
    sceneID: task.sceneID,
    source: task.source,
    remote: remoteTask ? { taskID: remoteTask.taskID, taskStatus: remoteTask.taskStatus, sceneID: remoteTask.sceneID } : null,
    before,
    after,
    warnings: [] as string[],
  };
  const error = (reason: string): TaskPlan => ({ ...base, action: 'error', changes: [], payload: null, reason });

  if (recorded && recorded.sceneID !== task.sceneID) {
    return error(`sceneID changed from "${recorded.sceneID}" to "${task.sceneID}": updateTask cannot change a task's dialogue template; give the new template a new task (new userTaskID)`);
  }
  if (input.remote) {
    if (!remoteTask) {
      return error('task not found on NXCloud: callform updates existing tasks only; create it first (createTask) or fix the userTaskID');
    }
    if (remoteTask.sceneID !== task.sceneID) {
      return error(`remote task has sceneID "${remoteTask.sceneID}" but the file says "${task.sceneID}"; fix the file (updateTask cannot change it)`);
    }
  }
  const changes = diffSettings(before, after);
  if (changes.length === 0) {
    // Unconfirmed fields no longer declared: nothing to send, but the state drops the mark.
    if (since) return { ...base, action: 'update', changes, payload: null, reason: null, warnings: pendingWarning };
    return { ...base, action: 'noop', changes, payload: null, reason: null };
  }
  const settings = payloadSettings(changes, after);
  const payload = settings ? { productID: PRODUCT_ID, userTaskID: task.userTaskID, sceneID: task.sceneID, ...settings } : null;
  const warnings = [...pendingWarning, ...delayedEffect(payload)];
  if (payload && remoteTask && !isUpdatableStatus(remoteTask.taskStatus)) {
    return {
      ...base,
      action: 'blocked',
      changes,
      payload,
      warnings,
      reason: `task is ${describeStatus(remoteTask.taskStatus)}: only not started (1) or paused (5) tasks can be updated; pause it (mgrTaskStatus taskOperate 2) and re-run`,
    };
  }
  return { ...base, action: 'update', changes, payload, warnings, reason: null };
}

/** Pure: desired tasks + state + remote statuses → a plan. */
export function buildPlan(input: PlanInput): CallformPlan {
  const tasks: TaskPlan[] = [];
  const declared = new Set<string>();
  const selected = targetFilter(input.targets);
  for (const task of input.desired) {
    declared.add(task.userTaskID);
    if (selected(task.userTaskID)) tasks.push(planTask(task, input));
  }
  for (const [id, recorded] of Object.entries(input.state.tasks)) {
    if (declared.has(id) || !selected(id)) continue;
    tasks.push({
      userTaskID: id,
      sceneID: recorded.sceneID,
      action: 'forget',
      remote: null,
      before: { taskCreateSetting: recorded.taskCreateSetting, funcFlag: recorded.funcFlag },
      after: null,
      changes: [],
      payload: null,
      reason: 'no longer declared in any task file: removed from state only; the remote task keeps its settings',
      warnings: [],
    });
  }
  tasks.sort(byUserTaskID);
  const summary = { update: 0, noop: 0, blocked: 0, forget: 0, error: 0 };
  for (const t of tasks) summary[t.action]++;
  return {
    format_version: PLAN_FORMAT_VERSION,
    kind: 'callform-plan',
    tool_version: input.toolVersion,
    created_at: input.now.toISOString(),
    offline: input.remote === null,
    state: { lineage: input.stateExists ? input.state.lineage : null, serial: input.state.serial },
    files_digest: input.filesDigest,
    targets: input.targets,
    summary,
    tasks,
  };
}

/** True when applying the plan would change something (blocked and errors included). */
export function planHasChanges(plan: CallformPlan): boolean {
  const s = plan.summary;
  return s.update + s.blocked + s.forget + s.error > 0;
}
