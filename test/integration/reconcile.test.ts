import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { startSimulator, type Simulator } from '../../src/sim/index.js';
import { runCli, tempProject, type TempProject } from '../support/cli-harness.js';
import type { UpdateTaskRequest } from '../../src/api/wire.js';
import { STORE_KINDS, stateStores } from '../support/state-store.js';

const SETTINGS = {
  taskCreateSetting: {
    taskName: 'Renewals north',
    startupType: 1,
    zoneSecond: 28800,
    dialAtWeekDay: '1,2,3,4,5',
    dialAtUpHour: '9,10,11',
    dialAtDownHour: '9,10',
    maxCall: 5,
    maxRingTime: 30,
    routeID: 'route-1',
    manualCallSetting: { agentGroup: 'g-1', dispatchType: 1, ratioCallRate: 1.5 },
  },
  funcFlag: {
    taskKeep: true,
    roundRedial: false,
    wholeTTS: true,
    smsEnable: true,
    smsFuncFlag: [{ smsID: 'sms-1', intentID: ['i-1'] }],
    phoneEncrypt: false,
  },
};

let sim: Simulator;
let project: TempProject;
let updates: Array<{ userTaskID: string; body: UpdateTaskRequest }>;
let env: Record<string, string>;

async function writeTasks(maxCallOfA = 5) {
  await project.write('tasks/renewals.yaml', {
    defaults: { funcFlag: { wholeTTS: true } },
    tasks: [
      {
        userTaskID: 'task-a',
        sceneID: 'scene-1',
        ...structuredClone(SETTINGS),
        taskCreateSetting: { ...SETTINGS.taskCreateSetting, maxCall: maxCallOfA },
      },
      { userTaskID: 'task-b', sceneID: 'scene-1', taskCreateSetting: { taskName: 'B', maxCall: 2 } },
      { userTaskID: 'task-running', sceneID: 'scene-1', taskCreateSetting: { taskName: 'R', maxCall: 3 } },
    ],
  });
}

beforeEach(async () => {
  sim = await startSimulator({
    seed: {
      tasks: [
        { userTaskID: 'task-a', sceneID: 'scene-1', taskStatus: 1 },
        {
          userTaskID: 'task-b',
          sceneID: 'scene-1',
          taskStatus: 5,
          taskCreateSetting: { taskName: 'old B', maxCall: 1 },
        },
        { userTaskID: 'task-running', sceneID: 'scene-1', taskStatus: 2 },
      ],
    },
  });
  updates = [];
  sim.onRequest = (endpoint, raw) => {
    const body = raw as UpdateTaskRequest;
    if (endpoint === 'updateTask') updates.push({ userTaskID: body.userTaskID, body });
  };
  project = await tempProject();
  await writeTasks();
  env = { NXCLOUD_ENDPOINT: sim.url, NXCLOUD_UUID: sim.uuid, NXCLOUD_SECRET_KEY: sim.secret };
});

afterEach(async () => {
  await sim.close();
});

describe('plan and apply against the simulator', () => {
  it('first apply sends full settings; a running task is blocked and gets no call (exit 3)', async () => {
    const res = await runCli(['apply', '--auto-approve'], { cwd: project.dir, env });
    expect(res.stderr).toBe('');
    expect(res.code).toBe(3);
    expect(res.stdout).toMatch(
      /Apply complete: 2 applied, 1 blocked, 0 failed, 0 unchanged \(2 updateTask calls; 2 API calls at [\d.]+ calls\/s, 0 throttled\)/,
    );
    expect(res.stdout).toMatch(/task-running blocked: task is 2 \(running\)/);
    expect(res.stdout).toMatch(/after about 5 minutes/);
    const a = updates.find((u) => u.userTaskID === 'task-a')!.body;
    expect(a).toEqual({ productID: 'callbot', userTaskID: 'task-a', sceneID: 'scene-1', ...SETTINGS });
    expect(updates.map((u) => u.userTaskID).sort()).toEqual(['task-a', 'task-b']);
    expect(sim.tasks.get('task-a')!.taskCreateSetting).toEqual(SETTINGS.taskCreateSetting);
    expect(sim.tasks.get('task-running')!.taskCreateSetting).toEqual({});
    const state = await project.state();
    expect(Object.keys(state.tasks).sort()).toEqual(['task-a', 'task-b']);
    expect(state.tasks['task-a']).toMatchObject({
      sceneID: 'scene-1',
      taskID: sim.tasks.get('task-a')!.taskID,
      ...SETTINGS,
    });
    expect(state.serial).toBeGreaterThanOrEqual(1);
  });

  it('editing one field sends only that field; unchanged tasks get no call', async () => {
    await runCli(['apply', '--auto-approve'], { cwd: project.dir, env });
    updates = [];
    await writeTasks(9);
    const plan = await runCli(['plan'], { cwd: project.dir, env });
    expect(plan.code).toBe(0);
    expect(plan.stdout).toContain('~ taskCreateSetting.maxCall: 5 → 9');
    expect(plan.stdout).toMatch(/Plan: 1 to update, 1 blocked, 1 unchanged/);
    const res = await runCli(['apply', '--auto-approve'], { cwd: project.dir, env });
    expect(res.code).toBe(3);
    expect(updates).toEqual([
      {
        userTaskID: 'task-a',
        body: { productID: 'callbot', userTaskID: 'task-a', sceneID: 'scene-1', taskCreateSetting: { maxCall: 9 } },
      },
    ]);
    expect(sim.tasks.get('task-a')!.taskCreateSetting.maxCall).toBe(9);
    expect(sim.tasks.get('task-a')!.taskCreateSetting.manualCallSetting).toEqual(
      SETTINGS.taskCreateSetting.manualCallSetting,
    );
  });

  it('after a clean apply, plan --detailed-exitcode exits 0; with changes it exits 2', async () => {
    sim.setStatus('task-running', 5);
    expect((await runCli(['plan', '--detailed-exitcode'], { cwd: project.dir, env })).code).toBe(2);
    const res = await runCli(['apply', '--auto-approve'], { cwd: project.dir, env });
    expect(res.code).toBe(0);
    const again = await runCli(['plan', '--detailed-exitcode'], { cwd: project.dir, env });
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/No changes\. 3 tasks match the state/);
    expect(sim.stats().byEndpoint.updateTask).toBe(3);
  });

  it.each(['MD5', 'SHA256'])('works with the %s signature', async (algorithm) => {
    const res = await runCli(['apply', '--auto-approve'], {
      cwd: project.dir,
      env: { ...env, NXCLOUD_ALGORITHM: algorithm },
    });
    expect(res.code).toBe(3);
    expect(sim.stats().authFailures).toBe(0);
  });

  it('a wrong secret fails clearly and leaves the state untouched', async () => {
    await runCli(['apply', '--auto-approve'], { cwd: project.dir, env });
    const before = await readFile(path.join(project.dir, 'callform.state.json'));
    await writeTasks(7);
    const res = await runCli(['apply', '--auto-approve'], {
      cwd: project.dir,
      env: { ...env, NXCLOUD_SECRET_KEY: 'not-the-secret' },
    });
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/listTask: request refused: retCode 6/);
    expect(res.stderr).toMatch(/check NXCLOUD_UUID, NXCLOUD_SECRET_KEY/);
    expect(res.stderr).not.toMatch(/\n\s+at /);
    expect(await readFile(path.join(project.dir, 'callform.state.json'))).toEqual(before);
  });

  it('a task started between plan and apply fails with the server message; its state is untouched', async () => {
    const saved = await runCli(['plan', '--out', 'plan.cfplan'], { cwd: project.dir, env });
    expect(saved.code).toBe(0);
    sim.setStatus('task-a', 2);
    const res = await runCli(['apply', 'plan.cfplan'], { cwd: project.dir, env });
    expect(res.code).toBe(1);
    expect(res.stdout).toMatch(/task-a failed: updateTask: retCode \d+: .*cannot be modified/);
    const state = await project.state();
    expect(state.tasks['task-a']).toBeUndefined();
    // task-b was applied as declared (with the file's defaults), confirmed: nothing pending.
    expect(state.tasks['task-b']).toMatchObject({
      taskCreateSetting: { taskName: 'B', maxCall: 2 },
      funcFlag: { wholeTTS: true },
    });
    expect(state.tasks['task-b'].pending).toBeUndefined();
    expect(sim.tasks.get('task-b')!.taskCreateSetting).toMatchObject({ taskName: 'B', maxCall: 2 });
  });

  it('apply without --auto-approve refuses when stdin is not a terminal', async () => {
    const res = await runCli(['apply'], { cwd: project.dir, env });
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/standard input is not a terminal/);
    expect(updates).toEqual([]);
  });

  it('a task removed from the files is forgotten from state without a call', async () => {
    await runCli(['apply', '--auto-approve'], { cwd: project.dir, env });
    updates = [];
    await project.write('tasks/renewals.yaml', {
      tasks: [{ userTaskID: 'task-b', sceneID: 'scene-1', taskCreateSetting: { taskName: 'B', maxCall: 2 } }],
    });
    const res = await runCli(['apply', '--auto-approve'], { cwd: project.dir, env });
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/task-a will be forgotten/);
    expect(updates).toEqual([]);
    expect(Object.keys((await project.state()).tasks)).toEqual(['task-b']);
  });
});

// The write-ahead marks on both backends: marked before the call, kept without a verified
// answer, cleared by a confirmed one (docs/testing.md, "Both state backends").
const stores = stateStores('reconcile');

describe('unconfirmed updates', () => {
  for (const kind of STORE_KINDS)
    it(`an update that landed without a verifiable answer is sent again, even after the file is reverted (${kind} state)`, async () => {
      const store = await stores(kind, project);
      const run = { ...env, ...store.env };
      expect((await runCli(['apply', '--auto-approve'], { cwd: project.dir, env: run })).code).toBe(3);
      await writeTasks(2);
      expect((await runCli(['plan', '--out', 'p.cfplan'], { cwd: project.dir, env: run })).code).toBe(0);
      sim.setFaults({ faultRate: 1, faultKinds: ['badsign'] }); // every answer from here on is unverifiable
      const failed = await runCli(['apply', 'p.cfplan'], { cwd: project.dir, env: run });
      expect(failed.code).toBe(1);
      expect(failed.stdout).toMatch(/task-a failed: updateTask: response signature does not verify/);
      expect(sim.tasks.get('task-a')!.taskCreateSetting.maxCall).toBe(2); // it landed
      const state = await store.state();
      expect(state.tasks['task-a'].taskCreateSetting.maxCall).toBe(5);
      expect(state.tasks['task-a'].pending).toMatchObject({ taskCreateSetting: { maxCall: 2 } });

      sim.setFaults({ faultRate: 0 });
      await writeTasks(5); // back to the last confirmed value
      const plan = await runCli(['plan', '--detailed-exitcode'], { cwd: project.dir, env: run });
      expect(plan.code).toBe(2);
      expect(plan.stdout).toContain('+ taskCreateSetting.maxCall = 5');
      expect(plan.stdout).toMatch(/without getting a confirmation; they are sent again/);
      expect((await runCli(['apply', '--auto-approve'], { cwd: project.dir, env: run })).code).toBe(3);
      expect(sim.tasks.get('task-a')!.taskCreateSetting.maxCall).toBe(5);
      expect((await store.state()).tasks['task-a'].pending).toBeUndefined();
    });
});
