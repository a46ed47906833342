import { describe, it, expect, beforeEach, afterEach, vi } from 'vitest';
import { mkdtemp, writeFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSimulator, loadSeedFile, runSimCli, DEFAULT_SIM_UUID, type Simulator } from '../../src/sim/index.js';
import { call, seedCopy, type ControlReply } from './helpers.js';

let sim: Simulator;
beforeEach(async () => {
  sim = await startSimulator({ seed: seedCopy() });
});
afterEach(async () => {
  await sim.close();
});

const get = async (path: string) => {
  const r = await fetch(sim.url + path);
  return { status: r.status, json: (await r.json()) as ControlReply };
};
const post = async (path: string, body?: unknown) => {
  const r = await fetch(sim.url + path, {
    method: 'POST',
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: r.status, json: (await r.json()) as ControlReply };
};

describe('setStatus hook', () => {
  it('flips a task between plan and apply, and validates input', async () => {
    const ok = await call(sim, 'updateTask', {
      productID: 'callbot',
      userTaskID: 'task-a',
      sceneID: 'scene-1',
      funcFlag: { wholeTTS: true },
    });
    expect(ok.json?.retCode).toBe(0);
    sim.setStatus('task-a', 2);
    const refused = await call(sim, 'updateTask', {
      productID: 'callbot',
      userTaskID: 'task-a',
      sceneID: 'scene-1',
      funcFlag: { wholeTTS: false },
    });
    expect(refused.json?.retCode).toBe(1);
    expect(sim.tasks.get('task-a')!.funcFlag.wholeTTS).toBe(true);
    expect(() => sim.setStatus('ghost', 1)).toThrow(/task not found/);
    expect(() => sim.setStatus('task-a', 9)).toThrow(/1\.\.5/);
    expect(() => sim.setStatus('task-a', 1.5)).toThrow();
  });
});

describe('control endpoints (/__sim)', () => {
  it('GET /__sim/tasks lists all tasks sorted with settings', async () => {
    const r = await get('/__sim/tasks');
    expect(r.status).toBe(200);
    expect(r.json.tasks?.map((t) => t.userTaskID)).toEqual([
      'task-a',
      'task-b',
      'task-c',
      'task-d',
      'task-e',
      'task-f',
    ]);
    expect(r.json.tasks?.[0].taskCreateSetting.maxCall).toBe(5);
    expect(r.json.tasks?.[2]).toMatchObject({ taskID: 'T000001', taskCreateSetting: {}, funcFlag: {} });
  });

  it('GET /__sim/tasks/:id and 404', async () => {
    expect((await get('/__sim/tasks/task-b')).json).toMatchObject({ userTaskID: 'task-b', taskStatus: 2 });
    expect((await get('/__sim/tasks/nope')).status).toBe(404);
  });

  it('POST /__sim/tasks/:id/status', async () => {
    const r = await post('/__sim/tasks/task-c/status', { taskStatus: 5 });
    expect(r.status).toBe(200);
    expect(r.json.taskStatus).toBe(5);
    expect(sim.tasks.get('task-c')!.taskStatus).toBe(5);
    expect((await post('/__sim/tasks/task-c/status', { taskStatus: 0 })).status).toBe(400);
    expect((await post('/__sim/tasks/task-c/status', '{oops')).status).toBe(400);
    expect((await post('/__sim/tasks/ghost/status', { taskStatus: 1 })).status).toBe(404);
  });

  it('GET /__sim/stats and POST /__sim/stats/reset; control calls are not counted', async () => {
    await call(sim, 'ping', { data: 'x' });
    const s = await get('/__sim/stats');
    expect(s.json).toMatchObject({ requests: 1, byEndpoint: { ping: 1 }, authFailures: 0, updates: 0 });
    expect(s.json.faults).toMatchObject({ http500: 0, badsign: 0 });
    const r = await post('/__sim/stats/reset');
    expect(r.json.requests).toBe(0);
    expect(sim.stats().requests).toBe(0);
  });

  it('POST /__sim/faults changes fault settings (and rejects bad input)', async () => {
    const r = await post('/__sim/faults', { faultRate: 1, faultKinds: ['retcode'], faultSeed: 3 });
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ faultRate: 1, faultKinds: ['retcode'] });
    expect((await call(sim, 'ping', { data: 'x' })).json?.retCode).toBe(7);
    expect((await post('/__sim/faults', { faultKinds: ['nope'] })).status).toBe(400);
    expect((await post('/__sim/faults', { rate: 1 })).status).toBe(400);
    await post('/__sim/faults', { faultRate: 0 });
    expect((await call(sim, 'ping', { data: 'x' })).json?.code).toBe(0);
  });

  it('unknown control path -> 404', async () => {
    expect((await get('/__sim/nothing')).status).toBe(404);
  });
});

describe('seed files', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'callform-sim-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('loads YAML with defaults and starts a simulator from the path', async () => {
    const p = join(dir, 'seed.yaml');
    await writeFile(
      p,
      [
        'tasks:',
        '  - userTaskID: y-1',
        '    sceneID: s-1',
        '  - userTaskID: y-2',
        '    sceneID: s-1',
        '    taskStatus: 5',
        '    taskID: REAL-2',
        '    taskCreateSetting:',
        '      taskName: From settings',
        '      manualCallSetting: { dispatchType: 0 }',
        '    funcFlag:',
        '      smsFuncFlag:',
        '        - smsID: s1',
        '          intentID: [a, b]',
      ].join('\n'),
    );
    const seed = await loadSeedFile(p);
    expect(seed.tasks).toHaveLength(2);
    const s2 = await startSimulator({ seed: p, now: () => 1_700_000_000_000 });
    try {
      const t1 = s2.tasks.get('y-1')!;
      expect(t1).toEqual({
        userTaskID: 'y-1',
        sceneID: 's-1',
        taskID: 'T000001',
        taskStatus: 1,
        createTs: 1_700_000_000,
        taskCreateSetting: {},
        funcFlag: {},
      });
      const t2 = s2.tasks.get('y-2')!;
      expect(t2).toMatchObject({ taskID: 'REAL-2', taskStatus: 5, taskName: 'From settings' });
      expect(t2.funcFlag.smsFuncFlag).toEqual([{ smsID: 's1', intentID: ['a', 'b'] }]);
    } finally {
      await s2.close();
    }
  });

  it('loads JSON', async () => {
    const p = join(dir, 'seed.json');
    await writeFile(p, JSON.stringify({ tasks: [{ userTaskID: 'j', sceneID: 's' }] }));
    expect((await loadSeedFile(p)).tasks[0].userTaskID).toBe('j');
  });

  it('rejects duplicates, bad statuses, bad shapes, bad settings, with the path in the message', async () => {
    const cases: Array<[string, RegExp]> = [
      [
        'tasks:\n  - {userTaskID: a, sceneID: s}\n  - {userTaskID: a, sceneID: s}\n',
        /tasks\[1\]\.userTaskID "a" duplicates tasks\[0\]/,
      ],
      ['tasks:\n  - {userTaskID: a, sceneID: s, taskStatus: 7}\n', /tasks\[0\]\.taskStatus must be one of 1/],
      ['tasks:\n  - {userTaskID: a}\n', /tasks\[0\]\.sceneID must be a non-empty string/],
      ['tasks: 3\n', /"tasks" must be a list/],
      ['', /seed is empty/],
      [
        'tasks:\n  - {userTaskID: a, sceneID: s, taskCreateSetting: {startupType: 9}}\n',
        /tasks\[0\]\.taskCreateSetting\.startupType must be one of 1, 2, 3/,
      ],
      ['tasks:\n  - {userTaskID: a, sceneID: s, color: red}\n', /tasks\[0\]\.color is not a known field/],
      ['tasks: [\n', /cannot parse seed file/],
    ];
    for (const [i, [text, re]] of cases.entries()) {
      const p = join(dir, `bad-${i}.yaml`);
      await writeFile(p, text);
      const err = await loadSeedFile(p).then(
        () => undefined,
        (e: Error) => e,
      );
      expect(err, text).toBeInstanceOf(Error);
      expect(err!.message, text).toContain(p);
      expect(err!.message, text).toMatch(re);
    }
    await expect(loadSeedFile(join(dir, 'missing.yaml'))).rejects.toThrow(/cannot read seed file/);
    await expect(
      startSimulator({ seed: { tasks: [{ userTaskID: 'a', sceneID: 's', taskStatus: 0 }] } }),
    ).rejects.toThrow(/taskStatus/);
  });
});

describe('runSimCli', () => {
  it('starts and prints exactly one listening line', async () => {
    const writes: string[] = [];
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: unknown) => {
      writes.push(String(chunk));
      return true;
    });
    let s2: Simulator | undefined;
    try {
      s2 = await runSimCli({ port: 0, faultKinds: 'http500, badsign', faultRate: 0 });
    } finally {
      spy.mockRestore();
    }
    try {
      expect(writes).toHaveLength(1);
      expect(writes[0]).toMatch(
        new RegExp(`^callform sim listening on http://127\\.0\\.0\\.1:\\d+ uuid=${DEFAULT_SIM_UUID} secret=\\S+\\n$`),
      );
      expect(writes[0]).toContain(s2.url);
      expect((await call(s2, 'ping', { data: 'cli' })).json?.code).toBe(0);
    } finally {
      await s2.close();
    }
    await expect(runSimCli({ faultKinds: 'http500,nope' })).rejects.toThrow(/unknown fault kind "nope"/);
  });
});
