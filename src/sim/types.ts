/**
 * Public simulator types and constants. They live here (and are re-exported by
 * server.ts) so the internal modules can share them without importing server.ts.
 */
import type { SimTask, SeedFile } from './seed.js';
import type { FaultKind } from './faults.js';
import type { ThrottleStyle } from './throttle.js';

export const DEFAULT_SIM_UUID = 'sim-uuid-0000000000000000000000';
export const DEFAULT_SIM_SECRET = 'sim-secret-00000000000000000000';
export const SIM_ENDPOINTS = ['listTask', 'createTask', 'updateTask', 'mgrTaskStatus', 'ping'] as const;
export type SimEndpoint = (typeof SIM_ENDPOINTS)[number];
/** listTask's `queryConditions` filters (API notes §3.6). */
export const LIST_TASK_CONDITIONS = ['userTaskID', 'taskStatus', 'taskName', 'sceneID', 'startTs', 'endTs'] as const;
type ListTaskCondition = (typeof LIST_TASK_CONDITIONS)[number];
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
  /**
   * How long a pause (mgrTaskStatus taskOperate 2 on a running task) takes to land, in ms
   * (default 0: at once). Meanwhile the task stays 2 (running) with a pending pause.
   */
  pauseDelayMs?: number;
  /** Requests per second per account (token bucket); 0 / null / absent = no limit. */
  rateLimit?: number | null;
  /** Bucket capacity (default max(1, ceil(rateLimit / 10))). */
  burst?: number | null;
  /** How throttled requests are refused (default 'http429'). */
  throttleStyle?: ThrottleStyle;
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
  /** Successful createTask calls (tasks created). */
  creates: number;
  /** createTask calls refused because the userTaskID exists (a retried or repeated create). */
  duplicateCreates: number;
  /**
   * Answered listTask queries by the `queryConditions` filter they used (a query using
   * several counts under each); `none` = no filter (a full listing).
   */
  listTaskQueries: Record<ListTaskCondition | 'none', number>;
  /** userTaskIDs asked for in answered listTask queries (the length of each `userTaskID` filter). */
  listTaskIDs: number;
  /** Requests refused by the rate limiter (they are counted in `requests` too). */
  throttled: number;
  /** Throttled requests per endpoint. */
  throttledByEndpoint: Record<string, number>;
}

/** The run-time settings (`setFaults()`, `POST /__sim/faults`); an absent key is left unchanged. */
export interface SimFaultSettings {
  faultRate?: number;
  faultKinds?: FaultKind[];
  faultSeed?: number;
  latencyMs?: number;
  /** Applies to pauses requested from now on; pending pauses keep their due time. */
  pauseDelayMs?: number;
  /** Requests per second per account; 0 or null = off. Takes effect at once. */
  rateLimit?: number | null;
  /** Bucket capacity; null = the default, max(1, ceil(rateLimit / 10)). */
  burst?: number | null;
  throttleStyle?: ThrottleStyle;
}

/** Why a task's status changed. */
export type SimStatusCause = 'mgrTaskStatus' | 'control' | 'pause-delay';

/**
 * One status change. `seq` is shared by every history entry of every task (status
 * changes and calls), so entries can be ordered across tasks.
 */
export interface SimStatusChange {
  seq: number;
  /** Simulator clock (ms). For cause 'pause-delay': the time the pause was due. */
  at: number;
  userTaskID: string;
  from: number;
  to: number;
  /** mgrTaskStatus: an API call; control: setStatus() or POST /__sim/tasks/:id/status (a person); pause-delay: a delayed pause landing. */
  cause: SimStatusCause;
}

/** One authenticated updateTask / mgrTaskStatus call naming an existing task. */
export interface SimCallRecord {
  seq: number;
  /** Simulator clock (ms) when the call was decided. */
  at: number;
  userTaskID: string;
  endpoint: 'updateTask' | 'mgrTaskStatus';
  requestID: string;
  /** mgrTaskStatus: the taskOperate sent (when it is a number). */
  taskOperate?: number;
  /** The retCode answered; null when the client got no retCode (HTTP 429/500/503, reset, timeout). */
  retCode: number | null;
  /**
   * The request took effect (retCode 0): settings merged, status changed, or a pause
   * accepted (also when it is still pending). True for a 'badsign' fault too: the request
   * was applied, only the answer's signature is wrong.
   */
  applied: boolean;
  /** mgrTaskStatus: the taskStatus the answer reported. */
  taskStatus?: number;
  /** The injected fault, if any. */
  fault?: FaultKind;
  /** Refused by the rate limiter (never applied). */
  throttled?: true;
}

/** A pause accepted but not landed yet (pauseDelayMs > 0). */
export interface SimPendingPause {
  /** Simulator clock (ms). */
  requestedAt: number;
  dueAt: number;
}

export interface SimTaskHistory {
  userTaskID: string;
  /** Oldest first; at most HISTORY_LIMIT (older ones are dropped and counted in `dropped`). */
  statusChanges: SimStatusChange[];
  /** Oldest first; at most HISTORY_LIMIT. */
  calls: SimCallRecord[];
  dropped: { statusChanges: number; calls: number };
  pendingPause: SimPendingPause | null;
}

/** An entry of the global log: every task's status changes and calls, ordered by seq. */
export type SimLogEntry = ({ kind: 'status' } & SimStatusChange) | ({ kind: 'call' } & SimCallRecord);

/** Per task, at most this many status changes and this many calls are kept (the oldest go first). */
export const HISTORY_LIMIT = 1000;

export interface Simulator {
  url: string;
  uuid: string;
  secret: string;
  /** Live store, keyed by userTaskID. */
  tasks: Map<string, SimTask>;
  stats(): SimStats;
  resetStats(): void;
  /**
   * Set a task's status as a person would (e.g. between plan and apply); recorded in the
   * history with cause 'control' and cancels a pending pause. Throws on unknown task / invalid status.
   */
  setStatus(userTaskID: string, status: number): void;
  setFaults(opts: SimFaultSettings): void;
  /** The task's status changes and calls (copies). Throws on an unknown task. */
  history(userTaskID: string): SimTaskHistory;
  /** Every task's status changes and calls with seq > `sinceSeq` (default 0: all kept), ordered by seq. */
  log(sinceSeq?: number): SimLogEntry[];
  /** Forgets all history (seq keeps counting up). */
  clearHistory(): void;
  /**
   * Lands every pending pause that is due by the simulator clock. Done automatically on
   * every request, control call, history()/log() and when the pause timer fires; call it
   * only to read `tasks` directly after moving an injected clock.
   */
  applyDuePauses(): void;
  /** Observer: called for every authenticated API request (body = parsed JSON, or the raw text if unparseable). */
  onRequest?: (endpoint: string, body: unknown) => void;
  /** Closes the server and destroys open sockets (keep-alive, held timeouts). */
  close(): Promise<void>;
}
