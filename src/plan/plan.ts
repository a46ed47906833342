import type { CallformState, TaskState } from '../generated/state.js';
import {
  PLAN_FORMAT_VERSION,
  summarize,
  type CallformPlan,
  type TaskPlan,
  type Deferral,
  type RemoteView,
  type UpdateTaskPayload,
  type OwedResumePlan,
  type SettingChange,
  type CreateTaskPlan,
} from '../model/plan.js';
import { PRODUCT_ID, byUserTaskID, ownEntry, type DesiredTask, type RemoteTask, type SendMode } from '../model/task.js';
import { TaskStatus, describeStatus, isUpdatableStatus } from '../model/status.js';
import { leaves, withoutLeaves, type ManagedSettings } from '../model/settings.js';
import { printable } from '../model/printable.js';
import { diffSettings, pickSettings } from './diff.js';
import { targetFilter } from './targets.js';

export interface PlanInput {
  desired: DesiredTask[];
  state: CallformState;
  stateExists: boolean;
  /** Remote view by userTaskID; null for an offline plan (statuses not read). */
  remote: Map<string, RemoteTask> | null;
  /** Declared tasks whose status was not read (--refresh changed: nothing to do): judged as offline. */
  unread?: ReadonlySet<string>;
  targets: string[] | null;
  filesDigest: string;
  toolVersion: string;
  now: Date;
  /** --pause-running: every targeted running task with changes is paused, updated and resumed. */
  pauseRunning?: boolean;
  /** --resync: every declared field of the targeted tasks is sent, whatever the state says. */
  resync?: boolean;
  /** The settings file's sendMode; a task's lifecycle.sendMode wins. Default changed. */
  sendMode?: SendMode;
}

export const DELAYED_EFFECT_WARNING =
  'the server applies phoneEncrypt and SMS changes after about 5 minutes, and not to numbers already completed or imported';

export function delayedEffect(payload: UpdateTaskPayload | null): string[] {
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
  return withoutLeaves(
    applied,
    leaves(sent, '').map(([path]) => path),
  );
}

function remoteView(task: RemoteTask | undefined): RemoteView {
  return task ? { taskID: task.taskID, taskStatus: task.taskStatus, sceneID: task.sceneID } : null;
}

const BLOCKED_HINT =
  'pause it (mgrTaskStatus taskOperate 2) and re-run, or let callform do it: lifecycle.whenRunning: pause in the task file, or --pause-running';

const error = (code: Deferral['code'], message: string): Deferral => ({ reason: 'error', code, message });

/** Why the task cannot go ahead as planned, or null. `pauses`: a running task will be paused around its update. */
function deferral(
  task: DesiredTask,
  recorded: TaskState | undefined,
  input: PlanInput,
  sends: boolean,
  pauses: boolean,
): Deferral | null {
  // A task callform is creating has no settled sceneID yet: the remote one is checked below.
  if (recorded && !recorded.creating && recorded.sceneID !== task.sceneID) {
    return error(
      'scene-changed',
      `sceneID changed from "${recorded.sceneID}" to "${task.sceneID}": updateTask cannot change a task's dialogue template; give the new template a new task (new userTaskID)`,
    );
  }
  if (!input.remote || input.unread?.has(task.userTaskID)) return null;
  const remote = input.remote.get(task.userTaskID);
  if (!remote)
    return error(
      'task-missing',
      'task not found on NXCloud, and its lifecycle.whenMissing is error: create it elsewhere first, fix the userTaskID, or set whenMissing: create',
    );
  if (remote.sceneID !== task.sceneID) {
    return error(
      'scene-mismatch',
      `remote task has sceneID "${printable(String(remote.sceneID))}" but the file says "${task.sceneID}"; fix the file (updateTask cannot change it)`,
    );
  }
  if (sends && !pauses && !isUpdatableStatus(remote.taskStatus)) {
    const hint = remote.taskStatus === TaskStatus.Running ? `; ${BLOCKED_HINT}` : '; a finished task cannot be changed';
    return {
      reason: 'blocked',
      code: 'task-status',
      message: `task is ${describeStatus(remote.taskStatus)}: only not started (1) or paused (5) tasks can be updated${hint}`,
    };
  }
  return null;
}

/** Paths the payload carries: the changed fields, or every declared one (declared mode, resync). */
export function sentPaths(changes: SettingChange[], after: ManagedSettings, everyDeclared: boolean): string[] {
  const changed = changes.filter((c) => c.kind !== 'unmanage').map((c) => c.path);
  if (!everyDeclared) return changed;
  return leaves(after, '').map(([path]) => path);
}

/**
 * A declared task NXCloud does not have: createTask with the required fields only, then
 * updateTask with every declared setting (docs/api-notes.md says why two calls).
 */
function planCreate(task: DesiredTask): CreateTaskPlan {
  const after: ManagedSettings = { taskCreateSetting: task.taskCreateSetting, funcFlag: task.funcFlag };
  // Everything declared is an addition (empty sections are not fields).
  const changes = diffSettings(null, after);
  const sentFields = changes.map((c) => c.path);
  const settings = pickSettings(after, sentFields);
  const identity = { productID: PRODUCT_ID, userTaskID: task.userTaskID, sceneID: task.sceneID };
  return {
    userTaskID: task.userTaskID,
    sceneID: task.sceneID,
    source: task.source,
    remote: null,
    action: 'create',
    before: null,
    after,
    changes,
    createPayload: identity,
    payload: settings ? { ...identity, ...settings } : null,
    deferred: null,
    sentFields,
    warnings: [],
  };
}

/**
 * Missing remotely and allowed to be created. An offline plan cannot tell, nor can an online
 * one for a task whose status it did not read (--refresh changed): both plan no create.
 */
function toCreate(task: DesiredTask, input: PlanInput): boolean {
  if (!input.remote || input.unread?.has(task.userTaskID) || input.remote.has(task.userTaskID)) return false;
  return (task.lifecycle.whenMissing ?? 'create') === 'create';
}

/**
 * The offline noop of a task whose state entry holds its declared objects themselves (read
 * knowing them: state/read-expected.ts) with nothing unconfirmed: it depends on the task
 * object alone, so it is made once, and every environment that shares the task shares it.
 */
const settledNoops = new WeakMap<DesiredTask, TaskPlan>();

function settledNoop(task: DesiredTask, recorded: TaskState | undefined, input: PlanInput): TaskPlan | null {
  if (input.remote !== null || input.resync || !recorded || recorded.pending || recorded.creating) return null;
  if (recorded.taskCreateSetting !== task.taskCreateSetting || recorded.funcFlag !== task.funcFlag) return null;
  if (recorded.sceneID !== task.sceneID) return null;
  let plan = settledNoops.get(task);
  if (!plan) {
    const settings: ManagedSettings = { taskCreateSetting: task.taskCreateSetting, funcFlag: task.funcFlag };
    plan = noopPlan(task, null, settings, settings, null);
    settledNoops.set(task, plan);
  }
  return plan;
}

/** A task with nothing to send. Written out rather than spread from a common base: one allocation per unchanged task. */
function noopPlan(
  task: DesiredTask,
  remote: RemoteView,
  before: ManagedSettings | null,
  after: ManagedSettings,
  deferred: Deferral | null,
): TaskPlan {
  return {
    userTaskID: task.userTaskID,
    sceneID: task.sceneID,
    source: task.source,
    remote,
    action: 'noop',
    before,
    after,
    deferred,
    warnings: [],
  };
}

function planTask(task: DesiredTask, input: PlanInput): TaskPlan {
  if (toCreate(task, input)) return planCreate(task);
  const recorded = ownEntry(input.state.tasks, task.userTaskID);
  const settled = settledNoop(task, recorded, input);
  if (settled) return settled;
  const before = knownSettings(recorded);
  const after: ManagedSettings = { taskCreateSetting: task.taskCreateSetting, funcFlag: task.funcFlag };
  const remoteTask = input.remote?.get(task.userTaskID);
  const remote = remoteView(remoteTask);
  const changes = diffSettings(before, after);
  const since = recorded?.pending?.since;
  const resync = input.resync ?? false;
  const sendMode = task.lifecycle.sendMode ?? input.sendMode ?? 'changed';
  // declared mode widens a call that happens anyway; resync makes the call.
  // Most tasks have nothing to send: one empty array for them, not a filter and a map.
  const sentFields =
    changes.length === 0 && !resync
      ? []
      : sentPaths(changes, after, resync || (sendMode === 'declared' && changes.some((c) => c.kind !== 'unmanage')));
  // Unconfirmed fields no longer declared, or a create mark on a task that declares no
  // setting: nothing to send, but the state must drop the mark (and --refresh changed must
  // read the task: a create whose outcome is unknown is looked up, and made again if missing).
  if (changes.length === 0 && !since && !recorded?.creating && sentFields.length === 0)
    return noopPlan(task, remote, before, after, deferral(task, recorded, input, false, false));
  const base = { userTaskID: task.userTaskID, sceneID: task.sceneID, source: task.source, remote };
  const settings = pickSettings(after, sentFields);
  const payload: UpdateTaskPayload | null = settings
    ? { productID: PRODUCT_ID, userTaskID: task.userTaskID, sceneID: task.sceneID, ...settings }
    : null;
  const pendingWarning = since
    ? [
        `an earlier apply (${since}) sent some of these settings without getting a confirmation; they are sent again so the server surely matches the files`,
      ]
    : [];
  const update = {
    ...base,
    // Created by an earlier apply, settings not sent yet: `before` is empty, so every declared field is sent.
    ...(recorded?.creating ? { created: true as const } : {}),
    before,
    after,
    changes,
    resync,
    sendMode,
    sentFields,
    warnings: [...pendingWarning, ...delayedEffect(payload)],
  };
  const pauses =
    payload !== null &&
    remoteTask?.taskStatus === TaskStatus.Running &&
    (task.lifecycle.whenRunning === 'pause' || input.pauseRunning === true);
  const deferred = deferral(task, recorded, input, payload !== null, pauses);
  if (pauses) return { ...update, action: 'pause-update-resume', pauseResume: true, payload, deferred };
  return { ...update, action: 'update', payload, deferred };
}

/** Every resume the state says callform owes, with what listTask says of the task now. */
function owedResumes(input: PlanInput): OwedResumePlan[] {
  return Object.entries(input.state.owedResumes ?? {})
    .map(([userTaskID, owed]) => ({
      userTaskID,
      since: owed.since,
      phase: owed.phase,
      remote: remoteView(input.remote?.get(userTaskID)),
    }))
    .sort(byUserTaskID);
}

/** The declared tasks' plans (those selected), appended to `out`; their ids added to `declared`. */
function planDeclared(
  input: PlanInput,
  selected: (id: string) => boolean,
  declared: Set<string>,
  out: TaskPlan[],
): void {
  for (const task of input.desired) {
    declared.add(task.userTaskID);
    if (selected(task.userTaskID)) out.push(planTask(task, input));
  }
}

/** A `forget` for every selected task the state records and the files no longer declare. */
function planForgotten(
  input: PlanInput,
  selected: (id: string) => boolean,
  declared: ReadonlySet<string>,
  out: TaskPlan[],
): void {
  for (const id in input.state.tasks) {
    if (!Object.hasOwn(input.state.tasks, id) || declared.has(id) || !selected(id)) continue;
    const recorded = input.state.tasks[id];
    out.push({
      userTaskID: id,
      sceneID: recorded.sceneID,
      action: 'forget',
      remote: null,
      before: recordedSettings(recorded),
      after: null,
      warnings: [],
    });
  }
}

/** Pure: desired tasks + state + remote statuses → a plan. */
export function buildPlan(input: PlanInput): CallformPlan {
  const tasks: TaskPlan[] = [];
  const declared = new Set<string>();
  const selected = targetFilter(input.targets);
  // Each loop in a function of its own: V8 optimises a loop while it runs, and the code
  // after it in the same function (never run yet) would throw that away, plan after plan.
  planDeclared(input, selected, declared, tasks);
  planForgotten(input, selected, declared, tasks);
  tasks.sort(byUserTaskID);
  const resumes = owedResumes(input);
  return {
    format_version: PLAN_FORMAT_VERSION,
    kind: 'callform-plan',
    tool_version: input.toolVersion,
    created_at: input.now.toISOString(),
    offline: input.remote === null,
    state: { lineage: input.stateExists ? input.state.lineage : null, serial: input.state.serial },
    files_digest: input.filesDigest,
    targets: input.targets,
    summary: summarize(tasks, resumes),
    resumes,
    tasks,
  };
}
