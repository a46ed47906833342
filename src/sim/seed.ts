/** Seed files for the simulator: YAML or JSON, `{ tasks: [...] }`. */
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { TaskCreateSetting, FuncFlag } from '../generated/task.js';
import { TASK_STATUS_LABEL } from '../model/status.js';
import { validateRequestTaskCreateSetting, validateRequestFuncFlag } from '../generated/validators.js';
import { isPlainObject, describeValue, schemaError } from './validate.js';

export interface SimTask {
  userTaskID: string;
  sceneID: string;
  taskID: string;
  taskStatus: number;
  taskName?: string;
  /** Creation time, Unix seconds (as listTask reports it). */
  createTs: number;
  taskCreateSetting: TaskCreateSetting;
  funcFlag: FuncFlag;
}

export interface SeedTask {
  userTaskID: string;
  sceneID: string;
  taskStatus?: number;
  taskID?: string;
  taskName?: string;
  taskCreateSetting?: TaskCreateSetting;
  funcFlag?: FuncFlag;
}

export interface SeedFile {
  tasks: SeedTask[];
}

const SEED_TASK_KEYS = ['userTaskID', 'sceneID', 'taskStatus', 'taskID', 'taskName', 'taskCreateSetting', 'funcFlag'];

export class SeedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SeedError';
  }
}

/** Checks the shape of a seed object; `label` (usually the file path) prefixes every message. */
export function validateSeed(input: unknown, label = 'seed'): SeedFile {
  const fail = (msg: string): never => {
    throw new SeedError(`${label}: ${msg}`);
  };
  if (input === null || input === undefined) fail('seed is empty; expected a mapping with a "tasks" list');
  if (!isPlainObject(input)) return fail(`seed must be a mapping with a "tasks" list (got ${describeValue(input)})`);
  for (const k of Object.keys(input)) if (k !== 'tasks') fail(`unknown top-level key "${k}" (only "tasks" is allowed)`);
  const tasks = input.tasks;
  if (!Array.isArray(tasks)) return fail(`"tasks" must be a list (got ${describeValue(tasks)})`);
  const seen = new Map<string, number>();
  const out: SeedTask[] = tasks.map((raw, i) => {
    const at = `tasks[${i}]`;
    if (!isPlainObject(raw)) return fail(`${at} must be a mapping (got ${describeValue(raw)})`);
    for (const k of Object.keys(raw)) {
      if (!SEED_TASK_KEYS.includes(k)) fail(`${at}.${k} is not a known field (allowed: ${SEED_TASK_KEYS.join(', ')})`);
    }
    const { userTaskID, sceneID, taskStatus, taskID, taskName } = raw;
    if (typeof userTaskID !== 'string' || userTaskID.trim() === '' || userTaskID !== userTaskID.trim()) {
      fail(`${at}.userTaskID must be a non-empty string without surrounding spaces (got ${describeValue(userTaskID)})`);
    }
    const prev = seen.get(userTaskID as string);
    if (prev !== undefined) fail(`${at}.userTaskID "${String(userTaskID)}" duplicates tasks[${prev}]`);
    seen.set(userTaskID as string, i);
    if (typeof sceneID !== 'string' || sceneID === '')
      fail(`${at}.sceneID must be a non-empty string (got ${describeValue(sceneID)})`);
    if (
      taskStatus !== undefined &&
      (typeof taskStatus !== 'number' || !TASK_STATUS_LABEL[taskStatus] || !Number.isInteger(taskStatus))
    ) {
      fail(
        `${at}.taskStatus must be one of 1 (not started), 2 (running), 3 (completed), 4 (completed (failed)), 5 (paused) (got ${describeValue(taskStatus)})`,
      );
    }
    if (taskID !== undefined && (typeof taskID !== 'string' || taskID === ''))
      fail(`${at}.taskID must be a non-empty string`);
    if (taskName !== undefined && typeof taskName !== 'string') fail(`${at}.taskName must be a string`);
    const task: SeedTask = { userTaskID: userTaskID as string, sceneID: sceneID as string };
    if (taskStatus !== undefined) task.taskStatus = taskStatus as number;
    if (taskID !== undefined) task.taskID = taskID as string;
    if (taskName !== undefined) task.taskName = taskName as string;
    // The same definitions as the updateTask body (schemas/api.schema.json); null = absent.
    if (raw.taskCreateSetting !== undefined && raw.taskCreateSetting !== null) {
      const err = schemaError(validateRequestTaskCreateSetting, raw.taskCreateSetting, `${at}.taskCreateSetting`);
      if (err) fail(err.message);
      task.taskCreateSetting = raw.taskCreateSetting;
    }
    if (raw.funcFlag !== undefined && raw.funcFlag !== null) {
      const err = schemaError(validateRequestFuncFlag, raw.funcFlag, `${at}.funcFlag`);
      if (err) fail(err.message);
      task.funcFlag = raw.funcFlag;
    }
    return task;
  });
  return { tasks: out };
}

/** Reads and validates a YAML (.yaml/.yml/other) or JSON (.json) seed file. */
export async function loadSeedFile(path: string): Promise<SeedFile> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new SeedError(`${path}: cannot read seed file: ${(err as Error).message}`);
  }
  let data: unknown;
  try {
    data = extname(path).toLowerCase() === '.json' ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new SeedError(`${path}: cannot parse seed file: ${(err as Error).message}`);
  }
  return validateSeed(data, path);
}

/** Builds the live task store from a validated seed. */
export function buildStore(seed: SeedFile, nowSec: number): Map<string, SimTask> {
  const store = new Map<string, SimTask>();
  seed.tasks.forEach((t, i) => {
    const tcs = structuredClone(t.taskCreateSetting ?? {});
    const task: SimTask = {
      userTaskID: t.userTaskID,
      sceneID: t.sceneID,
      taskID: t.taskID ?? `T${String(i + 1).padStart(6, '0')}`,
      taskStatus: t.taskStatus ?? 1,
      createTs: nowSec,
      taskCreateSetting: tcs,
      funcFlag: structuredClone(t.funcFlag ?? {}),
    };
    const name = t.taskName ?? tcs.taskName;
    if (name !== undefined) task.taskName = name;
    store.set(task.userTaskID, task);
  });
  return store;
}
