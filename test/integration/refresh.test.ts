// --refresh changed|all and the `refresh` setting: which task statuses plan and apply read.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { startSimulator, type Simulator } from '../../src/sim/index.js';
import { runCli, simEnv, tempProject, type TempProject } from '../support/project.js';

const N = 250; // three listTask calls of 100 IDs with --refresh all
const id = (i: number) => `refresh-${String(i).padStart(3, '0')}`;
const tasks = (maxCall: (i: number) => number) =>
  Array.from({ length: N }, (_, i) => ({
    userTaskID: id(i),
    sceneID: 'scene-1',
    taskCreateSetting: { maxCall: maxCall(i) },
  }));

let sim: Simulator;
let project: TempProject;
let env: Record<string, string | undefined>;

/** Runs the CLI and returns its result with the simulator's listTask / updateTask counts. */
async function run(args: string[]) {
  sim.resetStats();
  const r = await runCli(args, { cwd: project.dir, env });
  const s = sim.stats();
  return { ...r, listTask: s.byEndpoint.listTask, ids: s.listTaskIDs, updates: s.byEndpoint.updateTask };
}

beforeAll(async () => {
  sim = await startSimulator({
    seed: { tasks: Array.from({ length: N }, (_, i) => ({ userTaskID: id(i), sceneID: 'scene-1', taskStatus: 1 })) },
  });
  env = simEnv(sim);
  project = await tempProject();
  await project.write('tasks/all.yaml', { tasks: tasks(() => 1) });
  const first = await run(['apply', '--auto-approve']);
  expect(first.code).toBe(0);
  // Two tasks change: tasks 7 and 200.
  await project.write('tasks/all.yaml', { tasks: tasks((i) => (i === 7 || i === 200 ? 2 : 1)) });
});

afterAll(async () => {
  await sim.close();
});

describe('--refresh', () => {
  it('changed reads only the tasks with something to do, in one listTask call, and says so', async () => {
    const r = await run(['plan', '--refresh', 'changed']);
    expect(r.code).toBe(0);
    expect([r.listTask, r.ids]).toEqual([1, 2]);
    expect(r.stdout).toContain(
      '--refresh changed: the statuses of 248 unchanged tasks were not read; tasks missing remotely and sceneID mismatches among them are not detected (--refresh all reads every task).',
    );
    expect(r.stdout).toContain('Plan: 2 to update, 248 unchanged.');
  });

  it('all (the default) reads every declared task, as before', async () => {
    const r = await run(['plan']);
    expect(r.code).toBe(0);
    expect([r.listTask, r.ids]).toEqual([3, N]);
    expect(r.stdout).not.toContain('--refresh changed');
    const explicit = await run(['plan', '--refresh', 'all']);
    expect([explicit.listTask, explicit.ids]).toEqual([3, N]);
  });

  it('the refresh setting is the default; the flag overrides it', async () => {
    await project.writeSettings({ parallelism: 4, timeoutMs: 5000, retries: 1, refresh: 'changed' });
    try {
      expect((await run(['plan'])).listTask).toBe(1);
      expect((await run(['plan', '--refresh', 'all'])).listTask).toBe(3);
    } finally {
      await project.writeSettings({ parallelism: 4, timeoutMs: 5000, retries: 1 });
    }
  });

  it('a changed task not returned is missing remotely (planned as a create); an unchanged one is found only with all', async () => {
    const changed = sim.tasks.get(id(7))!;
    const unchanged = sim.tasks.get(id(8))!;
    sim.tasks.delete(id(7));
    sim.tasks.delete(id(8));
    try {
      const c = await run(['plan', '--refresh', 'changed']);
      expect(c.code).toBe(0);
      expect(c.stdout).toContain(`+ ${id(7)} will be created`);
      expect(c.stdout).not.toContain(`${id(8)} will be created`);
      const a = await run(['plan', '--refresh', 'all']);
      expect(a.code).toBe(0);
      expect(a.stdout).toContain(`+ ${id(7)} will be created`);
      expect(a.stdout).toContain(`+ ${id(8)} will be created`);
    } finally {
      sim.tasks.set(id(7), changed);
      sim.tasks.set(id(8), unchanged);
    }
  });

  it('a saved plan made with changed applies as planned; --refresh is refused beside a saved plan', async () => {
    const saved = await run(['plan', '--refresh', 'changed', '--out', 'plan.json']);
    expect(saved.code).toBe(0);
    const refused = await run(['apply', 'plan.json', '--refresh', 'all']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('--refresh cannot be combined with a saved plan');
    const applied = await run(['apply', 'plan.json']);
    expect(applied.stderr).toBe('');
    expect(applied.code).toBe(0);
    expect(applied.updates).toBe(2);
    // The next apply finds nothing to do and reads nothing but what changed (nothing).
    const again = await run(['apply', '--auto-approve', '--refresh', 'changed']);
    expect(again.code).toBe(0);
    expect([again.listTask, again.updates]).toEqual([0, 0]);
  });
});
