/**
 * apply across environments: nothing is applied anywhere when any environment's files are
 * invalid or its saved plan is stale; a saved all-environments plan runs in the settings'
 * declaration order and must hold every declared environment.
 */
import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import { existsSync } from 'node:fs';
import { startSimulator, type Simulator } from '../../src/sim/index.js';
import { runCli, tempProject, type TempProject } from '../support/cli-harness.js';
import { parseJson } from '../support/json.js';

let sim: Simulator;
let project: TempProject;
let env: Record<string, string>;
let updates: string[];

const NAMES = ['staging', 'prod'];
const cli = (...args: string[]) => runCli(args, { cwd: project.dir, env });

beforeEach(async () => {
  sim = await startSimulator({ seed: { tasks: [{ userTaskID: 'renewals-north', sceneID: 's', taskStatus: 1 }] } });
  updates = [];
  sim.onRequest = (endpoint) => {
    if (endpoint === 'updateTask') updates.push(endpoint);
  };
  project = await tempProject({
    tasks: 'tasks/*.yaml',
    environments: Object.fromEntries(
      NAMES.map((n) => [
        n,
        {
          endpoint: sim.url,
          credentials: { uuid: `UUID_${n}`, secretKey: `KEY_${n}` },
          state: `${n}.state.json`,
          overlays: `overlays/${n}/*.yaml`,
        },
      ]),
    ),
  });
  env = Object.fromEntries(
    NAMES.flatMap((n) => [
      [`UUID_${n}`, sim.uuid],
      [`KEY_${n}`, sim.secret],
    ]),
  );
  await project.write('tasks/t.yaml', {
    userTaskID: 'renewals-north',
    sceneID: 's',
    taskCreateSetting: { maxCall: 3 },
  });
  for (const n of NAMES)
    await project.write(`overlays/${n}/a.yaml`, { patches: [{ tasks: 'renewals-*', funcFlag: { taskKeep: true } }] });
});

afterEach(async () => {
  await Promise.all([sim.close(), project.cleanup()]);
});

describe('apply --all-envs', () => {
  it("refuses before the first environment applies when a later one's files are invalid", async () => {
    await project.write(
      'overlays/prod/a.yaml',
      'patches:\n  - tasks: renewals-*\n    taskCreateSetting: { maxCall: 0 }\n',
    );
    const r = await cli('apply', '--all-envs', '--auto-approve');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('problem in the environments (no environment was applied)');
    expect(r.stderr).toContain(
      'overlays/prod/a.yaml:3:35: taskCreateSetting.maxCall: task renewals-north in environment prod: must be >= 1',
    );
    expect(updates).toEqual([]);
    expect(existsSync(project.file('staging.state.json'))).toBe(false);
  });

  it('refuses a saved plan when any environment of it is stale, before applying any', async () => {
    expect((await cli('plan', '--all-envs', '--out', 'all.cfplan')).code).toBe(0);
    await project.write('overlays/prod/a.yaml', { patches: [{ tasks: 'renewals-*', funcFlag: { taskKeep: false } }] });
    const r = await cli('apply', 'all.cfplan');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('environment prod: saved plan is stale');
    expect(r.stderr).toContain('no environment was applied');
    expect(r.stderr).toContain('`callform plan --env prod --out FILE` (or `--all-envs` for every environment)');
    expect(updates).toEqual([]);
  });

  it("applies a saved plan in the settings' declaration order, whatever the file's, and needs every environment", async () => {
    expect((await cli('plan', '--all-envs', '--out', 'all.cfplan')).code).toBe(0);
    const file = parseJson<{ environments: unknown[] }>(await project.read('all.cfplan'));
    await project.write('reversed.cfplan', JSON.stringify({ ...file, environments: [...file.environments].reverse() }));
    await project.write('partial.cfplan', JSON.stringify({ ...file, environments: file.environments.slice(0, 1) }));
    const partial = await cli('apply', 'partial.cfplan');
    expect(partial.code).toBe(1);
    expect(partial.stderr).toContain('partial.cfplan has no plan for environment prod, declared in the settings');
    expect(updates).toEqual([]);
    const applied = await cli('apply', 'reversed.cfplan');
    expect(applied.code, applied.stderr).toBe(0);
    expect(applied.stdout).toMatch(/== environment staging[\s\S]*== environment prod/);
    expect(applied.stdout).toContain('Environments: staging ok, prod ok.');
  });

  it('refuses a one-environment saved plan when CALLFORM_ENV names another environment, as --env does', async () => {
    expect((await cli('plan', '--env', 'staging', '--out', 's.cfplan')).code).toBe(0);
    const r = await runCli(['apply', 's.cfplan'], { cwd: project.dir, env: { ...env, CALLFORM_ENV: 'prod' } });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('s.cfplan is a plan for environment staging, not prod (CALLFORM_ENV)');
    expect(updates).toEqual([]);
    const shown = await cli('show', 's.cfplan', '--env', 'prod');
    expect(shown.code).toBe(1);
    expect(shown.stderr).toContain('s.cfplan is a plan for environment staging, not prod');
    expect((await cli('show', 's.cfplan', '--env', 'staging')).code).toBe(0);
  });
});
