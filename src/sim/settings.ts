/**
 * Simulator settings, in two parts:
 *  - the fixed configuration, resolved and checked once by {@link resolveConfig};
 *  - the run-time settings ({@link RuntimeSettings}): latency, fault injection and the
 *    pause delay, changed
 *    by `setFaults()` / `POST /__sim/faults`. A change is validated in full before any
 *    of it is applied, so a bad request changes nothing.
 */
import { DEFAULT_SIM_UUID, DEFAULT_SIM_SECRET, type SimulatorOptions, type SimFaultSettings } from './types.js';
import { type FaultKind, FAULT_KINDS, DEFAULT_FAULT_SEED, mulberry32, parseFaultKinds, checkFaultRate } from './faults.js';

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

function nonNegativeNumber(name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new Error(`${name} must be a non-negative number (got ${String(v)})`);
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
    if (typeof v !== 'string' && !Array.isArray(v)) throw new Error(`faultKinds must be a list of fault kinds (got ${typeof v})`);
    return parseFaultKinds(v as string[] | string);
  },
  faultSeed: (v: unknown): number => {
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`faultSeed must be a number (got ${String(v)})`);
    return v;
  },
  latencyMs: (v: unknown): number => nonNegativeNumber('latencyMs', v),
  pauseDelayMs: (v: unknown): number => nonNegativeNumber('pauseDelayMs', v),
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
  return out as Parsed;
}

/** The settings that may change while the simulator runs. */
export class RuntimeSettings {
  latencyMs = 0;
  pauseDelayMs = 0;
  faultRate = 0;
  faultKinds: FaultKind[] = [...FAULT_KINDS];
  /** The fault PRNG; reseeded by `faultSeed`. */
  rand: () => number = mulberry32(DEFAULT_FAULT_SEED);

  /** Validates the whole patch first, then applies it: a bad patch throws and changes nothing. */
  apply(patch: SimFaultSettings): void {
    const p = parseRuntimeSettings(patch);
    if (p.faultRate !== undefined) this.faultRate = p.faultRate;
    if (p.faultKinds !== undefined) this.faultKinds = p.faultKinds;
    if (p.latencyMs !== undefined) this.latencyMs = p.latencyMs;
    if (p.pauseDelayMs !== undefined) this.pauseDelayMs = p.pauseDelayMs;
    if (p.faultSeed !== undefined) this.rand = mulberry32(p.faultSeed);
  }

  /** What `POST /__sim/faults` answers (the seed is not shown: the PRNG has moved on). */
  view(): Record<string, unknown> {
    return { faultRate: this.faultRate, faultKinds: this.faultKinds, latencyMs: this.latencyMs, pauseDelayMs: this.pauseDelayMs };
  }
}

/** The run-time part of the start options. */
export function initialRuntimeSettings(opts: SimulatorOptions): SimFaultSettings {
  return { faultRate: opts.faultRate, faultKinds: opts.faultKinds, faultSeed: opts.faultSeed, latencyMs: opts.latencyMs, pauseDelayMs: opts.pauseDelayMs };
}
