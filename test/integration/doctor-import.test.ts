/** `callform doctor` and `callform import` through the real CLI, against the simulator. */
import { describe, it, expect, afterEach } from 'vitest';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { startSimulator, type Simulator } from '../../src/sim/index.js';
import { runCli, tempProject, type TempProject } from '../support/cli-harness.js';
import { describeResult } from '../support/project.js';
import { matching } from '../support/expect.js';
import type { DoctorReport } from '../../src/workflow/doctor.js';
import { parseJson } from '../support/json.js';

let sim: Simulator;
let project: TempProject;

const SEED = {
  tasks: [
    { userTaskID: 'known-1', sceneID: 'scene-a', taskStatus: 1 },
    { userTaskID: 'legacy-renewals-1', sceneID: 'scene-a', taskStatus: 2, taskName: 'Renewals North' },
    { userTaskID: 'legacy-renewals-2', sceneID: 'scene-b', taskStatus: 5, taskName: 'renewals south' },
    { userTaskID: 'legacy-done', sceneID: 'scene-a', taskStatus: 3, taskName: 'Old survey' },
  ],
};

async function setup(simOptions: Parameters<typeof startSimulator>[0] = {}) {
  sim = await startSimulator({ seed: SEED, maxPageSize: 100, ...simOptions });
  project = await tempProject();
  await project.write('tasks/known.yaml', {
    userTaskID: 'known-1',
    sceneID: 'scene-a',
    taskCreateSetting: { maxCall: 3 },
  });
}
const env = (over: Record<string, string> = {}) => ({
  NXCLOUD_ENDPOINT: sim.url,
  NXCLOUD_UUID: sim.uuid,
  NXCLOUD_SECRET_KEY: sim.secret,
  ...over,
});

afterEach(async () => {
  await (sim as Simulator | undefined)?.close(); // unset when the setup failed
});

describe('callform doctor', () => {
  it('all well: every check passes, exit 0; the secret is never printed', async () => {
    await setup();
    const r = await runCli(['doctor'], { cwd: project.dir, env: env() });
    expect(r.code, describeResult(['doctor'], r)).toBe(0);
    for (const title of [
      'settings file',
      'task files',
      'state',
      'state lock',
      'owed resumes',
      'credentials',
      'endpoint',
      'request signature',
      'response signature',
      'clock skew',
      'Node.js',
    ])
      expect(r.stdout).toMatch(new RegExp(`✓ ${title}`));
    expect(r.stdout + r.stderr).not.toContain(sim.secret);
  });

  it('a wrong secret: the request signature is refused, exit 1, with a fix; JSON says the same', async () => {
    await setup();
    const r = await runCli(['doctor', '--format', 'json'], {
      cwd: project.dir,
      env: env({ NXCLOUD_SECRET_KEY: 'not-the-secret' }),
    });
    expect(r.code).toBe(1);
    const report = parseJson<DoctorReport & { kind: string }>(r.stdout);
    expect(report).toMatchObject({ kind: 'callform-doctor', ok: false });
    expect(report.checks.find((c: { id: string }) => c.id === 'request-signature')).toMatchObject({
      status: 'fail',
      detail: matching(/retCode 6/),
      fix: matching(/NXCLOUD_SECRET_KEY/),
    });
    expect(r.stdout).not.toContain('not-the-secret');
  });

  it('a skewed server clock is a warning that explains createTs (exit 0)', async () => {
    await setup({ now: () => Date.now() - 90_000 });
    const r = await runCli(['doctor'], { cwd: project.dir, env: env() });
    expect(r.code, describeResult(['doctor'], r)).toBe(0);
    expect(r.stdout).toMatch(/! clock skew\s+local clock is 9\d s ahead of the server's/);
    expect(r.stdout).toMatch(/createTs/);
  });

  it('missing credentials, an unreachable endpoint and broken task files each fail with a fix', async () => {
    await setup();
    await project.write('tasks/broken.yaml', 'userTaskID: [unclosed');
    const r = await runCli(['doctor'], { cwd: project.dir, env: { NXCLOUD_ENDPOINT: 'http://127.0.0.1:9' } });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/✗ task files\s+1 problem in task files:\n.*tasks\/broken.yaml:1/);
    expect(r.stdout).toMatch(/✗ credentials\s+NXCLOUD_UUID, NXCLOUD_SECRET_KEY not set/);
    expect(r.stdout).toMatch(/✗ endpoint\s+cannot connect to 127.0.0.1:9/);
    expect(r.stdout).toMatch(/- request signature\s+needs credentials and a reachable endpoint/);
  });

  it('a bad setting from the environment is shown with its own fix, not "fix the settings file"', async () => {
    await setup();
    const r = await runCli(['doctor'], { cwd: project.dir, env: env({ NXCLOUD_ALGORITHM: 'sha1' }) });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/✗ settings file\s+NXCLOUD_ALGORITHM "sha1" is not supported\n\s+fix: use MD5 or SHA256/);
  });
});

describe('callform import', () => {
  it('writes identity-only entries for undeclared tasks, which then validate and plan as unchanged', async () => {
    await setup();
    const r = await runCli(['import', '--out', 'tasks/imported.yaml', '--status', '1,2,5'], {
      cwd: project.dir,
      env: env(),
    });
    expect(r.code, describeResult(['import'], r)).toBe(0);
    expect(r.stdout).toContain(
      'Found 3 tasks, skipped 1 already declared, wrote 2 to tasks/imported.yaml; 1 listTask call.',
    );
    const text = await project.read('tasks/imported.yaml');
    expect(text).toMatch(/does not return task settings/);
    expect(text).toMatch(/# taskID T\d+, status 2 \(running\), created \d{4}-/);
    expect(text).not.toContain('legacy-done');
    const validate = await runCli(['validate'], { cwd: project.dir, env: env() });
    expect(validate.stdout).toContain('Valid: 3 tasks in 2 files.');
    const plan = await runCli(['plan', '--detailed-exitcode', '--target', 'legacy-*'], {
      cwd: project.dir,
      env: env(),
    });
    expect(plan.code, describeResult(['plan'], plan)).toBe(0);
  });

  it('prints and writes what a hostile server sends escaped: no terminal control, no extra YAML line', async () => {
    const ESC = '\u001b';
    sim = await startSimulator({
      seed: {
        tasks: [
          { userTaskID: 'known-1', sceneID: `scene-${ESC}[31mred`, taskStatus: 1 },
          {
            userTaskID: `evil-${ESC}[2J-1`,
            sceneID: 'scene-a',
            taskStatus: 1,
            taskID: 'T9\n  - userTaskID: injected\n    sceneID: x',
            taskName: `${ESC}]0;owned\u0007`,
          },
        ],
      },
    });
    project = await tempProject();
    await project.write('tasks/known.yaml', { userTaskID: 'known-1', sceneID: 'scene-a' });
    const r = await runCli(['import', '--out', 'tasks/imported.yaml'], { cwd: project.dir, env: env() });
    expect(r.code, describeResult(['import'], r)).toBe(0);
    expect(r.stdout + r.stderr).not.toContain(ESC);
    expect(r.stdout).toContain('imported evil-\\u001b[2J-1 (sceneID scene-a, taskID T9\\u000a  - userTaskID: injected');
    const text = await project.read('tasks/imported.yaml');
    expect(text).not.toContain(ESC);
    // The server's taskID stays inside its comment: the file declares the one task, exactly.
    const { parse } = await import('yaml');
    expect(parse(text)).toEqual({ tasks: [{ userTaskID: `evil-${ESC}[2J-1`, sceneID: 'scene-a' }] });
    // The remote sceneID of a declared task, in plan's error, is escaped too.
    const plan = await runCli(['plan', '--target', 'known-1'], { cwd: project.dir, env: env() });
    expect(plan.code, describeResult(['plan'], plan)).toBe(1);
    expect(plan.stdout + plan.stderr).toContain('remote task has sceneID "scene-\\u001b[31mred"');
    expect(plan.stdout + plan.stderr).not.toContain(ESC);
  });

  it('never overwrites; --dry-run writes nothing; filters by scene and name; pages until a short page', async () => {
    await setup();
    await project.write('tasks/taken.yaml', 'userTaskID: taken\nsceneID: s\n');
    const refused = await runCli(['import', '--out', 'tasks/taken.yaml'], { cwd: project.dir, env: env() });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('already exists; import never overwrites a file');
    expect(await project.read('tasks/taken.yaml')).toBe('userTaskID: taken\nsceneID: s\n');
    const dry = await runCli(
      ['import', '--out', 'tasks/new.yaml', '--dry-run', '--name-contains', 'RENEWALS', '--scene', 'scene-b'],
      { cwd: project.dir, env: env() },
    );
    expect(dry.code, describeResult(['import'], dry)).toBe(0);
    expect(dry.stdout).toContain('would import legacy-renewals-2');
    expect(dry.stdout).toContain('Found 1 task, skipped 0 already declared, would write 1 (dry run: nothing written)');
    expect(existsSync(path.join(project.dir, 'tasks/new.yaml'))).toBe(false);
  });

  it('--dry-run needs no --out; without --dry-run a missing --out is an Error with a hint, before any API call', async () => {
    await setup();
    const dry = await runCli(['import', '--dry-run'], { cwd: project.dir, env: env() });
    expect(dry.code, describeResult(['import', '--dry-run'], dry)).toBe(0);
    expect(dry.stdout).toContain('would import legacy-renewals-2');
    expect(dry.stdout).toMatch(/would write \d+ \(dry run: nothing written\)/);
    expect(dry.stderr).not.toContain('warning');
    const missing = await runCli(['import'], { cwd: project.dir, env: env() });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('Error: import needs --out <file>');
    expect(missing.stderr).toContain('hint: add --out tasks/imported.yaml, or --dry-run');
  });

  it('refuses a .json --out (it writes YAML with comments, which a .json task file cannot hold)', async () => {
    await setup();
    const r = await runCli(['import', '--out', 'tasks/imported.json'], { cwd: project.dir, env: env() });
    expect(r.code, describeResult(['import'], r)).toBe(1);
    expect(r.stderr).toMatch(/--out tasks\/imported\.json.*YAML/);
    expect(existsSync(path.join(project.dir, 'tasks/imported.json'))).toBe(false);
  });

  it('refuses an empty --scene or --name-contains instead of matching every task', async () => {
    await setup();
    for (const args of [
      ['--scene', ''],
      ['--name-contains', ''],
    ]) {
      const r = await runCli(['import', '--out', 'tasks/new.yaml', ...args], { cwd: project.dir, env: env() });
      expect(r.code, describeResult(['import', ...args], r)).toBe(1);
      expect(r.stderr).toContain(`${args[0]} must not be empty`);
      expect(existsSync(path.join(project.dir, 'tasks/new.yaml'))).toBe(false);
    }
  });

  it('counts its listTask calls: a full page asks for the next one', async () => {
    await setup({ maxPageSize: 100 });
    const tasks = Array.from({ length: 250 }, (_, i) => ({
      userTaskID: `bulk-${String(i).padStart(3, '0')}`,
      sceneID: 's',
      taskStatus: 1,
    }));
    await sim.close();
    sim = await startSimulator({ seed: { tasks } });
    const r = await runCli(['import', '--out', 'tasks/bulk.yaml'], { cwd: project.dir, env: env() });
    expect(r.code, describeResult(['import'], r)).toBe(0);
    expect(r.stdout).toContain(
      'Found 250 tasks, skipped 0 already declared, wrote 250 to tasks/bulk.yaml; 3 listTask calls.',
    );
  });
});
