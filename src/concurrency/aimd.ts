/**
 * Adaptive rate control, pure arithmetic: no clock and no timers (times come in as ms).
 *
 * The API publishes no rate limit; it refuses with "throttled" (HTTP 429, retCode 7) when
 * pushed. The scheme is AIMD with a slow start, as in TCP congestion control with pacing,
 * but on the send *rate* rather than on a window, because the limit is a rate (a token
 * bucket), not a capacity:
 *
 *  - start: unpaced, at most `initialWindow` requests in flight; each success while others
 *    wait adds half a request (the window grows 1.5× per round trip: half the overshoot of
 *    TCP's doubling when the limit is first hit) up to the ceiling (`parallelism`). Without
 *    a limit the run is at its ceiling within a few round trips.
 *  - multiplicative decrease: a throttle cuts the rate to β × the *known rate*, and sends
 *    are paced from then on. At most one cut per round trip: a throttle of a request sent
 *    before the last cut was sent at the old rate and changes nothing.
 *     - a *heavy* throttle (the first one, or a quarter or more of the last answers
 *       throttled: a limit is biting) measures the known rate: the rate the API accepted
 *       since the last cut, clamped between a fraction of the current rate (the share of
 *       recent answers accepted, from 1/8 to 1/2) and the current rate.
 *       Measuring, rather than cutting blindly, brings a rate that overshoots 4× (a start,
 *       a limit that drops at run time) down in two or three round trips.
 *     - a *light* throttle (a few among many successes) keeps a *firm* known rate (one
 *       measured over a second or more), or raises it to what was accepted; a known rate
 *       measured over a shorter window (the burst allowance inflates it) is measured again.
 *       While the rate is still climbing back to the known rate, a light throttle is
 *       ignored. So scattered "system busy" answers that do not depend on the rate slow the
 *       run by a tenth at most, instead of ratcheting it down to nothing.
 *  - increase, in two slopes (CUBIC's shape, simplified): while requests wait, each success
 *    raises the rate, linearly back up to the known rate within about `recoverS` seconds,
 *    then beyond it, slowly at first (γ × the rate per second) and twice as fast every
 *    further second (so a limit that went up, or a known rate measured too low, is found in
 *    a few seconds). Both slopes scale with the rate, so a probing cycle lasts about as long
 *    at 5 as at 5,000 req/s.
 *  - concurrency (the in-flight limit) follows the rate: rate × smoothed RTT × headroom,
 *    within 1..ceiling. It grows while calls succeed and shrinks at once on a throttle.
 */

export interface AimdConfig {
  /** Never more in flight (the `parallelism` setting). */
  ceiling: number;
  /** In flight before the first success (grows from there during the start). */
  initialWindow: number;
  /** During the start, each success while others wait adds this much to the window (1: doubling per round trip). */
  startGrowth: number;
  /** β: a decrease keeps this share of the known rate. */
  beta: number;
  /** Seconds to climb back to the known rate after a decrease. */
  recoverS: number;
  /** γ: beyond the known rate, the rate climbs γ × itself per second of successes. */
  gamma: number;
  /** The rate never goes below this (req/s). */
  minRate: number;
  /** Concurrency = rate × smoothed RTT × headroom (room for RTT jitter, so the pacer binds, not the window). */
  headroom: number;
  /** A throttle is heavy when at least this share of the last RECENT_ANSWERS answers was throttled. */
  heavyShare: number;
}

export const DEFAULT_AIMD: Omit<AimdConfig, 'ceiling'> = {
  initialWindow: 16,
  startGrowth: 0.5,
  beta: 0.9,
  recoverS: 1,
  gamma: 0.03,
  minRate: 0.25,
  headroom: 2,
  heavyShare: 0.25,
};

/** How many of the latest answers the throttled share is taken over. */
export const RECENT_ANSWERS = 20;

/** Accepted answers a measurement needs before it may cut below half the current rate. */
const MIN_SAMPLE = 5;

/** The deepest single cut of the known rate: to an eighth of the current rate. */
const MAX_CUT = 1 / 8;

/** A known rate measured over at least this long is firm: a light throttle does not lower it. */
const FIRM_WINDOW_MS = 1000;

export type AimdPhase =
  /** Before the first throttle: unpaced, `window` requests in flight. */
  | { kind: 'start'; window: number }
  /**
   * After it: paced at `rate` req/s; `known` is the highest rate the API is known to accept,
   * `firm` when it was measured over at least FIRM_WINDOW_MS.
   */
  | { kind: 'paced'; rate: number; known: number; firm: boolean; probing: Probing };

/** Beyond the known rate since when (ms), or not yet since the last decrease. */
type Probing = { since: number } | null;

export interface AimdState {
  phase: AimdPhase;
  /** Smoothed round-trip time (ms), RFC 6298 weights; null before the first answer. */
  srttMs: number | null;
  /** The first send, then the last decrease: throttles of requests sent before it do not cut again. */
  decidedAt: number | null;
  /** Successes since `decidedAt` (the accepted rate's numerator). */
  accepted: number;
  /** The latest answers, newest in bit 0 (1 = throttled), and how many there are (≤ RECENT_ANSWERS). */
  recent: { bits: number; count: number };
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
  return {
    phase: { kind: 'start', window: Math.max(1, Math.min(config.ceiling, config.initialWindow)) },
    srttMs: null,
    decidedAt: null,
    accepted: 0,
    recent: { bits: 0, count: 0 },
    decreases: 0,
  };
}

/** A request leaves: the first one starts the measurement. */
export function onSend(state: AimdState, now: number): AimdState {
  return state.decidedAt === null ? { ...state, decidedAt: now } : state;
}

/** The client sent nothing for `idleMs` (nothing in flight, nobody waiting): that time does not count in the accepted rate. */
export function onIdle(state: AimdState, idleMs: number): AimdState {
  return state.decidedAt === null || idleMs <= 0 ? state : { ...state, decidedAt: state.decidedAt + idleMs };
}

function smooth(srttMs: number | null, rttMs: number): number {
  return srttMs === null ? rttMs : srttMs + (rttMs - srttMs) / 8;
}

function remember(recent: AimdState['recent'], throttled: boolean): AimdState['recent'] {
  const mask = 2 ** RECENT_ANSWERS - 1;
  return { bits: ((recent.bits << 1) | (throttled ? 1 : 0)) & mask, count: Math.min(RECENT_ANSWERS, recent.count + 1) };
}

/** The throttled share of the latest answers. */
export function recentShare(state: AimdState): number {
  const { bits, count } = state.recent;
  if (count === 0) return 0;
  let ones = 0;
  for (let b = bits; b !== 0; b &= b - 1) ones++;
  return ones / count;
}

/** A request the API accepted (answered without throttling). */
export function onSuccess(config: AimdConfig, state: AimdState, s: Sample): AimdState {
  const next = {
    ...state,
    srttMs: smooth(state.srttMs, s.now - s.sentAt),
    accepted: state.accepted + 1,
    recent: remember(state.recent, false),
  };
  // Grow only on evidence that more was wanted.
  if (!s.limited) return next;
  const p = state.phase;
  if (p.kind === 'start')
    return { ...next, phase: { kind: 'start', window: Math.min(config.ceiling, p.window + config.startGrowth) } };
  const probing = p.probing ?? (p.rate >= p.known ? { since: s.now } : null);
  return { ...next, phase: { ...p, probing, rate: p.rate + slope(config, { ...p, probing }, s.now) / p.rate } };
}

/**
 * req/s per second of successes: back to the known rate in `recoverS`; beyond it γ × the
 * rate, doubling every second spent beyond it (compounding: CUBIC's convex probe).
 */
export function slope(config: AimdConfig, p: Extract<AimdPhase, { kind: 'paced' }>, now: number): number {
  if (p.rate < p.known) return ((1 - config.beta) * p.known) / config.recoverS;
  const beyondS = p.probing ? Math.max(0, now - p.probing.since) / 1000 : 0;
  return config.gamma * p.rate * 2 ** Math.min(beyondS, 10);
}

/** The rate the client is sending at, as far as the controller allows it (req/s). */
export function currentRate(state: AimdState): number {
  const p = state.phase;
  if (p.kind === 'paced') return p.rate;
  return state.srttMs ? (p.window * 1000) / Math.max(1, state.srttMs) : Infinity;
}

/** A throttled request. Cuts the rate, unless it was sent before the last cut or is light while recovering. */
export function onThrottle(config: AimdConfig, state: AimdState, s: Sample): AimdState {
  const next = { ...state, srttMs: smooth(state.srttMs, s.now - s.sentAt), recent: remember(state.recent, true) };
  if (state.decidedAt !== null && s.sentAt < state.decidedAt) return next;
  const p = state.phase;
  const light = p.kind === 'paced' && recentShare(next) < config.heavyShare ? p : null;
  if (light && light.rate < light.known) return next;
  const current = currentRate(next);
  const elapsedMs = Math.max(0, s.now - (state.decidedAt ?? s.sentAt));
  const acceptedRate = elapsedMs > 0 ? (state.accepted * 1000) / elapsedMs : current;
  // The measurement may be diluted (idle time before the first send) or rest on a handful of
  // answers: trust it down to half the current rate; lower only when most of the last 10+
  // answers were throttled (a 4× overshoot) and at least MIN_SAMPLE were accepted since the last cut.
  const share = next.recent.count >= RECENT_ANSWERS / 2 && state.accepted >= MIN_SAMPLE ? recentShare(next) : 0;
  const floor = current * Math.min(0.5, Math.max(MAX_CUT, 1 - share));
  const measured = Math.min(current, Math.max(floor, acceptedRate));
  const keep = light?.firm ? Math.max(light.known, Math.min(current, acceptedRate)) : null;
  const known = Math.max(config.minRate, keep ?? measured);
  const firm = keep !== null || elapsedMs >= FIRM_WINDOW_MS;
  const rate = Math.max(config.minRate, config.beta * known);
  return {
    ...next,
    phase: { kind: 'paced', rate, known, firm, probing: null },
    decidedAt: s.now,
    accepted: 0,
    decreases: state.decreases + 1,
  };
}

/** How many requests may be in flight. */
export function concurrencyLimit(config: AimdConfig, state: AimdState): number {
  const p = state.phase;
  if (p.kind === 'start') return Math.floor(p.window);
  const perRoundTrip = (p.rate * (state.srttMs ?? 0)) / 1000;
  return Math.max(1, Math.min(config.ceiling, Math.ceil(perRoundTrip * config.headroom)));
}

/** The pacing rate (req/s), or null while unpaced. */
export function pacedRate(state: AimdState): number | null {
  return state.phase.kind === 'paced' ? state.phase.rate : null;
}
