import type { CallformState, TaskState } from '../generated/state.js';
import { PLAN_FORMAT_VERSION, summarize, type CallformPlan, type TaskPlan, type Deferral, type RemoteView, type UpdateTaskPayload } from '../model/plan.js';
import { PRODUCT_ID, byUserTaskID, type DesiredTask, type RemoteTask } from '../model/task.js';
import { describeStatus, isUpdatableStatus } from '../model/status.js';
import { leaves, withoutLeaves, type ManagedSettings } from '../model/settings.js';
import { diffSettings, payloadSettings } from './diff.js';
import { targetFilter } from './targets.js';

export interface PlanInput {
  desired: DesiredTask[];
  state: CallformState;
  stateExists: boolean;
  /** Remote view by userTaskID; null for an offline plan (statuses not read). */
  remote: Map<string, RemoteTask> | null;
  targets: string[] | null;
  filesDigest: string;
  toolVersion: string;
  now: Date;
}

export const DELAYED_EFFECT_WARNING =
  'the server applies phoneEncrypt and SMS changes after about 5 minutes, and not to numbers already completed or imported';

function delayedEffect(payload: UpdateTaskPayload | null): string[] {
  const ff = payload?.funcFlag;
  if (!ff) return [];
  return 'phoneEncrypt' in ff || 'smsEnable' in ff || 'smsFuncFlag' in ff ? [DELAYED_EFFECT_WARNING] : [];
}

/** The settings of a state entry as plain ManagedSettings. */
export function recordedSettings(recorded: TaskState): ManagedSettings {
  return { taskCreateSetting: recorded.taskCreateSetting, funcFlag: recorded.funcFlag };
}

/**
 * What callform knows the server holds: the last-applied settings minus every field an
 * earlier apply sent without confirmation (those are unknown, so any declared value for
 * them is sent again). Null when nothing was ever applied.
 */
export function knownSettings(recorded: TaskState | undefined): ManagedSettings | null {
  if (!recorded) return null;
  const applied = recordedSettings(recorded);
  if (!recorded.pending) return applied;
  const { since: _since, ...sent } = recorded.pending;
  return withoutLeaves(applied, leaves(sent, '').map(([path]) => path));
}

function remoteView(task: RemoteTask | undefined): RemoteView {
  return task ? { taskID: task.taskID, taskStatus: task.taskStatus, sceneID: task.sceneID } : null;
}

/** Why the task cannot go ahead as planned, or null. */
function deferral(task: DesiredTask, recorded: TaskState | undefined, input: PlanInput, sends: boolean): Deferral | null {
  const error = (code: Deferral['code'], message: string): Deferral => ({ reason: 'error', code, message });
  if (recorded && recorded.sceneID !== task.sceneID) {
    return error('scene-changed', `sceneID changed from "${recorded.sceneID}" to "${task.sceneID}": updateTask cannot change a task's dialogue template; give the new template a new task (new userTaskID)`);
  }
  if (!input.remote) return null;
  const remote = input.remote.get(task.userTaskID);
  if (!remote) return error('task-missing', 'task not found on NXCloud: callform updates existing tasks only; create it first (createTask) or fix the userTaskID');
  if (remote.sceneID !== task.sceneID) {
    return error('scene-mismatch', `remote task has sceneID "${remote.sceneID}" but the file says "${task.sceneID}"; fix the file (updateTask cannot change it)`);
  }
  if (sends && !isUpdatableStatus(remote.taskStatus)) {
    return {
      reason: 'blocked',
      code: 'task-status',
      message: `task is ${describeStatus(remote.taskStatus)}: only not started (1) or paused (5) tasks can be updated; pause it (mgrTaskStatus taskOperate 2) and re-run`,
    };
  }
  return null;
}

function planTask(task: DesiredTask, input: PlanInput): TaskPlan {
  const recorded = input.state.tasks[task.userTaskID];
  const before = knownSettings(recorded);
  const after: ManagedSettings = { taskCreateSetting: task.taskCreateSetting, funcFlag: task.funcFlag };
  const remote = remoteView(input.remote?.get(task.userTaskID));
  const changes = diffSettings(before, after);
  const since = recorded?.pending?.since;
  // Unconfirmed fields no longer declared: nothing to send, but the state must drop the mark.
  if (changes.length === 0 && !since) {
    // Written out rather than spread from a common base: one allocation per unchanged task.
    const deferred = deferral(task, recorded, input, false);
    return { userTaskID: task.userTaskID, sceneID: task.sceneID, source: task.source, remote, action: 'noop', before, after, deferred, warnings: [] };
  }
  const base = { userTaskID: task.userTaskID, sceneID: task.sceneID, source: task.source, remote };
  const settings = payloadSettings(changes, after);
  const payload: UpdateTaskPayload | null = settings ? { productID: PRODUCT_ID, userTaskID: task.userTaskID, sceneID: task.sceneID, ...settings } : null;
  const pendingWarning = since ? [`an earlier apply (${since}) sent some of these settings without getting a confirmation; they are sent again so the server surely matches the files`] : [];
  return {
    ...base,
    action: 'update',
    before,
    after,
    changes,
    payload,
    deferred: deferral(task, recorded, input, payload !== null),
    warnings: [...pendingWarning, ...delayedEffect(payload)],
  };
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
  for (const id in input.state.tasks) {
    if (!Object.hasOwn(input.state.tasks, id) || declared.has(id) || !selected(id)) continue;
    const recorded = input.state.tasks[id]!;
    tasks.push({ userTaskID: id, sceneID: recorded.sceneID, action: 'forget', remote: null, before: recordedSettings(recorded), after: null, warnings: [] });
  }
  tasks.sort(byUserTaskID);
  return {
    format_version: PLAN_FORMAT_VERSION,
    kind: 'callform-plan',
    tool_version: input.toolVersion,
    created_at: input.now.toISOString(),
    offline: input.remote === null,
    state: { lineage: input.stateExists ? input.state.lineage : null, serial: input.state.serial },
    files_digest: input.filesDigest,
    targets: input.targets,
    summary: summarize(tasks),
    tasks,
  };
}
