/** The /__sim control endpoints (no auth, no latency, no faults); see the route list in server.ts. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { TASK_STATUS_LABEL } from '../model/status.js';
import { isPlainObject, describeValue } from './validate.js';
import type { SimTask } from './seed.js';
import { MAX_BODY_BYTES, type SimFaultSettings, type SimStats } from './types.js';
import { readBody, readJsonBody, sendJson } from './http.js';
import { sortedTasks } from './handlers.js';
import { RUNTIME_SETTING_KEYS } from './settings.js';

export function isValidStatus(s: unknown): s is number {
  return typeof s === 'number' && Number.isInteger(s) && TASK_STATUS_LABEL[s] !== undefined;
}

/** What the control endpoints may read and change on the running simulator. */
export interface ControlDeps {
  tasks: Map<string, SimTask>;
  stats(): SimStats;
  resetStats(): void;
  /** Validates and applies fault settings; throws (changing nothing) on bad input. */
  applyFaultSettings(f: SimFaultSettings): void;
  faultSettings(): Record<string, unknown>;
}

/** `path` is the URL path without query, starting with /__sim. */
export async function handleControl(deps: ControlDeps, req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
  const { tasks } = deps;
  const method = req.method ?? 'GET';
  const parts = path.split('/').filter((p) => p !== '').slice(1).map(decodeURIComponent); // drop "__sim"
  if (method === 'GET' && parts.length === 1 && parts[0] === 'tasks') {
    return sendJson(res, 200, { tasks: sortedTasks(tasks) });
  }
  if (method === 'GET' && parts.length === 2 && parts[0] === 'tasks') {
    const task = tasks.get(parts[1]!);
    return task ? sendJson(res, 200, task) : sendJson(res, 404, { error: `task not found: ${parts[1]}` });
  }
  if (method === 'POST' && parts.length === 3 && parts[0] === 'tasks' && parts[2] === 'status') {
    let body: unknown;
    try {
      body = await readJsonBody(req, MAX_BODY_BYTES);
    } catch (err) {
      return sendJson(res, 400, { error: `invalid JSON body: ${(err as Error).message}` });
    }
    const task = tasks.get(parts[1]!);
    if (!task) return sendJson(res, 404, { error: `task not found: ${parts[1]}` });
    const status = isPlainObject(body) ? body.taskStatus : undefined;
    if (!isValidStatus(status)) return sendJson(res, 400, { error: `taskStatus must be an integer 1..5 (got ${describeValue(status)})` });
    task.taskStatus = status;
    return sendJson(res, 200, task);
  }
  if (method === 'GET' && parts.length === 1 && parts[0] === 'stats') {
    return sendJson(res, 200, deps.stats());
  }
  if (method === 'POST' && parts.length === 2 && parts[0] === 'stats' && parts[1] === 'reset') {
    await readBody(req, MAX_BODY_BYTES); // drain any body so the keep-alive connection stays usable
    deps.resetStats();
    return sendJson(res, 200, deps.stats());
  }
  if (method === 'POST' && parts.length === 1 && parts[0] === 'faults') {
    let body: unknown;
    try {
      body = await readJsonBody(req, MAX_BODY_BYTES);
      if (!isPlainObject(body)) throw new Error('body must be a JSON object');
      for (const k of Object.keys(body)) {
        if (!RUNTIME_SETTING_KEYS.includes(k)) throw new Error(`unknown field ${k}; known fields: ${RUNTIME_SETTING_KEYS.join(', ')}`);
      }
      deps.applyFaultSettings(body as SimFaultSettings);
    } catch (err) {
      return sendJson(res, 400, { error: (err as Error).message });
    }
    return sendJson(res, 200, deps.faultSettings());
  }
  return sendJson(res, 404, { error: `no such control endpoint: ${method} ${path}` });
}
