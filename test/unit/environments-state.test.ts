/** Where an environment's state lives when it names none: after the top-level backend. */
import { describe, it, expect, afterEach } from 'vitest';
import path from 'node:path';
import { loadSettings } from '../../src/config/settings.js';
import { resolveEnvironments } from '../../src/config/environments.js';
import { tempProject, type TempProject } from '../support/cli-harness.js';

let project: TempProject | undefined;
afterEach(async () => {
  await project?.cleanup();
});

const credentials = (n: string) => ({ credentials: { uuid: `UUID_${n}`, secretKey: `KEY_${n}` } });

async function states(settings: object) {
  project = await tempProject(settings);
  const base = await loadSettings({ cwd: project.dir, env: {} });
  return (await resolveEnvironments(base, project.dir))?.map((s) => [s.name, s.settings.state]);
}

describe("an environment's default state", () => {
  it('with a PostgreSQL state at the top level: the same database and schema, under the environment name', async () => {
    const got = await states({
      state: { backend: 'postgres', urlEnv: 'OPS_DB', schema: 'ops', name: 'shared' },
      environments: { staging: credentials('s'), prod: credentials('p') },
    });
    expect(got).toEqual([
      ['staging', { backend: 'postgres', urlEnv: 'OPS_DB', schema: 'ops', name: 'staging', skipSchemaCreation: false }],
      ['prod', { backend: 'postgres', urlEnv: 'OPS_DB', schema: 'ops', name: 'prod', skipSchemaCreation: false }],
    ]);
  });

  it("with a file state at the top level: callform.<name>.state.json; an environment's own state wins", async () => {
    const got = await states({
      environments: { staging: credentials('s'), prod: { ...credentials('p'), state: 'state/prod.json' } },
    });
    expect(got).toEqual([
      ['staging', { backend: 'file', path: path.join(project!.dir, 'callform.staging.state.json') }],
      ['prod', { backend: 'file', path: path.join(project!.dir, 'state/prod.json') }],
    ]);
  });
});
