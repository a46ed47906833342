import { randomUUID } from 'node:crypto';
import { sign, parseAlgorithm, signaturesEqual, type SignAlgorithm } from './sign.js';
import { ApiError } from './errors.js';
import { retryAfterFromHeaders } from './retry-after.js';
import { maskPhones, maskUrlCredentials } from '../model/redact.js';
import { printable } from '../model/printable.js';
import { PRODUCT_ID } from '../model/task.js';
import { runPool } from '../concurrency/pool.js';
import { AUTH_RET_CODES, THROTTLE_RET_CODES, TRANSIENT_RET_CODES } from '../model/retcode.js';
import {
  API_PREFIX,
  type BaseResponse,
  type CreateTaskRequest,
  type CreateTaskResponse,
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
export type HttpPost = (
  url: string,
  request: { headers: Record<string, string>; body: string; timeoutMs: number },
) => Promise<HttpResponse>;

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
  const [{ got, RequestError }, http, https] = await Promise.all([
    import('got'),
    import('node:http'),
    import('node:https'),
  ]);
  const agent = {
    http: new http.Agent({ keepAlive: true, maxSockets }),
    https: new https.Agent({ keepAlive: true, maxSockets }),
  };
  // Options merged once into an instance: per call only headers, body and timeout are new.
  const post = got.extend({
    method: 'POST',
    // got lower-cases header names; send them as documented in case a server matches exactly.
    request: (
      target: string | URL,
      options: import('node:http').RequestOptions,
      callback?: (res: import('node:http').IncomingMessage) => void,
    ) =>
      (String(target).startsWith('https:') ? https : http).request(
        target,
        { ...options, headers: documentedCase(options.headers) },
        callback,
      ),
    retry: { limit: 0 },
    throwHttpErrors: false,
    responseType: 'text',
    agent,
    followRedirect: false,
  });
  return async (url, req) => {
    try {
      const res = await post(url, { headers: req.headers, body: req.body, timeout: { request: req.timeoutMs } });
      return { statusCode: res.statusCode, headers: res.headers, body: res.body };
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

/**
 * Admission of each HTTP attempt: the rate controller (src/concurrency/controller.ts) sits
 * here, around the attempt, so the client stays the client. The attempt is sent once
 * `acquire` resolves, and its permit is settled with how it ended.
 */
export interface CallGate {
  acquire(): Promise<{ settle(outcome: GateOutcome): void }>;
  /** For --debug: the current rate and concurrency. */
  describe(): string;
}
export type GateOutcome =
  { kind: 'accepted' } | { kind: 'throttled'; retryAfterMs: number | null } | { kind: 'failed' };

/** No admission control: every attempt goes at once. */
const OPEN_GATE: CallGate = {
  acquire: () => Promise.resolve({ settle: () => undefined }),
  describe: () => 'no rate control',
};

/** Calls and throttled answers so far (summaries and benchmarks). */
export interface ClientTraffic {
  calls: number;
  throttled: number;
}

export interface ClientOptions {
  endpoint: string;
  uuid: string;
  secretKey: string;
  algorithm: SignAlgorithm;
  timeoutMs: number;
  /** Retries after a failed attempt (network, timeout, HTTP 5xx, retCode 5). */
  retries: number;
  /** Retries after throttled answers (HTTP 429, retCode 7), a budget of their own (default 20). */
  throttleRetries?: number;
  transport: HttpPost;
  /** Admission of each attempt (the rate controller); default: none. */
  gate?: CallGate;
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

/** userTaskIDs per listTask query (and its page size): the API's example page size, the simulator's maximum. */
export const LIST_IDS_PER_CALL = 100;
const RETRY_BASE_MS = 200;
const RETRY_CAP_MS = 5000;
const DEFAULT_THROTTLE_RETRIES = 20;
const AUTH_HINT =
  'check NXCLOUD_UUID, NXCLOUD_SECRET_KEY and the signature algorithm (NXCLOUD_ALGORITHM / "algorithm"), and that the machine clock is correct';

type Outcome<T> =
  | { ok: true; value: T }
  /** HTTP 429 or retCode 7: refused before it was handled (see docs/api-notes.md); retried on the throttle budget. */
  | { ok: false; throttled: true; retryAfterMs: number | null; error: ApiError }
  | { ok: false; throttled: false; retry: boolean; error: ApiError };

/** Counts one call's attempts against its two budgets. */
class CallBudget {
  failures = 0;
  throttles = 0;
  readonly startedAt: number;

  constructor(now: number) {
    this.startedAt = now;
  }

  get attempts(): number {
    return this.failures + this.throttles + 1;
  }
}

/** The signed NXCloud Callbot v3 client: every request signed, every response verified. */
export class NxCloudClient {
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;
  private readonly gate: CallGate;
  private readonly counts: ClientTraffic = { calls: 0, throttled: 0 };

  constructor(private readonly options: ClientOptions) {
    this.now = options.now ?? Date.now;
    this.sleep = options.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
    this.random = options.random ?? Math.random;
    this.gate = options.gate ?? OPEN_GATE;
  }

  /** Exponential backoff with jitter: base·2^n capped, scaled by a random factor in [0.5, 1). */
  backoffMs(attempt: number): number {
    return Math.min(RETRY_CAP_MS, RETRY_BASE_MS * 2 ** attempt) * (0.5 + this.random() / 2);
  }

  /**
   * Sends one request until it is answered, retrying on two separate budgets: failures
   * (network, timeout, HTTP 5xx, retCode 5) up to `retries`, throttled answers (HTTP 429,
   * retCode 7) up to `throttleRetries`, each after the wait the API asked for.
   */
  async call<T extends object>(
    endpoint: string,
    body: object,
    isSuccess: (r: T) => boolean = (r) => (r as BaseResponse).retCode === 0,
  ): Promise<T> {
    const text = JSON.stringify(body);
    const budget = new CallBudget(this.now());
    for (;;) {
      const permit = await this.gate.acquire();
      const outcome = await this.attempt<T>(endpoint, text, budget.attempts, isSuccess).catch((err: unknown) => {
        permit.settle({ kind: 'failed' });
        throw err;
      });
      permit.settle(
        outcome.ok
          ? { kind: 'accepted' }
          : outcome.throttled
            ? { kind: 'throttled', retryAfterMs: outcome.retryAfterMs }
            : { kind: 'failed' },
      );
      if (outcome.ok) return outcome.value;
      const wait = outcome.throttled
        ? this.afterThrottle(endpoint, outcome, budget)
        : this.afterFailure(endpoint, outcome, budget);
      await this.sleep(wait);
    }
  }

  /** Throws once the throttle budget is spent; otherwise the wait before the next attempt. */
  private afterThrottle(
    endpoint: string,
    outcome: Extract<Outcome<object>, { throttled: true }>,
    budget: CallBudget,
  ): number {
    this.counts.throttled++;
    budget.throttles++;
    const limit = this.options.throttleRetries ?? DEFAULT_THROTTLE_RETRIES;
    if (budget.throttles > limit) {
      const seconds = ((this.now() - budget.startedAt) / 1000).toFixed(1);
      const { statusCode, retCode } = outcome.error.details;
      throw new ApiError(
        endpoint,
        'throttled',
        `the API kept throttling (${budget.throttles} throttled answer${budget.throttles === 1 ? '' : 's'} over ${seconds} s)`,
        { statusCode, retCode, attempts: budget.attempts - 1 },
        'the account is at its rate limit: lower parallelism, set rateLimit below the quota, or raise throttleRetries to wait longer',
      );
    }
    const wait = outcome.retryAfterMs ?? this.backoffMs(budget.throttles - 1);
    this.options.debug?.(
      `throttled: ${outcome.error.message}; retry in ${Math.round(wait)} ms${outcome.retryAfterMs === null ? '' : ' (Retry-After)'} (throttled ${budget.throttles}/${limit}; ${this.gate.describe()})`,
    );
    return wait;
  }

  /** Throws when the failure is final or the retries are spent; otherwise the backoff. */
  private afterFailure(
    endpoint: string,
    outcome: Extract<Outcome<object>, { throttled: false }>,
    budget: CallBudget,
  ): number {
    if (!outcome.retry) throw outcome.error;
    if (budget.failures >= this.options.retries) throw this.retriesSpent(endpoint, outcome.error, budget);
    budget.failures++;
    const wait = this.backoffMs(budget.failures - 1);
    this.options.debug?.(
      `retry ${endpoint} in ${Math.round(wait)} ms (attempt ${budget.failures + 1}/${this.options.retries + 1})`,
    );
    return wait;
  }

  /**
   * A transient failure (network, timeout, HTTP 5xx, retCode 5) that outlasted the retries:
   * says how many attempts over how long, and what to do.
   */
  private retriesSpent(endpoint: string, error: ApiError, budget: CallBudget): ApiError {
    const attempts = budget.attempts;
    const seconds = ((this.now() - budget.startedAt) / 1000).toFixed(1);
    const what = error.message.slice(endpoint.length + 2);
    const retries = this.options.retries;
    return new ApiError(
      endpoint,
      error.kind,
      `${what}, still failing after ${attempts} attempt${attempts === 1 ? '' : 's'} over ${seconds} s`,
      { ...error.details, attempts },
      `${error.hint ? `${error.hint}; ` : ''}the API ${error.kind === 'network' ? 'could not be reached' : 'is unavailable or overloaded'}: try again in a few minutes; to keep trying longer, raise "retries" (now ${retries}) in the settings`,
    );
  }

  /** Calls (HTTP attempts) and throttled answers so far. */
  traffic(): ClientTraffic {
    return { ...this.counts };
  }

  private async attempt<T extends object>(
    endpoint: string,
    text: string,
    attempts: number,
    isSuccess: (r: T) => boolean,
  ): Promise<Outcome<T>> {
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
    this.counts.calls++;
    this.options.onAttempt?.(endpoint);
    this.options.debug?.(
      `→ POST ${url} requestID=${requestID} createTs=${createTs} algorithm=${algorithm} sign=<redacted> body=${maskPhones(maskUrlCredentials(text))} [${this.gate.describe()}]`,
    );
    let res: HttpResponse;
    try {
      res = await this.options.transport(url, { headers, body: text, timeoutMs: this.options.timeoutMs });
    } catch (err) {
      const code = (err as NetworkError).code;
      this.options.debug?.(`← ${endpoint} network error ${code ?? ''} after ${this.now() - started} ms`);
      return {
        ok: false,
        throttled: false,
        retry: true,
        error: new ApiError(
          endpoint,
          'network',
          `network error: ${(err as Error).message}`,
          { attempts },
          `is ${this.options.endpoint} reachable?`,
        ),
      };
    }
    this.options.debug?.(
      `← ${endpoint} HTTP ${res.statusCode} in ${this.now() - started} ms body=${printable(maskPhones(maskUrlCredentials(res.body.slice(0, 2000))))}`,
    );
    if (res.statusCode === 429) {
      const retryAfterMs = retryAfterFromHeaders(
        { retryAfter: header(res.headers, 'Retry-After'), retryAfterMs: header(res.headers, 'Retry-After-Ms') },
        this.now(),
      );
      return {
        ok: false,
        throttled: true,
        retryAfterMs,
        error: new ApiError(endpoint, 'http', 'HTTP 429', { statusCode: 429, attempts }),
      };
    }
    if (res.statusCode >= 500) {
      return {
        ok: false,
        throttled: false,
        retry: true,
        error: new ApiError(endpoint, 'http', `HTTP ${res.statusCode}`, { statusCode: res.statusCode, attempts }),
      };
    }
    if (res.statusCode !== 200) {
      return {
        ok: false,
        throttled: false,
        retry: false,
        error: new ApiError(
          endpoint,
          'http',
          `unexpected HTTP ${res.statusCode}`,
          { statusCode: res.statusCode, attempts },
          `is ${this.options.endpoint} the NXCloud API?`,
        ),
      };
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
        return {
          ok: false,
          throttled: false,
          retry: false,
          error: new ApiError(
            endpoint,
            'auth',
            `request refused: retCode ${ret.retCode} ${printable(String(ret.retMsg ?? ''))}`.trim(),
            { retCode: ret.retCode, retMsg: ret.retMsg, attempts },
            AUTH_HINT,
          ),
        };
      }
      return {
        ok: false,
        throttled: false,
        retry: false,
        error: new ApiError(
          endpoint,
          'signature',
          `response ${verdict}; the response was not trusted`,
          { attempts },
          'the answer may have been altered in transit, or the secret key is wrong; check NXCLOUD_SECRET_KEY and retry',
        ),
      };
    }
    if (!parsed || typeof parsed !== 'object') {
      return {
        ok: false,
        throttled: false,
        retry: false,
        error: new ApiError(endpoint, 'protocol', 'response body is not a JSON object', { attempts }),
      };
    }
    const value = parsed as T & Partial<BaseResponse>;
    if (isSuccess(value)) return { ok: true, value };
    const retCode = typeof value.retCode === 'number' ? value.retCode : (value as unknown as PingResponse).code;
    const retMsg = (value as Partial<BaseResponse>).retMsg ?? (value as unknown as Partial<PingResponse>).msg;
    const error = new ApiError(
      endpoint,
      AUTH_RET_CODES.has(retCode) ? 'auth' : 'retcode',
      printable(`retCode ${retCode}: ${retMsg ?? ''}`.trim()),
      { retCode, retMsg, attempts, responseID: value.responseID },
      AUTH_RET_CODES.has(retCode) ? AUTH_HINT : undefined,
    );
    if (THROTTLE_RET_CODES.has(retCode)) {
      const retryAfterMs = retryAfterFromHeaders(
        { retryAfter: header(res.headers, 'Retry-After'), retryAfterMs: header(res.headers, 'Retry-After-Ms') },
        this.now(),
      );
      return { ok: false, throttled: true, retryAfterMs, error };
    }
    return { ok: false, throttled: false, retry: TRANSIENT_RET_CODES.has(retCode), error };
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

  /**
   * createTask, signed and verified like every call. Retried on transient failures like the
   * others: a retry cannot create the task twice, since the platform refuses a userTaskID
   * that exists (the caller looks the task up after any failure, see apply/create.ts).
   */
  createTask(payload: CreateTaskRequest): Promise<CreateTaskResponse> {
    return this.call<CreateTaskResponse>('createTask', payload);
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

  /**
   * The listed tasks among `userTaskIDs` (unknown IDs are simply absent; duplicates are
   * asked once): listTask queries of at most LIST_IDS_PER_CALL IDs, `parallelism` at a time,
   * each through the same rate control and retries as every other call.
   */
  async listTasksByUserTaskIDs(userTaskIDs: readonly string[], parallelism = 1): Promise<ListedTask[]> {
    const unique = [...new Set(userTaskIDs)];
    const batches: string[][] = [];
    for (let i = 0; i < unique.length; i += LIST_IDS_PER_CALL) batches.push(unique.slice(i, i + LIST_IDS_PER_CALL));
    const found = new Map<string, ListedTask>();
    await runPool(batches, parallelism, async (batch) => {
      const wanted = new Set(batch);
      for (const t of await this.listTaskPages({ userTaskID: batch }, LIST_IDS_PER_CALL)) {
        if (wanted.has(t.userTaskID)) found.set(t.userTaskID, t);
      }
    });
    return unique.flatMap((id) => found.get(id) ?? []);
  }

  /** One listTask query, following pages until `total` (or a short page) says it is complete. */
  async listTaskPages(conditions: ListTaskRequest['queryConditions'], size = 100): Promise<ListedTask[]> {
    const out: ListedTask[] = [];
    for (let page = 1; ; page++) {
      const res = await this.call<ListTaskResponse>('listTask', {
        productID: PRODUCT_ID,
        page,
        size,
        queryConditions: conditions,
      } satisfies ListTaskRequest);
      const data = res.taskData ?? [];
      out.push(...data);
      const done = typeof res.total === 'number' ? out.length >= res.total || data.length === 0 : data.length < size;
      if (done) return out;
    }
  }
}
