import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import { startSimulator, type Simulator } from '../../src/sim/index.js';
import { call, seedCopy, type CallResult } from './helpers.js';
import type { ListedTask } from '../../src/api/wire.js';

let sim: Simulator;
beforeEach(async () => {
  sim = await startSimulator({ seed: seedCopy(), maxPageSize: 4 });
});
afterEach(async () => {
  await sim.close();
});

const list = (extra: Record<string, unknown> = {}, qc: Record<string, unknown> = {}) =>
  call(sim, 'listTask', { productID: 'callbot', page: 1, size: 4, queryConditions: qc, ...extra });
const update = (body: Record<string, unknown>) => call(sim, 'updateTask', { productID: 'callbot', ...body });
const mgr = (userTaskID: string, taskOperate: unknown, extra: Record<string, unknown> = {}) =>
  call(sim, 'mgrTaskStatus', { productID: 'callbot', userTaskID, taskOperate, ...extra });

describe('listTask', () => {
  it('pages in userTaskID order with total, zero taskStat and no settings echoed', async () => {
    const p1 = await list();
    expect(p1.json?.retCode).toBe(0);
    expect(p1.json?.retMsg).toBe('success');
    expect(typeof p1.json?.responseID).toBe('string');
    expect(p1.json?.total).toBe(6);
    expect(p1.json?.taskData?.map((t) => t.userTaskID)).toEqual(['task-a', 'task-b', 'task-c', 'task-d']);
    const a: Partial<ListedTask> & { taskCreateSetting?: unknown; funcFlag?: unknown } = p1.json?.taskData?.[0] ?? {};
    expect(a).toMatchObject({
      userTaskID: 'task-a',
      taskID: 'PLAT-A',
      sceneID: 'scene-1',
      taskStatus: 1,
      taskName: 'Alpha',
    });
    expect(typeof a.createTs).toBe('number');
    expect(a.taskStat).toEqual({
      answerOrderCount: 0,
      finishOrderCount: 0,
      totalOrderCount: 0,
      finishRate: 0,
      totalAnswerCall: 0,
      totalCall: 0,
      answerRate: 0,
    });
    expect(a.taskCreateSetting).toBeUndefined();
    expect(a.funcFlag).toBeUndefined();
    expect(p1.verified).toBe(true);
    const p2 = await list({ page: 2 });
    expect(p2.json?.total).toBe(6);
    expect(p2.json?.taskData?.map((t) => t.userTaskID)).toEqual(['task-e', 'task-f']);
    const p3 = await list({ page: 3 });
    expect(p3.json?.taskData).toEqual([]);
    const small = await list({ page: 3, size: 2 });
    expect(small.json?.taskData?.map((t) => t.userTaskID)).toEqual(['task-e', 'task-f']);
  });

  it('generates taskIDs T000001.. for seed tasks without one', async () => {
    const r = await list({}, { userTaskID: ['task-c'] });
    expect(r.json?.taskData?.[0].taskID).toBe('T000001');
  });

  it('filters by userTaskID, taskStatus, sceneID, taskName (exact) and combinations', async () => {
    const ids = (r: CallResult) => r.json?.taskData?.map((t) => t.userTaskID);
    expect(ids(await list({}, { userTaskID: ['task-f', 'task-b', 'nope'] }))).toEqual(['task-b', 'task-f']);
    expect(ids(await list({}, { taskStatus: [1, 5] }))).toEqual(['task-a', 'task-c', 'task-f']);
    expect(ids(await list({}, { sceneID: 'scene-2' }))).toEqual(['task-b', 'task-d']);
    expect(ids(await list({}, { taskName: ['Alpha', 'Bet'] }))).toEqual(['task-a']);
    const combo = await list({}, { sceneID: 'scene-1', taskStatus: [1, 4], taskName: ['Gamma', 'Epsilon'] });
    expect(ids(combo)).toEqual(['task-c', 'task-e']);
    expect(combo.json?.total).toBe(2);
    const none = await list({}, { sceneID: 'zzz' });
    expect(none.json).toMatchObject({ retCode: 0, total: 0, taskData: [] });
    const ranged = await list({}, { startTs: 0, endTs: 1 });
    expect(ranged.json?.total).toBe(0);
  });

  it('size limit and page/size validation', async () => {
    const big = await list({ size: 5 });
    expect(big.json?.retCode).toBe(4);
    expect(big.json?.retMsg).toMatch(/size must be between 1 and 4/);
    expect((await list({ size: 0 })).json?.retCode).toBe(4);
    expect((await list({ page: 0 })).json?.retCode).toBe(4);
    expect((await list({ page: 1.5 })).json?.retCode).toBe(3);
    expect((await list({ size: '4' })).json?.retCode).toBe(3);
  });

  it('missing / wrong-type fields', async () => {
    const noQc = await call(sim, 'listTask', { productID: 'callbot', page: 1, size: 1 });
    expect(noQc.json?.retCode).toBe(2);
    expect(noQc.json?.retMsg).toMatch(/queryConditions is required/);
    const noPage = await call(sim, 'listTask', { productID: 'callbot', size: 1, queryConditions: {} });
    expect(noPage.json).toMatchObject({ retCode: 2, retMsg: 'page is required' });
    expect((await list({ queryConditions: [] })).json?.retCode).toBe(3);
    expect((await list({}, { userTaskID: 'task-a' })).json?.retCode).toBe(3);
    expect((await list({}, { taskStatus: ['1'] })).json?.retCode).toBe(3);
    expect((await list({}, { userTaskId: ['x'] })).json?.retMsg).toMatch(
      /queryConditions.userTaskId is not a known field/,
    );
  });
});

describe('common body validation', () => {
  it('malformed JSON -> 3', async () => {
    const r = await call(sim, 'listTask', '{"productID": "callbot", ');
    expect(r.json?.retCode).toBe(3);
    expect(r.json?.retMsg).toMatch(/malformed JSON/);
    expect(r.verified).toBe(true);
  });
  it('non-object JSON -> 3', async () => {
    expect((await call(sim, 'updateTask', '[1,2]')).json?.retCode).toBe(3);
    expect((await call(sim, 'ping', 'null')).json?.retCode).toBe(3);
  });
  it('wrong productID -> 4, missing -> 2, wrong type -> 3', async () => {
    const r = await call(sim, 'mgrTaskStatus', { productID: 'callcenter', userTaskID: 'task-a', taskOperate: 1 });
    expect(r.json?.retCode).toBe(4);
    expect(r.json?.retMsg).toMatch(/productID must be "callbot"/);
    expect((await call(sim, 'mgrTaskStatus', { userTaskID: 'task-a', taskOperate: 1 })).json?.retCode).toBe(2);
    expect(
      (await call(sim, 'mgrTaskStatus', { productID: 1, userTaskID: 'task-a', taskOperate: 1 })).json?.retCode,
    ).toBe(3);
    expect(sim.tasks.get('task-a')!.taskStatus).toBe(1);
  });
  it('body over 1 MiB -> 4001', async () => {
    const r = await call(sim, 'ping', JSON.stringify({ data: 'x'.repeat(1024 * 1024 + 10) }));
    expect(r.json?.retCode).toBe(4001);
    expect(r.verified).toBe(true);
  });
  it('unknown path and non-POST -> HTTP 404 JSON', async () => {
    const a = await call(sim, 'createAndCall', { productID: 'callbot' });
    expect(a.status).toBe(404);
    expect(a.json?.error).toMatch(/not found/);
    const b = await fetch(`${sim.url}/callcentre/api/v3/ping`);
    expect(b.status).toBe(404);
    expect(((await b.json()) as { error?: string }).error).toMatch(/use POST/);
    const c = await fetch(`${sim.url}/`);
    expect(c.status).toBe(404);
  });
});

describe('updateTask', () => {
  it('merges partially: shallow keys, manualCallSetting one level deeper, smsFuncFlag replaced whole', async () => {
    const r = await update({
      userTaskID: 'task-a',
      sceneID: 'scene-1',
      taskCreateSetting: { maxRingTime: 30, manualCallSetting: { dispatchType: 3, predictCallRate: 2 } },
      funcFlag: { wholeTTS: true, smsFuncFlag: [{ smsID: 's9', intentName: ['yes'] }] },
    });
    expect(r.json).toMatchObject({ retCode: 0, retMsg: 'success', taskID: 'PLAT-A' });
    expect(typeof r.json?.responseID).toBe('string');
    expect(r.verified).toBe(true);
    const t = sim.tasks.get('task-a')!;
    expect(t.taskCreateSetting).toEqual({
      maxCall: 5,
      maxRingTime: 30,
      manualCallSetting: { agentGroup: 'g1', dispatchType: 3, ratioCallRate: 1.5, predictCallRate: 2 },
    });
    expect(t.funcFlag).toEqual({ taskKeep: true, wholeTTS: true, smsFuncFlag: [{ smsID: 's9', intentName: ['yes'] }] });
    expect(sim.stats().updates).toBe(1);
  });

  it('an update without settings is a successful no-op', async () => {
    const r = await update({ userTaskID: 'task-c', sceneID: 'scene-1' });
    expect(r.json?.retCode).toBe(0);
    expect(sim.tasks.get('task-c')!.taskCreateSetting).toEqual({});
  });

  it('taskCreateSetting.taskName renames the listed task', async () => {
    await update({ userTaskID: 'task-c', sceneID: 'scene-1', taskCreateSetting: { taskName: 'Renamed' } });
    const r = await list({}, { taskName: ['Renamed'] });
    expect(r.json?.taskData?.map((t) => t.userTaskID)).toEqual(['task-c']);
  });

  it('allowed for status 1 and 5, refused for 2, 3, 4 with retCode 1', async () => {
    expect(
      (await update({ userTaskID: 'task-c', sceneID: 'scene-1', taskCreateSetting: { maxCall: 2 } })).json?.retCode,
    ).toBe(0);
    expect(
      (await update({ userTaskID: 'task-f', sceneID: 'scene-3', taskCreateSetting: { maxCall: 2 } })).json?.retCode,
    ).toBe(0);
    const cases: Array<[string, string, string]> = [
      ['task-b', 'scene-2', 'task status 2 (running) cannot be modified; only not started (1) or paused (5)'],
      ['task-d', 'scene-2', 'task status 3 (completed) cannot be modified; only not started (1) or paused (5)'],
      [
        'task-e',
        'scene-1',
        'task status 4 (completed (failed)) cannot be modified; only not started (1) or paused (5)',
      ],
    ];
    for (const [id, scene, msg] of cases) {
      const r = await update({ userTaskID: id, sceneID: scene, taskCreateSetting: { maxCall: 2 } });
      expect(r.json?.retCode).toBe(1);
      expect(r.json?.retMsg).toBe(msg);
      expect(sim.tasks.get(id)!.taskCreateSetting).toEqual({});
    }
    expect(sim.stats().updates).toBe(2);
  });

  it('unknown task -> 4 task not found; sceneID mismatch -> 4', async () => {
    const a = await update({ userTaskID: 'ghost', sceneID: 'scene-1', funcFlag: { taskKeep: true } });
    expect(a.json?.retCode).toBe(4);
    expect(a.json?.retMsg).toMatch(/^task not found/);
    const b = await update({ userTaskID: 'task-a', sceneID: 'scene-2', funcFlag: { taskKeep: false } });
    expect(b.json?.retCode).toBe(4);
    expect(b.json?.retMsg).toMatch(/^sceneID does not match task/);
    expect(sim.tasks.get('task-a')!.funcFlag.taskKeep).toBe(true);
  });

  it('validates field types, unknown keys and enums without applying anything', async () => {
    const bad: Array<[Record<string, unknown>, number, RegExp]> = [
      [{ taskCreateSetting: { maxCall: '3' } }, 3, /taskCreateSetting.maxCall must be an integer/],
      [{ taskCreateSetting: { maxcall: 3 } }, 3, /taskCreateSetting.maxcall is not a known field/],
      [{ taskCreateSetting: { startupType: 0 } }, 4, /startupType must be one of 1, 2, 3/],
      [{ taskCreateSetting: { manualCallSetting: { dispatchType: 2 } } }, 4, /dispatchType must be one of 0, 1, 3/],
      [{ taskCreateSetting: { manualCallSetting: { ratioCallRate: 'x' } } }, 3, /ratioCallRate must be a number/],
      [{ taskCreateSetting: { manualCallSetting: { foo: 1 } } }, 3, /manualCallSetting.foo is not a known field/],
      [{ taskCreateSetting: 'x' }, 3, /taskCreateSetting must be an object/],
      [{ funcFlag: { taskKeep: 'yes' } }, 3, /funcFlag.taskKeep must be a boolean/],
      [{ funcFlag: { smsFuncFlag: {} } }, 3, /smsFuncFlag must be an array/],
      [{ funcFlag: { smsFuncFlag: [{ intentID: ['a'] }] } }, 2, /smsFuncFlag\[0\].smsID is required/],
      [{ funcFlag: { smsFuncFlag: [{ smsId: 'a' }] } }, 3, /smsId is not a known field/],
      [{ funcFlag: { smsFuncFlag: [{ smsID: 'a', intentID: [1] }] } }, 3, /intentID\[0\] must be a string/],
      [{ taskCreateSettings: {} }, 3, /taskCreateSettings is not a known field/],
    ];
    for (const [extra, code, msg] of bad) {
      const r = await update({
        userTaskID: 'task-a',
        sceneID: 'scene-1',
        taskCreateSetting: { maxCall: 99 },
        ...extra,
      });
      expect(r.json?.retCode, JSON.stringify(extra)).toBe(code);
      expect(r.json?.retMsg, JSON.stringify(extra)).toMatch(msg);
    }
    expect(sim.tasks.get('task-a')!.taskCreateSetting.maxCall).toBe(5);
    expect(sim.stats().updates).toBe(0);
    expect((await call(sim, 'updateTask', { productID: 'callbot', sceneID: 'scene-1' })).json?.retCode).toBe(2);
    expect((await call(sim, 'updateTask', { productID: 'callbot', userTaskID: 'task-a' })).json?.retCode).toBe(2);
    expect(
      (await call(sim, 'updateTask', { productID: 'callbot', userTaskID: 7, sceneID: 'scene-1' })).json?.retCode,
    ).toBe(3);
  });

  it('does not keep references to the request objects (stored copies)', async () => {
    await update({
      userTaskID: 'task-c',
      sceneID: 'scene-1',
      funcFlag: { smsFuncFlag: [{ smsID: 'a', intentID: ['x'] }] },
    });
    const t = sim.tasks.get('task-c')!;
    await update({ userTaskID: 'task-c', sceneID: 'scene-1', funcFlag: { smsFuncFlag: [] } });
    expect(t.funcFlag.smsFuncFlag).toEqual([]);
  });
});

describe('mgrTaskStatus', () => {
  // [operation, from status, expected result status or undefined when refused]
  const table: Array<[number, number, number | undefined]> = [
    [1, 1, 2],
    [1, 2, undefined],
    [1, 3, undefined],
    [1, 4, undefined],
    [1, 5, 2],
    [2, 1, undefined],
    [2, 2, 5],
    [2, 3, undefined],
    [2, 4, undefined],
    [2, 5, undefined],
    [3, 1, 3],
    [3, 2, 3],
    [3, 3, undefined],
    [3, 4, undefined],
    [3, 5, 3],
  ];
  const names: Record<number, string> = { 1: 'start', 2: 'pause', 3: 'complete' };
  const labels: Record<number, string> = {
    1: 'not started',
    2: 'running',
    3: 'completed',
    4: 'completed (failed)',
    5: 'paused',
  };
  for (const [op, from, to] of table) {
    it(`${names[op]} from ${from} -> ${to ?? 'refused'}`, async () => {
      sim.setStatus('task-a', from);
      const r = await mgr('task-a', op, { delCall: 0 });
      if (to === undefined) {
        expect(r.json?.retCode).toBe(1);
        expect(r.json?.retMsg).toMatch(
          new RegExp(`^cannot ${names[op]} a task in status ${from} \\(${labels[from].replace(/[()]/g, '\\$&')}\\)`),
        );
        expect(sim.tasks.get('task-a')!.taskStatus).toBe(from);
      } else {
        expect(r.json).toMatchObject({ retCode: 0, retMsg: 'success', taskID: 'PLAT-A', taskStatus: to });
        expect(r.verified).toBe(true);
        expect(sim.tasks.get('task-a')!.taskStatus).toBe(to);
      }
    });
  }

  it('validates taskOperate, delCall and the task', async () => {
    expect((await mgr('task-a', 4)).json?.retCode).toBe(4);
    expect((await mgr('task-a', '1')).json?.retCode).toBe(3);
    expect((await mgr('task-a', 1, { delCall: 2 })).json?.retCode).toBe(4);
    expect((await mgr('task-a', 1, { delCall: true })).json?.retCode).toBe(3);
    expect((await call(sim, 'mgrTaskStatus', { productID: 'callbot', userTaskID: 'task-a' })).json?.retCode).toBe(2);
    const ghost = await mgr('ghost', 1);
    expect(ghost.json?.retCode).toBe(4);
    expect(ghost.json?.retMsg).toMatch(/task not found/);
    expect(sim.tasks.get('task-a')!.taskStatus).toBe(1);
    expect((await mgr('task-a', 1, { delCall: 1 })).json?.taskStatus).toBe(2);
  });
});

describe('ping', () => {
  it('echoes data with timestamp, code, msg, reqId', async () => {
    const r = await call(sim, 'ping', { data: 'abc' });
    expect(r.json).toMatchObject({ data: 'abc', code: 0, msg: 'success' });
    expect(Math.abs((r.json?.timestamp ?? NaN) - Date.now() / 1000)).toBeLessThan(5);
    expect(r.json?.reqId).toMatch(/^[0-9a-f]{32}$/);
    expect(r.verified).toBe(true);
  });
  it('missing data -> code/retCode 2', async () => {
    const r = await call(sim, 'ping', {});
    expect(r.json).toMatchObject({ retCode: 2, code: 2 });
    expect((await call(sim, 'ping', { data: 1 })).json?.retCode).toBe(3);
  });
});

describe('stats and onRequest', () => {
  it('counts requests per endpoint and observes authenticated bodies', async () => {
    const seen: Array<[string, unknown]> = [];
    sim.onRequest = (ep, body) => seen.push([ep, body]);
    await call(sim, 'ping', { data: '1' });
    await list();
    await call(sim, 'ping', { data: '2' }, { secret: 'bad' });
    await call(sim, 'updateTask', 'not json');
    const s = sim.stats();
    expect(s.requests).toBe(4);
    expect(s.byEndpoint).toMatchObject({ ping: 2, listTask: 1, updateTask: 1, mgrTaskStatus: 0 });
    expect(s.authFailures).toBe(1);
    expect(seen).toEqual([
      ['ping', { data: '1' }],
      ['listTask', { productID: 'callbot', page: 1, size: 4, queryConditions: {} }],
      ['updateTask', 'not json'],
    ]);
    sim.resetStats();
    expect(sim.stats()).toMatchObject({ requests: 0, authFailures: 0, updates: 0 });
  });
});
