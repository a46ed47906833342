/**
 * The API request pipeline: one small stage per concern, run in order until a stage
 * answers. Order (and why):
 *   latency    -> the configured delay comes first, like a slow network/gateway;
 *   oversize   -> a body over MAX_BODY_BYTES gets 4001 before anything reads it;
 *   auth       -> headers, signature, replay (each failure counts in stats.authFailures);
 *   parse      -> JSON parse (errors are answered later, by dispatch, as retCode 3);
 *   observe    -> `sim.onRequest` sees every authenticated request, before any fault;
 *   fault      -> injected faults; all but badsign answer here, without handling;
 *   dispatch   -> the endpoint handler; its payload (or RetCodeError) is the signed answer.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
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

export interface PipelineDeps {
  settings: RuntimeSettings;
  stats: StatsKeeper;
  lifecycle: ServerLifecycle;
  checkAuth: AuthChecker;
  signer: Signer;
  handlerCtx: HandlerContext;
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

function parse(_deps: PipelineDeps, call: ApiCall): boolean {
  try {
    call.body = JSON.parse(call.text);
  } catch (err) {
    call.parseError = (err as Error).message;
  }
  return false;
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

async function injectFault(deps: PipelineDeps, call: ApiCall): Promise<boolean> {
  const { settings } = deps;
  const fault = decideFault(settings.rand, settings.faultRate, settings.faultKinds);
  if (!fault) return false;
  deps.stats.fault(fault);
  switch (fault) {
    case 'http500':
    case 'http503': {
      const status = fault === 'http500' ? 500 : 503;
      sendJson(call.res, status, { error: `injected fault: HTTP ${status}`, fault }, { requestID: call.reply.requestID });
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
    if (call.parseError !== undefined) throw new RetCodeError(RetCode.ParameterFormat, `malformed JSON body: ${call.parseError}`);
    if (!isPlainObject(call.body)) throw new RetCodeError(RetCode.ParameterFormat, `body must be a JSON object (got ${describeValue(call.body)})`);
    const payload = HANDLERS[call.endpoint](deps.handlerCtx, call.body);
    // Counted here rather than in the handler: handlers stay stats-free.
    if (call.endpoint === 'updateTask') deps.stats.update();
    return payload;
  } catch (err) {
    if (err instanceof RetCodeError) return errorPayload(call.reply, err.retCode, err.message);
    return errorPayload(call.reply, RetCode.InternalError, `internal server error: ${(err as Error)?.message ?? String(err)}`);
  }
}

function dispatch(deps: PipelineDeps, call: ApiCall): boolean {
  answer(deps, call, handle(deps, call));
  return true;
}

function answer(deps: PipelineDeps, call: ApiCall, payload: Payload): void {
  sendSigned(call.res, deps.signer, call.reply, payload);
}

const STAGES: readonly Stage[] = [waitLatency, refuseOversize, authenticate, parse, observe, injectFault, dispatch];

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
export function createApiPipeline(deps: PipelineDeps): (req: IncomingMessage, res: ServerResponse, endpoint: SimEndpoint) => Promise<void> {
  return async (req, res, endpoint) => {
    deps.stats.request(endpoint);
    const call = await receive(req, res, endpoint);
    for (const stage of STAGES) {
      if (deps.lifecycle.closing) return;
      if (await stage(deps, call)) return;
    }
  };
}
