/**
 * The pacer: a token bucket, pure arithmetic (times in ms). It spaces sends at `rate` per
 * second. Its capacity is a tenth of a second's worth of sends (at least 2): small enough
 * never to burst far above the rate, large enough that a late timer or a stalled event
 * loop loses nothing (the sends it held back go out when it wakes).
 */

/** Capacity in seconds of sends. */
const PACER_BURST_S = 0.1;
const PACER_MIN_BURST = 2;

export function pacerBurst(rate: number): number {
  return Math.max(PACER_MIN_BURST, rate * PACER_BURST_S);
}

export interface Bucket {
  tokens: number;
  /** Clock (ms) of the last refill. */
  at: number;
}

/** A new bucket holds one send: the first request goes at once. */
export function newBucket(now: number): Bucket {
  return { tokens: 1, at: now };
}

function refill(b: Bucket, rate: number, now: number): Bucket {
  const elapsed = Math.max(0, now - b.at); // a clock that goes back adds nothing
  return { tokens: Math.min(pacerBurst(rate), b.tokens + (elapsed * rate) / 1000), at: Math.max(b.at, now) };
}

export type Take = { ok: true; bucket: Bucket } | { ok: false; bucket: Bucket; waitMs: number };

/** Takes one send from the bucket, or says how long until there is one. */
export function take(b: Bucket, rate: number, now: number): Take {
  const filled = refill(b, rate, now);
  if (filled.tokens >= 1 - 1e-9) return { ok: true, bucket: { ...filled, tokens: Math.max(0, filled.tokens - 1) } };
  return { ok: false, bucket: filled, waitMs: Math.max(1, Math.ceil(((1 - filled.tokens) * 1000) / rate)) };
}
