/**
 * Simulator settings, in two parts:
 *  - the fixed configuration, resolved and checked once by {@link resolveConfig};
 *  - the run-time settings ({@link RuntimeSettings}): latency, fault injection, the
 *    pause delay and the rate limit, changed
 *    by `setFaults()` / `POST /__sim/faults`. A change is validated in full before any
 *    of it is applied, so a bad request changes nothing.
 */
import { DEFAULT_SIM_UUID, DEFAULT_SIM_SECRET, type SimulatorOptions, type SimFaultSettings } from './types.js';
import {
  type FaultKind,
  FAULT_KINDS,
  DEFAULT_FAULT_SEED,
  mulberry32,
  parseFaultKinds,
  checkFaultRate,
} from './faults.js';
import { TokenBuckets, THROTTLE_STYLES, MAX_RATE_LIMIT, defaultBurst, type ThrottleStyle } from './throttle.js';

/** Everything fixed for the lifetime of one simulator. */
export interface SimConfig {
  host: string;
  /** 0 = any free port. */
  port: number;
  uuid: string;
  secret: string;
  replayWindowSec: number;
  maxPageSize: number;
  timeoutFaultMs: number;
  /** Clock in ms. */
  now: () => number;
}

/** A value for a message: numbers as JS prints them (NaN, Infinity), the rest as JSON. */
function show(v: unknown): string {
  if (typeof v === 'number' || v === undefined) return String(v);
  const json = JSON.stringify(v) as string | undefined; // undefined for functions and symbols
  return json ?? typeof v;
}

function nonNegativeNumber(name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0)
    throw new Error(`${name} must be a non-negative number (got ${String(v)})`);
  return v;
}

/** Defaults filled in and every fixed option checked; throws on the first bad one. */
export function resolveConfig(opts: SimulatorOptions): SimConfig {
  const config: SimConfig = {
    host: opts.host ?? '127.0.0.1',
    port: opts.port ?? 0,
    uuid: opts.uuid ?? DEFAULT_SIM_UUID,
    secret: opts.secret ?? DEFAULT_SIM_SECRET,
    replayWindowSec: opts.replayWindowSec ?? 300,
    maxPageSize: opts.maxPageSize ?? 100,
    timeoutFaultMs: opts.timeoutFaultMs ?? 30000,
    now: opts.now ?? Date.now,
  };
  if (config.uuid === '' || config.secret === '') throw new Error('uuid and secret must be non-empty');
  if (!Number.isInteger(config.port) || config.port < 0 || config.port > 65535) {
    throw new Error(`port must be an integer 0..65535 (got ${String(opts.port)})`);
  }
  if (!Number.isInteger(config.maxPageSize) || config.maxPageSize < 1) {
    throw new Error(`maxPageSize must be a positive integer (got ${config.maxPageSize})`);
  }
  nonNegativeNumber('replayWindowSec', config.replayWindowSec);
  nonNegativeNumber('timeoutFaultMs', config.timeoutFaultMs);
  return config;
}

/** One parser per run-time setting: returns the value to store, or throws a clear message. */
const PARSERS = {
  faultRate: (v: unknown): number => checkFaultRate(v as number),
  faultKinds: (v: unknown): FaultKind[] => {
    if (typeof v !== 'string' && !Array.isArray(v))
      throw new Error(`faultKinds must be a list of fault kinds (got ${typeof v})`);
    return parseFaultKinds(v as string[] | string);
  },
  faultSeed: (v: unknown): number => {
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`faultSeed must be a number (got ${String(v)})`);
    return v;
  },
  latencyMs: (v: unknown): number => nonNegativeNumber('latencyMs', v),
  pauseDelayMs: (v: unknown): number => nonNegativeNumber('pauseDelayMs', v),
  /** null (and 0) = off. */
  rateLimit: (v: unknown): number => {
    if (v === null) return 0;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > MAX_RATE_LIMIT) {
      throw new Error(
        `rateLimit must be a number of requests per second from 0 to ${MAX_RATE_LIMIT}, 0 or null = off (got ${show(v)})`,
      );
    }
    return v;
  },
  /** null = the default, max(1, ceil(rateLimit / 10)). */
  burst: (v: unknown): number | null => {
    if (v === null) return null;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > MAX_RATE_LIMIT) {
      throw new Error(
        `burst must be a whole number from 1 to ${MAX_RATE_LIMIT}, or null for the default (got ${show(v)})`,
      );
    }
    return v;
  },
  throttleStyle: (v: unknown): ThrottleStyle => {
    if (!(THROTTLE_STYLES as readonly unknown[]).includes(v)) {
      throw new Error(`throttleStyle must be one of ${THROTTLE_STYLES.join(', ')} (got ${show(v)})`);
    }
    return v as ThrottleStyle;
  },
} satisfies { [K in keyof SimFaultSettings]-?: (v: unknown) => unknown };

type Parsed = { [K in keyof typeof PARSERS]?: ReturnType<(typeof PARSERS)[K]> };

/** The keys `POST /__sim/faults` accepts. */
export const RUNTIME_SETTING_KEYS: readonly string[] = Object.keys(PARSERS);

/** Checks every present (not undefined) key; nothing is applied here. */
function parseRuntimeSettings(patch: SimFaultSettings): Parsed {
  const out: Record<string, unknown> = {};
  for (const [key, parse] of Object.entries(PARSERS)) {
    const value = (patch as Record<string, unknown>)[key];
    if (value !== undefined) out[key] = parse(value);
  }
  return out;
}

/** The settings that may change while the simulator runs. */
export class RuntimeSettings {
  latencyMs = 0;
  pauseDelayMs = 0;
  faultRate = 0;
  faultKinds: FaultKind[] = [...FAULT_KINDS];
  /** The fault PRNG; reseeded by `faultSeed`. Also picks the reply of a 'mixed' throttle. */
  rand: () => number = mulberry32(DEFAULT_FAULT_SEED);
  /** Requests per second per account; 0 = no limit. */
  rateLimit = 0;
  /** Bucket capacity as set; null = defaultBurst(rateLimit). */
  burst: number | null = null;
  throttleStyle: ThrottleStyle = 'http429';
  readonly limiter: TokenBuckets;

  /** `now`: the simulator clock (ms), for the token buckets. */
  constructor(now: () => number) {
    this.limiter = new TokenBuckets(now);
  }

  /** The bucket capacity in force. */
  get effectiveBurst(): number {
    return this.burst ?? defaultBurst(this.rateLimit);
  }

  /** Validates the whole patch first, then applies it: a bad patch throws and changes nothing. */
  apply(patch: SimFaultSettings): void {
    const p = parseRuntimeSettings(patch);
    if (p.faultRate !== undefined) this.faultRate = p.faultRate;
    if (p.faultKinds !== undefined) this.faultKinds = p.faultKinds;
    if (p.latencyMs !== undefined) this.latencyMs = p.latencyMs;
    if (p.pauseDelayMs !== undefined) this.pauseDelayMs = p.pauseDelayMs;
    if (p.faultSeed !== undefined) this.rand = mulberry32(p.faultSeed);
    if (p.throttleStyle !== undefined) this.throttleStyle = p.throttleStyle;
    if (p.rateLimit !== undefined || p.burst !== undefined) {
      if (p.rateLimit !== undefined) this.rateLimit = p.rateLimit;
      if (p.burst !== undefined) this.burst = p.burst;
      this.limiter.configure(this.rateLimit, this.effectiveBurst);
    }
  }

  /** What `GET/POST /__sim/faults` answer (the seed is not shown: the PRNG has moved on). */
  view(): Record<string, unknown> {
    return {
      faultRate: this.faultRate,
      faultKinds: this.faultKinds,
      latencyMs: this.latencyMs,
      pauseDelayMs: this.pauseDelayMs,
      rateLimit: this.rateLimit > 0 ? this.rateLimit : null,
      burst: this.rateLimit > 0 ? this.effectiveBurst : this.burst,
      throttleStyle: this.throttleStyle,
    };
  }
}

/** The run-time part of the start options. */
export function initialRuntimeSettings(opts: SimulatorOptions): SimFaultSettings {
  const { faultRate, faultKinds, faultSeed, latencyMs, pauseDelayMs, rateLimit, burst, throttleStyle } = opts;
  return { faultRate, faultKinds, faultSeed, latencyMs, pauseDelayMs, rateLimit, burst, throttleStyle };
}
