import { randomUUID } from 'node:crypto';
import { sign, parseAlgorithm } from '../../src/api/sign.js';
import type { SeedFile, SimLogEntry, SimStats, SimTask, SimTaskHistory, Simulator } from '../../src/sim/index.js';
import type { ListTaskResponse, MgrTaskStatusResponse, PingResponse, UpdateTaskResponse } from '../../src/api/wire.js';

/**
 * An API reply as the tests read it: the fields any endpoint answers with (ping's code/msg too), plus
 * what an injected fault or an unknown path answers; each may be absent.
 */
export type SimReply = Partial<
  ListTaskResponse & UpdateTaskResponse & MgrTaskStatusResponse & PingResponse & { fault: string; error: string }
>;

/** A control endpoint's (/__sim/...) reply as the tests read it; each field may be absent. */
export type ControlReply = Partial<
  SimStats & SimTaskHistory & SimTask & { tasks: SimTask[]; entries: SimLogEntry[]; lastSeq: number; error: string }
>;

export interface CallOpts {
  algorithm?: string;
  createTs?: string;
  requestID?: string;
  uuid?: string;
  secret?: string;
  /** Header names to leave out. */
  omit?: string[];
  /** Spelling of the requestID header (default 'requestID'). */
  requestIdHeader?: string;
  /** Send this sign instead of the computed one. */
  signOverride?: string;
  /** Sign this text but send `body`. */
  signedBody?: string;
  signal?: AbortSignal;
}

export interface CallResult {
  status: number;
  headers: Headers;
  text: string;
  /** The body as JSON; undefined when it is not JSON. */
  json: SimReply | undefined;
  verified: boolean;
  requestID: string;
}

export function nowSec(): string {
  return String(Math.floor(Date.now() / 1000));
}

export function verifyResponse(sim: { secret: string }, headers: Headers, text: string): boolean {
  const alg = parseAlgorithm(headers.get('algorithm'));
  const createTs = headers.get('createTs');
  const requestID = headers.get('requestID');
  const uuid = headers.get('uuid');
  const got = headers.get('sign');
  if (!alg || createTs === null || requestID === null || uuid === null || got === null) return false;
  return sign({ secretKey: sim.secret, body: text, createTs, requestID, uuid }, alg) === got;
}

export async function call(sim: Simulator, endpoint: string, body: unknown, opts: CallOpts = {}): Promise<CallResult> {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  const createTs = opts.createTs ?? nowSec();
  const requestID = opts.requestID ?? randomUUID().replace(/-/g, '');
  const uuid = opts.uuid ?? sim.uuid;
  const alg = parseAlgorithm(opts.algorithm) ?? 'MD5';
  const s =
    opts.signOverride ??
    sign({ secretKey: opts.secret ?? sim.secret, body: opts.signedBody ?? text, createTs, requestID, uuid }, alg);
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    uuid,
    [opts.requestIdHeader ?? 'requestID']: requestID,
    createTs,
    sign: s,
  };
  if (opts.algorithm !== undefined) headers.algorithm = opts.algorithm;
  for (const h of opts.omit ?? []) delete headers[h];
  const res = await fetch(`${sim.url}/callcentre/api/v3/${endpoint}`, {
    method: 'POST',
    headers,
    body: text,
    signal: opts.signal,
  });
  const resText = await res.text();
  let json: SimReply | undefined;
  try {
    json = JSON.parse(resText) as SimReply;
  } catch {
    json = undefined;
  }
  return {
    status: res.status,
    headers: res.headers,
    text: resText,
    json,
    verified: verifyResponse(sim, res.headers, resText),
    requestID,
  };
}

const BASE_SEED: SeedFile = {
  tasks: [
    { userTaskID: 'task-c', sceneID: 'scene-1', taskStatus: 1, taskName: 'Gamma' },
    {
      userTaskID: 'task-a',
      sceneID: 'scene-1',
      taskStatus: 1,
      taskName: 'Alpha',
      taskID: 'PLAT-A',
      taskCreateSetting: { maxCall: 5, manualCallSetting: { agentGroup: 'g1', dispatchType: 1, ratioCallRate: 1.5 } },
      funcFlag: {
        taskKeep: true,
        smsFuncFlag: [
          { smsID: 's1', intentID: ['i1'] },
          { smsID: 's2', intentID: ['i2'] },
        ],
      },
    },
    { userTaskID: 'task-b', sceneID: 'scene-2', taskStatus: 2, taskName: 'Beta' },
    { userTaskID: 'task-d', sceneID: 'scene-2', taskStatus: 3 },
    { userTaskID: 'task-e', sceneID: 'scene-1', taskStatus: 4, taskName: 'Epsilon' },
    { userTaskID: 'task-f', sceneID: 'scene-3', taskStatus: 5, taskName: 'Phi' },
  ],
};

export function seedCopy(): SeedFile {
  return structuredClone(BASE_SEED);
}
