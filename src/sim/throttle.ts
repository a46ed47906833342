/**
 * Rate limiting: one token bucket per account (the `uuid` header), refilled continuously
 * at `rate` tokens per second up to `burst` tokens; a request takes one token or is
 * throttled. The clock is injected, so the arithmetic is deterministic in tests.
 *
 * Decisions (the platform documents no limit; these are the simulator's):
 *  - default burst: a tenth of a second's worth of requests, at least 1
 *    (`max(1, ceil(rate / 10))`), so bursts are small and throttling shows up early;
 *  - a new bucket starts full;
 *  - a change of rate or burst takes effect at once: each bucket is first refilled up to
 *    now at the old rate, then capped at the new burst; turning the limit off forgets
 *    all buckets (turning it on again starts them full);
 *  - the wait a throttled request is told is the time until the bucket holds one token
 *    again (rounded up to the millisecond), so a retry after exactly that wait succeeds
 *    unless another request took the token first.
 */

export const THROTTLE_STYLES = ['http429', 'retcode7', 'mixed'] as const;
/** How a throttled request is refused: HTTP 429 + Retry-After, signed retCode 7, or either (picked by the fault PRNG). */
export type ThrottleStyle = (typeof THROTTLE_STYLES)[number];

/** Upper bound on rate and burst: beyond any test's needs, and keeps the arithmetic exact. */
export const MAX_RATE_LIMIT = 1_000_000;

/** Capacity used when no burst is set: max(1, ceil(rate / 10)). */
export function defaultBurst(rate: number): number {
  return Math.max(1, Math.ceil(rate / 10));
}

export type TakeResult = { ok: true } | { ok: false; retryAfterMs: number };

interface Bucket {
  tokens: number;
  /** Clock (ms) of the last refill. */
  at: number;
}

/** Tolerance for float error in refills (a retry after exactly retryAfterMs must pass). */
const EPSILON = 1e-9;

export class TokenBuckets {
  private rate = 0;
  private burst = 1;
  private readonly buckets = new Map<string, Bucket>();

  constructor(private readonly now: () => number) {}

  /** True when a limit is set (rate > 0). */
  get enabled(): boolean {
    return this.rate > 0;
  }

  /** Sets the limit; rate 0 turns it off. Takes effect at once (see the module comment). */
  configure(rate: number, burst: number): void {
    if (rate <= 0) {
      this.rate = 0;
      this.buckets.clear();
      return;
    }
    const t = this.now();
    for (const b of this.buckets.values()) this.refill(b, t);
    this.rate = rate;
    this.burst = burst;
    for (const b of this.buckets.values()) b.tokens = Math.min(b.tokens, burst);
  }

  /** Takes a token from the account's bucket, or says how long until one is there. */
  take(account: string): TakeResult {
    if (!this.enabled) return { ok: true };
    const t = this.now();
    let b = this.buckets.get(account);
    if (!b) {
      b = { tokens: this.burst, at: t };
      this.buckets.set(account, b);
    }
    this.refill(b, t);
    if (b.tokens >= 1 - EPSILON) {
      b.tokens = Math.max(0, b.tokens - 1);
      return { ok: true };
    }
    return { ok: false, retryAfterMs: Math.max(1, Math.ceil(((1 - b.tokens) * 1000) / this.rate - EPSILON)) };
  }

  /** Tokens the account has now (for tests and the faults view); `burst` for an unseen account. */
  tokens(account: string): number {
    const b = this.buckets.get(account);
    if (!b) return this.burst;
    this.refill(b, this.now());
    return b.tokens;
  }

  private refill(b: Bucket, t: number): void {
    const elapsed = Math.max(0, t - b.at); // a clock that goes back adds nothing
    b.tokens = Math.min(this.burst, b.tokens + (elapsed * this.rate) / 1000);
    b.at = Math.max(b.at, t);
  }
}

/** Seconds for a `Retry-After` header: HTTP allows only whole seconds (or a date), so rounded up, at least 1. */
export function retryAfterSeconds(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000));
}
