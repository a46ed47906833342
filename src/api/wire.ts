/** Request and response bodies of the Callbot v3 endpoints callform uses (API notes §3). */
import type { TaskCreateSetting, FuncFlag } from '../generated/task.js';
import type { PRODUCT_ID, RemoteTask } from '../model/task.js';

export const API_PREFIX = '/callcentre/api/v3/';

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

/** createTask as callform sends it: the required fields only (the settings follow with updateTask). */
export interface CreateTaskRequest {
  productID: typeof PRODUCT_ID;
  userTaskID: string;
  sceneID: string;
}
/** The docs' example does not show the answer; by analogy with updateTask, taskID when given. */
export interface CreateTaskResponse extends BaseResponse {
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
export interface ListedTask extends RemoteTask {
  createTs: number;
  taskStat?: TaskStat;
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
