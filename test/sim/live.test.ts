import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import { startSimulator, type Simulator, type SimLogEntry, type FaultKind } from '../../src/sim/index.js';
import { Journal } from '../../src/sim/journal.js';
import { TaskTransitions, type TimerHost } from '../../src/sim/transitions.js';
import type { SimTask } from '../../src/sim/seed.js';
import { call, seedCopy, type ControlReply } from './helpers.js';

// An injected clock near the real one (requests carry real createTs, checked within ±300 s).
let clock: number;
let sim: Simulator;
beforeEach(async () => {
  clock = Date.now();
  sim = await startSimulator({ seed: seedCopy(), now: () => clock, timeoutFaultMs: 100 });
});
afterEach(async () => {
  await sim.close();
});

const mgr = (userTaskID: string, taskOperate: number) =>
  call(sim, 'mgrTaskStatus', { productID: 'callbot', userTaskID, taskOperate });
const pause = (id = 'task-b') => mgr(id, 2);
const start = (id = 'task-b') => mgr(id, 1);
const update = (id = 'task-b', scene = 'scene-2') =>
  call(sim, 'updateTask', { productID: 'callbot', userTaskID: id, sceneID: scene, taskCreateSetting: { maxCall: 7 } });
const get = async (path: string) => {
  const r = await fetch(sim.url + path);
  return { status: r.status, json: (await r.json()) as ControlReply };
};
const post = async (path: string, body?: unknown) => {
  const r = await fetch(sim.url + path, {
    method: 'POST',
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: r.status, json: (await r.json()) as ControlReply };
};
const statusOf = async (id: string) => (await get(`/__sim/tasks/${id}`)).json.taskStatus;

describe('pause delay', () => {
  it('default 0: a pause lands at once and the answer says 5', async () => {
    const r = await pause();
    expect(r.json).toMatchObject({ retCode: 0, taskStatus: 5 });
    expect(sim.tasks.get('task-b')!.taskStatus).toBe(5);
    const h = sim.history('task-b');
    expect(h.statusChanges).toEqual([
      { seq: 2, at: clock, userTaskID: 'task-b', from: 2, to: 5, cause: 'mgrTaskStatus' },
    ]);
    expect(h.calls).toEqual([
      {
        seq: 1,
        at: clock,
        userTaskID: 'task-b',
        endpoint: 'mgrTaskStatus',
        requestID: r.requestID,
        taskOperate: 2,
        retCode: 0,
        applied: true,
        taskStatus: 5,
      },
    ]);
    expect(h.pendingPause).toBeNull();
  });

  it('with a delay: answers 2, stays running (updateTask refused) until the delay has passed by the clock', async () => {
    sim.setFaults({ pauseDelayMs: 5000 });
    const t0 = clock;
    const r = await pause();
    expect(r.json).toMatchObject({ retCode: 0, taskStatus: 2 });
    expect(await statusOf('task-b')).toBe(2);
    expect(sim.history('task-b').pendingPause).toEqual({ requestedAt: t0, dueAt: t0 + 5000 });
    const refused = await update();
    expect(refused.json?.retCode).toBe(1);
    expect(refused.json?.retMsg).toBe(
      'task status 2 (running) cannot be modified; only not started (1) or paused (5); a pause is pending, retry once it has landed',
    );
    clock += 4999;
    expect(await statusOf('task-b')).toBe(2);
    clock += 1;
    expect(await statusOf('task-b')).toBe(5);
    const h = sim.history('task-b');
    expect(h.pendingPause).toBeNull();
    expect(h.statusChanges).toEqual([
      { seq: 3, at: t0 + 5000, userTaskID: 'task-b', from: 2, to: 5, cause: 'pause-delay' },
    ]);
    expect(h.calls.map((c) => [c.seq, c.taskOperate ?? c.endpoint, c.retCode, c.applied, c.taskStatus])).toEqual([
      [1, 2, 0, true, 2],
      [2, 'updateTask', 1, false, undefined],
    ]);
    expect((await update()).json?.retCode).toBe(0);
  });

  it('a pending pause lands by itself on a real timer (no request needed)', async () => {
    const s2 = await startSimulator({ seed: seedCopy(), pauseDelayMs: 30 });
    try {
      expect(
        (await call(s2, 'mgrTaskStatus', { productID: 'callbot', userTaskID: 'task-b', taskOperate: 2 })).json
          ?.taskStatus,
      ).toBe(2);
      for (let i = 0; i < 200 && s2.tasks.get('task-b')!.taskStatus !== 5; i++)
        await new Promise((r) => setTimeout(r, 10));
      expect(s2.tasks.get('task-b')!.taskStatus).toBe(5);
      expect(s2.history('task-b').statusChanges[0]).toMatchObject({ from: 2, to: 5, cause: 'pause-delay' });
    } finally {
      await s2.close();
    }
  });

  it('start while a pause is pending cancels it: stays 2, answers 2, nothing lands later', async () => {
    sim.setFaults({ pauseDelayMs: 1000 });
    await pause();
    const r = await start();
    expect(r.json).toMatchObject({ retCode: 0, taskStatus: 2 });
    expect(sim.history('task-b').pendingPause).toBeNull();
    clock += 10_000;
    expect(await statusOf('task-b')).toBe(2);
    const h = sim.history('task-b');
    expect(h.statusChanges).toEqual([]);
    expect(h.calls.map((c) => [c.taskOperate, c.applied, c.taskStatus])).toEqual([
      [2, true, 2],
      [1, true, 2],
    ]);
    // without a pending pause, start on a running task is refused as before
    expect((await start()).json?.retCode).toBe(1);
  });

  it('a second pause while pending is accepted and keeps the first due time', async () => {
    sim.setFaults({ pauseDelayMs: 1000 });
    const t0 = clock;
    await pause();
    clock += 600;
    expect((await pause()).json).toMatchObject({ retCode: 0, taskStatus: 2 });
    expect(sim.history('task-b').pendingPause!.dueAt).toBe(t0 + 1000);
    clock += 400;
    expect(await statusOf('task-b')).toBe(5);
  });

  it('finish, or a person setting a status, drops the pending pause', async () => {
    sim.setFaults({ pauseDelayMs: 1000 });
    await pause('task-b');
    expect((await mgr('task-b', 3)).json).toMatchObject({ retCode: 0, taskStatus: 3 });
    sim.setStatus('task-a', 2);
    await pause('task-a');
    expect((await post('/__sim/tasks/task-a/status', { taskStatus: 5 })).json.taskStatus).toBe(5);
    clock += 5000;
    expect(await statusOf('task-b')).toBe(3);
    expect(await statusOf('task-a')).toBe(5);
    expect(sim.history('task-b').statusChanges.map((c) => [c.from, c.to, c.cause])).toEqual([[2, 3, 'mgrTaskStatus']]);
    expect(sim.history('task-a').statusChanges.map((c) => [c.from, c.to, c.cause])).toEqual([
      [1, 2, 'control'],
      [2, 5, 'control'],
    ]);
  });

  it('pauseDelayMs is a run-time setting: POST /__sim/faults, validated; new pauses use the new value', async () => {
    const ok = await post('/__sim/faults', { pauseDelayMs: 250 });
    expect(ok.status).toBe(200);
    expect(ok.json).toMatchObject({ pauseDelayMs: 250 });
    expect((await get('/__sim/faults')).json).toMatchObject({ pauseDelayMs: 250 });
    const bad = await post('/__sim/faults', { pauseDelayMs: -1, latencyMs: 5 });
    expect(bad.status).toBe(400);
    expect(bad.json.error).toBe('pauseDelayMs must be a non-negative number (got -1)');
    expect((await get('/__sim/faults')).json).toMatchObject({ pauseDelayMs: 250, latencyMs: 0 });
    expect(() => sim.setFaults({ pauseDelayMs: Number.NaN })).toThrow(/pauseDelayMs/);
    const t0 = clock;
    await pause();
    expect(sim.history('task-b').pendingPause).toEqual({ requestedAt: t0, dueAt: t0 + 250 });
    await expect(startSimulator({ pauseDelayMs: -5 })).rejects.toThrow(/pauseDelayMs must be a non-negative number/);
  });
});

describe('history and log', () => {
  it('one seq orders pauses, updates and resumes across tasks; every pause has its resume', async () => {
    sim.setStatus('task-a', 2);
    await pause('task-b');
    await pause('task-a');
    await update('task-b');
    await update('task-a', 'scene-1');
    await start('task-a');
    await start('task-b');
    const log = sim.log();
    expect(log.map((e) => e.seq)).toEqual(log.map((_, i) => i + 1));
    const compact = (e: SimLogEntry) =>
      e.kind === 'status'
        ? `${e.userTaskID} ${e.from}->${e.to} ${e.cause}`
        : `${e.userTaskID} ${e.endpoint}${e.taskOperate ? ':' + e.taskOperate : ''} ${e.retCode}`;
    expect(log.map(compact)).toEqual([
      'task-a 1->2 control',
      'task-b mgrTaskStatus:2 0',
      'task-b 2->5 mgrTaskStatus',
      'task-a mgrTaskStatus:2 0',
      'task-a 2->5 mgrTaskStatus',
      'task-b updateTask 0',
      'task-a updateTask 0',
      'task-a mgrTaskStatus:1 0',
      'task-a 5->2 mgrTaskStatus',
      'task-b mgrTaskStatus:1 0',
      'task-b 5->2 mgrTaskStatus',
    ]);
    // What a test of "pause -> update -> resume" checks: per task, each applied pause is followed by an applied resume.
    for (const id of ['task-a', 'task-b']) {
      const ops = sim
        .history(id)
        .calls.filter((c) => c.applied && c.endpoint === 'mgrTaskStatus')
        .map((c) => c.taskOperate);
      expect(ops, id).toEqual([2, 1]);
    }
    const http = await get('/__sim/log');
    expect(http.json.entries).toEqual(JSON.parse(JSON.stringify(log)));
    expect(http.json.lastSeq).toBe(11);
    expect((await get('/__sim/log?since=9')).json.entries?.map((e) => e.seq)).toEqual([10, 11]);
    expect((await get('/__sim/log?since=x')).status).toBe(400);
    expect((await get('/__sim/tasks/task-a/history')).json).toEqual(JSON.parse(JSON.stringify(sim.history('task-a'))));
  });

  it('a person pausing a task (POST /__sim/tasks/:id/status) is recorded with cause control; no-ops are not recorded', async () => {
    await post('/__sim/tasks/task-b/status', { taskStatus: 5 });
    await post('/__sim/tasks/task-b/status', { taskStatus: 5 });
    sim.setStatus('task-b', 5);
    const h = (await get('/__sim/tasks/task-b/history')).json;
    expect(h.statusChanges).toEqual([{ seq: 1, at: clock, userTaskID: 'task-b', from: 2, to: 5, cause: 'control' }]);
    expect(h.calls).toEqual([]);
  });

  it('only authenticated updateTask/mgrTaskStatus calls naming an existing task are journaled, refusals included', async () => {
    await call(sim, 'ping', { data: 'x' });
    await call(sim, 'listTask', { productID: 'callbot', page: 1, size: 10, queryConditions: {} });
    await mgr('ghost', 1);
    await call(
      sim,
      'mgrTaskStatus',
      { productID: 'callbot', userTaskID: 'task-a', taskOperate: 1 },
      { secret: 'wrong' },
    );
    expect(sim.log()).toEqual([]);
    const bad = await call(sim, 'mgrTaskStatus', { productID: 'callbot', userTaskID: 'task-a', taskOperate: 7 });
    const refused = await mgr('task-d', 1);
    expect(sim.log()).toEqual([
      {
        kind: 'call',
        seq: 1,
        at: clock,
        userTaskID: 'task-a',
        endpoint: 'mgrTaskStatus',
        requestID: bad.requestID,
        taskOperate: 7,
        retCode: 4,
        applied: false,
      },
      {
        kind: 'call',
        seq: 2,
        at: clock,
        userTaskID: 'task-d',
        endpoint: 'mgrTaskStatus',
        requestID: refused.requestID,
        taskOperate: 1,
        retCode: 1,
        applied: false,
      },
    ]);
  });

  it('history of an unknown task: 404 / throws; clearHistory and POST /__sim/log/reset keep seq counting', async () => {
    expect((await get('/__sim/tasks/ghost/history')).status).toBe(404);
    expect(() => sim.history('ghost')).toThrow(/history: task not found: ghost/);
    await pause();
    sim.clearHistory();
    expect(sim.log()).toEqual([]);
    await start();
    expect(sim.log().map((e) => e.seq)).toEqual([3, 4]);
    const r = await post('/__sim/log/reset');
    expect(r.json).toEqual({ entries: [], lastSeq: 4 });
    expect(sim.history('task-b')).toMatchObject({
      statusChanges: [],
      calls: [],
      dropped: { statusChanges: 0, calls: 0 },
    });
  });
});

describe('fault injection on mgrTaskStatus (journaled)', () => {
  const only = (kind: FaultKind) => sim.setFaults({ faultRate: 1, faultKinds: [kind] });

  it('refusing faults: nothing applied, the call is journaled with the fault and applied false', async () => {
    const cases: Array<[FaultKind, number | null]> = [
      ['http500', null],
      ['http503', null],
      ['reset', null],
      ['timeout', null],
      ['retcode', 7],
    ];
    for (const [kind] of cases) {
      only(kind);
      await pause().catch(() => undefined);
    }
    sim.setFaults({ faultRate: 0 });
    expect(sim.tasks.get('task-b')!.taskStatus).toBe(2);
    const calls = sim.history('task-b').calls;
    expect(calls.map((c) => [c.fault, c.retCode, c.applied, c.taskOperate])).toEqual(
      cases.map(([kind, code]) => [kind, code, false, 2]),
    );
    expect(sim.history('task-b').statusChanges).toEqual([]);
    expect(sim.stats().faults).toMatchObject({ http500: 1, http503: 1, reset: 1, timeout: 1, retcode: 1 });
  });

  it('badsign: applied (status changes, answer unverifiable) and journaled as applied', async () => {
    only('badsign');
    const r = await pause();
    expect(r.verified).toBe(false);
    expect(r.json).toMatchObject({ retCode: 0, taskStatus: 5 });
    expect(
      sim.log().map((e) => (e.kind === 'call' ? [e.kind, e.fault, e.applied, e.retCode] : [e.kind, e.from, e.to])),
    ).toEqual([
      ['call', 'badsign', true, 0],
      ['status', 2, 5],
    ]);
  });
});

describe('Journal (unit)', () => {
  it('keeps at most `limit` entries per task and list, counting the dropped ones; log merges by seq', () => {
    const j = new Journal(3);
    for (let i = 0; i < 5; i++) {
      j.addStatusChange({ seq: j.nextSeq(), at: i, userTaskID: 'a', from: 1, to: 2, cause: 'control' });
      j.addCall({
        seq: j.nextSeq(),
        at: i,
        userTaskID: 'b',
        endpoint: 'updateTask',
        requestID: `r${i}`,
        retCode: 0,
        applied: true,
      });
    }
    const a = j.history('a');
    expect(a.statusChanges.map((e) => e.seq)).toEqual([5, 7, 9]);
    expect(a.dropped).toEqual({ statusChanges: 2, calls: 0 });
    expect(j.history('b').calls.map((e) => e.requestID)).toEqual(['r2', 'r3', 'r4']);
    expect(j.log().map((e) => e.seq)).toEqual([5, 6, 7, 8, 9, 10]);
    expect(j.log(8).map((e) => e.kind)).toEqual(['status', 'call']);
    expect(j.history('nobody')).toEqual({ statusChanges: [], calls: [], dropped: { statusChanges: 0, calls: 0 } });
    // copies: changing what history() returned does not change the journal
    a.statusChanges[0].to = 99;
    expect(j.history('a').statusChanges[0].to).toBe(2);
  });
});

describe('TaskTransitions (unit, fake timers and clock)', () => {
  it('a timer firing before the clock says so re-arms for the rest; the change is stamped with the due time', () => {
    let now = 1000;
    const fired: Array<{ fn: () => void; ms: number }> = [];
    const timers: TimerHost = {
      setTimer: (fn, ms) => {
        fired.push({ fn, ms });
        return {} as NodeJS.Timeout;
      },
      clearTimer: () => undefined,
    };
    const task: SimTask = {
      userTaskID: 't',
      sceneID: 's',
      taskID: 'T',
      taskStatus: 2,
      createTs: 0,
      taskCreateSetting: {},
      funcFlag: {},
    };
    const journal = new Journal();
    const tr = new TaskTransitions(
      new Map([['t', task]]),
      journal,
      timers,
      () => now,
      () => 500,
    );
    expect(tr.pause(task)).toBe(2);
    expect(fired.map((f) => f.ms)).toEqual([500]);
    now = 1300;
    fired[0].fn(); // early by the injected clock
    expect(task.taskStatus).toBe(2);
    expect(fired.map((f) => f.ms)).toEqual([500, 200]);
    now = 1700;
    fired[1].fn();
    expect(task.taskStatus).toBe(5);
    expect(journal.log()).toEqual([
      { kind: 'status', seq: 1, at: 1500, userTaskID: 't', from: 2, to: 5, cause: 'pause-delay' },
    ]);
  });
});
