/**
 * callform sim — a local NXCloud Callbot v3 simulator (node:http on loopback).
 *
 * API endpoints (POST only, signed like the real platform, see src/api/sign.ts):
 *   POST /callcentre/api/v3/listTask       {productID, page, size, queryConditions}
 *   POST /callcentre/api/v3/updateTask     {productID, userTaskID, sceneID, taskCreateSetting?, funcFlag?}
 *   POST /callcentre/api/v3/mgrTaskStatus  {productID, userTaskID, taskOperate, delCall?}
 *   POST /callcentre/api/v3/ping           {data}
 * Every API answer is HTTP 200 JSON with signed response headers (requestID, uuid,
 * createTs, algorithm, sign), except injected faults (http500/http503/reset/timeout).
 * Any other path (or a non-POST method on an API path) -> HTTP 404 JSON.
 *
 * Control endpoints (no auth, no latency, no faults; for tests and demos):
 *   GET  /__sim/tasks              -> {tasks: SimTask[]} sorted by userTaskID
 *   GET  /__sim/tasks/:id          -> SimTask | 404
 *   POST /__sim/tasks/:id/status   body {taskStatus: 1..5} -> the updated SimTask (400/404 on error)
 *   GET  /__sim/stats              -> SimStats
 *   POST /__sim/stats/reset        -> SimStats (zeroed)
 *   POST /__sim/faults             body {faultRate?, faultKinds?, faultSeed?, latencyMs?} -> current fault settings
 *
 * Auth checks, in order (each failure counts in stats.authFailures):
 *   missing uuid/requestID/createTs/sign header -> 6001; unknown uuid -> 6002;
 *   bad algorithm header -> 3; createTs not integer seconds or outside ±replayWindowSec -> 6;
 *   sign mismatch (over the exact raw body) -> 6; requestID already seen -> 6.
 * A requestID is remembered once auth passes (even if a fault is then injected), so a
 * retry must use a fresh requestID, as the docs require ("unique per request").
 */
import { createServer, type IncomingMessage, type ServerResponse, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { randomUUID } from 'node:crypto';
import { sign, parseAlgorithm, signaturesEqual, type SignAlgorithm } from '../api/sign.js';
import { PRODUCT_ID, API_PREFIX, RetCode, TASK_STATUS_LABEL, byUserTaskID, describeStatus, isUpdatableStatus } from '../api/types.js';
import {
  ApiError,
  isPlainObject,
  requireField,
  optionalField,
  rejectUnknownKeys,
  checkEnum,
  checkStringArray,
  checkIntegerArray,
  validateTaskCreateSetting,
  validateFuncFlag,
  describeValue,
} from './validate.js';
import { type SimTask, type SeedFile, validateSeed, loadSeedFile, buildStore } from './seed.js';
import {
  type FaultKind,
  FAULT_KINDS,
  DEFAULT_FAULT_SEED,
  mulberry32,
  parseFaultKinds,
  checkFaultRate,
  decideFault,
} from './faults.js';

export type { SimTask, SeedFile, SeedTask } from './seed.js';
export type { FaultKind } from './faults.js';
export { loadSeedFile, validateSeed, SeedError } from './seed.js';
export { FAULT_KINDS, mulberry32 } from './faults.js';

export const DEFAULT_SIM_UUID = 'sim-uuid-0000000000000000000000';
export const DEFAULT_SIM_SECRET = 'sim-secret-00000000000000000000';
export const SIM_ENDPOINTS = ['listTask', 'updateTask', 'mgrTaskStatus', 'ping'] as const;
export type SimEndpoint = (typeof SIM_ENDPOINTS)[number];
/** Request bodies above this many bytes get retCode 4001. */
export const MAX_BODY_BYTES = 1024 * 1024;

export interface SimulatorOptions {
  /** 0 = any free port (default 0). */
  port?: number;
  /** Default '127.0.0.1'. */
  host?: string;
  uuid?: string;
  secret?: string;
  /** Seed object, or path to a YAML/JSON seed file. */
  seed?: SeedFile | string;
  /** Fixed delay before each API response (default 0). */
  latencyMs?: number;
  /** 0..1 probability of a fault per API request (default 0). */
  faultRate?: number;
  /** Default: all kinds. */
  faultKinds?: FaultKind[];
  /** Seed of the PRNG used for fault decisions. */
  faultSeed?: number;
  /** How long a 'timeout' fault holds the response before destroying the socket (default 30000). */
  timeoutFaultMs?: number;
  /** createTs window in seconds (default 300). */
  replayWindowSec?: number;
  /** listTask max size (default 100; bigger -> retCode 4). */
  maxPageSize?: number;
  /** Clock in ms (default Date.now). */
  now?: () => number;
}

export interface SimStats {
  requests: number;
  byEndpoint: Record<string, number>;
  authFailures: number;
  faults: Record<string, number>;
  /** Successful updateTask calls. */
  updates: number;
}

export interface SimFaultSettings {
  faultRate?: number;
  faultKinds?: FaultKind[];
  faultSeed?: number;
  latencyMs?: number;
}

export interface Simulator {
  url: string;
  uuid: string;
  secret: string;
  /** Live store, keyed by userTaskID. */
  tasks: Map<string, SimTask>;
  stats(): SimStats;
  resetStats(): void;
  /** Flip a task's status (e.g. between plan and apply). Throws on unknown task / invalid status. */
  setStatus(userTaskID: string, status: number): void;
  setFaults(opts: SimFaultSettings): void;
  /** Observer: called for every authenticated API request (body = parsed JSON, or the raw text if unparseable). */
  onRequest?: (endpoint: string, body: unknown) => void;
  /** Closes the server and destroys open sockets (keep-alive, held timeouts). */
  close(): Promise<void>;
}

const ZERO_TASK_STAT = {
  answerOrderCount: 0,
  finishOrderCount: 0,
  totalOrderCount: 0,
  finishRate: 0,
  totalAnswerCall: 0,
  totalCall: 0,
  answerRate: 0,
};

const OPERATIONS: Record<number, { name: string; from: number[]; to: number }> = {
  1: { name: 'start', from: [1, 5], to: 2 },
  2: { name: 'pause', from: [2], to: 5 },
  3: { name: 'complete', from: [1, 2, 5], to: 3 },
};

function newId(): string {
  return randomUUID().replace(/-/g, '');
}

function sortedTasks(store: Map<string, SimTask>): SimTask[] {
  return [...store.values()].sort(byUserTaskID);
}

function emptyStats(): SimStats {
  return {
    requests: 0,
    byEndpoint: Object.fromEntries(SIM_ENDPOINTS.map((e) => [e, 0])),
    authFailures: 0,
    faults: Object.fromEntries(FAULT_KINDS.map((k) => [k, 0])),
    updates: 0,
  };
}

function isValidStatus(s: unknown): s is number {
  return typeof s === 'number' && Number.isInteger(s) && TASK_STATUS_LABEL[s] !== undefined;
}

/** Turns a valid signature into a wrong one of the same length. */
function corruptSign(s: string): string {
  if (s.length === 0) return '0';
  return (s[0] === '0' ? '1' : '0') + s.slice(1);
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name.toLowerCase()];
  if (Array.isArray(v)) return v[0];
  return v;
}

interface BodyResult {
  text: string;
  tooLarge: boolean;
}

function readBody(req: IncomingMessage, limit: number): Promise<BodyResult> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    let done = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        tooLarge = true;
        chunks.length = 0;
      } else if (!tooLarge) {
        chunks.push(chunk);
      }
    });
    req.on('end', () => {
      done = true;
      resolve({ text: tooLarge ? '' : Buffer.concat(chunks).toString('utf8'), tooLarge });
    });
    req.on('error', (err) => {
      done = true;
      reject(err);
    });
    req.on('close', () => {
      if (!done) reject(new Error('request aborted'));
    });
  });
}

function sendJson(res: ServerResponse, status: number, payload: unknown, extraHeaders: Record<string, string> = {}): void {
  if (res.headersSent || res.writableEnded || res.destroyed) return;
  const body = JSON.stringify(payload);
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': String(Buffer.byteLength(body)),
    ...extraHeaders,
  });
  res.end(body);
}

async function resolveSeed(seed: SeedFile | string | undefined): Promise<SeedFile> {
  if (seed === undefined) return { tasks: [] };
  if (typeof seed === 'string') return loadSeedFile(seed);
  return validateSeed(seed, 'seed');
}

export async function startSimulator(opts: SimulatorOptions = {}): Promise<Simulator> {
  const now = opts.now ?? Date.now;
  const host = opts.host ?? '127.0.0.1';
  const simUuid = opts.uuid ?? DEFAULT_SIM_UUID;
  const secret = opts.secret ?? DEFAULT_SIM_SECRET;
  const replayWindowSec = opts.replayWindowSec ?? 300;
  const maxPageSize = opts.maxPageSize ?? 100;
  const timeoutFaultMs = opts.timeoutFaultMs ?? 30000;
  if (simUuid === '' || secret === '') throw new Error('uuid and secret must be non-empty');
  if (!Number.isInteger(maxPageSize) || maxPageSize < 1) throw new Error(`maxPageSize must be a positive integer (got ${maxPageSize})`);

  const settings = {
    latencyMs: 0,
    faultRate: 0,
    faultKinds: [...FAULT_KINDS] as FaultKind[],
  };
  let rand = mulberry32(DEFAULT_FAULT_SEED);
  const applyFaultSettings = (f: SimFaultSettings): void => {
    // Validate everything first so a bad call changes nothing.
    const rate = f.faultRate !== undefined ? checkFaultRate(f.faultRate) : undefined;
    const kinds = f.faultKinds !== undefined ? parseFaultKinds(f.faultKinds) : undefined;
    if (f.latencyMs !== undefined && (typeof f.latencyMs !== 'number' || !Number.isFinite(f.latencyMs) || f.latencyMs < 0)) {
      throw new Error(`latencyMs must be a non-negative number (got ${String(f.latencyMs)})`);
    }
    if (f.faultSeed !== undefined && (typeof f.faultSeed !== 'number' || !Number.isFinite(f.faultSeed))) {
      throw new Error(`faultSeed must be a number (got ${String(f.faultSeed)})`);
    }
    if (rate !== undefined) settings.faultRate = rate;
    if (kinds !== undefined) settings.faultKinds = kinds;
    if (f.latencyMs !== undefined) settings.latencyMs = f.latencyMs;
    if (f.faultSeed !== undefined) rand = mulberry32(f.faultSeed);
  };
  applyFaultSettings({ faultRate: opts.faultRate, faultKinds: opts.faultKinds, faultSeed: opts.faultSeed, latencyMs: opts.latencyMs });

  const seed = await resolveSeed(opts.seed);
  const tasks = buildStore(seed, Math.floor(now() / 1000));

  let stats = emptyStats();
  const seenRequestIDs = new Map<string, number>(); // requestID -> expiry (ms)
  let lastPrune = 0;
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  let closing: Promise<void> | undefined;

  const delay = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const t = setTimeout(() => {
        timers.delete(t);
        resolve();
      }, ms);
      timers.add(t);
    });

  const nowSec = (): number => Math.floor(now() / 1000);

  // ---------------------------------------------------------------- auth

  interface ReplyCtx {
    requestID: string;
    algorithm: SignAlgorithm;
    badsign: boolean;
    endpoint: SimEndpoint;
  }

  const checkAuth = (req: IncomingMessage, rawBody: string, algorithmHeader: string | undefined): ApiError | undefined => {
    for (const h of ['uuid', 'requestID', 'createTs', 'sign']) {
      const v = header(req, h);
      if (v === undefined || v === '') {
        return new ApiError(RetCode.SignatureMissing, `signature missing: header ${h} absent`);
      }
    }
    const uuid = header(req, 'uuid')!;
    const requestID = header(req, 'requestID')!;
    const createTs = header(req, 'createTs')!;
    const reqSign = header(req, 'sign')!;
    if (uuid !== simUuid) return new ApiError(RetCode.AccountNotFound, `account does not exist: uuid "${uuid}" is unknown`);
    const algorithm = parseAlgorithm(algorithmHeader);
    if (algorithm === undefined) {
      return new ApiError(RetCode.ParameterFormat, `algorithm header "${algorithmHeader}" is not supported; use MD5 or SHA256`);
    }
    const ts = /^\d{1,15}$/.test(createTs) ? Number(createTs) : NaN;
    if (!Number.isSafeInteger(ts)) {
      return new ApiError(RetCode.SignatureIncorrect, `createTs outside the allowed window: "${createTs}" is not integer Unix seconds`);
    }
    const skew = ts - now() / 1000;
    if (Math.abs(skew) > replayWindowSec) {
      return new ApiError(
        RetCode.SignatureIncorrect,
        `createTs outside the allowed window: ${ts} is ${Math.round(Math.abs(skew))} s ${skew < 0 ? 'in the past' : 'in the future'} (allowed ±${replayWindowSec} s)`,
      );
    }
    const expected = sign({ secretKey: secret, body: rawBody, createTs, requestID, uuid }, algorithm);
    if (!signaturesEqual(expected, reqSign)) {
      return new ApiError(RetCode.SignatureIncorrect, `signature incorrect (${algorithm} over the raw body did not match)`);
    }
    const t = now();
    if (t - lastPrune > 1000) {
      lastPrune = t;
      for (const [id, exp] of seenRequestIDs) if (exp <= t) seenRequestIDs.delete(id);
    }
    const exp = seenRequestIDs.get(requestID);
    if (exp !== undefined && exp > t) {
      return new ApiError(RetCode.SignatureIncorrect, `requestID reused (replay refused): "${requestID}" was already used`);
    }
    seenRequestIDs.set(requestID, t + (2 * replayWindowSec + 60) * 1000);
    return undefined;
  };

  const sendSigned = (res: ServerResponse, ctx: ReplyCtx, payload: Record<string, unknown>): void => {
    const body = JSON.stringify(payload);
    const createTs = String(nowSec());
    let s = sign({ secretKey: secret, body, createTs, requestID: ctx.requestID, uuid: simUuid }, ctx.algorithm);
    if (ctx.badsign) s = corruptSign(s);
    if (res.headersSent || res.writableEnded || res.destroyed) return;
    res.writeHead(200, {
      'Content-Type': 'application/json; charset=utf-8',
      'Content-Length': String(Buffer.byteLength(body)),
      requestID: ctx.requestID,
      uuid: simUuid,
      createTs,
      algorithm: ctx.algorithm,
      sign: s,
    });
    res.end(body);
  };

  const errorPayload = (ctx: ReplyCtx, retCode: number, retMsg: string): Record<string, unknown> => {
    const responseID = newId();
    const payload: Record<string, unknown> = { retCode, retMsg, responseID };
    if (ctx.endpoint === 'ping') Object.assign(payload, { code: retCode, msg: retMsg, reqId: responseID });
    return payload;
  };

  // ---------------------------------------------------------------- handlers

  const checkProduct = (body: Record<string, unknown>): void => {
    const productID = requireField<string>(body, 'productID', 'string');
    if (productID !== PRODUCT_ID) {
      throw new ApiError(RetCode.ParameterValue, `productID must be "${PRODUCT_ID}" (got ${JSON.stringify(productID)})`);
    }
  };

  const findTask = (userTaskID: string): SimTask => {
    const task = tasks.get(userTaskID);
    if (!task) throw new ApiError(RetCode.ParameterValue, `task not found: userTaskID "${userTaskID}"`);
    return task;
  };

  const handleListTask = (body: Record<string, unknown>): Record<string, unknown> => {
    rejectUnknownKeys(body, ['productID', 'page', 'size', 'queryConditions'], '');
    checkProduct(body);
    const page = requireField<number>(body, 'page', 'integer');
    const size = requireField<number>(body, 'size', 'integer');
    if (!Object.prototype.hasOwnProperty.call(body, 'queryConditions') || body.queryConditions === undefined) {
      throw new ApiError(RetCode.ParameterMissing, 'queryConditions is required');
    }
    const qc = body.queryConditions;
    if (!isPlainObject(qc)) {
      throw new ApiError(RetCode.ParameterFormat, `queryConditions must be an object (got ${describeValue(qc)})`);
    }
    if (page < 1) throw new ApiError(RetCode.ParameterValue, `page must be >= 1 (got ${page})`);
    if (size < 1 || size > maxPageSize) {
      throw new ApiError(RetCode.ParameterValue, `size must be between 1 and ${maxPageSize} (got ${size})`);
    }
    rejectUnknownKeys(qc, ['taskStatus', 'taskName', 'sceneID', 'userTaskID', 'startTs', 'endTs'], 'queryConditions');
    const present = (k: string): boolean => qc[k] !== undefined && qc[k] !== null;
    const ids = present('userTaskID') ? new Set(checkStringArray(qc.userTaskID, 'queryConditions.userTaskID')) : undefined;
    const statuses = present('taskStatus') ? new Set(checkIntegerArray(qc.taskStatus, 'queryConditions.taskStatus')) : undefined;
    const names = present('taskName') ? new Set(checkStringArray(qc.taskName, 'queryConditions.taskName')) : undefined;
    const sceneID = present('sceneID') ? optionalField<string>(qc, 'sceneID', 'string', 'queryConditions.sceneID') : undefined;
    const startTs = present('startTs') ? optionalField<number>(qc, 'startTs', 'integer', 'queryConditions.startTs') : undefined;
    const endTs = present('endTs') ? optionalField<number>(qc, 'endTs', 'integer', 'queryConditions.endTs') : undefined;
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
  };

  const handleUpdateTask = (body: Record<string, unknown>): Record<string, unknown> => {
    rejectUnknownKeys(body, ['productID', 'userTaskID', 'sceneID', 'taskCreateSetting', 'funcFlag'], '');
    checkProduct(body);
    const userTaskID = requireField<string>(body, 'userTaskID', 'string');
    const sceneID = requireField<string>(body, 'sceneID', 'string');
    const tcs = body.taskCreateSetting !== undefined ? validateTaskCreateSetting(body.taskCreateSetting) : undefined;
    const ff = body.funcFlag !== undefined ? validateFuncFlag(body.funcFlag) : undefined;
    const task = findTask(userTaskID);
    if (task.sceneID !== sceneID) {
      throw new ApiError(RetCode.ParameterValue, `sceneID does not match task: task "${userTaskID}" has sceneID "${task.sceneID}", request says "${sceneID}"`);
    }
    if (!isUpdatableStatus(task.taskStatus)) {
      throw new ApiError(
        RetCode.GenericError,
        `task status ${describeStatus(task.taskStatus)} cannot be modified; only not started (1) or paused (5)`,
      );
    }
    if (tcs) {
      const target = task.taskCreateSetting as Record<string, unknown>;
      for (const [k, v] of Object.entries(tcs)) {
        if (k === 'manualCallSetting') {
          target.manualCallSetting = { ...(task.taskCreateSetting.manualCallSetting ?? {}), ...(v as object) };
        } else {
          target[k] = v;
        }
      }
      if (tcs.taskName !== undefined) task.taskName = tcs.taskName;
    }
    if (ff) {
      const target = task.funcFlag as Record<string, unknown>;
      for (const [k, v] of Object.entries(ff)) target[k] = v; // smsFuncFlag is replaced whole
    }
    stats.updates++;
    return { retCode: RetCode.Success, retMsg: 'success', responseID: newId(), taskID: task.taskID };
  };

  const handleMgrTaskStatus = (body: Record<string, unknown>): Record<string, unknown> => {
    rejectUnknownKeys(body, ['productID', 'userTaskID', 'taskOperate', 'delCall'], '');
    checkProduct(body);
    const userTaskID = requireField<string>(body, 'userTaskID', 'string');
    const taskOperate = requireField<number>(body, 'taskOperate', 'integer');
    checkEnum(taskOperate, [1, 2, 3], 'taskOperate');
    const delCall = optionalField<number>(body, 'delCall', 'integer');
    if (delCall !== undefined) checkEnum(delCall, [0, 1], 'delCall');
    const task = findTask(userTaskID);
    const op = OPERATIONS[taskOperate]!;
    if (!op.from.includes(task.taskStatus)) {
      throw new ApiError(
        RetCode.GenericError,
        `cannot ${op.name} a task in status ${describeStatus(task.taskStatus)}; allowed from ${op.from.map(describeStatus).join(', ')}`,
      );
    }
    task.taskStatus = op.to;
    return { retCode: RetCode.Success, retMsg: 'success', responseID: newId(), taskID: task.taskID, taskStatus: task.taskStatus };
  };

  const handlePing = (body: Record<string, unknown>): Record<string, unknown> => {
    const data = requireField<string>(body, 'data', 'string');
    return { data, timestamp: nowSec(), code: 0, msg: 'success', reqId: newId() };
  };

  const HANDLERS: Record<SimEndpoint, (body: Record<string, unknown>) => Record<string, unknown>> = {
    listTask: handleListTask,
    updateTask: handleUpdateTask,
    mgrTaskStatus: handleMgrTaskStatus,
    ping: handlePing,
  };

  // ---------------------------------------------------------------- API dispatch

  const handleApi = async (req: IncomingMessage, res: ServerResponse, endpoint: SimEndpoint): Promise<void> => {
    stats.requests++;
    stats.byEndpoint[endpoint] = (stats.byEndpoint[endpoint] ?? 0) + 1;
    const { text, tooLarge } = await readBody(req, MAX_BODY_BYTES);
    if (settings.latencyMs > 0) await delay(settings.latencyMs);
    if (closing) return;

    const algorithmHeader = header(req, 'algorithm');
    const ctx: ReplyCtx = {
      requestID: header(req, 'requestID') || newId(),
      algorithm: parseAlgorithm(algorithmHeader) ?? 'MD5',
      badsign: false,
      endpoint,
    };
    if (tooLarge) {
      sendSigned(res, ctx, errorPayload(ctx, RetCode.ContentTooLarge, `request body exceeds ${MAX_BODY_BYTES} bytes`));
      return;
    }
    const authError = checkAuth(req, text, algorithmHeader);
    if (authError) {
      stats.authFailures++;
      sendSigned(res, ctx, errorPayload(ctx, authError.retCode, authError.message));
      return;
    }

    let parsed: unknown;
    let parseError: string | undefined;
    try {
      parsed = JSON.parse(text);
    } catch (err) {
      parseError = (err as Error).message;
    }
    if (api.onRequest) {
      try {
        api.onRequest(endpoint, parseError === undefined ? parsed : text);
      } catch {
        // an observer must not break the simulator
      }
    }

    const fault = decideFault(rand, settings.faultRate, settings.faultKinds);
    if (fault) stats.faults[fault] = (stats.faults[fault] ?? 0) + 1;
    switch (fault) {
      case 'http500':
      case 'http503': {
        const status = fault === 'http500' ? 500 : 503;
        sendJson(res, status, { error: `injected fault: HTTP ${status}`, fault }, { requestID: ctx.requestID });
        return;
      }
      case 'reset':
        req.socket.destroy();
        return;
      case 'timeout':
        await delay(timeoutFaultMs);
        req.socket.destroy();
        return;
      case 'retcode':
        sendSigned(res, ctx, errorPayload(ctx, RetCode.SystemBusy, 'system busy (injected fault)'));
        return;
      case 'badsign':
        ctx.badsign = true;
        break;
      default:
        break;
    }

    let payload: Record<string, unknown>;
    try {
      if (parseError !== undefined) throw new ApiError(RetCode.ParameterFormat, `malformed JSON body: ${parseError}`);
      if (!isPlainObject(parsed)) throw new ApiError(RetCode.ParameterFormat, `body must be a JSON object (got ${describeValue(parsed)})`);
      payload = HANDLERS[endpoint](parsed);
    } catch (err) {
      if (err instanceof ApiError) payload = errorPayload(ctx, err.retCode, err.message);
      else payload = errorPayload(ctx, RetCode.InternalError, `internal server error: ${(err as Error)?.message ?? String(err)}`);
    }
    sendSigned(res, ctx, payload);
  };

  // ---------------------------------------------------------------- control endpoints

  const readJsonBody = async (req: IncomingMessage): Promise<unknown> => {
    const { text, tooLarge } = await readBody(req, MAX_BODY_BYTES);
    if (tooLarge) throw new Error('body too large');
    if (text.trim() === '') return {};
    return JSON.parse(text);
  };

  const faultSettingsView = (): Record<string, unknown> => ({
    faultRate: settings.faultRate,
    faultKinds: settings.faultKinds,
    latencyMs: settings.latencyMs,
  });

  const handleControl = async (req: IncomingMessage, res: ServerResponse, path: string): Promise<void> => {
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
        body = await readJsonBody(req);
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
      return sendJson(res, 200, api.stats());
    }
    if (method === 'POST' && parts.length === 2 && parts[0] === 'stats' && parts[1] === 'reset') {
      await readBody(req, MAX_BODY_BYTES);
      api.resetStats();
      return sendJson(res, 200, api.stats());
    }
    if (method === 'POST' && parts.length === 1 && parts[0] === 'faults') {
      let body: unknown;
      try {
        body = await readJsonBody(req);
        if (!isPlainObject(body)) throw new Error('body must be a JSON object');
        for (const k of Object.keys(body)) {
          if (!['faultRate', 'faultKinds', 'faultSeed', 'latencyMs'].includes(k)) throw new Error(`unknown field ${k}`);
        }
        applyFaultSettings(body as SimFaultSettings);
      } catch (err) {
        return sendJson(res, 400, { error: (err as Error).message });
      }
      return sendJson(res, 200, faultSettingsView());
    }
    return sendJson(res, 404, { error: `no such control endpoint: ${method} ${path}` });
  };

  // ---------------------------------------------------------------- server

  const onRequest = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (path === '/__sim' || path.startsWith('/__sim/')) return handleControl(req, res, path);
    if (path.startsWith(API_PREFIX)) {
      const name = path.slice(API_PREFIX.length);
      if ((SIM_ENDPOINTS as readonly string[]).includes(name)) {
        if (req.method === 'POST') return handleApi(req, res, name as SimEndpoint);
        req.resume();
        return sendJson(res, 404, { error: `method ${req.method} not supported on ${path}; use POST` });
      }
    }
    req.resume();
    sendJson(res, 404, { error: `not found: ${req.method} ${path}` });
  };

  const server: Server = createServer({ keepAlive: true }, (req, res) => {
    onRequest(req, res).catch((err: unknown) => {
      try {
        sendJson(res, 500, { error: `simulator error: ${(err as Error)?.message ?? String(err)}` });
      } catch {
        res.destroy();
      }
    });
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('clientError', (_err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
    else socket.destroy();
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : opts.port ?? 0;
  const urlHost = host.includes(':') ? `[${host}]` : host;

  const api: Simulator = {
    url: `http://${urlHost}:${port}`,
    uuid: simUuid,
    secret,
    tasks,
    stats: () => structuredClone(stats),
    resetStats: () => {
      stats = emptyStats();
    },
    setStatus: (userTaskID: string, status: number) => {
      const task = tasks.get(userTaskID);
      if (!task) throw new Error(`setStatus: task not found: ${userTaskID}`);
      if (!isValidStatus(status)) throw new Error(`setStatus: taskStatus must be an integer 1..5 (got ${String(status)})`);
      task.taskStatus = status;
    },
    setFaults: (f: SimFaultSettings) => applyFaultSettings(f),
    close: () => {
      if (!closing) {
        closing = new Promise<void>((resolve) => {
          for (const t of timers) clearTimeout(t);
          timers.clear();
          server.close(() => resolve());
          server.closeAllConnections();
          for (const s of sockets) s.destroy();
          sockets.clear();
        });
      }
      return closing;
    },
  };
  return api;
}

export interface SimCliArgs {
  port?: number;
  host?: string;
  uuid?: string;
  secret?: string;
  seed?: string;
  latencyMs?: number;
  faultRate?: number;
  /** Comma-separated fault kinds. */
  faultKinds?: string;
  faultSeed?: number;
  timeoutFaultMs?: number;
}

/** Starts the simulator and prints one line: `callform sim listening on http://HOST:PORT uuid=... secret=...`. */
export async function runSimCli(argv: SimCliArgs): Promise<Simulator> {
  const opts: SimulatorOptions = {};
  if (argv.port !== undefined) opts.port = Number(argv.port);
  if (argv.host !== undefined) opts.host = argv.host;
  if (argv.uuid !== undefined) opts.uuid = argv.uuid;
  if (argv.secret !== undefined) opts.secret = argv.secret;
  if (argv.seed !== undefined) opts.seed = argv.seed;
  if (argv.latencyMs !== undefined) opts.latencyMs = Number(argv.latencyMs);
  if (argv.faultRate !== undefined) opts.faultRate = Number(argv.faultRate);
  if (argv.faultKinds !== undefined) opts.faultKinds = parseFaultKinds(argv.faultKinds);
  if (argv.faultSeed !== undefined) opts.faultSeed = Number(argv.faultSeed);
  if (argv.timeoutFaultMs !== undefined) opts.timeoutFaultMs = Number(argv.timeoutFaultMs);
  if (opts.port !== undefined && (!Number.isInteger(opts.port) || opts.port < 0 || opts.port > 65535)) {
    throw new Error(`port must be an integer 0..65535 (got ${String(argv.port)})`);
  }
  const sim = await startSimulator(opts);
  process.stdout.write(`callform sim listening on ${sim.url} uuid=${sim.uuid} secret=${sim.secret}\n`);
  return sim;
}
