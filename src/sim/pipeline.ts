/**
 * The API request pipeline: one small stage per concern, run in order until a stage
 * answers. Order (and why):
 *   latency    -> the configured delay comes first, like a slow network/gateway;
 *   oversize   -> a body over MAX_BODY_BYTES gets 4001 before anything reads it;
 *   auth       -> headers, signature, replay (each failure counts in stats.authFailures);
 *   parse      -> JSON parse (errors are answered later, by dispatch, as retCode 3);
 *   observe    -> `sim.onRequest` sees every authenticated request, before any fault;
 *   throttle   -> the per-account token bucket (only authenticated requests of a known
 *                 account spend tokens, so forged traffic cannot starve it); a throttled
 *                 request is answered here and never handled;
 *   fault      -> injected faults; all but badsign answer here, without handling;
 *   dispatch   -> the endpoint handler; its payload (or RetCodeError) is the signed answer.
 * Calls to updateTask / mgrTaskStatus naming an existing task are journaled where they
 * end (fault or dispatch), with applied = whether the request took effect.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ListTaskRequest } from '../generated/api.js';
import { parseAlgorithm } from '../api/sign.js';
import { RetCode } from '../model/retcode.js';
import { RetCodeError, isPlainObject, describeValue } from './validate.js';
import { decideFault } from './faults.js';
import { MAX_BODY_BYTES, type SimEndpoint } from './types.js';
import { header, type AuthChecker } from './auth.js';
import { HANDLERS, type HandlerContext, type Payload } from './handlers.js';
import { newId, readBody, sendJson, sendSigned, errorPayload, type ReplyCtx, type Signer } from './http.js';
import type { RuntimeSettings } from './settings.js';
import type { StatsKeeper } from './stats.js';
import type { ServerLifecycle } from './lifecycle.js';
import type { Journal } from './journal.js';
import type { TaskTransitions } from './transitions.js';
import type { FaultKind } from './faults.js';
import { retryAfterSeconds, type ThrottleStyle } from './throttle.js';

export interface PipelineDeps {
  settings: RuntimeSettings;
  stats: StatsKeeper;
  lifecycle: ServerLifecycle;
  checkAuth: AuthChecker;
  signer: Signer;
  handlerCtx: HandlerContext;
  journal: Journal;
  transitions: TaskTransitions;
  /** Clock in ms. */
  now: () => number;
  timeoutFaultMs: number;
  /** The current `sim.onRequest` observer (it may be set or cleared at any time). */
  observer: () => ((endpoint: string, body: unknown) => void) | undefined;
}

/** One API request on its way through the stages. */
interface ApiCall {
  req: IncomingMessage;
  res: ServerResponse;
  endpoint: SimEndpoint;
  text: string;
  tooLarge: boolean;
  algorithmHeader: string | undefined;
  reply: ReplyCtx;
  body?: unknown;
  parseError?: string;
  /** Set by parse when the call is journaled: an updateTask/mgrTaskStatus body naming an existing task. */
  userTaskID?: string;
}

/** How a journaled call ended. */
interface CallOutcome {
  retCode: number | null;
  applied: boolean;
  taskStatus?: number;
  fault?: FaultKind;
  throttled?: true;
}

/** A stage returns true once it has answered (or dropped) the request. */
type Stage = (deps: PipelineDeps, call: ApiCall) => boolean | Promise<boolean>;

async function waitLatency(deps: PipelineDeps): Promise<boolean> {
  if (deps.settings.latencyMs > 0) await deps.lifecycle.delay(deps.settings.latencyMs);
  return false;
}

function refuseOversize(deps: PipelineDeps, call: ApiCall): boolean {
  if (!call.tooLarge) return false;
  answer(deps, call, errorPayload(call.reply, RetCode.ContentTooLarge, `request body exceeds ${MAX_BODY_BYTES} bytes`));
  return true;
}

function authenticate(deps: PipelineDeps, call: ApiCall): boolean {
  const authError = deps.checkAuth(call.req, call.text, call.algorithmHeader);
  if (!authError) return false;
  deps.stats.authFailure();
  answer(deps, call, errorPayload(call.reply, authError.retCode, authError.message));
  return true;
}

function parse(deps: PipelineDeps, call: ApiCall): boolean {
  try {
    call.body = JSON.parse(call.text);
  } catch (err) {
    call.parseError = (err as Error).message;
  }
  const id = isPlainObject(call.body) ? call.body.userTaskID : undefined;
  const touchesTask = call.endpoint === 'updateTask' || call.endpoint === 'mgrTaskStatus';
  if (touchesTask && typeof id === 'string' && deps.handlerCtx.tasks.has(id)) call.userTaskID = id;
  return false;
}

/**
 * Opens a journal entry for the call (undefined when it is not journaled): due pauses land
 * first, then the call takes its seq, so whatever the call changes comes after it.
 */
function beginJournal(deps: PipelineDeps, call: ApiCall): { seq: number; at: number } | undefined {
  deps.transitions.applyDue();
  if (call.userTaskID === undefined) return undefined;
  return { seq: deps.journal.nextSeq(), at: deps.now() };
}

function endJournal(
  deps: PipelineDeps,
  call: ApiCall,
  begun: { seq: number; at: number } | undefined,
  outcome: CallOutcome,
): void {
  if (!begun || call.userTaskID === undefined) return;
  const taskOperate =
    isPlainObject(call.body) && typeof call.body.taskOperate === 'number' ? call.body.taskOperate : undefined;
  deps.journal.addCall({
    ...begun,
    userTaskID: call.userTaskID,
    endpoint: call.endpoint as 'updateTask' | 'mgrTaskStatus',
    requestID: call.reply.requestID,
    ...(call.endpoint === 'mgrTaskStatus' && taskOperate !== undefined ? { taskOperate } : {}),
    retCode: outcome.retCode,
    applied: outcome.applied,
    ...(outcome.taskStatus !== undefined ? { taskStatus: outcome.taskStatus } : {}),
    ...(outcome.fault !== undefined ? { fault: outcome.fault } : {}),
    ...(outcome.throttled ? { throttled: true as const } : {}),
  });
}

/** Journals a call refused before handling (nothing applied). */
function journalRefusal(deps: PipelineDeps, call: ApiCall, outcome: Omit<CallOutcome, 'applied'>): void {
  endJournal(deps, call, beginJournal(deps, call), { ...outcome, applied: false });
}

function observe(deps: PipelineDeps, call: ApiCall): boolean {
  const observer = deps.observer();
  if (observer) {
    try {
      observer(call.endpoint, call.parseError === undefined ? call.body : call.text);
    } catch {
      // an observer must not break the simulator
    }
  }
  return false;
}

/** 'mixed' picks per request, with the fault PRNG (so --fault-seed makes it reproducible). */
function throttleReply(deps: PipelineDeps): Exclude<ThrottleStyle, 'mixed'> {
  const style = deps.settings.throttleStyle;
  if (style !== 'mixed') return style;
  return deps.settings.rand() < 0.5 ? 'http429' : 'retcode7';
}

function throttle(deps: PipelineDeps, call: ApiCall): boolean {
  const verdict = deps.settings.limiter.take(header(call.req, 'uuid') ?? '');
  if (verdict.ok) return false;
  const { retryAfterMs } = verdict;
  const style = throttleReply(deps);
  deps.stats.throttled(call.endpoint);
  journalRefusal(deps, call, { retCode: style === 'retcode7' ? RetCode.SystemBusy : null, throttled: true });
  const limit = `${deps.settings.rateLimit} requests/s per account, burst ${deps.settings.effectiveBurst}`;
  if (style === 'retcode7') {
    // Signed like every API answer, and shaped like the platform's own "system busy".
    answer(
      deps,
      call,
      errorPayload(
        call.reply,
        RetCode.SystemBusy,
        `system busy: rate limit exceeded (${limit}); retry after ${retryAfterMs} ms`,
      ),
    );
  } else {
    sendJson(
      call.res,
      429,
      { error: `rate limit exceeded (${limit})`, retryAfterMs },
      // Retry-After: whole seconds (HTTP allows nothing finer); Retry-After-Ms: the simulator's exact hint.
      {
        requestID: call.reply.requestID,
        'Retry-After': String(retryAfterSeconds(retryAfterMs)),
        'Retry-After-Ms': String(retryAfterMs),
      },
    );
  }
  return true;
}

async function injectFault(deps: PipelineDeps, call: ApiCall): Promise<boolean> {
  const { settings } = deps;
  const fault = decideFault(settings.rand, settings.faultRate, settings.faultKinds);
  if (!fault) return false;
  deps.stats.fault(fault);
  if (fault !== 'badsign')
    journalRefusal(deps, call, { retCode: fault === 'retcode' ? RetCode.SystemBusy : null, fault });
  switch (fault) {
    case 'http500':
    case 'http503': {
      const status = fault === 'http500' ? 500 : 503;
      sendJson(
        call.res,
        status,
        { error: `injected fault: HTTP ${status}`, fault },
        { requestID: call.reply.requestID },
      );
      return true;
    }
    case 'reset':
      call.req.socket.destroy();
      return true;
    case 'timeout':
      await deps.lifecycle.delay(deps.timeoutFaultMs);
      call.req.socket.destroy();
      return true;
    case 'retcode':
      answer(deps, call, errorPayload(call.reply, RetCode.SystemBusy, 'system busy (injected fault)'));
      return true;
    case 'badsign':
      // The request is still handled (and may change state); only the reply signature is wrong.
      call.reply.badsign = true;
      return false;
  }
}

/** Runs the endpoint handler; a RetCodeError becomes its retCode, anything else 5001. */
function handle(deps: PipelineDeps, call: ApiCall): Payload {
  try {
    if (call.parseError !== undefined)
      throw new RetCodeError(RetCode.ParameterFormat, `malformed JSON body: ${call.parseError}`);
    if (!isPlainObject(call.body))
      throw new RetCodeError(RetCode.ParameterFormat, `body must be a JSON object (got ${describeValue(call.body)})`);
    const payload = HANDLERS[call.endpoint](deps.handlerCtx, call.body);
    // Counted here rather than in the handler: handlers stay stats-free.
    if (call.endpoint === 'updateTask') deps.stats.update();
    if (call.endpoint === 'createTask') deps.stats.create();
    if (call.endpoint === 'listTask') deps.stats.listQuery((call.body as unknown as ListTaskRequest).queryConditions);
    return payload;
  } catch (err) {
    if (err instanceof RetCodeError) {
      if (
        call.endpoint === 'createTask' &&
        isPlainObject(call.body) &&
        deps.handlerCtx.tasks.has(String(call.body.userTaskID))
      )
        deps.stats.duplicateCreate();
      return errorPayload(call.reply, err.retCode, err.message);
    }
    return errorPayload(
      call.reply,
      RetCode.InternalError,
      `internal server error: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
}

function dispatch(deps: PipelineDeps, call: ApiCall): boolean {
  const begun = beginJournal(deps, call);
  const payload = handle(deps, call);
  const retCode = typeof payload.retCode === 'number' ? payload.retCode : null;
  endJournal(deps, call, begun, {
    retCode,
    applied: retCode === RetCode.Success,
    taskStatus: typeof payload.taskStatus === 'number' ? payload.taskStatus : undefined,
    fault: call.reply.badsign ? 'badsign' : undefined,
  });
  answer(deps, call, payload);
  return true;
}

function answer(deps: PipelineDeps, call: ApiCall, payload: Payload): void {
  sendSigned(call.res, deps.signer, call.reply, payload);
}

const STAGES: readonly Stage[] = [
  waitLatency,
  refuseOversize,
  authenticate,
  parse,
  observe,
  throttle,
  injectFault,
  dispatch,
];

/** Reads the body and the reply parameters (from the raw headers, so even auth errors echo requestID/algorithm). */
async function receive(req: IncomingMessage, res: ServerResponse, endpoint: SimEndpoint): Promise<ApiCall> {
  const { text, tooLarge } = await readBody(req, MAX_BODY_BYTES);
  const algorithmHeader = header(req, 'algorithm');
  const reply: ReplyCtx = {
    requestID: header(req, 'requestID') || newId(),
    algorithm: parseAlgorithm(algorithmHeader) ?? 'MD5',
    badsign: false,
    endpoint,
  };
  return { req, res, endpoint, text, tooLarge, algorithmHeader, reply };
}

/** Handles one POST to an API endpoint. */
export function createApiPipeline(
  deps: PipelineDeps,
): (req: IncomingMessage, res: ServerResponse, endpoint: SimEndpoint) => Promise<void> {
  return async (req, res, endpoint) => {
    deps.stats.request(endpoint);
    const call = await receive(req, res, endpoint);
    for (const stage of STAGES) {
      if (deps.lifecycle.closing) return;
      if (await stage(deps, call)) return;
    }
  };
}
