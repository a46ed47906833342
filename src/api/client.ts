import { randomUUID } from 'node:crypto';
import { sign, parseAlgorithm, signaturesEqual, type SignAlgorithm } from './sign.js';
import { ApiError } from './errors.js';
import { maskPhones, maskUrlCredentials } from '../model/redact.js';
import { PRODUCT_ID } from '../model/task.js';
import { AUTH_RET_CODES, TRANSIENT_RET_CODES } from '../model/retcode.js';
import {
  API_PREFIX,
  type BaseResponse,
  type ListTaskRequest,
  type ListTaskResponse,
  type ListedTask,
  type MgrTaskStatusRequest,
  type MgrTaskStatusResponse,
  type PingResponse,
  type UpdateTaskRequest,
  type UpdateTaskResponse,
} from './wire.js';

export interface HttpResponse {
  statusCode: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One HTTP POST; rejects only on network-level failure (reset, timeout, refused). */
export type HttpPost = (url: string, request: { headers: Record<string, string>; body: string; timeoutMs: number }) => Promise<HttpResponse>;

export class NetworkError extends Error {
  constructor(
    message: string,
    readonly code?: string,
  ) {
    super(message);
  }
}

/** The production transport: got with keep-alive, no retries of its own (the client retries with fresh signatures). */
export async function gotTransport(maxSockets: number): Promise<HttpPost> {
  const [{ got, RequestError }, http, https] = await Promise.all([import('got'), import('node:http'), import('node:https')]);
  const agent = { http: new http.Agent({ keepAlive: true, maxSockets }), https: new https.Agent({ keepAlive: true, maxSockets }) };
  // Options merged once into an instance: per call only headers, body and timeout are new.
  const post = got.extend({
    method: 'POST',
    // got lower-cases header names; send them as documented in case a server matches exactly.
    request: (target: string | URL, options: import('node:http').RequestOptions, callback?: (res: import('node:http').IncomingMessage) => void) =>
      (String(target).startsWith('https:') ? https : http).request(target, { ...options, headers: documentedCase(options.headers) }, callback),
    retry: { limit: 0 },
    throwHttpErrors: false,
    responseType: 'text',
    agent,
    followRedirect: false,
  });
  return async (url, req) => {
    try {
      const res = await post(url, { headers: req.headers, body: req.body, timeout: { request: req.timeoutMs } });
      return { statusCode: res.statusCode, headers: res.headers, body: res.body as string };
    } catch (err) {
      if (err instanceof RequestError) throw new NetworkError(err.message, err.code);
      throw err;
    }
  };
}

const DOCUMENTED_HEADER_CASE: Record<string, string> = { requestid: 'requestID', createts: 'createTs' };

function documentedCase(headers: import('node:http').OutgoingHttpHeaders | readonly string[] | undefined) {
  if (!headers || Array.isArray(headers)) return headers;
  const out: import('node:http').OutgoingHttpHeaders = {};
  for (const [k, v] of Object.entries(headers)) out[DOCUMENTED_HEADER_CASE[k] ?? k] = v;
  return out;
}

export interface ClientOptions {
  endpoint: string;
  uuid: string;
  secretKey: string;
  algorithm: SignAlgorithm;
  timeoutMs: number;
  retries: number;
  transport: HttpPost;
  /** Injected for tests: the clock (ms), the sleep between retries and the jitter source. */
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  /** --debug: one line per attempt, sign redacted, phone numbers masked. */
  debug?: (line: string) => void;
  /** Called once per HTTP attempt (request counting for benchmarks). */
  onAttempt?: (endpoint: string) => void;
}

const header = (h: HttpResponse['headers'], name: string): string | undefined => {
  const v = h[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
};

export const RETRY_BASE_MS = 200;
export const RETRY_CAP_MS = 5000;
const AUTH_HINT = 'check NXCLOUD_UUID, NXCLOUD_SECRET_KEY and the signature algorithm (NXCLOUD_ALGORITHM / "algorithm"), and that the machine clock is correct';

type Outcome<T> = { ok: true; value: T } | { ok: false; retry: boolean; error: ApiError; retryAfterMs?: number };

/** The signed NXCloud Callbot v3 client: every request signed, every response verified. */
export class NxCloudClient {
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;

  constructor(private readonly options: ClientOptions) {
    this.now = options.now ?? Date.now;
    this.sleep = options.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
    this.random = options.random ?? Math.random;
  }

  /** Exponential backoff with jitter: base·2^n capped, scaled by a random factor in [0.5, 1). */
  backoffMs(attempt: number): number {
    return Math.min(RETRY_CAP_MS, RETRY_BASE_MS * 2 ** attempt) * (0.5 + this.random() / 2);
  }

  async call<T extends object>(endpoint: string, body: object, isSuccess: (r: T) => boolean = (r) => (r as BaseResponse).retCode === 0): Promise<T> {
    const text = JSON.stringify(body);
    let last: ApiError | undefined;
    for (let attempt = 0; attempt <= this.options.retries; attempt++) {
      if (attempt > 0) {
        const wait = this.backoffMs(attempt - 1);
        this.options.debug?.(`retry ${endpoint} in ${Math.round(wait)} ms (attempt ${attempt + 1}/${this.options.retries + 1})`);
        await this.sleep(wait);
      }
      const outcome = await this.attempt<T>(endpoint, text, attempt + 1, isSuccess);
      if (outcome.ok) return outcome.value;
      last = outcome.error;
      if (!outcome.retry) throw outcome.error;
    }
    throw last!;
  }

  private async attempt<T extends object>(endpoint: string, text: string, attempts: number, isSuccess: (r: T) => boolean): Promise<Outcome<T>> {
    const { uuid, secretKey, algorithm } = this.options;
    const requestID = randomUUID().replace(/-/g, '');
    const createTs = String(Math.round(this.now() / 1000));
    const headers = {
      'content-type': 'application/json',
      uuid,
      requestID,
      createTs,
      algorithm,
      sign: sign({ secretKey, body: text, createTs, requestID, uuid }, algorithm),
    };
    const url = `${this.options.endpoint}${API_PREFIX}${endpoint}`;
    const started = this.now();
    this.options.onAttempt?.(endpoint);
    this.options.debug?.(`→ POST ${url} requestID=${requestID} createTs=${createTs} algorithm=${algorithm} sign=<redacted> body=${maskPhones(maskUrlCredentials(text))}`);
    let res: HttpResponse;
    try {
      res = await this.options.transport(url, { headers, body: text, timeoutMs: this.options.timeoutMs });
    } catch (err) {
      const code = (err as NetworkError).code;
      this.options.debug?.(`← ${endpoint} network error ${code ?? ''} after ${this.now() - started} ms`);
      return { ok: false, retry: true, error: new ApiError(endpoint, 'network', `network error: ${(err as Error).message}`, { attempts }, `is ${this.options.endpoint} reachable?`) };
    }
    this.options.debug?.(`← ${endpoint} HTTP ${res.statusCode} in ${this.now() - started} ms body=${maskPhones(maskUrlCredentials(res.body.slice(0, 2000)))}`);
    if (res.statusCode === 429 || res.statusCode >= 500) {
      return { ok: false, retry: true, error: new ApiError(endpoint, 'http', `HTTP ${res.statusCode}`, { statusCode: res.statusCode, attempts }) };
    }
    if (res.statusCode !== 200) {
      return { ok: false, retry: false, error: new ApiError(endpoint, 'http', `unexpected HTTP ${res.statusCode}`, { statusCode: res.statusCode, attempts }, `is ${this.options.endpoint} the NXCloud API?`) };
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(res.body);
    } catch {
      parsed = undefined;
    }
    const verdict = this.verify(res, requestID);
    if (verdict) {
      // An unverified answer is never trusted; an auth refusal still explains itself.
      const ret = parsed as Partial<BaseResponse> | undefined;
      if (ret && typeof ret.retCode === 'number' && AUTH_RET_CODES.has(ret.retCode)) {
        return { ok: false, retry: false, error: new ApiError(endpoint, 'auth', `request refused: retCode ${ret.retCode} ${ret.retMsg ?? ''}`.trim(), { retCode: ret.retCode, retMsg: ret.retMsg, attempts }, AUTH_HINT) };
      }
      return { ok: false, retry: false, error: new ApiError(endpoint, 'signature', `response ${verdict}; the response was not trusted`, { attempts }, 'the answer may have been altered in transit, or the secret key is wrong; check NXCLOUD_SECRET_KEY and retry') };
    }
    if (!parsed || typeof parsed !== 'object') {
      return { ok: false, retry: false, error: new ApiError(endpoint, 'protocol', 'response body is not a JSON object', { attempts }) };
    }
    const value = parsed as T & Partial<BaseResponse>;
    if (isSuccess(value)) return { ok: true, value };
    const retCode = typeof value.retCode === 'number' ? value.retCode : (value as unknown as PingResponse).code;
    const retMsg = value.retMsg ?? (value as unknown as PingResponse).msg;
    const transient = TRANSIENT_RET_CODES.has(retCode);
    const kind = AUTH_RET_CODES.has(retCode) ? 'auth' : 'retcode';
    return {
      ok: false,
      retry: transient,
      error: new ApiError(endpoint, kind, `retCode ${retCode}: ${retMsg ?? ''}`.trim(), { retCode, retMsg, attempts, responseID: value.responseID }, kind === 'auth' ? AUTH_HINT : undefined),
    };
  }

  /** Returns why the response signature fails, or undefined when it verifies. */
  private verify(res: HttpResponse, requestID: string): string | undefined {
    const got = header(res.headers, 'sign');
    const createTs = header(res.headers, 'createTs');
    if (!got || !createTs) return 'is not signed (sign or createTs header missing)';
    const echoed = header(res.headers, 'requestID') ?? header(res.headers, 'requestId');
    if (echoed !== requestID) return `echoes requestID "${echoed ?? ''}" instead of "${requestID}"`;
    const algorithm = parseAlgorithm(header(res.headers, 'algorithm')) ?? this.options.algorithm;
    const uuid = header(res.headers, 'uuid') ?? this.options.uuid;
    if (uuid !== this.options.uuid) return 'names a different uuid';
    const expected = sign({ secretKey: this.options.secretKey, body: res.body, createTs, requestID, uuid }, algorithm);
    return signaturesEqual(expected, got.toUpperCase()) ? undefined : 'signature does not verify';
  }

  updateTask(payload: UpdateTaskRequest): Promise<UpdateTaskResponse> {
    return this.call<UpdateTaskResponse>('updateTask', payload);
  }

  mgrTaskStatus(req: Omit<MgrTaskStatusRequest, 'productID'>): Promise<MgrTaskStatusResponse> {
    return this.call<MgrTaskStatusResponse>('mgrTaskStatus', { productID: PRODUCT_ID, ...req });
  }

  ping(data = 'callform'): Promise<PingResponse> {
    return this.call<PingResponse>('ping', { data }, (r) => r.code === 0);
  }

  /** One listTask query, following pages until `total` (or a short page) says it is complete. */
  async listTaskPages(conditions: ListTaskRequest['queryConditions'], size = 100): Promise<ListedTask[]> {
    const out: ListedTask[] = [];
    for (let page = 1; ; page++) {
      const res = await this.call<ListTaskResponse>('listTask', { productID: PRODUCT_ID, page, size, queryConditions: conditions } satisfies ListTaskRequest);
      const data = res.taskData ?? [];
      out.push(...data);
      const done = typeof res.total === 'number' ? out.length >= res.total || data.length === 0 : data.length < size;
      if (done) return out;
    }
  }
}
