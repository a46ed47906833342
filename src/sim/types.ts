/**
 * Public simulator types and constants. They live here (and are re-exported by
 * server.ts) so the internal modules can share them without importing server.ts.
 */
import type { SimTask, SeedFile } from './seed.js';
import type { FaultKind } from './faults.js';

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
