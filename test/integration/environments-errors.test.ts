/**
 * Environments: bad inputs, each a specific message with file:line:col and nothing written.
 * In-process (main() with captured streams): no network, no state.
 */
import { describe, it, expect, beforeEach } from 'vitest';
import { PassThrough } from 'node:stream';
import { rm } from 'node:fs/promises';
import { main } from '../../src/cli.js';
import { tempProject, type TempProject } from '../support/cli-harness.js';

let project: TempProject;

const ENVIRONMENTS = {
  staging: {
    credentials: { uuid: 'NXCLOUD_UUID_STAGING', secretKey: 'NXCLOUD_SECRET_KEY_STAGING' },
    state: 'staging.state.json',
    overlays: 'overlays/staging/*.yaml',
  },
  prod: { credentials: { uuid: 'NXCLOUD_UUID_PROD', secretKey: 'NXCLOUD_SECRET_KEY_PROD' }, state: 'prod.state.json' },
};

async function cli(...args: string[]) {
  const [out, err] = [new PassThrough(), new PassThrough()];
  let [stdout, stderr] = ['', ''];
  out.on('data', (c) => (stdout += String(c)));
  err.on('data', (c) => (stderr += String(c)));
  const code = await main(args, { stdout: out, stderr: err, stdin: new PassThrough(), env: {}, cwd: project.dir });
  return { code, stdout, stderr };
}

/** Only the files the test wrote: no state, no lock, no saved plan. */
async function expectNothingWritten() {
  const files = [...(await project.allFiles()).keys()].sort();
  expect(
    files.filter((f) => !f.startsWith('tasks/') && !f.startsWith('overlays/') && f !== 'callform.config.yaml'),
  ).toEqual([]);
}

beforeEach(async () => {
  project = await tempProject({ tasks: 'tasks/**/*.yaml', environments: ENVIRONMENTS });
  await project.write('tasks/a.yaml', {
    tasks: [
      { userTaskID: 'renewals-north', sceneID: 's', taskCreateSetting: { maxCall: 3 } },
      { userTaskID: 'renewals-south', sceneID: 's', taskCreateSetting: { maxCall: 3 } },
    ],
  });
  await project.write('overlays/staging/a.yaml', {
    patches: [{ tasks: 'renewals-*', taskCreateSetting: { maxCall: 2 } }],
  });
});

describe('environments: bad input', () => {
  it('validates every environment by default', async () => {
    const r = await cli('validate');
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('Valid: 2 tasks in environment staging.\nValid: 2 tasks in environment prod.\n');
    expect(r.code).toBe(0);
  });

  it('validate FILE checks those files in every environment, overlays applied', async () => {
    await project.write('tasks/b.yaml', { userTaskID: 'survey', sceneID: 's', taskCreateSetting: { maxCall: 3 } });
    await project.write(
      'overlays/staging/a.yaml',
      'patches:\n  - tasks: renewals-*\n    taskCreateSetting:\n      maxCall: 0\n',
    );
    // The overlay breaks a.yaml's tasks in staging only; b.yaml has no task it patches, and that is no mistake.
    const b = await cli('validate', 'tasks/b.yaml');
    expect(b.stderr).toBe('');
    expect(b.stdout).toBe('Valid: 1 task in environment staging.\nValid: 1 task in environment prod.\n');
    const a = await cli('validate', 'tasks/a.yaml');
    expect(a.code).toBe(1);
    expect(a.stderr).toMatch(
      /overlays\/staging\/a\.yaml:4:16: taskCreateSetting\.maxCall: task renewals-north in environment staging: must be >= 1/,
    );
    expect((await cli('validate', 'tasks/a.yaml', '--env', 'prod')).stdout).toBe(
      'Valid: 2 tasks in environment prod.\n',
    );
  });

  it('an unknown environment in --env, with the declared names and a suggestion', async () => {
    const r = await cli('plan', '--offline', '--env', 'stagng');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('--env stagng: no such environment (declared: staging, prod)');
    expect(r.stderr).toContain('did you mean staging?');
    await expectNothingWritten();
  });

  it('--env and --all-envs together', async () => {
    const r = await cli('plan', '--offline', '--env', 'prod', '--all-envs');
    expect(r.stderr).toContain('Error: --env and --all-envs cannot be used together');
    expect(r.code).toBe(1);
  });

  it("an unknown environment in a task's `only` and `environments`, at its line and column", async () => {
    await project.write(
      'tasks/a.yaml',
      'tasks:\n  - userTaskID: renewals-north\n    sceneID: s\n    only: [staging, prd]\n    environments:\n      stage: { taskCreateSetting: { maxCall: 1 } }\n  - userTaskID: renewals-south\n    sceneID: s\n',
    );
    const r = await cli('validate');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('tasks/a.yaml:4:21: only[1]: unknown environment "prd" (declared: staging, prod)');
    expect(r.stderr).toContain('did you mean prod?');
    expect(r.stderr).toContain(
      'tasks/a.yaml:6:7: environments.stage: unknown environment "stage" (declared: staging, prod)',
    );
    expect(r.stderr).toContain('did you mean staging?');
  });

  it("a task's environments block for an environment its only leaves out is an error: it would never apply", async () => {
    await project.write(
      'tasks/a.yaml',
      'tasks:\n  - userTaskID: renewals-north\n    sceneID: s\n    only: [staging]\n    environments:\n      prod: { taskCreateSetting: { maxCall: 1 } }\n',
    );
    const r = await cli('validate');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      'tasks/a.yaml:6:7: environments.prod: task renewals-north is not in environment prod (only: staging): this block would never apply',
    );
    expect(r.stderr).toContain('hint: add prod to `only`, or remove the block');
  });

  it('an overlay patch that matches no task', async () => {
    await project.write(
      'overlays/staging/a.yaml',
      'patches:\n  - tasks: renewal-*\n    taskCreateSetting: { maxCall: 2 }\n',
    );
    const r = await cli('plan', '--offline', '--env', 'staging', '--out', project.file('p.cfplan'));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      'overlays/staging/a.yaml:2:12: patches[0].tasks: patch matches no task in environment staging: "renewal-*"',
    );
    await expectNothingWritten();
    // One glob of a list that matches nothing, next to one that does.
    await project.write(
      'overlays/staging/a.yaml',
      'patches:\n  - tasks: ["renewals-*", "surevy-*"]\n    taskCreateSetting: { maxCall: 2 }\n',
    );
    const list = await cli('validate', '--env', 'staging');
    expect(list.code).toBe(1);
    expect(list.stderr).toContain(
      `overlays/staging/a.yaml:2:27: patches[0].tasks[1]: "surevy-*" matches no task in environment staging (the patch's other globs do)`,
    );
  });

  it('an overlay patch with userTaskID, or with an unknown field', async () => {
    await project.write('overlays/staging/a.yaml', 'patches:\n  - tasks: renewals-north\n    userTaskID: other\n');
    const own = await cli('validate', '--env', 'staging');
    expect(own.code).toBe(1);
    expect(own.stderr).toContain('overlays/staging/a.yaml:3:5: patches[0].userTaskID: a patch cannot set userTaskID');
    await project.write(
      'overlays/staging/a.yaml',
      'patches:\n  - tasks: renewals-north\n    funcFlags: { roundRedial: true }\n',
    );
    const unknown = await cli('validate', '--env', 'staging');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain(
      'overlays/staging/a.yaml:3:5: patches[0].funcFlags: unknown field "funcFlags" (did you mean "funcFlag"?)',
    );
  });

  it('an overlay with userTaskID and an unknown field reports both; a patch that sets nothing is an error', async () => {
    await project.write(
      'overlays/staging/a.yaml',
      'patches:\n  - tasks: renewals-north\n    userTaskID: other\n    maxCall: 2\n',
    );
    const both = await cli('validate', '--env', 'staging');
    expect(both.code).toBe(1);
    expect(both.stderr).toContain('2 problems in environment staging');
    expect(both.stderr).toContain('overlays/staging/a.yaml:3:5: patches[0].userTaskID: a patch cannot set userTaskID');
    expect(both.stderr).toContain('overlays/staging/a.yaml:4:5: patches[0].maxCall: unknown field "maxCall"');
    expect(both.stderr).not.toContain('unknown field "userTaskID"');
    await project.write('overlays/staging/a.yaml', 'patches:\n  - tasks: renewals-north\n');
    const empty = await cli('plan', '--offline', '--env', 'staging', '--out', project.file('p.cfplan'));
    expect(empty.code).toBe(1);
    expect(empty.stderr).toContain(
      'overlays/staging/a.yaml:2:5: patches[0]: the patch sets nothing: it has only `tasks`',
    );
    await expectNothingWritten();
  });

  it("the issue's overlay form: dialWindow at the patch's top level sets the window, located where it is written", async () => {
    await project.write(
      'overlays/staging/a.yaml',
      'patches:\n  - tasks: renewals-north\n    dialWindow: { days: Mon-Fri, hours: ["10:00-12:00"] }\n',
    );
    const r = await cli('explain', 'renewals-north', '--env', 'staging', '--format', 'json');
    expect(r.code, r.stderr).toBe(0);
    const fields = (JSON.parse(r.stdout) as { fields: Array<{ path: string; value: unknown; source: unknown }> })
      .fields;
    expect(fields.find((f) => f.path === 'taskCreateSetting.dialAtWeekDay')).toMatchObject({
      value: '1,2,3,4,5',
      from: { kind: 'overlay', file: 'overlays/staging/a.yaml', line: 3 },
    });
    await project.write(
      'overlays/staging/a.yaml',
      'patches:\n  - tasks: renewals-north\n    dialWindow: { days: Mon-Fri, hours: ["10:00-12:15"] }\n',
    );
    const off = await cli('validate', '--env', 'staging');
    expect(off.code).toBe(1);
    expect(off.stderr).toContain(
      'overlays/staging/a.yaml:3:42: patches[0].taskCreateSetting.dialWindow.hours[0]: 12:15 is not on a half hour',
    );
    await project.write(
      'overlays/staging/a.yaml',
      'patches:\n  - tasks: renewals-north\n    dialWindow: { days: Sat }\n    taskCreateSetting: { dialWindow: { days: Sun } }\n',
    );
    const twice = await cli('validate', '--env', 'staging');
    expect(twice.stderr).toContain('overlays/staging/a.yaml:3:5: patches[0].dialWindow: dialWindow is set twice');
    expect(twice.code).toBe(1);
  });

  it('a merged value that is invalid is reported where the winning value is written', async () => {
    await project.write(
      'overlays/staging/a.yaml',
      'patches:\n  - tasks: renewals-*\n    taskCreateSetting:\n      maxCall: many\n',
    );
    const r = await cli('validate', '--env', 'staging');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /overlays\/staging\/a\.yaml:4:16: taskCreateSetting\.maxCall: task renewals-north in environment staging: must be integer/,
    );
  });

  it('two environments sharing a state file, or one account', async () => {
    await project.writeSettings({
      tasks: 'tasks/**/*.yaml',
      environments: {
        ...ENVIRONMENTS,
        prod: { ...ENVIRONMENTS.prod, state: 'staging.state.json', credentials: ENVIRONMENTS.staging.credentials },
      },
    });
    const r = await cli('validate');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /callform\.config\.yaml:\d+:\d+: environments\.prod\.state: environment prod uses the state file staging\.state\.json, as environment staging does/,
    );
    expect(r.stderr).toMatch(
      /callform\.config\.yaml:\d+:\d+: environments\.prod\.credentials: environment prod has the same endpoint and credential variables/,
    );
  });

  it('a credential variable name that is not a variable name, an unknown key, a bad environment name', async () => {
    // Written as a user would: project.writeSettings types its argument, and these keys are wrong.
    await project.write('callform.config.yaml', {
      tasks: 'tasks/**/*.yaml',
      environments: {
        staging: {
          ...ENVIRONMENTS.staging,
          credentials: { uuid: '1-UUID', secretKey: 'NXCLOUD_SECRET_KEY_STAGING' },
          overlay: 'x',
        },
        Prod: ENVIRONMENTS.prod,
      },
    });
    const r = await cli('validate');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/environments\.staging\.credentials\.uuid: "1-UUID" has the wrong format/);
    expect(r.stderr).toMatch(/environments\.staging\.overlay: unknown field "overlay" \(did you mean "overlays"\?\)/);
    // Located at the bad name itself, not at the first environment.
    const line = (await project.read('callform.config.yaml')).split('\n').findIndex((l) => /^\s+Prod:/.test(l)) + 1;
    expect(r.stderr).toMatch(
      new RegExp(
        `callform\\.config\\.yaml:${line}:\\d+: environments\\.Prod: "Prod" has the wrong format\\n\\s+hint: An environment name: lowercase letters`,
      ),
    );
  });

  it('--env given twice is refused, naming both', async () => {
    const r = await cli('plan', '--offline', '--env', 'staging', '--env', 'prod');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('--env is given twice (staging, then prod); pass one --env, or --all-envs');
    await expectNothingWritten();
  });

  it('a JSON settings file that declares an environment twice is refused, as YAML is (JSON.parse kept the last)', async () => {
    await rm(project.file('callform.config.yaml'));
    const env = (uuid: string) => `{ "credentials": { "uuid": "${uuid}", "secretKey": "KEY_${uuid}" } }`;
    await project.write(
      'callform.config.json',
      `{\n  "tasks": "tasks/**/*.yaml",\n  "environments": {\n    "staging": ${env('A')},\n    "staging": ${env('B')}\n  }\n}\n`,
    );
    const r = await cli('validate');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('callform.config.json:5:5: invalid JSON: Map keys must be unique');
    expect(r.stderr).toContain('hint: remove or rename the repeated key');
  });

  it('a saved all-environments plan applied with --env', async () => {
    // In process, paths are the test process's: an absolute one keeps the plan in the project.
    const file = project.file('all.cfplan');
    const plan = await cli('plan', '--offline', '--all-envs', '--out', file);
    expect(plan.code, plan.stderr).toBe(0);
    const r = await cli('apply', file, '--env', 'staging');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${file} is an all-environments plan: --env cannot pick one environment of it`);
    const files = [...(await project.allFiles()).keys()];
    expect(files.filter((f) => f.endsWith('.state.json') || f.endsWith('.lock'))).toEqual([]);
  });

  it('per-environment blocks without declared environments', async () => {
    await project.writeSettings({ tasks: 'tasks/**/*.yaml' });
    await project.write('tasks/a.yaml', 'userTaskID: t\nsceneID: s\nonly: [prod]\n');
    const r = await cli('validate');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      'tasks/a.yaml:3:1: only: task t has per-environment settings, but the settings declare no environments',
    );
    const env = await cli('plan', '--offline', '--env', 'prod');
    expect(env.stderr).toContain('--env prod: the settings declare no environments');
  });
});

describe('init --env', () => {
  it('scaffolds environments and overlay folders that validate at once', async () => {
    const dir = project.file('fresh');
    const init = await cli('init', dir, '--env', 'staging', '--env', 'prod-eu');
    expect(init.code, init.stderr).toBe(0);
    expect(init.stdout).toContain('created overlays/staging/overlay.yaml');
    expect(init.stdout).toContain('created overlays/prod-eu/overlay.yaml');
    const settings = await project.read('fresh/callform.config.yaml');
    expect(settings).toContain('credentials: { uuid: NXCLOUD_UUID_PROD_EU, secretKey: NXCLOUD_SECRET_KEY_PROD_EU }');
    const r = await cli('--config', `${dir}/callform.config.yaml`, 'validate');
    expect(r.stdout).toBe('Valid: 1 task in environment staging.\nValid: 1 task in environment prod-eu.\n');
    expect((await cli('init', dir, '--env', 'Prod')).stderr).toContain('init --env Prod: not an environment name');
  });
});

describe('per-environment policy files and doctor', () => {
  it("checks an environment's own policy files on top of the shared ones, in that environment only", async () => {
    await project.writeSettings({
      tasks: 'tasks/**/*.yaml',
      environments: { ...ENVIRONMENTS, prod: { ...ENVIRONMENTS.prod, policyFiles: 'policies/prod/*.yaml' } },
    });
    await project.write('policies/prod/cap.yaml', {
      rules: [{ name: 'prod-cap', kind: 'maxCall', severity: 'error', message: 'prod dials at most 2', max: 2 }],
    });
    const r = await cli('validate');
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('Valid: 2 tasks in environment staging.');
    expect(r.stdout).not.toContain('environment prod.');
    expect(r.stderr).toMatch(/environment prod:[\s\S]*prod-cap/);
  });

  it('a violation of a value an overlay or an environments block set is reported where that value is written', async () => {
    await project.writeSettings({
      tasks: 'tasks/**/*.yaml',
      policyFiles: 'policies/*.yaml',
      environments: ENVIRONMENTS,
    });
    await project.write('policies/cap.yaml', {
      rules: [{ name: 'cap', kind: 'maxCall', severity: 'error', message: 'at most 4 robots', max: 4 }],
    });
    await project.write(
      'tasks/a.yaml',
      [
        'tasks:',
        '  - userTaskID: renewals-north',
        '    sceneID: s',
        '    taskCreateSetting: { maxCall: 3 }',
        '    environments:',
        '      prod:',
        '        taskCreateSetting: { maxCall: 6 }',
        '  - userTaskID: renewals-south',
        '    sceneID: s',
        '    taskCreateSetting: { maxCall: 9 }',
        '',
      ].join('\n'),
    );
    await project.write(
      'overlays/staging/a.yaml',
      'patches:\n  - tasks: renewals-north\n    taskCreateSetting:\n      maxCall: 7\n',
    );
    const r = await cli('validate');
    expect(r.code).toBe(1);
    // The overlay's value (staging), the task's own block (prod), and a value of the task itself.
    expect(r.stderr).toContain('overlays/staging/a.yaml:4:16: renewals-north [cap] maxCall is 7');
    expect(r.stderr).toContain('tasks/a.yaml:7:39: renewals-north [cap] maxCall is 6');
    expect(r.stderr).toContain('tasks/a.yaml:8: renewals-south [cap] maxCall is 9');
    const plan = await cli('plan', '--offline', '--env', 'staging', '--format', 'json');
    const doc = JSON.parse(plan.stdout) as { policy: { violations: Array<{ userTaskID: string; source: string }> } };
    expect(doc.policy.violations.map((v) => `${v.userTaskID} ${v.source}`)).toEqual([
      'renewals-north overlays/staging/a.yaml:4:16',
      'renewals-south tasks/a.yaml:8',
    ]);
    // A saved plan keeps those places, and reading it again checks what was found, not where.
    await project.write('policies/cap.yaml', {
      rules: [{ name: 'cap', kind: 'maxCall', severity: 'warn', message: 'at most 4 robots', max: 4 }],
    });
    const file = project.file('staging.cfplan');
    expect((await cli('plan', '--offline', '--env', 'staging', '--out', file)).code).toBe(0);
    const shown = await cli('show', file);
    expect(shown.stderr).toBe('');
    expect(shown.stdout).toContain('overlays/staging/a.yaml:4:16');
  });

  it('doctor --all-envs --format json: one document, a report per environment', async () => {
    // A closed loopback port: doctor's endpoint check never leaves the machine.
    const local = { endpoint: 'http://127.0.0.1:9' };
    await project.writeSettings({
      tasks: 'tasks/**/*.yaml',
      environments: { staging: { ...ENVIRONMENTS.staging, ...local }, prod: { ...ENVIRONMENTS.prod, ...local } },
    });
    const r = await cli('doctor', '--all-envs', '--format', 'json');
    const doc = JSON.parse(r.stdout) as {
      environments: Record<string, { checks: Array<{ id: string; detail: string }> }>;
    };
    expect(Object.keys(doc.environments)).toEqual(['staging', 'prod']);
    expect(doc.environments.prod.checks.find((c) => c.id === 'credentials')?.detail).toContain(
      'NXCLOUD_UUID_PROD, NXCLOUD_SECRET_KEY_PROD not set',
    );
  });
});
