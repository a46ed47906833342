import type { TaskCreateSetting, FuncFlag } from '../generated/task.js';

export const PRODUCT_ID = 'callbot' as const;
export const API_PREFIX = '/callcentre/api/v3/';

/** Task status enumeration (listTask / mgrTaskStatus). */
export const TaskStatus = {
  NotStarted: 1,
  Running: 2,
  Completed: 3,
  CompletedFailed: 4,
  Paused: 5,
} as const;
export type TaskStatusCode = (typeof TaskStatus)[keyof typeof TaskStatus];

export const TASK_STATUS_LABEL: Record<number, string> = {
  1: 'not started',
  2: 'running',
  3: 'completed',
  4: 'completed (failed)',
  5: 'paused',
};

/** "2 (running)": a status code with its meaning, for messages. */
export function describeStatus(status: number): string {
  return `${status} (${TASK_STATUS_LABEL[status] ?? 'unknown'})`;
}

/** Stable order of anything keyed by userTaskID (plans, results, listings). */
export function byUserTaskID(a: { userTaskID: string }, b: { userTaskID: string }): number {
  return a.userTaskID < b.userTaskID ? -1 : a.userTaskID > b.userTaskID ? 1 : 0;
}

/** updateTask is documented to work only for these statuses. */
export function isUpdatableStatus(status: number): boolean {
  return status === TaskStatus.NotStarted || status === TaskStatus.Paused;
}

/** Documented retCode values (§1.4 of the API notes). */
export const RetCode = {
  Success: 0,
  GenericError: 1,
  ParameterMissing: 2,
  ParameterFormat: 3,
  ParameterValue: 4,
  ContentTooLarge: 4001,
  Maintenance: 5,
  InternalError: 5001,
  SignatureIncorrect: 6,
  SignatureMissing: 6001,
  AccountNotFound: 6002,
  NoPermission: 6003,
  SystemBusy: 7,
} as const;

/** retCodes documented as transient conditions: retried like a 5xx. */
export const TRANSIENT_RET_CODES: ReadonlySet<number> = new Set([RetCode.Maintenance, RetCode.SystemBusy]);

export interface BaseResponse {
  retCode: number;
  retMsg: string;
  responseID?: string;
}

export interface UpdateTaskRequest {
  productID: typeof PRODUCT_ID;
  userTaskID: string;
  sceneID: string;
  taskCreateSetting?: TaskCreateSetting;
  funcFlag?: FuncFlag;
}
export interface UpdateTaskResponse extends BaseResponse {
  taskID?: string;
}

export interface ListTaskRequest {
  productID: typeof PRODUCT_ID;
  page: number;
  size: number;
  queryConditions: {
    taskStatus?: number[];
    taskName?: string[];
    sceneID?: string;
    userTaskID?: string[];
    startTs?: number;
    endTs?: number;
  };
}
export interface TaskStat {
  answerOrderCount: number;
  finishOrderCount: number;
  totalOrderCount: number;
  finishRate: number;
  totalAnswerCall: number;
  totalCall: number;
  answerRate: number;
}
export interface ListedTask {
  userTaskID: string;
  taskID: string;
  sceneID: string;
  taskStatus: number;
  createTs: number;
  taskStat?: TaskStat;
  taskName?: string;
}
export interface ListTaskResponse extends BaseResponse {
  taskData?: ListedTask[];
  /** Not confirmed by the docs (open question 8); used only when present. */
  total?: number;
}

export interface MgrTaskStatusRequest {
  productID: typeof PRODUCT_ID;
  userTaskID: string;
  taskOperate: 1 | 2 | 3;
  delCall?: 0 | 1;
}
export interface MgrTaskStatusResponse extends BaseResponse {
  taskID?: string;
  taskStatus?: number;
}

export interface PingResponse {
  data: string;
  timestamp: number;
  code: number;
  msg: string;
  reqId: string;
}
