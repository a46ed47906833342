import type { TaskResult } from './apply.js';

/** Paused time of the pause → update → resume windows of a run (ms). */
export type PausedTimes =
  | { tasks: 0; totalMs: 0; medianMs: null; maxMs: null }
  | { tasks: number; totalMs: number; medianMs: number; maxMs: number };

export function pausedTimes(results: readonly TaskResult[]): PausedTimes {
  const times = results.flatMap((r) => (r.pausedMs === undefined ? [] : [r.pausedMs])).sort((a, b) => a - b);
  if (times.length === 0) return { tasks: 0, totalMs: 0, medianMs: null, maxMs: null };
  const mid = times.length >> 1;
  const median = times.length % 2 ? times[mid] : (times[mid - 1] + times[mid]) / 2;
  return {
    tasks: times.length,
    totalMs: times.reduce((a, b) => a + b, 0),
    medianMs: median,
    maxMs: times[times.length - 1],
  };
}

/** The API traffic of a run: every HTTP attempt (retries and status reads included) and the throttled answers. */
export interface ApiTraffic {
  calls: number;
  throttled: number;
  seconds: number;
}

/** Average calls per second over the run (0 for an instant run). */
export function callsPerSecond(t: ApiTraffic): number {
  return t.seconds > 0 ? t.calls / t.seconds : 0;
}
