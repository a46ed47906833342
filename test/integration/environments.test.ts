/**
 * Environments end to end: two simulators as two accounts with different credentials,
 * one repository with an overlay, a task's own environments block and `only`.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { existsSync } from 'node:fs';
import { startSimulator, type Simulator } from '../../src/sim/index.js';
import { runCli, tempProject, type TempProject } from '../support/cli-harness.js';
import { parseJson } from '../support/json.js';

let staging: Simulator;
let prod: Simulator;
let project: TempProject;
let env: Record<string, string>;

const seed = (ids: string[]) => ({
  tasks: ids.map((userTaskID) => ({ userTaskID, sceneID: 'scene-1', taskStatus: 1 })),
});
const cli = (args: string[], extra: Record<string, string | undefined> = {}) =>
  runCli(args, { cwd: project.dir, env: { ...env, ...extra } });
const requests = () => staging.stats().requests + prod.stats().requests;

beforeAll(async () => {
  staging = await startSimulator({
    uuid: 'uuid-staging',
    secret: 'secret-staging',
    seed: seed(['renewals-north', 'renewals-south']),
  });
  prod = await startSimulator({
    uuid: 'uuid-prod',
    secret: 'secret-prod',
    seed: seed(['renewals-north', 'renewals-south', 'survey-nps']),
  });
  project = await tempProject({
    tasks: 'tasks/**/*.yaml',
    environments: {
      staging: {
        endpoint: staging.url,
        credentials: { uuid: 'NXCLOUD_UUID_STAGING', secretKey: 'NXCLOUD_SECRET_KEY_STAGING' },
        state: 'state/staging.state.json',
        overlays: 'overlays/staging/*.yaml',
      },
      prod: {
        endpoint: prod.url,
        credentials: { uuid: 'NXCLOUD_UUID_PROD', secretKey: 'NXCLOUD_SECRET_KEY_PROD' },
        state: 'state/prod.state.json',
      },
    },
  });
  await project.write('tasks/renewals.yaml', {
    defaults: { taskCreateSetting: { maxRingTime: 30 }, funcFlag: { roundRedial: true } },
    tasks: [
      {
        userTaskID: 'renewals-north',
        sceneID: 'scene-1',
        taskCreateSetting: { maxCall: 20 },
        environments: { staging: { taskCreateSetting: { maxCall: 1 } } },
      },
      { userTaskID: 'renewals-south', sceneID: 'scene-1', taskCreateSetting: { maxCall: 20 } },
      { userTaskID: 'survey-nps', sceneID: 'scene-1', taskCreateSetting: { maxCall: 5 }, only: ['prod'] },
    ],
  });
  await project.write('state/.keep', '');
  await project.write('overlays/staging/calm.yaml', {
    patches: [{ tasks: 'renewals-*', taskCreateSetting: { maxCall: 2 }, funcFlag: { roundRedial: null } }],
  });
  env = {
    NXCLOUD_UUID_STAGING: staging.uuid,
    NXCLOUD_SECRET_KEY_STAGING: staging.secret,
    NXCLOUD_UUID_PROD: prod.uuid,
    NXCLOUD_SECRET_KEY_PROD: prod.secret,
  };
});

afterAll(async () => {
  await Promise.all([staging.close(), prod.close()]);
});

describe('two environments on two accounts', () => {
  it('stops before any API call of any environment when one lacks a credential', async () => {
    const before = requests();
    const r = await cli(['plan', '--all-envs'], { NXCLOUD_SECRET_KEY_PROD: undefined });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('missing credential for environment prod: NXCLOUD_SECRET_KEY_PROD not set');
    expect(requests()).toBe(before);
  });

  it('plans every environment into one comment, saves it, applies it in order, and re-plans clean', async () => {
    const md = await cli(['plan', '--all-envs', '--format', 'markdown', '--detailed-exitcode', '--out', 'all.cfplan']);
    expect(md.code, md.stderr).toBe(2);
    expect(md.stdout).toContain('### callform plan: 2 environments, 2 with changes, 0 with errors');
    expect(md.stdout).toContain('| staging | 2 | 0 | 0 | 0 | 0 |');
    expect(md.stdout).toContain('| prod | 3 | 0 | 0 | 0 | 0 |');

    const show = await cli(['show', 'all.cfplan']);
    expect(show.code, show.stderr).toBe(0);
    expect(show.stdout).toContain('== environment staging');

    const wrongEnv = await cli(['apply', 'all.cfplan', '--env', 'prod']);
    expect(wrongEnv.code).toBe(1);
    expect(wrongEnv.stderr).toContain(
      'all.cfplan is an all-environments plan: --env cannot pick one environment of it',
    );
    expect(existsSync(project.file('state/prod.state.json'))).toBe(false);

    const apply = await cli(['apply', 'all.cfplan']);
    expect(apply.code, apply.stderr).toBe(0);
    expect(apply.stdout).toMatch(/== environment staging[\s\S]*== environment prod/);
    // Each account got its own values: staging the overlay and the task's block, prod the files.
    expect(staging.tasks.get('renewals-north')?.taskCreateSetting.maxCall).toBe(1);
    expect(staging.tasks.get('renewals-south')?.taskCreateSetting.maxCall).toBe(2);
    expect(staging.tasks.get('renewals-south')?.funcFlag.roundRedial).toBeUndefined();
    expect(prod.tasks.get('renewals-north')?.taskCreateSetting.maxCall).toBe(20);
    expect(prod.tasks.get('renewals-south')?.funcFlag.roundRedial).toBe(true);
    expect(prod.tasks.get('survey-nps')?.taskCreateSetting.maxCall).toBe(5);
    expect(Object.keys((await parseState('state/staging.state.json')).tasks).sort()).toEqual([
      'renewals-north',
      'renewals-south',
    ]);
    expect(Object.keys((await parseState('state/prod.state.json')).tasks)).toHaveLength(3);

    const again = await cli(['plan', '--all-envs', '--detailed-exitcode']);
    expect(again.code, again.stdout + again.stderr).toBe(0);
    expect(again.stdout).toContain('All environments: 2 environments, 0 with changes, 0 with errors');

    // history and state read the chosen environment's state; without one they say which exist.
    const history = await cli(['history', '--env', 'prod', '--format', 'json']);
    expect(history.code, history.stderr).toBe(0);
    const runs = parseJson<{ tasks: { userTaskID: string }[] }[]>(history.stdout);
    expect(runs).toHaveLength(1);
    expect(runs[0]?.tasks.map((t) => t.userTaskID).sort()).toEqual(['renewals-north', 'renewals-south', 'survey-nps']);
    // history show takes --env and --format after its run ID too (history's own options read them first).
    const id = (runs[0] as unknown as { id: string }).id;
    const shown = await cli(['history', 'show', id, '--env', 'prod', '--format', 'json']);
    expect(shown.code, shown.stderr).toBe(0);
    expect(parseJson<{ id: string }>(shown.stdout).id).toBe(id);
    const pulled = await cli(['state', 'pull', '--env', 'staging']);
    expect(Object.keys(parseJson<{ tasks: object }>(pulled.stdout).tasks).sort()).toEqual([
      'renewals-north',
      'renewals-south',
    ]);
    const none = await cli(['history']);
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('staging, prod');
  });

  it('explains a field: final value, where it came from, what it overrode; the plan sends that value', async () => {
    const r = await cli(['explain', 'renewals-north', '--env', 'staging', '--format', 'json']);
    expect(r.code, r.stderr).toBe(0);
    const e = parseJson<{
      fields: Array<{
        path: string;
        value: unknown;
        from: { kind: string; file: string; line: number };
        overrode: Array<{ value: unknown; from: { kind: string } }>;
      }>;
      removed: Array<{ path: string }>;
    }>(r.stdout);
    const maxCall = e.fields.find((f) => f.path === 'taskCreateSetting.maxCall');
    expect(maxCall).toMatchObject({ value: 1, from: { kind: 'environment', file: 'tasks/renewals.yaml' } });
    expect(maxCall?.overrode.map((o) => [o.value, o.from.kind])).toEqual([
      [2, 'overlay'],
      [20, 'task'],
    ]);
    expect(e.removed.map((x) => x.path)).toEqual(['funcFlag.roundRedial']);
    // What explain reports is what the environment's plan holds, field by field.
    const plan = await cli(['plan', '--env', 'staging', '--format', 'json', '--resync']);
    interface PlannedTask {
      userTaskID: string;
      after: Record<string, Record<string, unknown>>;
      sceneID: string;
    }
    const planned: PlannedTask[] = parseJson<{ tasks: PlannedTask[] }>(plan.stdout).tasks;
    const task = planned.find((t) => t.userTaskID === 'renewals-north');
    const entries: Array<[string, unknown]> = [
      ['sceneID', task?.sceneID],
      ...Object.entries(task?.after.taskCreateSetting ?? {}).map(([k, v]): [string, unknown] => [
        `taskCreateSetting.${k}`,
        v,
      ]),
      ...Object.entries(task?.after.funcFlag ?? {}).map(([k, v]): [string, unknown] => [`funcFlag.${k}`, v]),
    ];
    const fromPlan = Object.fromEntries(entries);
    expect(Object.fromEntries(e.fields.map((f) => [f.path, f.value]))).toEqual(fromPlan);
  });

  it('an environment that fails stops the ones after it: reported as not started, in text and in one JSON document', async () => {
    const sim = await startSimulator({ seed: seed(['renewals-north']) });
    const names = ['a', 'b', 'c'];
    const p = await tempProject({
      tasks: 'tasks/*.yaml',
      environments: Object.fromEntries(
        names.map((n) => [
          n,
          { endpoint: sim.url, credentials: { uuid: `UUID_${n}`, secretKey: `KEY_${n}` }, state: `${n}.state.json` },
        ]),
      ),
    });
    try {
      await p.write('tasks/t.yaml', {
        userTaskID: 'renewals-north',
        sceneID: 'scene-1',
        taskCreateSetting: { maxCall: 3 },
      });
      await p.write('b.state.json', '{garbage');
      const creds = Object.fromEntries(
        names.flatMap((n) => [
          [`UUID_${n}`, sim.uuid],
          [`KEY_${n}`, sim.secret],
        ]),
      );
      const run = (...extra: string[]) =>
        runCli(['apply', '--all-envs', '--auto-approve', ...extra], { cwd: p.dir, env: creds });
      const text = await run();
      expect(text.code, text.stderr).toBe(1);
      expect(text.stderr).toContain('Error: state file b.state.json is not valid JSON');
      expect(text.stdout).toContain('Environments: a ok, b exit 1, c not started.');
      expect(text.stderr).toContain('Error: an environment failed; not started: c');
      expect(await p.read('b.state.json')).toBe('{garbage');
      expect(existsSync(p.file('c.state.json'))).toBe(false);
      const json = await run('--format', 'json');
      expect(json.code).toBe(1);
      expect(parseJson(json.stdout)).toMatchObject({
        kind: 'callform-all-envs-apply',
        exit_code: 1,
        environments: [
          {
            name: 'a',
            status: 'ran',
            exit_code: 0,
            report: { kind: 'callform-apply', status: 'no-changes' },
            error: null,
          },
          {
            name: 'b',
            status: 'failed',
            exit_code: 1,
            report: null,
            error: { message: expect.stringContaining('is not valid JSON') as unknown },
          },
          { name: 'c', status: 'not-started', exit_code: null, report: null, error: null },
        ],
      });
    } finally {
      await Promise.all([sim.close(), p.cleanup()]);
    }
  });

  it('with --format json, a failure before any output is a JSON document on stdout too', async () => {
    const r = await cli(['plan', '--env', 'prod', '--format', 'json'], { NXCLOUD_SECRET_KEY_PROD: undefined });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('Error: missing credential for environment prod: NXCLOUD_SECRET_KEY_PROD not set');
    expect(parseJson(r.stdout)).toEqual({
      kind: 'callform-error',
      exit_code: 1,
      message: expect.stringContaining('missing credential for environment prod') as unknown,
      hint: expect.any(String) as unknown,
    });
  });

  it('picks the environment from CALLFORM_ENV, and refuses an unknown one with the declared names', async () => {
    const r = await cli(['plan', '--offline'], { CALLFORM_ENV: 'prod' });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('No changes.');
    const bad = await cli(['plan', '--offline', '--env', 'prd']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('--env prd: no such environment (declared: staging, prod)');
    expect(bad.stderr).toContain('did you mean prod?');
    const none = await cli(['plan', '--offline']);
    expect(none.stderr).toContain('plan needs an environment: the settings declare staging, prod');
    const both = await cli(['validate', '--env', 'prod', '--all-envs']);
    expect(both.stderr).toContain('--env and --all-envs cannot be used together');
  });
});

async function parseState(rel: string) {
  return parseJson<{ tasks: Record<string, unknown> }>(await project.read(rel));
}
