/**
 * Apply and plan against the rate-limited simulator: adaptive control converges with no
 * failed task and one applied update per task, status reads share the controller, a limit
 * changed at run time is followed, and a spent throttle budget fails the task with a
 * clear message. Counts only: how few answers were throttled and how fast the pacing came
 * down are bench figures (bench/run.mjs, 7a and 7b), not assertions here.
 */
import { describe, it, expect, afterEach } from 'vitest';
import { startSimulator, type Simulator, type ThrottleStyle } from '../../src/sim/index.js';
import { runCli, tempProject, type TempProject } from '../support/cli-harness.js';
import { openProject, computePlan, executePlan, createClient, createRateController } from '../../src/workflow/index.js';
import { matching } from '../support/expect.js';
import { parseJson } from '../support/json.js';

const ids = (n: number) => Array.from({ length: n }, (_, i) => `rl-${String(i).padStart(4, '0')}`);

let sim: Simulator | undefined;

afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

/** n not-started tasks on a simulator limited to `rateLimit` req/s, and a project that changes each of them. */
async function setup(
  n: number,
  options: { rateLimit: number; throttleStyle?: ThrottleStyle; latencyMs?: number; settings?: object },
): Promise<{ project: TempProject; env: Record<string, string>; sim: Simulator }> {
  const s = await startSimulator({
    seed: { tasks: ids(n).map((userTaskID) => ({ userTaskID, sceneID: 'scene-1', taskStatus: 1 })) },
    rateLimit: options.rateLimit,
    throttleStyle: options.throttleStyle ?? 'http429',
    latencyMs: options.latencyMs ?? 5,
    faultSeed: 7,
  });
  sim = s;
  const project = await tempProject({ parallelism: 32, ...options.settings });
  await project.write('tasks/all.yaml', {
    tasks: ids(n).map((userTaskID, i) => ({
      userTaskID,
      sceneID: 'scene-1',
      taskCreateSetting: { maxCall: 1 + (i % 9) },
    })),
  });
  return { project, env: { NXCLOUD_ENDPOINT: s.url, NXCLOUD_UUID: s.uuid, NXCLOUD_SECRET_KEY: s.secret }, sim: s };
}

describe('apply against a rate-limited API', () => {
  for (const style of ['http429', 'retcode7', 'mixed'] as const) {
    it(`converges with no failed task; the reported traffic is the simulator's count (${style})`, async () => {
      const { project, env, sim } = await setup(60, { rateLimit: 40, throttleStyle: style });
      const r = await runCli(['apply', '--auto-approve'], { cwd: project.dir, env });
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(
        /Apply complete: 60 applied, 0 blocked, 0 failed, 0 unchanged \(60 updateTask calls; \d+ API calls at [\d.]+ calls\/s, \d+ throttled\)\./,
      );
      const stats = sim.stats();
      expect(stats.updates).toBe(60);
      // Throttled requests were refused, not applied: exactly one applied update per task.
      for (const id of ids(60)) expect(sim.history(id).calls.filter((c) => c.applied)).toHaveLength(1);
      // The apply's traffic is every updateTask request the simulator saw, throttled ones included.
      const calls = stats.byEndpoint.updateTask;
      const throttled = stats.throttledByEndpoint.updateTask;
      expect(r.stdout).toMatch(
        new RegExp(`\\(60 updateTask calls; ${calls} API calls at [\\d.]+ calls/s, ${throttled} throttled\\)`),
      );
      const plan = await runCli(['plan', '--detailed-exitcode'], { cwd: project.dir, env });
      expect(plan.code).toBe(0);
    });
  }

  it('reads statuses through the same controller: a plan under a tight limit completes', async () => {
    const { project, env, sim } = await setup(250, { rateLimit: 2, settings: { parallelism: 8 } });
    const r = await runCli(['plan'], { cwd: project.dir, env });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Plan: 250 to update, 0 unchanged.');
    expect(sim.stats().byEndpoint.listTask - sim.stats().throttledByEndpoint.listTask).toBe(3);
  });

  it('rateLimit in the settings paces every call, in --debug view', async () => {
    const { project, env, sim } = await setup(12, { rateLimit: 1000, settings: { rateLimit: 20 } });
    const r = await runCli(['--debug', 'apply', '--auto-approve'], { cwd: project.dir, env });
    expect(r.code).toBe(0);
    const requestLines = r.stderr.split('\n').filter((l) => l.startsWith('[debug] → POST'));
    expect(requestLines).toHaveLength(13); // one status read, 12 updates
    expect(requestLines.slice(1).every((l) => /\(paced at 20\.0\), concurrency \d+\/32, 0 throttled\]$/.test(l))).toBe(
      true,
    );
    expect(sim.stats().throttled).toBe(0);
  });

  it('reports the traffic in apply --format json', async () => {
    const { project, env } = await setup(10, { rateLimit: 1000 });
    const r = await runCli(['apply', '--auto-approve', '--format', 'json'], { cwd: project.dir, env });
    expect(r.code).toBe(0);
    const report = parseJson<{
      traffic: { api_calls: number; throttled: number; seconds: number; calls_per_second: number };
    }>(r.stdout);
    expect(report.traffic).toMatchObject({ api_calls: 10, throttled: 0 });
    expect(report.traffic.seconds).toBeGreaterThan(0);
    // calls_per_second is api_calls / seconds (each rounded in the report).
    expect(report.traffic.calls_per_second * report.traffic.seconds).toBeCloseTo(10, 0);
  });

  it('a spent throttle budget fails the task, says the API kept throttling, and keeps its unconfirmed mark', async () => {
    const { project, env, sim } = await setup(6, {
      rateLimit: 1000,
      settings: { parallelism: 6, concurrency: 'fixed', throttleRetries: 0 },
    });
    expect((await runCli(['apply', '--auto-approve', '--target', 'rl-0000'], { cwd: project.dir, env })).code).toBe(0); // a state entry to mark
    await project.write('tasks/all.yaml', {
      tasks: ids(6).map((userTaskID) => ({ userTaskID, sceneID: 'scene-1', taskCreateSetting: { maxCall: 42 } })),
    });
    // One token left: the status read takes it, and all six updates go out at once and are throttled.
    sim.setFaults({ rateLimit: 0.01, burst: 1 });
    const r = await runCli(['apply', '--auto-approve'], { cwd: project.dir, env });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('0 applied, 0 blocked, 6 failed');
    expect(r.stdout).toMatch(
      /x rl-0000 failed: updateTask: the API kept throttling \(1 throttled answer over [\d.]+ s\)\n/,
    );
    expect(sim.stats().updates).toBe(1);
    // The update that went out unconfirmed is marked pending, so the next plan sends it again.
    expect((await project.state()).tasks['rl-0000'].pending).toEqual({
      since: matching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/),
      taskCreateSetting: { maxCall: 42 },
    });
  });
});

describe('a limit changed at run time', () => {
  it('is followed: the limit drops halfway and every task still lands', async () => {
    const { project: p, env, sim } = await setup(80, { rateLimit: 60 });
    const project = await openProject({ cwd: p.dir, env, overrides: { parallelism: 32 } });
    const gate = createRateController(project);
    const client = await createClient(project, { gate });
    const run = await computePlan(project, { offline: false, targets: null, client });
    let dropped = false;
    const result = await executePlan(project, run.plan, run.state, {
      client,
      parallelism: 32,
      onResult: (_r, done) => {
        if (!dropped && done >= 40) {
          dropped = true;
          sim.setFaults({ rateLimit: 20 });
        }
      },
    });
    expect(result.counts).toMatchObject({ applied: 80, failed: 0 });
    // The apply's traffic is every updateTask request the simulator saw, throttled ones included.
    const stats = sim.stats();
    expect(result.traffic).toMatchObject({
      calls: stats.byEndpoint.updateTask,
      throttled: stats.throttledByEndpoint.updateTask,
    });
    // Paced (how far down is bench figure 7b); every task landed once.
    expect(gate.snapshot().pacedAt).not.toBeNull();
    expect(sim.stats().updates).toBe(80);
  });
});
