import { mkdir, rm } from 'node:fs/promises';
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { startSimulator, type Simulator } from '../../src/sim/index.js';
import { validatePlan } from '../../src/generated/plan-validator.js';
import { PLAN_FORMAT_VERSION } from '../../src/model/plan.js';
import { runCli, tempProject, type TempProject } from '../support/cli-harness.js';
import { describeResult } from '../support/project.js';
import type { CallformPlan } from '../../src/model/plan.js';
import { parseJson } from '../support/json.js';
import { STORE_KINDS, stateStores } from '../support/state-store.js';

/** The parts of a saved plan the tamper tests edit. */
type EditablePlan = {
  tasks: Array<{ payload: { taskCreateSetting: Record<string, unknown> }; changes: Array<{ after: unknown }> }>;
};

let sim: Simulator;
let env: Record<string, string>;
const IDS = ['north-1', 'north-2', 'south-1'];
const stores = stateStores('gitops');

const made: string[] = [];
async function freshProject(): Promise<TempProject> {
  const p = await tempProject();
  made.push(p.dir);
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
afterAll(async () => {
  await sim.close();
  await Promise.all(made.map((dir) => rm(dir, { recursive: true, force: true })));
});

/** A setup step: runs the CLI and fails the test at once (with its output) unless it exits 0. */
async function ok(p: TempProject, ...args: string[]): Promise<void> {
  await okWith(env, p, ...args);
}

/** {@link ok} with the environment given (a store's database URL added). */
async function okWith(withEnv: Record<string, string>, p: TempProject, ...args: string[]): Promise<void> {
  const r = await runCli(args, { cwd: p.dir, env: withEnv });
  expect(r.code, describeResult(args, r)).toBe(0);
}

describe('saved plans', () => {
  it('round trip: plan --out, show in every format, apply exactly that plan', async () => {
    const p = await freshProject();
    const planned = await runCli(['plan', '--out', 'plan.cfplan'], { cwd: p.dir, env });
    expect(planned.code).toBe(0);
    expect(planned.stdout).toMatch(/Saved the plan to plan.cfplan/);
    const saved = parseJson<CallformPlan>(await p.read('plan.cfplan'));
    expect(saved.kind).toBe('callform-saved-plan');
    expect(validatePlan(saved)).toBe(true);
    expect(saved.state).toEqual({ lineage: null, serial: 0 });
    expect(saved.tasks[0].remote).toMatchObject({ taskStatus: 1 });
    expect(JSON.stringify(saved)).not.toContain(sim.secret);

    const json = await runCli(['show', 'plan.cfplan', '--format', 'json'], { cwd: p.dir });
    expect(json.code).toBe(0);
    const shown = parseJson<CallformPlan>(json.stdout);
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
    await ok(p, 'plan', '--out', 'old.cfplan');
    await ok(p, 'apply', '--auto-approve', '--target', 'north-1');
    const stateBefore = await p.read('callform.state.json');
    const res = await runCli(['apply', 'old.cfplan'], { cwd: p.dir, env });
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/saved plan is stale: the state lineage changed|saved plan is stale: the state changed/);
    expect(await p.read('callform.state.json')).toBe(stateBefore);
  });

  it('refuses a plan whose task files were edited since', async () => {
    const p = await freshProject();
    await ok(p, 'apply', '--auto-approve');
    await p.write('tasks/t.yaml', {
      tasks: IDS.map((id) => ({ userTaskID: id, sceneID: 'scene-1', taskCreateSetting: { taskName: id, maxCall: 9 } })),
    });
    await ok(p, 'plan', '--out', 'p.cfplan');
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

  /** A project with a saved --target plan of one change, and the plan as written. */
  async function targetedPlan(): Promise<{ p: TempProject; original: EditablePlan }> {
    const p = await freshProject();
    await ok(p, 'apply', '--auto-approve');
    await p.write('tasks/t.yaml', {
      tasks: IDS.map((id) => ({ userTaskID: id, sceneID: 'scene-1', taskCreateSetting: { taskName: id, maxCall: 9 } })),
    });
    await ok(p, 'plan', '--out', 'p.cfplan', '--target', 'north-1');
    return { p, original: parseJson<EditablePlan>(await p.read('p.cfplan')) };
  }

  it('refuses a plan file edited by hand: what show renders and what apply sends are one plan', async () => {
    const { p, original } = await targetedPlan();
    const edits: Array<[string, (plan: EditablePlan) => void]> = [
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
      // Caught as a part that disagrees with the task entries, or as entries the files do not give.
      expect(res.stderr, what).toContain(': the plan file was edited');
    }
  });

  it('a schema error in a saved plan names its own kind; the plan as written applies', async () => {
    const { p, original } = await targetedPlan();
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

  // The staleness check reads lineage and serial from the store: on both backends (docs/testing.md).
  for (const kind of STORE_KINDS)
    it(`refuses a plan when the state serial moved (same lineage, same files) (${kind} state)`, async () => {
      const p = await freshProject();
      const store = await stores(kind, p);
      const run = { ...env, ...store.env };
      await okWith(run, p, 'apply', '--auto-approve');
      await p.write('tasks/t.yaml', {
        tasks: IDS.map((id) => ({
          userTaskID: id,
          sceneID: 'scene-1',
          taskCreateSetting: { taskName: id, maxCall: 5 },
        })),
      });
      await okWith(run, p, 'plan', '--out', 'p.cfplan');
      await okWith(run, p, 'apply', '--auto-approve', '--target', 'north-1');
      const before = await store.state();
      const res = await runCli(['apply', 'p.cfplan'], { cwd: p.dir, env: run });
      expect(res.code).toBe(1);
      expect(res.stderr).toMatch(/saved plan is stale: the state changed since the plan was made \(serial \d+ → \d+\)/);
      expect(await store.state()).toEqual(before);
    });

  it('--target cannot be combined with a saved plan', async () => {
    const p = await freshProject();
    const updatesBefore = sim.stats().updates;
    await ok(p, 'plan', '--out', 'p.cfplan');
    const stateBefore = await p.readState();
    const res = await runCli(['apply', 'p.cfplan', '--target', 'north-1'], { cwd: p.dir, env });
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('Error: --target cannot be combined with a saved plan');
    expect(res.stderr).toContain('hint: these are chosen when the plan is made');
    expect(await p.readState()).toEqual(stateBefore);
    expect(sim.stats().updates, 'nothing was sent').toBe(updatesBefore);
  });
});

describe('targets and formats', () => {
  it('--target globs select tasks for plan and apply', async () => {
    const p = await freshProject();
    const plan = await runCli(['plan', '--offline', '--format', 'json', '--target', 'north-*'], { cwd: p.dir });
    expect(parseJson<CallformPlan>(plan.stdout).tasks.map((t) => t.userTaskID)).toEqual(['north-1', 'north-2']);
    const apply = await runCli(['apply', '--auto-approve', '-t', 'south-?'], { cwd: p.dir, env });
    expect(apply.code).toBe(0);
    expect(Object.keys((await p.state()).tasks)).toEqual(['south-1']);
  });

  it('plan --offline needs no credentials and says so', async () => {
    const p = await freshProject();
    const res = await runCli(['plan', '--offline'], { cwd: p.dir });
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(
      /Offline plan: remote task statuses were not read; blocked tasks, tasks missing remotely and sceneID mismatches cannot be detected, and no task is planned for creation\./,
    );
  });

  it('plan --format json validates against plan.schema.json and masks URL credentials', async () => {
    const p = await freshProject();
    const res = await runCli(['plan', '--format', 'json'], { cwd: p.dir, env });
    const plan = parseJson<CallformPlan>(res.stdout);
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
    made.push(p.dir);
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

describe('saved plans: what a refusal says', () => {
  /** A project whose tasks changed since the last apply, and a saved plan of that change. */
  async function plannedChange(file = 'p.cfplan', ...flags: string[]): Promise<TempProject> {
    const p = await freshProject();
    expect((await runCli(['apply', '--auto-approve'], { cwd: p.dir, env })).code).toBe(0);
    await p.write('tasks/t.yaml', {
      tasks: IDS.map((id) => ({ userTaskID: id, sceneID: 'scene-1', taskCreateSetting: { taskName: id, maxCall: 7 } })),
    });
    expect((await runCli(['plan', '--out', file, ...flags], { cwd: p.dir, env })).code).toBe(0);
    return p;
  }

  it('applied from another directory: the task files were not found, and from where', async () => {
    const p = await plannedChange();
    const elsewhere = await tempProject();
    made.push(elsewhere.dir);
    await rm(`${elsewhere.dir}/callform.config.yaml`);
    const res = await runCli(['apply', `${p.dir}/p.cfplan`], { cwd: elsewhere.dir, env });
    expect(res.code).toBe(1);
    expect(res.stderr).toContain(
      `Error: saved plan cannot be checked: its task files were not found: no file matches tasks/**/*.{yaml,yml,json} in ${elsewhere.dir} (the working directory: no settings file was found)`,
    );
    expect(res.stderr).toContain('hint: apply the plan from the project it was made in');
    expect(res.stderr).not.toContain('no longer validate');
    // Named with --config, the plan's own settings find its files.
    const named = await runCli(['--config', `${p.dir}/callform.config.yaml`, 'apply', `${p.dir}/p.cfplan`], {
      cwd: elsewhere.dir,
      env,
    });
    expect(named.code, named.stderr).toBe(0);
  });

  it('task files that no longer validate: stale, with their problems', async () => {
    const p = await plannedChange();
    await p.write('tasks/t.yaml', {
      tasks: [{ userTaskID: 'north-1', sceneID: 'scene-1', taskCreateSetting: { maxCall: -1 } }],
    });
    const stateBefore = await p.read('callform.state.json');
    const res = await runCli(['apply', 'p.cfplan'], { cwd: p.dir, env });
    expect(res.code).toBe(1);
    expect(res.stderr).toContain(
      'Error: saved plan is stale: the task files changed since the plan was made and no longer validate; 1 problem in task files:',
    );
    expect(res.stderr).toContain('tasks/t.yaml:');
    expect(res.stderr).toContain('maxCall');
    expect(await p.read('callform.state.json')).toBe(stateBefore);
  });

  it('applied twice: the second time says it was already applied', async () => {
    const p = await plannedChange();
    expect((await runCli(['apply', 'p.cfplan'], { cwd: p.dir, env })).code).toBe(0);
    const stateBefore = await p.read('callform.state.json');
    const again = await runCli(['apply', 'p.cfplan'], { cwd: p.dir, env });
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(
      /Error: this saved plan was already applied: the state moved on since it was made \(serial \d+ → \d+\) and records its changes/,
    );
    expect(again.stderr).not.toContain('another state file');
    expect(await p.read('callform.state.json')).toBe(stateBefore);
  });

  it('a first plan (made before any state existed) applied twice says so too', async () => {
    const first = await freshProject();
    expect((await runCli(['plan', '--out', 'first.cfplan'], { cwd: first.dir, env })).code).toBe(0);
    expect((await runCli(['apply', 'first.cfplan'], { cwd: first.dir, env })).code).toBe(0);
    const twice = await runCli(['apply', 'first.cfplan'], { cwd: first.dir, env });
    expect(twice.code).toBe(1);
    expect(twice.stderr).toContain(
      'this saved plan was already applied: the state moved on since it was made (the state file was created since)',
    );
    expect(twice.stderr).not.toContain('made for another state file');
  });

  it('sendMode changed in the settings since the plan: names the setting', async () => {
    const p = await plannedChange();
    await p.write('callform.config.yaml', { parallelism: 4, timeoutMs: 5000, retries: 1, sendMode: 'declared' });
    const res = await runCli(['apply', 'p.cfplan'], { cwd: p.dir, env });
    expect(res.code).toBe(1);
    expect(res.stderr).toContain(
      "Error: saved plan is stale: the settings' sendMode changed since the plan was made (plan: changed, now: declared), so task north-1 would send other fields",
    );
    expect(res.stderr).not.toContain('edited');
  });

  it('a plan made --offline applies with a warning that statuses were not checked', async () => {
    const p = await plannedChange('offline.cfplan', '--offline');
    const res = await runCli(['apply', 'offline.cfplan'], { cwd: p.dir, env });
    expect(res.code, res.stderr).toBe(0);
    expect(res.stderr).toContain(
      'warning: this plan was made with --offline: task statuses were not checked, so running or finished tasks will fail instead of showing as blocked',
    );
    const online = await runCli(['plan', '--out', 'online.cfplan'], { cwd: p.dir, env });
    expect(online.code).toBe(0);
    expect((await runCli(['apply', 'online.cfplan'], { cwd: p.dir, env })).stderr).not.toContain('--offline');
  });
});

describe('a state path whose directory does not exist', () => {
  it('apply fails with a clear message and doctor agrees; with the directory made, both pass', async () => {
    const p = await freshProject();
    await p.write('callform.config.yaml', { parallelism: 4, timeoutMs: 5000, retries: 1, state: 'nodir/state.json' });
    const res = await runCli(['apply', '--auto-approve'], { cwd: p.dir, env });
    expect(res.code).toBe(1);
    expect(res.stderr).toContain(
      `Error: cannot lock state file: the state file's directory ${p.dir}/nodir does not exist`,
    );
    expect(res.stderr).toContain(`hint: create the directory (mkdir -p ${p.dir}/nodir)`);
    expect(res.stderr).not.toMatch(/ENOENT|lock\.tmp-/);
    const doctor = await runCli(['doctor'], { cwd: p.dir, env });
    expect(doctor.code).toBe(1);
    expect(doctor.stdout).toContain(
      `✗ state               nodir/state.json: none yet, and apply cannot create it: the state file's directory ${p.dir}/nodir does not exist`,
    );
    await mkdir(`${p.dir}/nodir`);
    expect((await runCli(['doctor'], { cwd: p.dir, env })).stdout).toContain(
      '✓ state               nodir/state.json: none yet',
    );
    expect((await runCli(['apply', '--auto-approve'], { cwd: p.dir, env })).code).toBe(0);
  });
});
