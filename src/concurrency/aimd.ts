/**
 * Adaptive rate control, pure arithmetic: no clock and no timers (times come in as ms).
 *
 * The API publishes no rate limit; it refuses with "throttled" (HTTP 429, retCode 7) when
 * pushed. The scheme is AIMD with a slow start, as in TCP congestion control with pacing,
 * but on the send *rate* rather than on a window, because the limit is a rate (a token
 * bucket), not a capacity:
 *
 *  - start: unpaced, at most `initialWindow` requests in flight; each success of a request
 *    that had to wait adds one (the window doubles per round trip) up to the ceiling
 *    (`parallelism`). Without a limit the run is at its ceiling within a few round trips.
 *  - multiplicative decrease: a throttle of a request sent after the last decrease sets the
 *    rate to β × the rate the API accepted since that decrease (the *known rate*; clamped
 *    between half the current rate and the current rate), and sends are paced from then on.
 *    Requests sent before the decrease were sent at the old rate, so a burst of throttles
 *    from one round trip cuts once. Measuring the accepted rate, rather than cutting blindly,
 *    brings a rate that overshoots 4× (a start, a limit that drops at run time) down in two
 *    or three round trips instead of a dozen.
 *  - increase, in two slopes (CUBIC's shape, simplified): while requests wait, each success
 *    raises the rate, linearly back up to the known rate within about `recoverS` seconds,
 *    then beyond it slowly, γ × the rate per second (compounding, so a limit that went up
 *    is found in tens of seconds, not minutes). Both slopes scale with the rate, so a
 *    probing cycle lasts about as long at 5 as at 5,000 req/s.
 *  - concurrency (the in-flight limit) follows the rate: rate × smoothed RTT × headroom,
 *    within 1..ceiling. It grows while calls succeed and shrinks at once on a throttle.
 */

export interface AimdConfig {
  /** Never more in flight (the `parallelism` setting). */
  ceiling: number;
  /** In flight before the first success (grows from there during the start). */
  initialWindow: number;
  /** β: a decrease keeps this share of the accepted rate. */
  beta: number;
  /** Seconds to climb back to the known rate after a decrease. */
  recoverS: number;
  /** γ: beyond the known rate, the rate climbs γ × itself per second of successes. */
  gamma: number;
  /** The rate never goes below this (req/s). */
  minRate: number;
  /** Concurrency = rate × smoothed RTT × headroom (room for RTT jitter, so the pacer binds, not the window). */
  headroom: number;
}

export const DEFAULT_AIMD: Omit<AimdConfig, 'ceiling'> = {
  initialWindow: 8,
  beta: 0.9,
  recoverS: 1,
  gamma: 0.03,
  minRate: 0.25,
  headroom: 2,
};

export type AimdPhase =
  /** Before the first throttle: unpaced, `window` requests in flight. */
  | { kind: 'start'; window: number }
  /** After it: paced at `rate` req/s; `known` is the rate the API accepted before the last decrease. */
  | { kind: 'paced'; rate: number; known: number };

export interface AimdState {
  phase: AimdPhase;
  /** Smoothed round-trip time (ms), RFC 6298 weights; null before the first answer. */
  srttMs: number | null;
  /** The first send, then the last decrease: throttles of requests sent before it do not cut again. */
  decidedAt: number | null;
  /** Successes since `decidedAt` (the accepted rate's numerator). */
  accepted: number;
  /** Decreases so far. */
  decreases: number;
}

/** One answer, as the controller saw it. `limited`: demand exceeded what was allowed (the request waited, or others wait). */
export interface Sample {
  now: number;
  sentAt: number;
  limited: boolean;
}

export function initialAimd(config: AimdConfig): AimdState {
  return { phase: { kind: 'start', window: Math.max(1, Math.min(config.ceiling, config.initialWindow)) }, srttMs: null, decidedAt: null, accepted: 0, decreases: 0 };
}

/** A request leaves: the first one starts the measurement. */
export function onSend(state: AimdState, now: number): AimdState {
  return state.decidedAt === null ? { ...state, decidedAt: now } : state;
}

function smooth(srttMs: number | null, rttMs: number): number {
  return srttMs === null ? rttMs : srttMs + (rttMs - srttMs) / 8;
}

/** A request the API accepted (answered without throttling). */
export function onSuccess(config: AimdConfig, state: AimdState, s: Sample): AimdState {
  const next = { ...state, srttMs: smooth(state.srttMs, s.now - s.sentAt), accepted: state.accepted + 1 };
  // Grow only on evidence that more was wanted: a request that waited.
  if (!s.limited) return next;
  const p = state.phase;
  if (p.kind === 'start') return { ...next, phase: { kind: 'start', window: Math.min(config.ceiling, p.window + 1) } };
  return { ...next, phase: { ...p, rate: p.rate + slope(config, p) / p.rate } };
}

/** req/s per second of successes: fast back to the known rate, slowly beyond it (γ of the rate, so it compounds). */
export function slope(config: AimdConfig, p: Extract<AimdPhase, { kind: 'paced' }>): number {
  return p.rate < p.known ? ((1 - config.beta) * p.known) / config.recoverS : config.gamma * p.rate;
}

/** The rate the client is sending at, as far as the controller allows it (req/s). */
export function currentRate(state: AimdState): number {
  const p = state.phase;
  if (p.kind === 'paced') return p.rate;
  return state.srttMs ? (p.window * 1000) / Math.max(1, state.srttMs) : Infinity;
}

/** A throttled request. Cuts the rate unless it was sent before the last cut. */
export function onThrottle(config: AimdConfig, state: AimdState, s: Sample): AimdState {
  const next = { ...state, srttMs: smooth(state.srttMs, s.now - s.sentAt) };
  if (state.decidedAt !== null && s.sentAt < state.decidedAt) return next;
  const current = currentRate(next);
  const elapsedS = Math.max(0, s.now - (state.decidedAt ?? s.sentAt)) / 1000;
  const acceptedRate = elapsedS > 0 ? state.accepted / elapsedS : current;
  const known = Math.max(config.minRate, Math.min(current, Math.max(current / 2, acceptedRate)));
  const rate = Math.max(config.minRate, config.beta * known);
  return { ...next, phase: { kind: 'paced', rate, known }, decidedAt: s.now, accepted: 0, decreases: state.decreases + 1 };
}

/** How many requests may be in flight. */
export function concurrencyLimit(config: AimdConfig, state: AimdState): number {
  const p = state.phase;
  if (p.kind === 'start') return p.window;
  const perRoundTrip = (p.rate * (state.srttMs ?? 0)) / 1000;
  return Math.max(1, Math.min(config.ceiling, Math.ceil(perRoundTrip * config.headroom)));
}

/** The pacing rate (req/s), or null while unpaced. */
export function pacedRate(state: AimdState): number | null {
  return state.phase.kind === 'paced' ? state.phase.rate : null;
}
