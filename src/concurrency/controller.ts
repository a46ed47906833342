/**
 * The rate controller: one per run, shared by every API call (listTask paging, updateTask,
 * mgrTaskStatus, ping). Each HTTP attempt takes a permit first and settles it with how it
 * ended. The I/O shell around the pure arithmetic in aimd.ts and pacer.ts: a FIFO queue of
 * waiting requests, one timer, counters for display. Clock and timer are injected.
 *
 *  - adaptive (default): AIMD concurrency and rate (aimd.ts), `parallelism` the ceiling;
 *    the `Retry-After` of a throttle that cuts the rate pauses every new send until then.
 *  - fixed: always `parallelism` in flight, as before; a throttled call waits on its own.
 *  - in both, `rateLimit` (req/s) paces sends as a hard cap.
 */
import {
  concurrencyLimit,
  currentRate,
  DEFAULT_AIMD,
  initialAimd,
  onIdle,
  onSend,
  onSuccess,
  onThrottle,
  pacedRate,
  type AimdConfig,
  type AimdState,
} from './aimd.js';
import { newBucket, take, type Bucket } from './pacer.js';

export type ConcurrencyMode = 'adaptive' | 'fixed';

/** How an attempt ended, for the controller: accepted, throttled (with the wait the API asked for), or neither (no answer, a failure). */
export type AttemptOutcome =
  { kind: 'accepted' } | { kind: 'throttled'; retryAfterMs: number | null } | { kind: 'failed' };

export interface Permit {
  settle(outcome: AttemptOutcome): void;
}

export interface ControllerOptions {
  mode: ConcurrencyMode;
  /** `parallelism`: never more in flight. */
  ceiling: number;
  /** Hard cap (req/s), or null. */
  rateLimit: number | null;
  now?: () => number;
  /** Runs `fn` after `ms`; returns a cancel function. Injected by tests. */
  schedule?: (ms: number, fn: () => void) => () => void;
  /** --debug: decisions (cuts, Retry-After pauses). */
  debug?: (line: string) => void;
  tuning?: Partial<Omit<AimdConfig, 'ceiling'>>;
}

/** What progress and --debug show. */
export interface RateSnapshot {
  mode: ConcurrencyMode;
  /** In-flight limit now. */
  concurrency: number;
  ceiling: number;
  inFlight: number;
  /** Sends per second, recently (decaying average over ~1 s). */
  rate: number;
  /** The pacing rate (adaptive, capped by rateLimit), or null when unpaced. */
  pacedAt: number | null;
  sent: number;
  throttled: number;
  /** Rate cuts so far. */
  decreases: number;
}

interface Waiter {
  grant: (permit: Permit) => void;
  /** True once it could not go at once. */
  blocked: boolean;
}

const RATE_TAU_MS = 1000;
const RATE_MIN_WINDOW_MS = 250;

function defaultSchedule(ms: number, fn: () => void): () => void {
  const t = setTimeout(fn, ms);
  return () => clearTimeout(t);
}

export class RateController {
  private readonly config: AimdConfig;
  private readonly now: () => number;
  private readonly schedule: (ms: number, fn: () => void) => () => void;
  private state: AimdState;
  private bucket: Bucket | null = null;
  private pausedUntil = 0;
  private inFlight = 0;
  private readonly queue: Waiter[] = [];
  private cancelTimer: (() => void) | null = null;
  private timerAt = Infinity;
  private sent = 0;
  private throttled = 0;
  /** Since when nothing is in flight and nobody waits (null: busy). */
  private idleSince: number | null = null;
  /** Decaying count of sends (time constant RATE_TAU_MS), for the displayed rate. */
  private recent = { count: 0, at: 0, since: null as number | null };

  constructor(private readonly options: ControllerOptions) {
    this.config = { ...DEFAULT_AIMD, ...options.tuning, ceiling: options.ceiling };
    this.now = options.now ?? (() => performance.now());
    this.schedule = options.schedule ?? defaultSchedule;
    this.state = initialAimd(this.config);
  }

  /** Resolves when this attempt may be sent. */
  acquire(): Promise<Permit> {
    return new Promise((grant) => {
      this.queue.push({ grant, blocked: false });
      this.pump();
    });
  }

  snapshot(): RateSnapshot {
    const now = this.now();
    return {
      mode: this.options.mode,
      concurrency: this.limit(),
      ceiling: this.config.ceiling,
      inFlight: this.inFlight,
      rate: this.recentRate(now),
      pacedAt: this.pacing(),
      sent: this.sent,
      throttled: this.throttled,
      decreases: this.state.decreases,
    };
  }

  /** One line for --debug and progress: "97.1 req/s, concurrency 5/64". */
  describe(): string {
    return describeRate(this.snapshot());
  }

  private adaptive(): boolean {
    return this.options.mode === 'adaptive';
  }

  private limit(): number {
    return this.adaptive() ? concurrencyLimit(this.config, this.state) : this.config.ceiling;
  }

  private pacing(): number | null {
    const adaptive = this.adaptive() ? pacedRate(this.state) : null;
    const cap = this.options.rateLimit;
    if (adaptive === null) return cap;
    return cap === null ? adaptive : Math.min(adaptive, cap);
  }

  /** Admits queued requests while the window, the Retry-After pause and the pacer allow. */
  private pump(): void {
    while (this.queue.length > 0) {
      const now = this.now();
      if (this.inFlight >= this.limit()) return this.block();
      const wait = this.admissionWait(now);
      if (wait > 0) return this.block(now + wait);
      this.admit(this.queue.shift()!, now);
    }
    this.clearTimer();
  }

  /** ms until the pause ends or the pacer has a send (0: now); takes the pacer's token when 0. */
  private admissionWait(now: number): number {
    if (this.pausedUntil > now) return this.pausedUntil - now;
    const rate = this.pacing();
    if (rate === null) return 0;
    const t = take(this.bucket ?? newBucket(now), rate, now);
    this.bucket = t.bucket;
    return t.ok ? 0 : t.waitMs;
  }

  private admit(waiter: Waiter, sentAt: number): void {
    if (this.idleSince !== null) {
      this.state = onIdle(this.state, sentAt - this.idleSince);
      this.idleSince = null;
    }
    this.inFlight++;
    this.sent++;
    this.countSend(sentAt);
    this.state = onSend(this.state, sentAt);
    let settled = false;
    waiter.grant({
      settle: (outcome) => {
        if (settled) return;
        settled = true;
        // Evidence that more was wanted: it had to wait, or others are waiting now.
        this.settle(outcome, { now: this.now(), sentAt, limited: waiter.blocked || this.queue.length > 0 });
      },
    });
  }

  private settle(outcome: AttemptOutcome, sample: { now: number; sentAt: number; limited: boolean }): void {
    this.inFlight--;
    if (outcome.kind === 'accepted') {
      if (this.adaptive()) this.state = onSuccess(this.config, this.state, sample);
    } else if (outcome.kind === 'throttled') {
      this.throttled++;
      if (this.adaptive()) this.throttle(sample, outcome.retryAfterMs);
    }
    this.pump();
    if (this.inFlight === 0 && this.queue.length === 0) this.idleSince = sample.now;
  }

  /**
   * A throttle the arithmetic acts on (a cut) also pauses every new send for its
   * Retry-After. One it ignores (sent before the last cut, or light while the rate climbs
   * back) delays only its own retry: a whole-second Retry-After on each stray throttle
   * would stall the run for nothing.
   */
  private throttle(sample: { now: number; sentAt: number; limited: boolean }, retryAfterMs: number | null): void {
    const before = this.state;
    this.state = onThrottle(this.config, before, sample);
    if (this.state.decreases === before.decreases) return;
    const was = currentRate(before);
    this.options.debug?.(
      `rate control: throttled; rate ${Number.isFinite(was) ? was.toFixed(1) : 'unpaced'} → ${currentRate(this.state).toFixed(1)} req/s, concurrency ${concurrencyLimit(this.config, before)} → ${this.limit()}/${this.config.ceiling}`,
    );
    if (retryAfterMs !== null && retryAfterMs > 0 && sample.now + retryAfterMs > this.pausedUntil) {
      this.pausedUntil = sample.now + retryAfterMs;
      this.options.debug?.(`rate control: Retry-After ${Math.round(retryAfterMs)} ms: new sends wait`);
    }
  }

  /** Marks the waiters as held back and wakes up at `at` (or when a permit is settled). */
  private block(at?: number): void {
    for (const w of this.queue) w.blocked = true;
    if (at === undefined) return;
    if (this.cancelTimer && this.timerAt <= at) return;
    this.clearTimer();
    this.timerAt = at;
    this.cancelTimer = this.schedule(Math.max(0, at - this.now()), () => {
      this.cancelTimer = null;
      this.timerAt = Infinity;
      this.pump();
    });
  }

  private clearTimer(): void {
    this.cancelTimer?.();
    this.cancelTimer = null;
    this.timerAt = Infinity;
  }

  private countSend(now: number): void {
    const r = this.recent;
    r.count = r.count * Math.exp(-(now - r.at) / RATE_TAU_MS) + 1;
    r.at = now;
    r.since ??= now;
  }

  /** Sends per second over roughly the last second (corrected while the run is younger than that). */
  private recentRate(now: number): number {
    const r = this.recent;
    if (r.since === null) return 0;
    const decayed = r.count * Math.exp(-(now - r.at) / RATE_TAU_MS);
    // Corrects for the short history at the start, but over at least RATE_MIN_WINDOW_MS:
    // three requests in the first millisecond are not thousands per second.
    const warm = 1 - Math.exp(-Math.max(RATE_MIN_WINDOW_MS, now - r.since) / RATE_TAU_MS);
    return (decayed / warm) * (1000 / RATE_TAU_MS);
  }
}

export function describeRate(s: RateSnapshot): string {
  const paced = s.pacedAt === null ? '' : ` (paced at ${s.pacedAt.toFixed(1)})`;
  return `${s.rate.toFixed(1)} req/s${paced}, concurrency ${s.concurrency}/${s.ceiling}, ${s.throttled} throttled`;
}
