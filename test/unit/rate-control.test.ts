/**
 * The rate controller's arithmetic (aimd.ts, pacer.ts), Retry-After parsing and the
 * controller's admission, all on an injected clock: nothing here is timed.
 */
import { describe, it, expect } from 'vitest';
import {
  DEFAULT_AIMD,
  RECENT_ANSWERS,
  concurrencyLimit,
  currentRate,
  initialAimd,
  onIdle,
  onSend,
  onSuccess,
  onThrottle,
  pacedRate,
  recentShare,
  slope,
  type AimdConfig,
  type AimdState,
} from '../../src/concurrency/aimd.js';
import { newBucket, pacerBurst, take } from '../../src/concurrency/pacer.js';
import { RateController, describeRate, type Permit } from '../../src/concurrency/controller.js';
import {
  MAX_RETRY_AFTER_MS,
  parseRetryAfter,
  parseRetryAfterMs,
  retryAfterFromHeaders,
} from '../../src/api/retry-after.js';

// Round numbers for the arithmetic: a start window of 8 that doubles per round trip.
const config: AimdConfig = { ...DEFAULT_AIMD, ceiling: 64, initialWindow: 8, startGrowth: 1 };
const ok = (state: AimdState, now: number, sentAt: number, limited = true) =>
  onSuccess(config, state, { now, sentAt, limited });
const throttled = (state: AimdState, now: number, sentAt: number) =>
  onThrottle(config, state, { now, sentAt, limited: true });

/** A state in the paced phase: `rate` req/s, known rate `known`, srtt 40 ms, last decision at `at`, the last 20 answers accepted. */
function paced(rate: number, known: number, at = 0, firm = true): AimdState {
  return {
    phase: { kind: 'paced', rate, known, firm, probing: null },
    srttMs: 40,
    decidedAt: at,
    accepted: 0,
    recent: { bits: 0, count: RECENT_ANSWERS },
    decreases: 1,
  };
}
/** The same with `throttled` of the last 20 answers throttled. */
const withRecent = (s: AimdState, throttled: number): AimdState => ({
  ...s,
  recent: { bits: 2 ** throttled - 1, count: RECENT_ANSWERS },
});

describe('AIMD arithmetic', () => {
  it('starts unpaced at min(initial window, ceiling) and grows one per success of a request that waited', () => {
    expect(initialAimd({ ...config, ceiling: 4 }).phase).toEqual({ kind: 'start', window: 4 });
    let s = onSend(initialAimd(config), 1000);
    expect(s.decidedAt).toBe(1000);
    expect(onSend(s, 2000).decidedAt).toBe(1000); // the first send starts the measurement
    expect(concurrencyLimit(config, s)).toBe(8);
    expect(pacedRate(s)).toBeNull();
    s = ok(s, 1040, 1000);
    expect(s.phase).toEqual({ kind: 'start', window: 9 });
    expect(s.srttMs).toBe(40);
    s = ok(s, 1050, 1010, false); // nobody waited: no evidence that more was wanted
    expect(s.phase).toEqual({ kind: 'start', window: 9 });
    expect(s.accepted).toBe(2);
  });

  it('by default starts at 16 in flight and grows half a request per success (1.5× per round trip)', () => {
    const d: AimdConfig = { ...DEFAULT_AIMD, ceiling: 64 };
    let s = onSend(initialAimd(d), 0);
    expect(concurrencyLimit(d, s)).toBe(16);
    s = onSuccess(d, s, { now: 40, sentAt: 0, limited: true });
    expect(concurrencyLimit(d, s)).toBe(16); // 16.5
    s = onSuccess(d, s, { now: 41, sentAt: 1, limited: true });
    expect(concurrencyLimit(d, s)).toBe(17);
    expect(concurrencyLimit({ ...d, ceiling: 8 }, initialAimd({ ...d, ceiling: 8 }))).toBe(8);
  });

  it('never grows the window beyond the ceiling', () => {
    let s = onSend(initialAimd({ ...config, ceiling: 10 }), 0);
    for (let i = 0; i < 20; i++)
      s = onSuccess({ ...config, ceiling: 10 }, s, { now: 40 + i, sentAt: i, limited: true });
    expect(concurrencyLimit({ ...config, ceiling: 10 }, s)).toBe(10);
  });

  it('smooths the RTT with RFC 6298 weights (1/8)', () => {
    let s = ok(onSend(initialAimd(config), 0), 40, 0);
    s = ok(s, 200, 120); // sample 80 ms
    expect(s.srttMs).toBe(45);
  });

  it('the first throttle paces at β × the accepted rate, clamped to [half, all] of the current rate', () => {
    // 8 in flight at 40 ms = 200 req/s; the API accepted 30 requests in the first second: 30 req/s.
    let s = onSend(initialAimd(config), 0);
    s = { ...ok(s, 40, 0), accepted: 30 };
    const cut = throttled(s, 1000, 960);
    // 30 req/s is below half of 9/40 ms = 225 req/s, so the cut stops at half: 112.5 × 0.9.
    expect(cut.phase).toEqual({ kind: 'paced', rate: 0.9 * 112.5, known: 112.5, firm: true, probing: null }); // measured over 1 s
    expect(cut.decidedAt).toBe(1000);
    expect(cut.accepted).toBe(0);
    expect(cut.decreases).toBe(1);
    // Accepted 150 req/s out of 225: known 150, paced at 135.
    const measured = throttled({ ...s, accepted: 150 }, 1000, 960);
    expect(measured.phase).toEqual({ kind: 'paced', rate: 135, known: 150, firm: true, probing: null });
    // Measured over 200 ms, the known rate is not firm (the burst allowance may inflate it).
    expect(throttled({ ...s, accepted: 30 }, 200, 160).phase).toEqual({
      kind: 'paced',
      rate: 135,
      known: 150,
      firm: false,
      probing: null,
    });
  });

  it('cuts deeper than half only when most of the last 10+ answers were throttled', () => {
    // 16 in flight at 40 ms = 400 req/s; nothing accepted yet.
    const s: AimdState = { ...onSend(initialAimd({ ...config, initialWindow: 16 }), 0), srttMs: 40 };
    expect(pacedRate(throttled(s, 40, 0))).toBe(0.9 * 200); // one answer, a throttle: half
    const most = { ...s, accepted: 5, recent: { bits: 0b1111111111 << 2, count: 12 } }; // 10 of 12 throttled (11 of 13 with this one)
    expect(pacedRate(throttled(most, 1000, 960))).toBe(0.9 * 400 * (2 / 13)); // the accepted share of them (5 req/s accepted is lower)
    expect(pacedRate(throttled({ ...most, accepted: 4 }, 1000, 960))).toBe(0.9 * 200); // too few accepted to trust: half
    const all = { ...s, accepted: 5, recent: { bits: 2 ** 20 - 1, count: 20 } };
    expect(pacedRate(throttled(all, 1000, 960))).toBe((0.9 * 400) / 8); // never below an eighth
  });

  it('idle time does not count in the accepted rate', () => {
    // 150 accepted over 1 s of work, with 9 s of idle time (a confirmation prompt) in between.
    const s = { ...onIdle(onSend(initialAimd(config), 0), 9000), srttMs: 40, accepted: 150 };
    expect(s.decidedAt).toBe(9000);
    expect(onIdle(initialAimd(config), 500).decidedAt).toBeNull();
    expect(throttled(s, 10_000, 9960).phase).toMatchObject({ known: 150 });
  });

  it('cuts at most once per round trip: a throttle of a request sent before the last cut changes nothing but the RTT', () => {
    const s = withRecent(paced(90, 100, 5000), 5);
    const again = throttled(s, 5030, 4990);
    expect(again.phase).toEqual(s.phase);
    expect(again.decreases).toBe(1);
    expect(recentShare(again)).toBe(6 / 20);
    const later = throttled({ ...s, accepted: 50 }, 5500, 5010); // sent after the cut: 100 req/s accepted over 0.5 s
    expect(later.decreases).toBe(2);
    expect(later.phase).toEqual({ kind: 'paced', rate: 81, known: 90, firm: false, probing: null });
  });

  it('a heavy throttle (a quarter of the last answers) measures the known rate; a light one does not', () => {
    // 30 req/s accepted over the last second while pacing at 100: the limit dropped.
    const heavy = throttled(withRecent({ ...paced(100, 100), accepted: 30 }, 4), 1000, 960); // 5 of 20
    expect(heavy.phase).toEqual({ kind: 'paced', rate: 45, known: 50, firm: true, probing: null }); // clamped at half the current rate
    // One throttle among many successes, while probing above the known rate: the known rate stays.
    const light = throttled({ ...paced(104, 100), accepted: 95 }, 1000, 960);
    expect(light.phase).toEqual({ kind: 'paced', rate: 90, known: 100, firm: true, probing: null });
    // ...or rises to what was accepted, if that was more.
    const raised = throttled({ ...paced(130, 100), accepted: 125 }, 1000, 960);
    expect(raised.phase).toEqual({ kind: 'paced', rate: 112.5, known: 125, firm: true, probing: null });
    // A known rate that is not firm is measured again, even by a light throttle: 95 req/s accepted.
    const tentative = throttled({ ...paced(106, 106, 0, false), accepted: 95 }, 1000, 960);
    expect(tentative.phase).toEqual({ kind: 'paced', rate: 85.5, known: 95, firm: true, probing: null });
  });

  it('ignores a light throttle while climbing back to the known rate: scattered busy answers do not ratchet the rate down', () => {
    const s = { ...paced(95, 100), accepted: 90 };
    const noise = throttled(s, 1000, 960);
    expect(noise.phase).toEqual(s.phase);
    expect(noise.decreases).toBe(1);
    // 5% of answers throttled at random, whatever the rate: the rate settles between 0.9 and ~1.0 × known.
    let t: AimdState = paced(90, 100);
    let now = 0;
    for (let i = 0; i < 20_000; i++) {
      now += 1000 / pacedRate(t)!;
      t = i % 20 === 19 ? throttled(t, now, now - 40) : ok(t, now, now - 40);
    }
    expect(pacedRate(t)!).toBeGreaterThan(85);
    expect((t.phase as { known: number }).known).toBeGreaterThanOrEqual(100);
  });

  it('never paces below minRate', () => {
    const s = throttled(paced(0.2, 0.2), 10_000, 5000);
    expect(pacedRate(s)).toBe(config.minRate);
  });

  it('climbs fast back to the known rate, then slowly beyond it, faster the longer it goes (per second of successes)', () => {
    const below = paced(90, 100);
    expect(slope(config, below.phase as never, 0)).toBeCloseTo(10); // (1 - 0.9) × 100 per second: back in 1 s
    const above = paced(100, 100);
    expect(slope(config, above.phase as never, 0)).toBeCloseTo(3); // γ × 100
    expect(slope(config, paced(200, 100).phase as never, 0)).toBeCloseTo(6); // γ × the rate: it compounds
    const probing = { ...(paced(100, 100).phase as object), probing: { since: 1000 } };
    expect(slope(config, probing as never, 3000)).toBeCloseTo(12); // two seconds beyond: × 4
    // Reaching the known rate starts the probe clock; a cut stops it.
    const reached = ok(paced(100, 100), 5000, 4960);
    expect(reached.phase).toMatchObject({ probing: { since: 5000 } });
    expect(throttled(withRecent(reached, 5), 5100, 5050).phase).toMatchObject({ probing: null });
    // 90 successes in a second of pacing at ~90 req/s add ~10 req/s.
    let s = below;
    for (let i = 0; i < 90; i++) s = ok(s, 1000 + i, 960 + i);
    expect(pacedRate(s)!).toBeGreaterThan(99);
    expect(pacedRate(s)!).toBeLessThan(101);
    // A request that did not wait is no evidence: the rate holds.
    expect(pacedRate(ok(below, 100, 60, false))).toBe(90);
  });

  it('derives concurrency from rate × smoothed RTT × headroom, within 1..ceiling', () => {
    expect(concurrencyLimit(config, paced(100, 100))).toBe(8); // 100/s × 40 ms × 2
    expect(concurrencyLimit(config, paced(0.5, 1))).toBe(1);
    expect(concurrencyLimit(config, paced(10_000, 10_000))).toBe(64);
    expect(currentRate(paced(42, 50))).toBe(42);
  });
});

describe('pacer', () => {
  it('holds a tenth of a second of sends (at least 2) and says how long until the next', () => {
    expect(pacerBurst(100)).toBe(10);
    expect(pacerBurst(5)).toBe(2);
    let b = newBucket(0);
    const first = take(b, 10, 0);
    expect(first.ok).toBe(true);
    b = first.bucket;
    const second = take(b, 10, 0);
    expect(second).toMatchObject({ ok: false, waitMs: 100 });
    const later = take(second.bucket, 10, 100);
    expect(later.ok).toBe(true);
  });

  it('keeps what accrued while a timer was late, up to its capacity', () => {
    const idle = take(newBucket(0), 100, 5000).bucket; // a long idle fills it to 10, one taken
    expect(idle.tokens).toBeCloseTo(9);
    const back = take({ tokens: 0, at: 0 }, 100, -50); // a clock that goes back adds nothing
    expect(back).toMatchObject({ ok: false, waitMs: 10 });
  });
});

describe('Retry-After', () => {
  const now = Date.parse('2026-11-26T10:00:00Z');

  it('reads delay-seconds and HTTP-dates', () => {
    expect(parseRetryAfter('3', now)).toBe(3000);
    expect(parseRetryAfter(' 0 ', now)).toBe(0);
    expect(parseRetryAfter('Thu, 26 Nov 2026 10:00:05 GMT', now)).toBe(5000);
    expect(parseRetryAfter('Thu, 26 Nov 2026 09:59:00 GMT', now)).toBe(0); // in the past: at once
  });

  it('ignores what it cannot read', () => {
    for (const v of [undefined, '', '-1', '1.5', 'soon', '2026-11-26', 'Thu, 99 Nov 2026 10:00:05 GMT'])
      expect(parseRetryAfter(v, now)).toBeNull();
    for (const v of [undefined, '', '-3', 'x', '1e3']) expect(parseRetryAfterMs(v)).toBeNull();
    expect(parseRetryAfterMs('12')).toBe(12);
    expect(parseRetryAfterMs('12.5')).toBe(12.5);
  });

  it('prefers the exact Retry-After-Ms, and caps any wait', () => {
    expect(retryAfterFromHeaders({ retryAfter: '1', retryAfterMs: '12' }, now)).toBe(12);
    expect(retryAfterFromHeaders({ retryAfter: '1', retryAfterMs: 'bad' }, now)).toBe(1000);
    expect(retryAfterFromHeaders({}, now)).toBeNull();
    expect(retryAfterFromHeaders({ retryAfter: '3600' }, now)).toBe(MAX_RETRY_AFTER_MS);
  });
});

/** A controller on a hand-driven clock: timers fire only when `advance` passes them. */
function harness(options: Partial<ConstructorParameters<typeof RateController>[0]> = {}) {
  let clock = 0;
  let timers: Array<{ at: number; fn: () => void }> = [];
  const controller = new RateController({
    mode: 'adaptive',
    ceiling: 64,
    rateLimit: null,
    now: () => clock,
    schedule: (ms, fn) => {
      const t = { at: clock + ms, fn };
      timers.push(t);
      return () => (timers = timers.filter((x) => x !== t));
    },
    ...options,
  });
  const granted: Permit[] = [];
  const request = () => void controller.acquire().then((p) => granted.push(p));
  const flush = () => new Promise((r) => setImmediate(r));
  async function advance(ms: number) {
    const until = clock + ms;
    for (;;) {
      const due = timers
        .filter((t) => t.at <= until)
        .sort((a, b) => a.at - b.at)
        .at(0);
      if (!due) break;
      timers = timers.filter((t) => t !== due);
      clock = due.at;
      due.fn();
      await flush();
    }
    clock = until;
    await flush();
  }
  return { controller, granted, request, flush, advance, at: () => clock };
}

describe('RateController', () => {
  it('admits up to the start window, then more as answers come back while others wait', async () => {
    const h = harness();
    for (let i = 0; i < 20; i++) h.request();
    await h.flush();
    expect(h.granted).toHaveLength(16);
    await h.advance(40);
    h.granted[0].settle({ kind: 'accepted' }); // others are waiting: the window grows to 16.5
    h.granted[1].settle({ kind: 'accepted' }); // ...and to 17
    await h.flush();
    expect(h.granted).toHaveLength(19);
    expect(h.controller.snapshot()).toMatchObject({
      concurrency: 17,
      inFlight: 17,
      sent: 19,
      throttled: 0,
      pacedAt: null,
    });
  });

  it('reports a bounded rate at the start: three requests in the first millisecond are not thousands per second', async () => {
    const h = harness();
    for (let i = 0; i < 3; i++) h.request();
    await h.flush();
    await h.advance(1);
    expect(h.controller.snapshot().rate).toBeGreaterThan(0);
    expect(h.controller.snapshot().rate).toBeLessThan(3 / 0.25 + 2); // at most ~3 requests per 250 ms
  });

  it('fixed mode keeps parallelism in flight whatever the answers', async () => {
    const h = harness({ mode: 'fixed', ceiling: 4 });
    for (let i = 0; i < 6; i++) h.request();
    await h.flush();
    expect(h.granted).toHaveLength(4);
    h.granted[0].settle({ kind: 'throttled', retryAfterMs: 5000 });
    await h.flush();
    expect(h.granted).toHaveLength(5); // no pause, no cut: a throttled call waits on its own
    expect(h.controller.snapshot()).toMatchObject({ concurrency: 4, throttled: 1, decreases: 0 });
  });

  it('a throttle that cuts the rate paces the rest, and its Retry-After holds every new send until then', async () => {
    const h = harness({ tuning: { initialWindow: 8 } });
    for (let i = 0; i < 8; i++) h.request();
    await h.flush();
    await h.advance(50);
    for (let i = 0; i < 3; i++) h.request();
    h.granted[0].settle({ kind: 'throttled', retryAfterMs: 200 });
    await h.flush();
    expect(h.granted).toHaveLength(8); // paused, though the window has room
    const snap = h.controller.snapshot();
    expect(snap.decreases).toBe(1);
    expect(snap.pacedAt).not.toBeNull();
    await h.advance(199);
    expect(h.granted).toHaveLength(8);
    await h.advance(1);
    expect(h.granted.length).toBeGreaterThan(8); // the pause is over; the pacer spaces the rest
    expect(describeRate(h.controller.snapshot())).toMatch(
      /^\d+\.\d req\/s \(paced at \d+\.\d\), concurrency \d+\/64, 1 throttled$/,
    );
  });

  it('a throttle that changes nothing (sent before the last cut) delays only its own retry', async () => {
    const h = harness();
    for (let i = 0; i < 8; i++) h.request();
    await h.flush();
    await h.advance(50);
    h.granted[0].settle({ kind: 'throttled', retryAfterMs: 1000 }); // cuts, pauses 1 s
    await h.advance(1000);
    h.request();
    h.granted[1].settle({ kind: 'throttled', retryAfterMs: 1000 }); // sent before the cut
    await h.flush();
    expect(h.controller.snapshot()).toMatchObject({ decreases: 1, throttled: 2 });
    expect(h.granted).toHaveLength(9); // not paused again
  });

  it('rateLimit caps the rate in both modes', async () => {
    for (const mode of ['adaptive', 'fixed'] as const) {
      const h = harness({ mode, rateLimit: 10 });
      for (let i = 0; i < 5; i++) h.request();
      await h.flush();
      expect(h.granted).toHaveLength(1); // a new pacer holds one send
      await h.advance(100);
      expect(h.granted).toHaveLength(2);
      await h.advance(300);
      expect(h.granted).toHaveLength(5);
      expect(h.controller.snapshot().pacedAt).toBe(10);
    }
  });

  it('a permit settles once', async () => {
    const h = harness({ ceiling: 1 });
    h.request();
    h.request();
    await h.flush();
    h.granted[0].settle({ kind: 'failed' });
    h.granted[0].settle({ kind: 'failed' });
    await h.flush();
    expect(h.controller.snapshot()).toMatchObject({ inFlight: 1, sent: 2 });
  });
});
