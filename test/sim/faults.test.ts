import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import { Agent, request } from 'node:http';
import { startSimulator, mulberry32, type Simulator, type FaultKind } from '../../src/sim/index.js';
import { call, seedCopy, verifyResponse } from './helpers.js';

let sim: Simulator;
beforeEach(async () => {
  sim = await startSimulator({ seed: seedCopy(), timeoutFaultMs: 200 });
});
afterEach(async () => {
  await sim.close();
});

const start = (id = 'task-a') => call(sim, 'mgrTaskStatus', { productID: 'callbot', userTaskID: id, taskOperate: 1 });
const only = (kind: FaultKind) => sim.setFaults({ faultRate: 1, faultKinds: [kind] });

describe('fault injection', () => {
  it('http500 and http503: that status, small JSON body, change not applied', async () => {
    for (const [kind, status] of [
      ['http500', 500],
      ['http503', 503],
    ] as const) {
      only(kind);
      const r = await start();
      expect(r.status).toBe(status);
      expect(r.json?.fault).toBe(kind);
      expect(sim.tasks.get('task-a')!.taskStatus).toBe(1);
      expect(sim.stats().faults[kind]).toBe(1);
    }
  });

  it('reset: connection destroyed without a response, change not applied', async () => {
    only('reset');
    await expect(start()).rejects.toThrow();
    expect(sim.tasks.get('task-a')!.taskStatus).toBe(1);
    expect(sim.stats().faults.reset).toBe(1);
  });

  it('timeout: held for timeoutFaultMs then destroyed, change not applied', async () => {
    only('timeout');
    const t0 = Date.now();
    // The client's own timeout is only a watchdog: the simulator must end the request itself
    // (a connection error), not leave it for the client to abort (a TimeoutError).
    const err: unknown = await call(
      sim,
      'mgrTaskStatus',
      { productID: 'callbot', userTaskID: 'task-a', taskOperate: 1 },
      { signal: AbortSignal.timeout(20_000) },
    ).then(
      () => new Error('the request was answered'),
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(TypeError); // fetch failed: the socket was destroyed
    expect(String((err as Error).cause)).toMatch(/closed|reset|hang up/i);
    expect(Date.now() - t0, 'held for timeoutFaultMs (200 ms) first').toBeGreaterThanOrEqual(180);
    expect(sim.tasks.get('task-a')!.taskStatus).toBe(1);
    expect(sim.stats().faults.timeout).toBe(1);
  });

  it('timeout: a client timeout shorter than the hold aborts first; close() does not wait for the hold', async () => {
    // Held for an hour: only the client's abort can end the request, and a close() that waited
    // for the held timer would outlast the test's timeout.
    const s2 = await startSimulator({
      seed: seedCopy(),
      timeoutFaultMs: 3_600_000,
      faultRate: 1,
      faultKinds: ['timeout'],
    });
    try {
      await expect(call(s2, 'ping', { data: 'x' }, { signal: AbortSignal.timeout(150) })).rejects.toMatchObject({
        name: 'TimeoutError',
      });
      expect(s2.stats().faults.timeout).toBe(1);
    } finally {
      await s2.close();
    }
  });

  it('retcode: signed HTTP 200 retCode 7, change not applied', async () => {
    only('retcode');
    const r = await start();
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ retCode: 7, retMsg: 'system busy (injected fault)' });
    expect(r.verified).toBe(true);
    expect(sim.tasks.get('task-a')!.taskStatus).toBe(1);
  });

  it('badsign: the change IS applied but the response signature is wrong', async () => {
    only('badsign');
    const r = await start();
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ retCode: 0, taskStatus: 2 });
    expect(r.headers.get('sign')).toMatch(/^[0-9A-F]{32}$/);
    expect(r.verified).toBe(false);
    expect(sim.tasks.get('task-a')!.taskStatus).toBe(2);
    const u = await call(sim, 'updateTask', {
      productID: 'callbot',
      userTaskID: 'task-c',
      sceneID: 'scene-1',
      taskCreateSetting: { maxCall: 3 },
    });
    expect(u.verified).toBe(false);
    expect(sim.tasks.get('task-c')!.taskCreateSetting.maxCall).toBe(3);
    expect(sim.stats()).toMatchObject({ updates: 1, faults: { badsign: 2 } });
  });

  it('faults are decided only after auth passes', async () => {
    only('http500');
    const r = await call(sim, 'ping', { data: 'x' }, { secret: 'wrong' });
    expect(r.status).toBe(200);
    expect(r.json?.retCode).toBe(6);
    expect(sim.stats().faults.http500).toBe(0);
  });

  it('seeded PRNG makes fault sequences reproducible; rate 0 disables', async () => {
    const run = async (s: Simulator): Promise<number[]> => {
      const out: number[] = [];
      for (let i = 0; i < 12; i++) out.push((await call(s, 'ping', { data: String(i) })).status);
      return out;
    };
    sim.setFaults({ faultRate: 0.5, faultKinds: ['http500', 'http503'], faultSeed: 7 });
    const a = await run(sim);
    sim.setFaults({ faultSeed: 7 });
    const b = await run(sim);
    expect(a).toEqual(b);
    expect(a.some((s) => s === 200)).toBe(true);
    expect(a.some((s) => s !== 200)).toBe(true);
    sim.setFaults({ faultRate: 0 });
    expect((await run(sim)).every((s) => s === 200)).toBe(true);
    const r1 = mulberry32(1);
    const r2 = mulberry32(1);
    expect([r1(), r1(), r1()]).toEqual([r2(), r2(), r2()]);
  });

  it('setFaults validates its input', () => {
    expect(() => sim.setFaults({ faultRate: 2 })).toThrow(/faultRate/);
    expect(() => sim.setFaults({ faultKinds: ['boom' as FaultKind] })).toThrow(/unknown fault kind/);
    expect(() => sim.setFaults({ latencyMs: -1 })).toThrow(/latencyMs/);
  });

  it('latencyMs delays API responses', async () => {
    sim.setFaults({ latencyMs: 120 });
    const t0 = Date.now();
    const r = await call(sim, 'ping', { data: 'slow' });
    expect(r.json?.code).toBe(0);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(110);
    sim.setFaults({ latencyMs: 0 });
  });
});

describe('close()', () => {
  it('returns promptly with an open keep-alive connection', async () => {
    const s2 = await startSimulator();
    const agent = new Agent({ keepAlive: true, keepAliveMsecs: 60_000 });
    const u = new URL(s2.url);
    await new Promise<void>((resolve, reject) => {
      const req = request({ host: u.hostname, port: u.port, path: '/__sim/stats', agent }, (res) => {
        res.resume();
        res.on('end', () => resolve());
      });
      req.on('error', reject);
      req.end();
    });
    // the socket is now idle in the agent's pool, still connected
    const idle = Object.values(agent.freeSockets).flat();
    expect(idle).toHaveLength(1);
    const socketClosed = new Promise<void>((resolve) => idle[0]!.once('close', () => resolve()));
    // The server keeps idle keep-alive sockets for 65 s (KEEP_ALIVE_TIMEOUT_MS), longer than this
    // test's timeout: close() resolving at all, and the idle socket closed, show it did not wait.
    await s2.close();
    await socketClosed;
    await s2.close(); // idempotent
    agent.destroy();
  });

  it('a response verified helper rejects tampered bodies', async () => {
    const r = await call(sim, 'ping', { data: 'x' });
    expect(verifyResponse(sim, r.headers, r.text.replace('x', 'y'))).toBe(false);
  });
});
