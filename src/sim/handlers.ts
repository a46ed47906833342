/**
 * The five API endpoint handlers. Each takes the task store (plus limits/clock) and the
 * parsed JSON object body, and returns the response payload; validation failures throw
 * RetCodeError, which the server turns into a signed retCode reply.
 */
import { byUserTaskID } from '../model/task.js';
import { RetCode } from '../model/retcode.js';
import { describeStatus, isUpdatableStatus } from '../model/status.js';
import {
  validateListTaskRequest,
  validateCreateTaskRequest,
  validateUpdateTaskRequest,
  validateMgrTaskStatusRequest,
  validatePingRequest,
} from '../generated/validators.js';
import type {
  CreateTaskRequest,
  ListTaskRequest,
  UpdateTaskRequest,
  MgrTaskStatusRequest,
  PingRequest,
} from '../generated/api.js';
import { RetCodeError, checkSchema } from './validate.js';
import type { SimTask } from './seed.js';
import type { SimEndpoint } from './types.js';
import type { TaskTransitions } from './transitions.js';
import { newId } from './http.js';

export interface HandlerContext {
  /** Live store, keyed by userTaskID; updateTask and mgrTaskStatus mutate it in place. */
  tasks: Map<string, SimTask>;
  /** Every status change goes through here (history, pending pauses). */
  transitions: TaskTransitions;
  maxPageSize: number;
  nowSec: () => number;
}

/**
 * What a task created by createTask holds until updateTask changes it: the simulator's
 * stand-in for the platform's defaults (not documented): manual start, one robot, no
 * SMS, numbers shown in clear. Deliberately not what a typical task file declares, so a
 * missing update shows.
 */
export const CREATED_TASK_DEFAULTS = {
  taskCreateSetting: { startupType: 1, maxCall: 1 },
  funcFlag: { taskKeep: false, roundRedial: false, wholeTTS: false, smsEnable: false, phoneEncrypt: false },
} as const;

export type Payload = Record<string, unknown>;
export type Handler = (ctx: HandlerContext, body: Record<string, unknown>) => Payload;

// The simulator keeps no call statistics, so every listed task reports zeros.
const ZERO_TASK_STAT = {
  answerOrderCount: 0,
  finishOrderCount: 0,
  totalOrderCount: 0,
  finishRate: 0,
  totalAnswerCall: 0,
  totalCall: 0,
  answerRate: 0,
};

/** mgrTaskStatus taskOperate -> allowed source statuses and the resulting status. */
const OPERATIONS: Record<number, { name: string; from: number[]; to: number }> = {
  1: { name: 'start', from: [1, 5], to: 2 },
  2: { name: 'pause', from: [2], to: 5 },
  3: { name: 'complete', from: [1, 2, 5], to: 3 },
};

export function sortedTasks(store: Map<string, SimTask>): SimTask[] {
  return [...store.values()].sort(byUserTaskID);
}

function findTask(tasks: Map<string, SimTask>, userTaskID: string): SimTask {
  const task = tasks.get(userTaskID);
  if (!task) throw new RetCodeError(RetCode.ParameterValue, `task not found: userTaskID "${userTaskID}"`);
  return task;
}

function handleListTask(ctx: HandlerContext, body: Record<string, unknown>): Payload {
  const { tasks, maxPageSize } = ctx;
  const { page, size, queryConditions: qc } = checkSchema<ListTaskRequest>(validateListTaskRequest, body);
  if (size > maxPageSize) {
    throw new RetCodeError(RetCode.ParameterValue, `size must be between 1 and ${maxPageSize} (got ${size})`);
  }
  const ids = qc.userTaskID ? new Set(qc.userTaskID) : undefined;
  const statuses = qc.taskStatus ? new Set(qc.taskStatus) : undefined;
  const names = qc.taskName ? new Set(qc.taskName) : undefined;
  const sceneID = qc.sceneID ?? undefined;
  const startTs = qc.startTs ?? undefined;
  const endTs = qc.endTs ?? undefined;
  // An empty filter list means "no filter on this field".
  const matching = sortedTasks(tasks).filter(
    (t) =>
      (!ids || ids.size === 0 || ids.has(t.userTaskID)) &&
      (!statuses || statuses.size === 0 || statuses.has(t.taskStatus)) &&
      (!names || names.size === 0 || (t.taskName !== undefined && names.has(t.taskName))) &&
      (sceneID === undefined || sceneID === '' || t.sceneID === sceneID) &&
      (startTs === undefined || t.createTs >= startTs) &&
      (endTs === undefined || t.createTs <= endTs),
  );
  const pageItems = matching.slice((page - 1) * size, page * size);
  return {
    retCode: RetCode.Success,
    retMsg: 'success',
    responseID: newId(),
    total: matching.length,
    taskData: pageItems.map((t) => ({
      userTaskID: t.userTaskID,
      taskID: t.taskID,
      sceneID: t.sceneID,
      taskStatus: t.taskStatus,
      createTs: t.createTs,
      taskName: t.taskName,
      taskStat: { ...ZERO_TASK_STAT },
    })),
  };
}

/**
 * createTask: a new task in status 1 with the platform defaults. The docs list no retCode
 * for a userTaskID that exists; the simulator answers 4 (parameter value wrong).
 */
function handleCreateTask(ctx: HandlerContext, body: Record<string, unknown>): Payload {
  const { userTaskID, sceneID } = checkSchema<CreateTaskRequest>(validateCreateTaskRequest, body);
  if (ctx.tasks.has(userTaskID))
    throw new RetCodeError(RetCode.ParameterValue, `userTaskID "${userTaskID}" already exists`);
  const task: SimTask = {
    userTaskID,
    sceneID,
    taskID: `C${newId().slice(0, 12).toUpperCase()}`,
    taskStatus: 1,
    createTs: ctx.nowSec(),
    taskCreateSetting: structuredClone(CREATED_TASK_DEFAULTS.taskCreateSetting),
    funcFlag: structuredClone(CREATED_TASK_DEFAULTS.funcFlag),
  };
  ctx.tasks.set(userTaskID, task);
  return { retCode: RetCode.Success, retMsg: 'success', responseID: newId(), taskID: task.taskID };
}

function handleUpdateTask(ctx: HandlerContext, body: Record<string, unknown>): Payload {
  const {
    userTaskID,
    sceneID,
    taskCreateSetting: tcs,
    funcFlag: ff,
  } = checkSchema<UpdateTaskRequest>(validateUpdateTaskRequest, body);
  const task = findTask(ctx.tasks, userTaskID);
  if (task.sceneID !== sceneID) {
    throw new RetCodeError(
      RetCode.ParameterValue,
      `sceneID does not match task: task "${userTaskID}" has sceneID "${task.sceneID}", request says "${sceneID}"`,
    );
  }
  if (!isUpdatableStatus(task.taskStatus)) {
    const pausing = ctx.transitions.pendingPause(userTaskID) ? '; a pause is pending, retry once it has landed' : '';
    throw new RetCodeError(
      RetCode.GenericError,
      `task status ${describeStatus(task.taskStatus)} cannot be modified; only not started (1) or paused (5)${pausing}`,
    );
  }
  // Everything is validated above, so the merge below never leaves a half-applied update.
  if (tcs) {
    const target = task.taskCreateSetting as Record<string, unknown>;
    for (const [k, v] of Object.entries(tcs)) {
      if (k === 'manualCallSetting') {
        target.manualCallSetting = {
          ...(task.taskCreateSetting.manualCallSetting ?? {}),
          ...structuredClone(v as object),
        };
      } else {
        target[k] = structuredClone(v);
      }
    }
    if (tcs.taskName !== undefined) task.taskName = tcs.taskName;
  }
  if (ff) {
    const target = task.funcFlag as Record<string, unknown>;
    for (const [k, v] of Object.entries(ff)) target[k] = structuredClone(v); // smsFuncFlag is replaced whole
  }
  return { retCode: RetCode.Success, retMsg: 'success', responseID: newId(), taskID: task.taskID };
}

/**
 * Applies taskOperate to the task and returns the status to answer. While a pause is
 * pending (see transitions.ts) the task is running: start cancels the pause, a second
 * pause is accepted without moving its due time.
 */
function operate(transitions: TaskTransitions, task: SimTask, taskOperate: number): number {
  const pausing = transitions.pendingPause(task.userTaskID) !== null;
  if (pausing && taskOperate === 1) {
    transitions.cancelPause(task.userTaskID);
    return task.taskStatus;
  }
  if (pausing && taskOperate === 2) return task.taskStatus;
  const op = OPERATIONS[taskOperate];
  if (!op.from.includes(task.taskStatus)) {
    throw new RetCodeError(
      RetCode.GenericError,
      `cannot ${op.name} a task in status ${describeStatus(task.taskStatus)}; allowed from ${op.from.map(describeStatus).join(', ')}`,
    );
  }
  if (taskOperate === 2) return transitions.pause(task);
  transitions.set(task, op.to, 'mgrTaskStatus');
  return task.taskStatus;
}

function handleMgrTaskStatus(ctx: HandlerContext, body: Record<string, unknown>): Payload {
  const { userTaskID, taskOperate } = checkSchema<MgrTaskStatusRequest>(validateMgrTaskStatusRequest, body);
  const task = findTask(ctx.tasks, userTaskID);
  const taskStatus = operate(ctx.transitions, task, taskOperate);
  return { retCode: RetCode.Success, retMsg: 'success', responseID: newId(), taskID: task.taskID, taskStatus };
}

function handlePing(ctx: HandlerContext, body: Record<string, unknown>): Payload {
  const { data } = checkSchema<PingRequest>(validatePingRequest, body);
  return { data, timestamp: ctx.nowSec(), code: 0, msg: 'success', reqId: newId() };
}

export const HANDLERS: Record<SimEndpoint, Handler> = {
  listTask: handleListTask,
  createTask: handleCreateTask,
  updateTask: handleUpdateTask,
  mgrTaskStatus: handleMgrTaskStatus,
  ping: handlePing,
};
