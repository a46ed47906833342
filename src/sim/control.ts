/**
 * The /__sim control endpoints (no auth, no latency, no faults, no rate limit); see the
 * route list in server.ts. They go through the Simulator object, so they see and do
 * exactly what the programmatic API does. Due pauses land before every control call.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isTaskStatus } from '../model/status.js';
import { isPlainObject, describeValue } from './validate.js';
import { MAX_BODY_BYTES, type Simulator } from './types.js';
import { readBody, readJsonBody, sendJson } from './http.js';
import { sortedTasks } from './handlers.js';
import { RUNTIME_SETTING_KEYS } from './settings.js';

export const isValidStatus = isTaskStatus;

/** What the control endpoints may read and change on the running simulator. */
export type ControlDeps = Pick<
  Simulator,
  'tasks' | 'stats' | 'resetStats' | 'setStatus' | 'setFaults' | 'history' | 'log' | 'clearHistory' | 'applyDuePauses'
> & {
  /** Current run-time settings (the answer of POST /__sim/faults). */
  faultSettings(): Record<string, unknown>;
  /** Highest history seq handed out so far. */
  lastSeq(): number;
};

interface ControlRequest {
  req: IncomingMessage;
  res: ServerResponse;
  /** Path segments after /__sim, decoded; `:id` segments are in `params`. */
  params: string[];
  query: URLSearchParams;
}

type ControlHandler = (deps: ControlDeps, r: ControlRequest) => Promise<void> | void;

/** A body that must be a JSON object; answers 400 and returns undefined otherwise. */
async function objectBody(r: ControlRequest): Promise<Record<string, unknown> | undefined> {
  let body: unknown;
  try {
    body = await readJsonBody(r.req, MAX_BODY_BYTES);
  } catch (err) {
    sendJson(r.res, 400, { error: `invalid JSON body: ${(err as Error).message}` });
    return undefined;
  }
  if (isPlainObject(body)) return body;
  sendJson(r.res, 400, { error: `body must be a JSON object (got ${describeValue(body)})` });
  return undefined;
}

/** The task named by the first `:id`, or a 404 answer. */
function knownTask(deps: ControlDeps, r: ControlRequest): string | undefined {
  const id = r.params[0];
  if (deps.tasks.has(id)) return id;
  sendJson(r.res, 404, { error: `task not found: ${id}` });
  return undefined;
}

const listTasks: ControlHandler = (deps, r) => sendJson(r.res, 200, { tasks: sortedTasks(deps.tasks) });

const getTask: ControlHandler = (deps, r) => {
  const id = knownTask(deps, r);
  if (id !== undefined) sendJson(r.res, 200, deps.tasks.get(id));
};

const setTaskStatus: ControlHandler = async (deps, r) => {
  const body = await objectBody(r);
  if (!body) return;
  const id = knownTask(deps, r);
  if (id === undefined) return;
  if (!isValidStatus(body.taskStatus))
    return sendJson(r.res, 400, {
      error: `taskStatus must be an integer 1..5 (got ${describeValue(body.taskStatus)})`,
    });
  deps.setStatus(id, body.taskStatus);
  sendJson(r.res, 200, deps.tasks.get(id));
};

const taskHistory: ControlHandler = (deps, r) => {
  const id = knownTask(deps, r);
  if (id !== undefined) sendJson(r.res, 200, deps.history(id));
};

const getLog: ControlHandler = (deps, r) => {
  const since = r.query.get('since');
  const sinceSeq = since === null || since === '' ? 0 : Number(since);
  if (!Number.isInteger(sinceSeq) || sinceSeq < 0)
    return sendJson(r.res, 400, { error: `since must be a non-negative integer seq (got ${JSON.stringify(since)})` });
  sendJson(r.res, 200, { entries: deps.log(sinceSeq), lastSeq: deps.lastSeq() });
};

const resetLog: ControlHandler = async (deps, r) => {
  await readBody(r.req, MAX_BODY_BYTES); // drain any body so the keep-alive connection stays usable
  deps.clearHistory();
  sendJson(r.res, 200, { entries: [], lastSeq: deps.lastSeq() });
};

const getStats: ControlHandler = (deps, r) => sendJson(r.res, 200, deps.stats());

const resetStats: ControlHandler = async (deps, r) => {
  await readBody(r.req, MAX_BODY_BYTES);
  deps.resetStats();
  sendJson(r.res, 200, deps.stats());
};

const getFaults: ControlHandler = (deps, r) => sendJson(r.res, 200, deps.faultSettings());

const setFaults: ControlHandler = async (deps, r) => {
  const body = await objectBody(r);
  if (!body) return;
  const unknown = Object.keys(body).filter((k) => !RUNTIME_SETTING_KEYS.includes(k));
  if (unknown.length > 0)
    return sendJson(r.res, 400, {
      error: `unknown field ${unknown.join(', ')}; known fields: ${RUNTIME_SETTING_KEYS.join(', ')}`,
    });
  try {
    deps.setFaults(body);
  } catch (err) {
    return sendJson(r.res, 400, { error: (err as Error).message });
  }
  sendJson(r.res, 200, deps.faultSettings());
};

/** [method, path pattern after /__sim (":id" matches one segment), handler]. */
const ROUTES: ReadonlyArray<[string, string, ControlHandler]> = [
  ['GET', 'tasks', listTasks],
  ['GET', 'tasks/:id', getTask],
  ['POST', 'tasks/:id/status', setTaskStatus],
  ['GET', 'tasks/:id/history', taskHistory],
  ['GET', 'log', getLog],
  ['POST', 'log/reset', resetLog],
  ['GET', 'stats', getStats],
  ['POST', 'stats/reset', resetStats],
  ['GET', 'faults', getFaults],
  ['POST', 'faults', setFaults],
];

/** The `:id` values when `parts` match `pattern`, else undefined. */
function match(pattern: string, parts: string[]): string[] | undefined {
  const segments = pattern.split('/');
  if (segments.length !== parts.length) return undefined;
  const params: string[] = [];
  for (let i = 0; i < segments.length; i++) {
    if (segments[i] === ':id') params.push(parts[i]);
    else if (segments[i] !== parts[i]) return undefined;
  }
  return params;
}

/** `url` is the request URL (path starting with /__sim, optional query). */
export async function handleControl(
  deps: ControlDeps,
  req: IncomingMessage,
  res: ServerResponse,
  url: string,
): Promise<void> {
  const method = req.method ?? 'GET';
  const parsed = new URL(url, 'http://sim.invalid');
  let parts: string[];
  try {
    parts = parsed.pathname
      .split('/')
      .filter((p) => p !== '')
      .slice(1)
      .map(decodeURIComponent); // drop "__sim"
  } catch {
    req.resume();
    return sendJson(res, 400, { error: `malformed path: ${parsed.pathname}` });
  }
  deps.applyDuePauses();
  for (const [m, pattern, handler] of ROUTES) {
    const params = m === method ? match(pattern, parts) : undefined;
    if (params) return handler(deps, { req, res, params, query: parsed.searchParams });
  }
  req.resume();
  sendJson(res, 404, { error: `no such control endpoint: ${method} ${parsed.pathname}` });
}
