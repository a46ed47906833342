import { describe, it, expect, beforeEach, afterEach, vi } from 'vitest';
import { PassThrough } from 'node:stream';
import { startSimulator, runSimCli, type Simulator } from '../../src/sim/index.js';
import { TokenBuckets, defaultBurst, retryAfterSeconds } from '../../src/sim/throttle.js';
import { main } from '../../src/cli.js';
import { call, seedCopy, type ControlReply } from './helpers.js';

describe('TokenBuckets (injected clock)', () => {
  let t: number;
  let tb: TokenBuckets;
  beforeEach(() => {
    t = 1_000_000;
    tb = new TokenBuckets(() => t);
  });

  it('off by default: everything passes', () => {
    for (let i = 0; i < 100; i++) expect(tb.take('a')).toEqual({ ok: true });
    expect(tb.enabled).toBe(false);
  });

  it('starts full, spends one token per request, refills continuously at rate/s', () => {
    tb.configure(10, 2);
    expect(tb.take('a')).toEqual({ ok: true });
    expect(tb.take('a')).toEqual({ ok: true });
    expect(tb.take('a')).toEqual({ ok: false, retryAfterMs: 100 });
    t += 40;
    expect(tb.take('a')).toEqual({ ok: false, retryAfterMs: 60 });
    t += 59;
    expect(tb.take('a')).toEqual({ ok: false, retryAfterMs: 1 });
    t += 1;
    expect(tb.take('a')).toEqual({ ok: true });
    expect(tb.take('a')).toEqual({ ok: false, retryAfterMs: 100 });
  });

  it('retrying after exactly retryAfterMs passes, also when the period is not a whole ms', () => {
    tb.configure(3, 1);
    expect(tb.take('a').ok).toBe(true);
    const r = tb.take('a');
    expect(r).toEqual({ ok: false, retryAfterMs: 334 });
    t += 334;
    expect(tb.take('a').ok).toBe(true);
    for (let i = 0; i < 50; i++) {
      const next = tb.take('a');
      expect(next.ok).toBe(false);
      t += (next as { retryAfterMs: number }).retryAfterMs;
      expect(tb.take('a').ok, `round ${i}`).toBe(true);
    }
  });

  it('never holds more than burst; one bucket per account', () => {
    tb.configure(100, 3);
    t += 60_000;
    expect(tb.tokens('a')).toBe(3);
    for (let i = 0; i < 3; i++) expect(tb.take('a').ok).toBe(true);
    expect(tb.take('a').ok).toBe(false);
    expect(tb.take('b').ok).toBe(true);
    expect(tb.tokens('b')).toBe(2);
  });

  it('a change takes effect at once: refilled at the old rate up to now, then capped at the new burst', () => {
    tb.configure(10, 2);
    tb.take('a');
    tb.take('a');
    t += 50; // +0.5 token at the old rate
    tb.configure(100, 5);
    expect(tb.tokens('a')).toBeCloseTo(0.5, 9);
    t += 5; // +0.5 at the new rate
    expect(tb.take('a').ok).toBe(true);
    t += 1000;
    expect(tb.tokens('a')).toBe(5);
    tb.configure(100, 2);
    expect(tb.tokens('a')).toBe(2);
  });

  it('turning it off forgets the buckets; on again starts full; a clock going back adds nothing', () => {
    tb.configure(1, 1);
    tb.take('a');
    expect(tb.take('a').ok).toBe(false);
    tb.configure(0, 1);
    expect(tb.take('a').ok).toBe(true);
    tb.configure(1, 1);
    expect(tb.take('a').ok).toBe(true);
    t -= 10_000;
    expect(tb.take('a')).toEqual({ ok: false, retryAfterMs: 1000 });
  });

  it('defaults and header rounding', () => {
    expect([0.5, 1, 10, 11, 30, 1000].map(defaultBurst)).toEqual([1, 1, 1, 2, 3, 100]);
    expect([1, 999, 1000, 1001, 2500].map(retryAfterSeconds)).toEqual([1, 1, 1, 2, 3]);
  });
});

describe('rate limiting over HTTP', () => {
  let clock: number;
  let sim: Simulator;
  beforeEach(async () => {
    clock = Date.now();
    sim = await startSimulator({ seed: seedCopy(), now: () => clock, rateLimit: 10, burst: 2 });
  });
  afterEach(async () => {
    await sim.close();
  });
  const ping = () => call(sim, 'ping', { data: 'x' });
  const start = () => call(sim, 'mgrTaskStatus', { productID: 'callbot', userTaskID: 'task-a', taskOperate: 1 });
  const faults = async (body: unknown) => {
    const r = await fetch(`${sim.url}/__sim/faults`, { method: 'POST', body: JSON.stringify(body) });
    return { status: r.status, json: (await r.json()) as ControlReply };
  };

  it('http429 (default): 429 with Retry-After (whole seconds) and Retry-After-Ms; counted; nothing applied', async () => {
    expect((await ping()).json?.code).toBe(0);
    expect((await ping()).json?.code).toBe(0);
    const r = await start();
    expect(r.status).toBe(429);
    expect(r.headers.get('retry-after')).toBe('1');
    expect(r.headers.get('retry-after-ms')).toBe('100');
    expect(r.headers.get('requestID')).toBe(r.requestID);
    expect(r.json).toEqual({ error: 'rate limit exceeded (10 requests/s per account, burst 2)', retryAfterMs: 100 });
    expect(sim.tasks.get('task-a')!.taskStatus).toBe(1);
    expect(sim.history('task-a').calls).toEqual([
      {
        seq: 1,
        at: clock,
        userTaskID: 'task-a',
        endpoint: 'mgrTaskStatus',
        requestID: r.requestID,
        taskOperate: 1,
        retCode: null,
        applied: false,
        throttled: true,
      },
    ]);
    expect(sim.stats()).toMatchObject({
      requests: 3,
      throttled: 1,
      throttledByEndpoint: { ping: 0, mgrTaskStatus: 1 },
      faults: { http500: 0 },
    });
    clock += 100;
    expect((await start()).json).toMatchObject({ retCode: 0, taskStatus: 2 });
  });

  it('retcode7: a signed HTTP 200 retCode 7; nothing applied', async () => {
    sim.setFaults({ throttleStyle: 'retcode7' });
    await ping();
    await ping();
    const r = await start();
    expect(r.status).toBe(200);
    expect(r.verified).toBe(true);
    expect(r.json).toMatchObject({
      retCode: 7,
      retMsg: 'system busy: rate limit exceeded (10 requests/s per account, burst 2); retry after 100 ms',
    });
    expect(r.headers.get('retry-after')).toBeNull();
    expect(sim.tasks.get('task-a')!.taskStatus).toBe(1);
    expect(sim.history('task-a').calls[0]).toMatchObject({ retCode: 7, applied: false, throttled: true });
    const p = await ping();
    expect(p.json).toMatchObject({ retCode: 7, code: 7 });
    expect(sim.stats()).toMatchObject({ throttled: 2, throttledByEndpoint: { ping: 1, mgrTaskStatus: 1 } });
  });

  it('mixed: both replies, the sequence fixed by the fault seed', async () => {
    const styles = async (s: Simulator): Promise<string> => {
      let out = '';
      for (let i = 0; i < 16; i++) {
        const r = await call(s, 'ping', { data: String(i) });
        out += r.status === 429 ? 'H' : r.json?.retCode === 7 ? 'R' : '.';
      }
      return out;
    };
    sim.setFaults({ throttleStyle: 'mixed', faultSeed: 42, rateLimit: 0.001, burst: 1 });
    const a = await styles(sim);
    sim.setFaults({ faultSeed: 42, rateLimit: null });
    sim.setFaults({ rateLimit: 0.001 }); // buckets forgotten: full again
    const b = await styles(sim);
    expect(a).toBe(b);
    expect(a[0]).toBe('.');
    expect(a.slice(1)).toMatch(/^[HR]+$/);
    expect(a).toContain('H');
    expect(a).toContain('R');
  });

  it('run-time changes through POST /__sim/faults take effect at once; 0 and null turn it off', async () => {
    expect((await faults({})).json).toMatchObject({ rateLimit: 10, burst: 2, throttleStyle: 'http429' });
    await ping();
    await ping();
    expect((await ping()).status).toBe(429);
    const off = await faults({ rateLimit: 0 });
    expect(off.json).toMatchObject({ rateLimit: null, burst: 2 });
    for (let i = 0; i < 5; i++) expect((await ping()).status).toBe(200);
    const on = await faults({ rateLimit: 30, burst: null });
    expect(on.json).toMatchObject({ rateLimit: 30, burst: 3 });
    for (let i = 0; i < 3; i++) expect((await ping()).status).toBe(200);
    const r = await ping();
    expect(r.headers.get('retry-after-ms')).toBe('34');
    expect((await faults({ rateLimit: null })).json).toMatchObject({ rateLimit: null, burst: null });
    expect((await ping()).status).toBe(200);
  });

  it('bad values: 400 with a clear message, nothing changed', async () => {
    const cases: Array<[unknown, RegExp]> = [
      [
        { rateLimit: -1 },
        /^rateLimit must be a number of requests per second from 0 to 1000000, 0 or null = off \(got -1\)$/,
      ],
      [{ rateLimit: '10' }, /rateLimit must be a number .*\(got "10"\)/],
      [
        { rateLimit: 5, burst: 0 },
        /^burst must be a whole number from 1 to 1000000, or null for the default \(got 0\)$/,
      ],
      [{ burst: 1.5 }, /burst must be a whole number/],
      [{ throttleStyle: 'http503' }, /^throttleStyle must be one of http429, retcode7, mixed \(got "http503"\)$/],
      [{ ratelimit: 5 }, /^unknown field ratelimit; known fields: .*rateLimit, burst, throttleStyle/],
    ];
    for (const [body, msg] of cases) {
      const r = await faults(body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.json.error, JSON.stringify(body)).toMatch(msg);
    }
    expect((await faults({})).json).toMatchObject({ rateLimit: 10, burst: 2, throttleStyle: 'http429' });
    expect(() => sim.setFaults({ rateLimit: Number.NaN })).toThrow(/\(got NaN\)/);
  });

  it('Retry-After rounds up to whole seconds', async () => {
    sim.setFaults({ rateLimit: 0.4, burst: 1 });
    await ping();
    const r = await ping();
    expect(r.headers.get('retry-after-ms')).toBe('2500');
    expect(r.headers.get('retry-after')).toBe('3');
  });

  it('control endpoints are not limited; failed auth spends no token', async () => {
    for (let i = 0; i < 10; i++) expect((await fetch(`${sim.url}/__sim/stats`)).status).toBe(200);
    for (let i = 0; i < 5; i++)
      expect((await call(sim, 'ping', { data: 'x' }, { secret: 'wrong' })).json?.retCode).toBe(6);
    expect((await ping()).status).toBe(200);
    expect((await ping()).status).toBe(200);
    expect((await ping()).status).toBe(429);
    expect(sim.stats()).toMatchObject({ authFailures: 5, throttled: 1, requests: 8 });
  });

  it('throttling comes before fault injection: a throttled request draws no fault', async () => {
    sim.setFaults({ faultRate: 1, faultKinds: ['http500'] });
    expect((await ping()).status).toBe(500);
    expect((await ping()).status).toBe(500);
    expect((await ping()).status).toBe(429);
    expect(sim.stats().faults.http500).toBe(2);
  });
});

describe('CLI options', () => {
  const cli = async (...args: string[]) => {
    const out = new PassThrough();
    const err = new PassThrough();
    let stderr = '';
    err.on('data', (c) => (stderr += String(c)));
    out.resume();
    const code = await main(['sim', '--port', '0', ...args], {
      stdout: out,
      stderr: err,
      stdin: new PassThrough(),
      env: {},
      cwd: process.cwd(),
    });
    return { code, stderr };
  };

  it.each([
    [['--rate-limit', 'abc'], /--rate-limit must be a number from 0 to 1000000/],
    [['--rate-limit', '-1'], /--rate-limit must be a number/],
    [['--burst', '0'], /--burst must be a whole number from 1 to 1000000/],
    [['--throttle-style', 'slow'], /argument 'slow' is invalid\. Allowed choices are http429, retcode7, mixed/],
    [['--pause-delay-ms', '-5'], /--pause-delay-ms must be a whole number ≥ 0/],
  ])('%j -> exit 1 with a clear error', async (args, msg) => {
    const r = await cli(...args);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(msg);
  });

  it('runSimCli passes the new options through (and rejects bad ones)', async () => {
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    let s: Simulator | undefined;
    try {
      s = await runSimCli({ port: 0, rateLimit: 5, burst: 4, throttleStyle: 'mixed', pauseDelayMs: 20 });
    } finally {
      spy.mockRestore();
    }
    try {
      const view = await (await fetch(`${s.url}/__sim/faults`)).json();
      expect(view).toMatchObject({ rateLimit: 5, burst: 4, throttleStyle: 'mixed', pauseDelayMs: 20 });
    } finally {
      await s.close();
    }
    await expect(runSimCli({ port: 0, throttleStyle: 'nope' })).rejects.toThrow(/throttleStyle must be one of/);
    await expect(runSimCli({ port: 0, rateLimit: Number('x') })).rejects.toThrow(/rateLimit must be .*\(got NaN\)/);
  });
});
