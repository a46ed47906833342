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
// Module layout: auth.ts (header/signature/replay checks), handlers.ts (the four API
// endpoints on the task store), control.ts (/__sim), http.ts (body reading, JSON and
// signed replies), types.ts (public types/constants). This file wires them together:
// routing, latency, fault decisions, stats, socket tracking and close().
import { createServer, type IncomingMessage, type ServerResponse, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { parseAlgorithm } from '../api/sign.js';
import { API_PREFIX } from '../api/wire.js';
import { RetCode } from '../model/retcode.js';
import { RetCodeError, isPlainObject, describeValue } from './validate.js';
import { type SeedFile, validateSeed, loadSeedFile, buildStore } from './seed.js';
import {
  type FaultKind,
  FAULT_KINDS,
  DEFAULT_FAULT_SEED,
  mulberry32,
  parseFaultKinds,
  checkFaultRate,
  decideFault,
} from './faults.js';
import {
  DEFAULT_SIM_UUID,
  DEFAULT_SIM_SECRET,
  SIM_ENDPOINTS,
  MAX_BODY_BYTES,
  type SimEndpoint,
  type SimulatorOptions,
  type SimStats,
  type SimFaultSettings,
  type Simulator,
} from './types.js';
import { createAuthChecker, header } from './auth.js';
import { HANDLERS, type HandlerContext, type Payload } from './handlers.js';
import { handleControl, isValidStatus, type ControlDeps } from './control.js';
import { newId, readBody, sendJson, sendSigned, errorPayload, type ReplyCtx, type Signer } from './http.js';

export type { SimTask, SeedFile, SeedTask } from './seed.js';
export type { FaultKind } from './faults.js';
export { loadSeedFile, validateSeed, SeedError } from './seed.js';
export { FAULT_KINDS, mulberry32 } from './faults.js';
export { DEFAULT_SIM_UUID, DEFAULT_SIM_SECRET, SIM_ENDPOINTS, MAX_BODY_BYTES } from './types.js';
export type { SimEndpoint, SimulatorOptions, SimStats, SimFaultSettings, Simulator } from './types.js';

function emptyStats(): SimStats {
  return {
    requests: 0,
    byEndpoint: Object.fromEntries(SIM_ENDPOINTS.map((e) => [e, 0])),
    authFailures: 0,
    faults: Object.fromEntries(FAULT_KINDS.map((k) => [k, 0])),
    updates: 0,
  };
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

  // ---------------------------------------------------------------- fault settings

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
  const faultSettingsView = (): Record<string, unknown> => ({
    faultRate: settings.faultRate,
    faultKinds: settings.faultKinds,
    latencyMs: settings.latencyMs,
  });

  // ---------------------------------------------------------------- state

  const seed = await resolveSeed(opts.seed);
  const tasks = buildStore(seed, Math.floor(now() / 1000));

  let stats = emptyStats();
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  let closing: Promise<void> | undefined;

  // Tracked so close() can cancel pending latency/timeout-fault waits.
  const delay = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const t = setTimeout(() => {
        timers.delete(t);
        resolve();
      }, ms);
      timers.add(t);
    });

  const nowSec = (): number => Math.floor(now() / 1000);
  const checkAuth = createAuthChecker({ uuid: simUuid, secret, replayWindowSec, now });
  const signer: Signer = { uuid: simUuid, secret, nowSec };
  const handlerCtx: HandlerContext = { tasks, maxPageSize, nowSec };

  // ---------------------------------------------------------------- API dispatch

  const handleApi = async (req: IncomingMessage, res: ServerResponse, endpoint: SimEndpoint): Promise<void> => {
    stats.requests++;
    stats.byEndpoint[endpoint] = (stats.byEndpoint[endpoint] ?? 0) + 1;
    const { text, tooLarge } = await readBody(req, MAX_BODY_BYTES);
    if (settings.latencyMs > 0) await delay(settings.latencyMs);
    if (closing) return;

    const algorithmHeader = header(req, 'algorithm');
    // Taken from the raw headers (auth has not run yet) so even error replies echo requestID/algorithm.
    const ctx: ReplyCtx = {
      requestID: header(req, 'requestID') || newId(),
      algorithm: parseAlgorithm(algorithmHeader) ?? 'MD5',
      badsign: false,
      endpoint,
    };
    if (tooLarge) {
      sendSigned(res, signer, ctx, errorPayload(ctx, RetCode.ContentTooLarge, `request body exceeds ${MAX_BODY_BYTES} bytes`));
      return;
    }
    const authError = checkAuth(req, text, algorithmHeader);
    if (authError) {
      stats.authFailures++;
      sendSigned(res, signer, ctx, errorPayload(ctx, authError.retCode, authError.message));
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
        sendSigned(res, signer, ctx, errorPayload(ctx, RetCode.SystemBusy, 'system busy (injected fault)'));
        return;
      case 'badsign':
        // The request is still handled (and may change state); only the reply signature is wrong.
        ctx.badsign = true;
        break;
      default:
        break;
    }

    let payload: Payload;
    try {
      if (parseError !== undefined) throw new RetCodeError(RetCode.ParameterFormat, `malformed JSON body: ${parseError}`);
      if (!isPlainObject(parsed)) throw new RetCodeError(RetCode.ParameterFormat, `body must be a JSON object (got ${describeValue(parsed)})`);
      payload = HANDLERS[endpoint](handlerCtx, parsed);
      // Counted here rather than in the handler: `stats` is replaced on reset, handlers stay stats-free.
      if (endpoint === 'updateTask') stats.updates++;
    } catch (err) {
      if (err instanceof RetCodeError) payload = errorPayload(ctx, err.retCode, err.message);
      else payload = errorPayload(ctx, RetCode.InternalError, `internal server error: ${(err as Error)?.message ?? String(err)}`);
    }
    sendSigned(res, signer, ctx, payload);
  };

  // ---------------------------------------------------------------- server

  // Goes through `api` so control endpoints see exactly what the programmatic API returns.
  const controlDeps: ControlDeps = {
    tasks,
    stats: () => api.stats(),
    resetStats: () => api.resetStats(),
    applyFaultSettings,
    faultSettings: faultSettingsView,
  };

  const onRequest = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (path === '/__sim' || path.startsWith('/__sim/')) return handleControl(controlDeps, req, res, path);
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
