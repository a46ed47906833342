import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { startSimulator, type Simulator } from '../../src/sim/index.js';
import { validatePlan } from '../../src/generated/plan-validator.js';
import { PLAN_FORMAT_VERSION } from '../../src/model/plan.js';
import { runCli, tempProject, type TempProject } from '../support/cli-harness.js';

let sim: Simulator;
let env: Record<string, string>;
const IDS = ['north-1', 'north-2', 'south-1'];

async function freshProject(): Promise<TempProject> {
  const p = await tempProject();
  await p.write('tasks/t.yaml', {
    tasks: IDS.map((id, i) => ({
      userTaskID: id,
      sceneID: 'scene-1',
      taskCreateSetting: { taskName: id, maxCall: i + 1, taskCallbackUrl: 'https://ops:hunter2@hooks.example.com/cb' },
    })),
  });
  return p;
}

beforeAll(async () => {
  sim = await startSimulator({
    seed: { tasks: IDS.map((id) => ({ userTaskID: id, sceneID: 'scene-1', taskStatus: 1 })) },
  });
  env = { NXCLOUD_ENDPOINT: sim.url, NXCLOUD_UUID: sim.uuid, NXCLOUD_SECRET_KEY: sim.secret };
});
afterAll(() => sim.close());

describe('saved plans', () => {
  it('round trip: plan --out, show in every format, apply exactly that plan', async () => {
    const p = await freshProject();
    const planned = await runCli(['plan', '--out', 'plan.cfplan'], { cwd: p.dir, env });
    expect(planned.code).toBe(0);
    expect(planned.stdout).toMatch(/Saved the plan to plan.cfplan/);
    const saved = JSON.parse(await p.read('plan.cfplan'));
    expect(saved.kind).toBe('callform-saved-plan');
    expect(validatePlan(saved)).toBe(true);
    expect(saved.state).toEqual({ lineage: null, serial: 0 });
    expect(saved.tasks[0].remote).toMatchObject({ taskStatus: 1 });
    expect(JSON.stringify(saved)).not.toContain(sim.secret);

    const json = await runCli(['show', 'plan.cfplan', '--format', 'json'], { cwd: p.dir });
    expect(json.code).toBe(0);
    const shown = JSON.parse(json.stdout);
    expect(validatePlan(shown), JSON.stringify(validatePlan.errors)).toBe(true);
    expect(shown.format_version).toBe(PLAN_FORMAT_VERSION);
    expect(json.stdout).not.toContain('hunter2');
    const md = await runCli(['show', 'plan.cfplan', '--format', 'markdown'], { cwd: p.dir });
    expect(md.stdout).toMatch(/^<!-- callform-plan -->/);
    expect(md.stdout).toContain('3 to update, 0 unchanged');
    const text = await runCli(['show', 'plan.cfplan'], { cwd: p.dir });
    expect(text.stdout).toContain('Plan: 3 to update, 0 unchanged.');
    expect(text.stdout).not.toContain('hunter2');

    const applied = await runCli(['apply', 'plan.cfplan'], { cwd: p.dir, env });
    expect(applied.code).toBe(0);
    expect(applied.stdout).toMatch(/3 applied/);
    expect((await p.state()).tasks['north-2'].taskCreateSetting.maxCall).toBe(2);
  });

  it('refuses a plan made before another apply changed the state', async () => {
    const p = await freshProject();
    await runCli(['plan', '--out', 'old.cfplan'], { cwd: p.dir, env });
    expect((await runCli(['apply', '--auto-approve', '--target', 'north-1'], { cwd: p.dir, env })).code).toBe(0);
    const stateBefore = await p.read('callform.state.json');
    const res = await runCli(['apply', 'old.cfplan'], { cwd: p.dir, env });
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/saved plan is stale: the state lineage changed|saved plan is stale: the state changed/);
    expect(await p.read('callform.state.json')).toBe(stateBefore);
  });

  it('refuses a plan whose task files were edited since', async () => {
    const p = await freshProject();
    await runCli(['apply', '--auto-approve'], { cwd: p.dir, env });
    await p.write('tasks/t.yaml', {
      tasks: IDS.map((id) => ({ userTaskID: id, sceneID: 'scene-1', taskCreateSetting: { taskName: id, maxCall: 9 } })),
    });
    await runCli(['plan', '--out', 'p.cfplan'], { cwd: p.dir, env });
    await p.write('tasks/t.yaml', {
      tasks: IDS.map((id) => ({
        userTaskID: id,
        sceneID: 'scene-1',
        taskCreateSetting: { taskName: id, maxCall: 10 },
      })),
    });
    const res = await runCli(['apply', 'p.cfplan'], { cwd: p.dir, env });
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/saved plan is stale: the task files changed/);
  });

  it('refuses a plan file edited by hand: what show renders and what apply sends are one plan', async () => {
    const p = await freshProject();
    await runCli(['apply', '--auto-approve'], { cwd: p.dir, env });
    await p.write('tasks/t.yaml', {
      tasks: IDS.map((id) => ({ userTaskID: id, sceneID: 'scene-1', taskCreateSetting: { taskName: id, maxCall: 9 } })),
    });
    await runCli(['plan', '--out', 'p.cfplan', '--target', 'north-1'], { cwd: p.dir, env });
    const original = JSON.parse(await p.read('p.cfplan'));
    const edits: Array<[string, (plan: any) => void]> = [
      ['payload', (plan) => (plan.tasks[0].payload.taskCreateSetting.maxCall = 99)],
      ['changes', (plan) => (plan.tasks[0].changes[0].after = 1)],
      ['tasks', (plan) => (plan.tasks = [])],
    ];
    for (const [what, edit] of edits) {
      const plan = structuredClone(original);
      edit(plan);
      await p.write('edited.cfplan', JSON.stringify(plan));
      const res = await runCli(['apply', 'edited.cfplan'], { cwd: p.dir, env });
      expect(res.code, what).toBe(1);
      expect(res.stderr, what).toContain('saved plan does not match its task files and state');
    }
    // A schema error in one task kind is reported for that kind only (discriminated by action).
    const bad = structuredClone(original);
    bad.tasks[0].payload.taskCreateSetting.zoneSecond = 5;
    await p.write('bad.cfplan', JSON.stringify(bad));
    const refused = await runCli(['apply', 'bad.cfplan'], { cwd: p.dir, env });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('tasks[0].payload.taskCreateSetting.zoneSecond');
    expect(refused.stderr).not.toContain('unknown field');
    // The plan as written applies: a --target plan is rebuilt with its targets.
    const res = await runCli(['apply', 'p.cfplan'], { cwd: p.dir, env });
    expect(res.code, res.stderr).toBe(0);
    expect((await p.state()).tasks['north-1'].taskCreateSetting.maxCall).toBe(9);
  });

  it('refuses a plan when the state serial moved (same lineage, same files)', async () => {
    const p = await freshProject();
    await runCli(['apply', '--auto-approve'], { cwd: p.dir, env });
    await p.write('tasks/t.yaml', {
      tasks: IDS.map((id) => ({ userTaskID: id, sceneID: 'scene-1', taskCreateSetting: { taskName: id, maxCall: 5 } })),
    });
    await runCli(['plan', '--out', 'p.cfplan'], { cwd: p.dir, env });
    expect((await runCli(['apply', '--auto-approve', '--target', 'north-1'], { cwd: p.dir, env })).code).toBe(0);
    const res = await runCli(['apply', 'p.cfplan'], { cwd: p.dir, env });
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/saved plan is stale: the state changed since the plan was made \(serial \d+ → \d+\)/);
  });

  it('--target cannot be combined with a saved plan', async () => {
    const p = await freshProject();
    await runCli(['plan', '--out', 'p.cfplan'], { cwd: p.dir, env });
    const res = await runCli(['apply', 'p.cfplan', '--target', 'north-1'], { cwd: p.dir, env });
    expect(res.code).toBe(1);
  });
});

describe('targets and formats', () => {
  it('--target globs select tasks for plan and apply', async () => {
    const p = await freshProject();
    const plan = await runCli(['plan', '--offline', '--format', 'json', '--target', 'north-*'], { cwd: p.dir });
    expect(JSON.parse(plan.stdout).tasks.map((t: any) => t.userTaskID)).toEqual(['north-1', 'north-2']);
    const apply = await runCli(['apply', '--auto-approve', '-t', 'south-?'], { cwd: p.dir, env });
    expect(apply.code).toBe(0);
    expect(Object.keys((await p.state()).tasks)).toEqual(['south-1']);
  });

  it('plan --offline needs no credentials and says so', async () => {
    const p = await freshProject();
    const res = await runCli(['plan', '--offline'], { cwd: p.dir });
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(
      /Offline plan: remote task statuses were not read; blocked tasks, tasks missing remotely and sceneID mismatches cannot be detected\./,
    );
  });

  it('plan --format json validates against plan.schema.json and masks URL credentials', async () => {
    const p = await freshProject();
    const res = await runCli(['plan', '--format', 'json'], { cwd: p.dir, env });
    const plan = JSON.parse(res.stdout);
    expect(validatePlan(plan), JSON.stringify(validatePlan.errors)).toBe(true);
    expect(plan.kind).toBe('callform-plan');
    expect(res.stdout).toContain('https://***:***@hooks.example.com/cb');
    expect(res.stdout).not.toContain('hunter2');
  });

  it('validate reports counts and exits 0', async () => {
    const p = await freshProject();
    const res = await runCli(['validate'], { cwd: p.dir });
    expect(res).toMatchObject({ code: 0, stdout: 'Valid: 3 tasks in 1 file.\n' });
  });

  it('init scaffolds a project that validates', async () => {
    const p = await tempProject();
    const { rm } = await import('node:fs/promises');
    await rm(`${p.dir}/callform.config.yaml`);
    const res = await runCli(['init'], { cwd: p.dir });
    expect(res.code).toBe(0);
    expect(await p.read('tasks/example-task.yaml')).toMatch(/yaml-language-server: \$schema=.*task-file\.schema\.json/);
    expect((await p.read('.gitignore')).split('\n')).toEqual(
      expect.arrayContaining(['callform.state.json.lock', 'callform.state.json.lock.*']),
    );
    expect((await runCli(['validate'], { cwd: p.dir })).code).toBe(0);
    expect((await runCli(['init'], { cwd: p.dir })).code).toBe(0); // idempotent: nothing to do
  });
});
