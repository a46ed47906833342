/**
 * Live tasks through the real CLI: lifecycle.whenRunning: pause and --pause-running, a
 * delayed pause, a task a person paused, apply --format json, and a run killed or
 * interrupted inside a pause window (the next plan shows the owed resume; the next apply
 * settles it first; a second SIGINT still waits for the window).
 */
import { describe, it, expect, afterEach } from 'vitest';
import { startSimulator, type Simulator } from '../../src/sim/index.js';
import { validatePlan } from '../../src/generated/plan-validator.js';
import { runCli, tempProject, type TempProject } from '../support/cli-harness.js';
import { describeResult, spawnCli, waitFor } from '../support/project.js';
import { anyNumber } from '../support/expect.js';
import type { CallformPlan } from '../../src/model/plan.js';
import type { TaskResult } from '../../src/apply/apply.js';
import { parseJson } from '../support/json.js';
import { STORE_KINDS, stateStores } from '../support/state-store.js';

let sim: Simulator;
let project: TempProject;
const stores = stateStores('live');
let env: Record<string, string>;

async function setup(options: { pauseDelayMs?: number; config?: object } = {}) {
  sim = await startSimulator({
    pauseDelayMs: options.pauseDelayMs ?? 0,
    seed: {
      tasks: [
        { userTaskID: 'live-opted', sceneID: 's', taskStatus: 2 },
        { userTaskID: 'live-plain', sceneID: 's', taskStatus: 2 },
        { userTaskID: 'live-person', sceneID: 's', taskStatus: 2 },
        { userTaskID: 'live-done', sceneID: 's', taskStatus: 3 },
      ],
    },
  });
  project = await tempProject({ pauseTimeoutMs: 10_000, ...options.config });
  await writeTasks(10);
  env = { NXCLOUD_ENDPOINT: sim.url, NXCLOUD_UUID: sim.uuid, NXCLOUD_SECRET_KEY: sim.secret };
}

async function writeTasks(maxCall: number) {
  await project.write('tasks/live.yaml', {
    tasks: [
      { userTaskID: 'live-opted', sceneID: 's', lifecycle: { whenRunning: 'pause' }, taskCreateSetting: { maxCall } },
      { userTaskID: 'live-plain', sceneID: 's', taskCreateSetting: { maxCall } },
      { userTaskID: 'live-person', sceneID: 's', lifecycle: { whenRunning: 'pause' }, taskCreateSetting: { maxCall } },
      { userTaskID: 'live-done', sceneID: 's', lifecycle: { whenRunning: 'pause' }, taskCreateSetting: { maxCall } },
    ],
  });
}

/** The order of calls and status changes of one task, e.g. ['pause', 'status 2→5', 'update', 'start', 'status 5→2']. */
function story(id: string): string[] {
  return sim
    .log()
    .filter((e) => e.userTaskID === id)
    .map((e) =>
      e.kind === 'status'
        ? `status ${e.from}→${e.to}`
        : e.endpoint === 'updateTask'
          ? 'update'
          : e.taskOperate === 2
            ? 'pause'
            : e.taskOperate === 1
              ? 'start'
              : 'finish',
    );
}

afterEach(async () => {
  await (sim as Simulator | undefined)?.close(); // unset when the setup failed
});

describe('live tasks: pause → update → resume', () => {
  it('plans the opted-in running task as pause → update → resume, keeps the others blocked, and applies in that order', async () => {
    await setup();
    const plan = await runCli(['plan', '--detailed-exitcode'], { cwd: project.dir, env });
    expect(plan.code, describeResult(['plan'], plan)).toBe(2);
    expect(plan.stdout).toContain('~ live-opted will be updated (pause → update → resume)');
    expect(plan.stdout).toMatch(/! live-plain is BLOCKED[\s\S]*lifecycle.whenRunning: pause/);
    expect(plan.stdout).toMatch(/! live-done is BLOCKED[\s\S]*finished task cannot be changed/);
    const json = await runCli(['plan', '--format', 'json'], { cwd: project.dir, env });
    const parsed = parseJson<CallformPlan>(json.stdout);
    expect(validatePlan(parsed), JSON.stringify(validatePlan.errors)).toBe(true);
    expect(parsed.tasks.find((t) => t.userTaskID === 'live-opted')).toMatchObject({
      action: 'pause-update-resume',
      pauseResume: true,
    });

    sim.setStatus('live-person', 5); // a person pauses it before the apply
    const apply = await runCli(['apply', '--auto-approve', '--format', 'json'], { cwd: project.dir, env });
    expect(apply.code, describeResult(['apply'], apply)).toBe(3); // live-plain and live-done stay blocked
    expect(story('live-opted')).toEqual(['pause', 'status 2→5', 'update', 'start', 'status 5→2']);
    expect(sim.tasks.get('live-opted')).toMatchObject({ taskStatus: 2, taskCreateSetting: { maxCall: 10 } });
    // never resumed: a person paused it; it was updated as it is
    expect(story('live-person')).toEqual(['status 2→5', 'update']);
    expect(sim.tasks.get('live-person')).toMatchObject({ taskStatus: 5, taskCreateSetting: { maxCall: 10 } });
    expect(story('live-plain')).toEqual([]);
    const report = parseJson<{ results: TaskResult[] }>(apply.stdout);
    expect(report).toMatchObject({ kind: 'callform-apply', status: 'applied', exit_code: 3, paused: { tasks: 1 } });
    expect(report.results.find((r) => r.userTaskID === 'live-opted')).toMatchObject({
      outcome: 'applied',
      pausedMs: anyNumber(),
    });
    expect(apply.stderr).toMatch(/paused \(pause → update → resume\): 1 task/);
    expect((await project.state()).owedResumes).toBeUndefined();
  });

  it('--pause-running opts in every targeted running task; a delayed pause is confirmed by polling', async () => {
    await setup({ pauseDelayMs: 400 });
    const apply = await runCli(['apply', '--auto-approve', '--pause-running', '--target', 'live-plain'], {
      cwd: project.dir,
      env,
    });
    expect(apply.code, describeResult(['apply'], apply)).toBe(0);
    expect(story('live-plain')).toEqual(['pause', 'status 2→5', 'update', 'start', 'status 5→2']);
    expect(sim.tasks.get('live-plain')).toMatchObject({ taskStatus: 2, taskCreateSetting: { maxCall: 10 } });
    const saved = await runCli(['apply', 'plan.cfplan', '--pause-running'], { cwd: project.dir, env });
    expect(saved.code).toBe(1);
    expect(saved.stderr).toContain('--pause-running cannot be combined with a saved plan');
  });

  // The owed resume is a write-ahead mark: on both backends (docs/testing.md, "Both state backends").
  for (const kind of STORE_KINDS)
    it(`a run killed inside a pause window: the next plan shows the owed resume, the next apply settles it first (${kind} state)`, async () => {
      await setup({ pauseDelayMs: 1_500 });
      const store = await stores(kind, project);
      const run = { ...env, ...store.env };
      const child = spawnCli(['apply', '--auto-approve', '--target', 'live-opted'], { cwd: project.dir, env: run });
      await waitFor(() => sim.history('live-opted').pendingPause !== null, {
        timeoutMs: 20_000,
        what: 'the pause to be sent',
      });
      child.child.kill('SIGKILL');
      await child.done;
      expect((await store.state()).owedResumes?.['live-opted']).toMatchObject({ phase: 'pausing' });
      const plan = await runCli(['plan', '--detailed-exitcode', '--target', 'live-opted'], {
        cwd: project.dir,
        env: run,
      });
      expect(plan.code, describeResult(['plan'], plan)).toBe(2);
      expect(plan.stdout).toContain('! live-opted was paused by callform and not resumed');
      await writeTasks(10);
      const apply = await runCli(['apply', '--auto-approve', '--target', 'live-opted'], { cwd: project.dir, env: run });
      expect(apply.code, describeResult(['apply'], apply)).toBe(0);
      expect(sim.tasks.get('live-opted')).toMatchObject({ taskStatus: 2, taskCreateSetting: { maxCall: 10 } });
      expect((await store.state()).owedResumes).toBeUndefined();
      const again = await runCli(['plan', '--detailed-exitcode', '--target', 'live-opted'], {
        cwd: project.dir,
        env: run,
      });
      expect(again.code, describeResult(['plan'], again)).toBe(0);
    });

  it('SIGINT inside a pause window finishes the update and the resume before exiting, and says what it waits for', async () => {
    await setup({ pauseDelayMs: 1_000 });
    const child = spawnCli(['apply', '--auto-approve', '--target', 'live-opted'], { cwd: project.dir, env });
    await waitFor(() => sim.history('live-opted').pendingPause !== null, {
      timeoutMs: 20_000,
      what: 'the pause to be sent',
    });
    child.child.kill('SIGINT');
    const r = await child.done;
    expect(r.code, describeResult(['apply'], r)).toBe(130);
    expect(r.stderr).toMatch(
      /waiting \(at most \d+ s\) for 1 task\(s\) in a pause window to be updated and resumed: live-opted/,
    );
    expect(story('live-opted')).toEqual(['pause', 'status 2→5', 'update', 'start', 'status 5→2']);
    expect(sim.tasks.get('live-opted')).toMatchObject({ taskStatus: 2, taskCreateSetting: { maxCall: 10 } });
  });

  it('a second SIGINT inside a pause window does not exit: it says what it still waits for; the window completes', async () => {
    await setup({ pauseDelayMs: 2_000 });
    const child = spawnCli(['apply', '--auto-approve', '--target', 'live-opted'], { cwd: project.dir, env });
    await waitFor(() => sim.history('live-opted').pendingPause !== null, {
      timeoutMs: 20_000,
      what: 'the pause to be sent',
    });
    child.child.kill('SIGINT');
    await waitFor(() => child.stderr().includes('in a pause window to be updated and resumed'), {
      timeoutMs: 20_000,
      what: 'the first SIGINT to be handled',
    });
    child.child.kill('SIGINT');
    const r = await child.done;
    expect(r.code, describeResult(['apply'], r)).toBe(130);
    expect(r.stderr).toContain('still waiting for the resume of: live-opted (repeat once more to exit now');
    expect(r.stderr).not.toContain('stopped waiting');
    expect(story('live-opted')).toEqual(['pause', 'status 2→5', 'update', 'start', 'status 5→2']);
    expect(sim.tasks.get('live-opted')).toMatchObject({ taskStatus: 2, taskCreateSetting: { maxCall: 10 } });
    const state = (await project.state()) as { owedResumes?: unknown };
    expect(state.owedResumes).toBeUndefined();
  });
});
