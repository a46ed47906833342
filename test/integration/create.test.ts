/**
 * Creating tasks through the built CLI against the simulator (issue 19): plan (text,
 * Markdown, JSON, exit codes, --fail-on-risk, --offline), apply, saved plans, --target,
 * policies, a task left "created, settings not yet sent" by a kill, and bad inputs.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { startSimulator, type Simulator } from '../../src/sim/index.js';
import { createProject, describeResult, runCli, simEnv, type TempProject } from '../support/project.js';
import type { CallformPlan } from '../../src/model/plan.js';
import { parseJson } from '../support/json.js';
import { tempDir } from '../support/temp.js';

let sim: Simulator;
beforeAll(async () => {
  sim = await startSimulator({ seed: { tasks: [{ userTaskID: 'old-1', sceneID: 's', taskStatus: 1 }] } });
});
afterAll(() => sim.close());

/** A project declaring old-1 (on the server) and the given new tasks. */
async function project(newIds: string[], extra: object = {}): Promise<TempProject> {
  const p = await createProject({ parallelism: 2, timeoutMs: 10_000, retries: 1 }, 'callform-create-');
  await p.writeCollections({
    campaigns: {
      defaults: { funcFlag: { taskKeep: true }, ...extra },
      tasks: [
        { userTaskID: 'old-1', sceneID: 's', taskCreateSetting: { maxCall: 2 } },
        ...newIds.map((id) => ({ userTaskID: id, sceneID: 's', taskCreateSetting: { maxCall: 4, taskName: id } })),
      ],
    },
  });
  return p;
}

const cli = (p: TempProject, args: string[]) => runCli(args, { cwd: p.dir, env: simEnv(sim) });

describe('creating tasks (CLI)', () => {
  it('plan shows the create in text, Markdown and JSON; --fail-on-risk gates it; apply creates it once', async () => {
    const p = await project(['c-1']);
    const plan = await cli(p, ['plan', '--detailed-exitcode']);
    expect(plan.code, describeResult(['plan'], plan)).toBe(2);
    expect(plan.stdout).toMatch(/^\+ c-1 will be created {2}\(tasks\/campaigns\.yaml:\d+\)$/m);
    expect(plan.stdout).toContain('    + taskCreateSetting.taskName = "c-1"');
    expect(plan.stdout).toContain('Plan: 1 to create, 1 to update, 0 unchanged.');
    expect((await cli(p, ['plan', '--fail-on-risk'])).code).toBe(4);
    const md = await cli(p, ['plan', '--format', 'markdown']);
    expect(md.stdout).toContain('| `c-1` | 🟢 create | 3 |');
    expect(md.stdout).toContain('**new task**: `c-1`');
    const json = parseJson<CallformPlan>((await cli(p, ['plan', '--format', 'json'])).stdout);
    expect(json.format_version).toBe('2.2');
    expect(json.summary.create).toBe(1);
    expect(json.tasks.find((t) => t.userTaskID === 'c-1')).toMatchObject({
      action: 'create',
      createPayload: { productID: 'callbot', userTaskID: 'c-1', sceneID: 's' },
    });
    sim.resetStats();
    const apply = await cli(p, ['apply', '--auto-approve']);
    expect(apply.code, describeResult(['apply'], apply)).toBe(0);
    expect(apply.stdout).toMatch(/^\[\d\/2\] c-1 created$/m);
    expect(apply.stdout).toMatch(
      /Apply complete: 1 created, 1 applied, 0 blocked, 0 failed, 0 unchanged \(1 createTask call, 2 updateTask calls/,
    );
    expect(sim.stats()).toMatchObject({ creates: 1, byEndpoint: { createTask: 1, updateTask: 2 } });
    expect(sim.tasks.get('c-1')).toMatchObject({
      sceneID: 's',
      taskStatus: 1,
      taskCreateSetting: { maxCall: 4, taskName: 'c-1' },
      funcFlag: { taskKeep: true },
    });
    const state = await p.state();
    expect(state.tasks['c-1']).toMatchObject({
      taskID: sim.tasks.get('c-1')!.taskID,
      taskCreateSetting: { maxCall: 4 },
    });
    expect(state.tasks['c-1'].creating).toBeUndefined();
    expect((await cli(p, ['plan', '--detailed-exitcode'])).code).toBe(0);
  });

  it('--offline plans no create and says so; whenMissing: error in defaults keeps it an error', async () => {
    const p = await project(['c-2']);
    const offline = await cli(p, ['plan', '--offline']);
    expect(offline.stdout).toContain('and no task is planned for creation');
    expect(offline.stdout).not.toContain('will be created');
    const q = await project(['c-3'], { lifecycle: { whenMissing: 'error' } });
    const r = await cli(q, ['plan']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/x c-3 has an ERROR[\s\S]*lifecycle\.whenMissing is error/);
    expect(sim.tasks.has('c-3')).toBe(false);
  });

  it('saved plans and --target work for creates', async () => {
    const p = await project(['c-4', 'c-5']);
    const saved = await cli(p, ['plan', '--target', 'c-4', '--out', 'p.cfplan']);
    expect(saved.code, describeResult(['plan'], saved)).toBe(0);
    const apply = await cli(p, ['apply', 'p.cfplan']);
    expect(apply.code, describeResult(['apply'], apply)).toBe(0);
    expect(sim.tasks.has('c-4')).toBe(true);
    expect(sim.tasks.has('c-5')).toBe(false);
    const again = await cli(p, ['apply', 'p.cfplan']);
    expect(again.stderr).toContain('already applied');
  });

  it('a policy checks a task to be created like any other', async () => {
    const p = await project(['c-6']);
    await p.write('policies/base.yaml', {
      rules: [{ name: 'robots', kind: 'maxCall', max: 3, severity: 'error', message: 'at most 3 robots' }],
    });
    await p.writeSettings({ parallelism: 2, timeoutMs: 10_000, retries: 1, policyFiles: 'policies/*.yaml' });
    const r = await cli(p, ['plan']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/x tasks\/campaigns\.yaml:\d+: c-6 \[robots\] maxCall is 4, above the maximum 3/);
    expect((await cli(p, ['apply', '--auto-approve'])).code).toBe(1);
    expect(sim.tasks.has('c-6')).toBe(false);
  });

  it('a task left created by a kill (settings not sent) is updated with every declared field', async () => {
    const p = await project(['c-7']);
    expect((await cli(p, ['apply', '--auto-approve'])).code).toBe(0);
    // As a kill between createTask and updateTask leaves them: the mark in the state, the defaults on the server.
    const state = await p.state();
    const since = '2026-12-01T00:00:00.000Z';
    state.tasks['c-7'] = {
      sceneID: 's',
      taskCreateSetting: {},
      funcFlag: {},
      appliedAt: since,
      creating: { since, phase: 'requested' },
    };
    await p.write('callform.state.json', state);
    sim.tasks.get('c-7')!.taskCreateSetting = { startupType: 1, maxCall: 1 };
    const plan = await cli(p, ['plan']);
    expect(plan.stdout).toMatch(/^~ c-7 will be updated \(created, settings not yet sent\)/m);
    expect(plan.stdout).toContain('    + taskCreateSetting.maxCall = 4');
    sim.resetStats();
    expect((await cli(p, ['apply', '--auto-approve'])).code).toBe(0);
    expect(sim.stats().byEndpoint.createTask).toBe(0);
    expect(sim.tasks.get('c-7')!.taskCreateSetting).toMatchObject({ maxCall: 4, taskName: 'c-7' });
    expect((await cli(p, ['plan', '--detailed-exitcode'])).code).toBe(0);
  });

  it('a create mark on a task that declares no setting is never a no-op: looked up, made if missing, then cleared', async () => {
    const p = await createProject({ parallelism: 2, timeoutMs: 10_000, retries: 1 }, 'callform-create-');
    await p.writeCollections({ bare: { tasks: ['bare-1', 'bare-2'].map((id) => ({ userTaskID: id, sceneID: 's' })) } });
    // As an unknown createTask outcome leaves them: bare-1 was never created, bare-2 was.
    const since = '2026-12-01T00:00:00.000Z';
    const marked = { sceneID: 's', taskCreateSetting: {}, funcFlag: {}, appliedAt: since };
    await p.write('callform.state.json', {
      version: 2,
      lineage: '00000000-0000-4000-8000-000000000001',
      serial: 1,
      tasks: {
        'bare-1': { ...marked, creating: { since, phase: 'requested' } },
        'bare-2': { ...marked, creating: { since, phase: 'requested' } },
      },
    });
    sim.tasks.set('bare-2', { ...sim.tasks.get('old-1')!, userTaskID: 'bare-2', taskID: 'T-bare-2' });
    const plan = await cli(p, ['plan', '--refresh', 'changed', '--detailed-exitcode']);
    expect(plan.code, describeResult(['plan'], plan)).toBe(2);
    expect(plan.stdout).toMatch(/^\+ bare-1 will be created/m);
    expect(plan.stdout).toContain(
      '(createTask with productID, userTaskID and sceneID; no setting declared, so no updateTask)',
    );
    expect(plan.stdout).toMatch(/^~ bare-2 will be updated \(created, settings not yet sent\)/m);
    expect((await cli(p, ['apply', '--refresh', 'changed', '--auto-approve'])).code).toBe(0);
    expect(sim.tasks.has('bare-1')).toBe(true);
    const state = await p.state();
    expect(state.tasks['bare-1'].creating).toBeUndefined();
    expect(state.tasks['bare-2'].creating).toBeUndefined();
    expect((await cli(p, ['plan', '--refresh', 'changed', '--detailed-exitcode'])).code).toBe(0);
  });

  it('init scaffolds a task that the first plan creates', async () => {
    const dir = await tempDir('callform-create-init-');
    expect((await runCli(['init'], { cwd: dir, env: simEnv(sim) })).code).toBe(0);
    const plan = await runCli(['plan'], { cwd: dir, env: simEnv(sim) });
    expect(plan.code, describeResult(['plan'], plan)).toBe(0);
    expect(plan.stdout).toMatch(/^\+ example-task-0001 will be created {2}\(tasks\/example-task\.yaml:\d+\)$/m);
  });

  it('bad inputs: a task without sceneID, whenMissing with a bad value: file:line and a hint', async () => {
    const p = await project([]);
    await p.write(
      'tasks/bad.yaml',
      'tasks:\n  - userTaskID: c-8\n    taskCreateSetting: {maxCall: 2}\n  - userTaskID: c-9\n    sceneID: s\n    lifecycle:\n      whenMissing: always\n',
    );
    const r = await cli(p, ['validate']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('tasks/bad.yaml:2:5: tasks[0]: missing required field "sceneID"');
    expect(r.stderr).toContain('createTask needs it to create a missing task');
    expect(r.stderr).toMatch(/tasks\/bad\.yaml:7:20: tasks\[1\]\.lifecycle\.whenMissing: .*"always"/);
    expect(r.stderr).toContain('must be one of "create", "error"; got "always"');
  });
});
