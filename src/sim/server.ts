/**
 * callform sim — a local NXCloud Callbot v3 simulator (node:http on loopback).
 * Full reference: docs/simulator.md.
 *
 * API endpoints (POST only, signed like the real platform, see src/api/sign.ts):
 *   POST /callcentre/api/v3/listTask       {productID, page, size, queryConditions}
 *   POST /callcentre/api/v3/createTask     {productID, userTaskID, sceneID}
 *   POST /callcentre/api/v3/updateTask     {productID, userTaskID, sceneID, taskCreateSetting?, funcFlag?}
 *   POST /callcentre/api/v3/mgrTaskStatus  {productID, userTaskID, taskOperate, delCall?} -> {..., taskStatus}
 *   POST /callcentre/api/v3/ping           {data}
 * Bodies are validated against schemas/api.schema.json (retCode 2 missing, 3 type/format/
 * unknown field, 4 value, 4001 more than 1000 elements). Every API answer is HTTP 200
 * JSON with signed response headers (requestID, uuid, createTs, algorithm, sign), except
 * injected faults (http500/http503/reset/timeout) and HTTP 429 throttling.
 * Any other path (or a non-POST method on an API path) -> HTTP 404 JSON.
 *
 * Control endpoints (no auth, no latency, no faults, no rate limit; for tests and demos):
 *   GET  /__sim/tasks                -> {tasks: SimTask[]} sorted by userTaskID
 *   GET  /__sim/tasks/:id            -> SimTask | 404
 *   POST /__sim/tasks/:id/status     body {taskStatus: 1..5} -> the updated SimTask (400/404 on error);
 *                                       history cause 'control', drops a pending pause
 *   GET  /__sim/tasks/:id/history    -> SimTaskHistory {statusChanges, calls, dropped, pendingPause} | 404
 *   GET  /__sim/log?since=SEQ        -> {entries: SimLogEntry[], lastSeq} (all tasks, ordered by seq)
 *   POST /__sim/log/reset            -> {entries: [], lastSeq}
 *   GET  /__sim/stats                -> SimStats
 *   POST /__sim/stats/reset          -> SimStats (zeroed)
 *   GET  /__sim/faults               -> current run-time settings
 *   POST /__sim/faults               body {faultRate?, faultKinds?, faultSeed?, latencyMs?, pauseDelayMs?,
 *                                       rateLimit?, burst?, throttleStyle?} -> current run-time settings (400: nothing changed)
 *
 * Auth checks, in order (each failure counts in stats.authFailures):
 *   missing uuid/requestID/createTs/sign header -> 6001; unknown uuid -> 6002;
 *   bad algorithm header -> 3; createTs not integer seconds or outside ±replayWindowSec -> 6;
 *   sign mismatch (over the exact raw body) -> 6; requestID already seen -> 6.
 * A requestID is remembered once auth passes (even if the request is then throttled or
 * hit by a fault), so a retry must use a fresh requestID, as the docs require.
 * Then: the per-account rate limit (throttled: 429 or retCode 7, never applied), fault
 * injection, and the handler (see pipeline.ts for the order and why).
 */
// Module layout: settings.ts (fixed config + run-time settings), pipeline.ts (the API
// request stages), auth.ts (header/signature/replay checks), throttle.ts (token buckets),
// faults.ts, validate.ts (schema errors -> retCodes), handlers.ts (the four API endpoints
// on the task store), transitions.ts (status changes, pending pauses), journal.ts (history
// and call log), control.ts (/__sim), router.ts (path -> handler), lifecycle.ts (listen,
// sockets, timers, close), stats.ts, http.ts (body reading, JSON and signed replies),
// seed.ts, cli.ts (runSimCli), types.ts (public types/constants). This file only wires
// them together.
import { isValidStatus, type ControlDeps } from './control.js';
import { Journal } from './journal.js';
import { TaskTransitions } from './transitions.js';
import { createAuthChecker } from './auth.js';
import { type SeedFile, validateSeed, loadSeedFile, buildStore } from './seed.js';
import { resolveConfig, RuntimeSettings, initialRuntimeSettings, type SimConfig } from './settings.js';
import { StatsKeeper } from './stats.js';
import { ServerLifecycle } from './lifecycle.js';
import { createApiPipeline, type PipelineDeps } from './pipeline.js';
import { createRouter } from './router.js';
import type { SimTask } from './seed.js';
import type { SimulatorOptions, SimFaultSettings, Simulator } from './types.js';

async function resolveSeed(seed: SeedFile | string | undefined): Promise<SeedFile> {
  if (seed === undefined) return { tasks: [] };
  if (typeof seed === 'string') return loadSeedFile(seed);
  return validateSeed(seed, 'seed');
}

/** The parts one simulator instance is made of. */
interface Parts {
  config: SimConfig;
  settings: RuntimeSettings;
  tasks: Map<string, SimTask>;
  stats: StatsKeeper;
  lifecycle: ServerLifecycle;
  journal: Journal;
  transitions: TaskTransitions;
}

function createParts(config: SimConfig, settings: RuntimeSettings, seed: SeedFile): Parts {
  const tasks = buildStore(seed, Math.floor(config.now() / 1000));
  const lifecycle = new ServerLifecycle();
  const journal = new Journal();
  const transitions = new TaskTransitions(tasks, journal, lifecycle, config.now, () => settings.pauseDelayMs);
  return { config, settings, tasks, stats: new StatsKeeper(), lifecycle, journal, transitions };
}

function pipelineDeps(parts: Parts, sim: () => Simulator): PipelineDeps {
  const { config, settings, tasks, stats, lifecycle, journal, transitions } = parts;
  const nowSec = (): number => Math.floor(config.now() / 1000);
  return {
    settings,
    stats,
    lifecycle,
    journal,
    transitions,
    now: config.now,
    checkAuth: createAuthChecker({
      uuid: config.uuid,
      secret: config.secret,
      replayWindowSec: config.replayWindowSec,
      now: config.now,
    }),
    signer: { uuid: config.uuid, secret: config.secret, nowSec },
    handlerCtx: { tasks, transitions, maxPageSize: config.maxPageSize, nowSec },
    timeoutFaultMs: config.timeoutFaultMs,
    observer: () => sim().onRequest,
  };
}

// Goes through the Simulator object so control endpoints see exactly what the programmatic API returns.
function controlDeps(parts: Parts, sim: () => Simulator): ControlDeps {
  return {
    tasks: parts.tasks,
    stats: () => sim().stats(),
    resetStats: () => sim().resetStats(),
    setStatus: (id, status) => sim().setStatus(id, status),
    setFaults: (f) => sim().setFaults(f),
    history: (id) => sim().history(id),
    log: (since) => sim().log(since),
    clearHistory: () => sim().clearHistory(),
    applyDuePauses: () => sim().applyDuePauses(),
    faultSettings: () => parts.settings.view(),
    lastSeq: () => parts.journal.lastSeq,
  };
}

function simulatorApi(parts: Parts, url: string): Simulator {
  const { config, settings, tasks, stats, lifecycle, journal, transitions } = parts;
  const taskOrThrow = (what: string, userTaskID: string): SimTask => {
    const task = tasks.get(userTaskID);
    if (!task) throw new Error(`${what}: task not found: ${userTaskID}`);
    return task;
  };
  return {
    url,
    uuid: config.uuid,
    secret: config.secret,
    tasks,
    stats: () => stats.snapshot(),
    resetStats: () => stats.reset(),
    setStatus: (userTaskID: string, status: number) => {
      const task = taskOrThrow('setStatus', userTaskID);
      if (!isValidStatus(status))
        throw new Error(`setStatus: taskStatus must be an integer 1..5 (got ${String(status)})`);
      transitions.applyDue();
      transitions.set(task, status, 'control');
    },
    setFaults: (f: SimFaultSettings) => settings.apply(f),
    history: (userTaskID: string) => {
      taskOrThrow('history', userTaskID);
      transitions.applyDue();
      return { userTaskID, ...journal.history(userTaskID), pendingPause: transitions.pendingPause(userTaskID) };
    },
    log: (sinceSeq = 0) => {
      transitions.applyDue();
      return journal.log(sinceSeq);
    },
    clearHistory: () => journal.clear(),
    applyDuePauses: () => transitions.applyDue(),
    close: () => lifecycle.close(),
  };
}

export async function startSimulator(opts: SimulatorOptions = {}): Promise<Simulator> {
  const config = resolveConfig(opts);
  const settings = new RuntimeSettings(config.now);
  settings.apply(initialRuntimeSettings(opts));
  const parts = createParts(config, settings, await resolveSeed(opts.seed));
  const self = (): Simulator => sim; // requests arrive only after listen(), when `sim` is set
  const router = createRouter(createApiPipeline(pipelineDeps(parts, self)), controlDeps(parts, self));
  const url = await parts.lifecycle.listen(router, config.host, config.port);
  const sim = simulatorApi(parts, url);
  return sim;
}
