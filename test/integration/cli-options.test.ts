/**
 * Option parsing and messages through the real CLI: Terraform habits (single-dash long
 * options, `-o json`), commander's errors in the `Error: … hint: …` form, `help NAME`,
 * `--lock-timeout` durations, whitespace in NXCLOUD_* variables, `validate FILE…`,
 * `init` (idempotent, and a target that is not a directory), and plan's exit code when
 * tasks are in error; the bundled program's loader (a .mjs settings file, a code cache it
 * must not use, stack traces).
 */
import { describe, it, expect, beforeAll, afterAll, afterEach } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { startSimulator, type Simulator } from '../../src/sim/index.js';
import {
  cliPath,
  createProject,
  describeResult,
  distDir,
  dropDistSnapshot,
  runCli,
  simEnv,
  useDistSnapshot,
  type TempProject,
} from '../support/project.js';

const TASK = { userTaskID: 'opt-a', sceneID: 'scene-1', taskCreateSetting: { taskName: 'A', maxCall: 2 } };

let p: TempProject;
const made: TempProject[] = [];
const run = (args: string[], env?: Record<string, string | undefined>) => runCli(args, { cwd: p.dir, env });

async function newProject(prefix: string): Promise<TempProject> {
  p = await createProject({}, prefix);
  made.push(p);
  return p;
}

afterEach(async () => {
  await Promise.all(made.splice(0).map((m) => m.cleanup()));
});

async function project(): Promise<TempProject> {
  await newProject('callform-opts-');
  await p.write('tasks/a.yaml', TASK);
  return p;
}

/** No file but the settings and task file the test wrote: a refused option writes nothing. */
async function filesIn(dir: string): Promise<string[]> {
  return (await readdir(dir, { recursive: true })).sort();
}

describe('Terraform habits are refused with the right spelling', () => {
  it('plan -out=x.cfplan: no file "ut=x.cfplan", and the hint names --out', async () => {
    await project();
    const before = await filesIn(p.dir);
    const r = await run(['plan', '--offline', '-out=x.cfplan']);
    expect(r.code, describeResult(['plan'], r)).toBe(1);
    expect(r.stderr).toContain("Error: unknown option '-out=x.cfplan'");
    expect(r.stderr).toContain('hint: did you mean --out? Long options take two dashes: --out=x.cfplan');
    expect(r.stdout).toBe('');
    expect(await filesIn(p.dir)).toEqual(before);
  });

  it('apply -auto-approve names --auto-approve; -debug before the command names --debug', async () => {
    await project();
    const apply = await run(['apply', '-auto-approve']);
    expect(apply.code).toBe(1);
    expect(apply.stderr).toContain('did you mean --auto-approve?');
    const debug = await run(['-debug', 'validate']);
    expect(debug.code).toBe(1);
    expect(debug.stderr).toContain('did you mean --debug?');
  });

  it('--auto-approve=true: a switch takes no value, and says so', async () => {
    await project();
    const r = await run(['apply', '--auto-approve=true']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("Error: option '--auto-approve' takes no value (got '--auto-approve=true')");
    expect(r.stderr).toContain('hint: write --auto-approve alone to turn it on, and leave it out to keep it off');
    // A valued option keeps its --name=value form.
    const plan = await run(['plan', '--offline', '--format=json']);
    expect(plan.stderr).not.toContain('takes no value');
  });

  it('show -json and plan -json name --format json (terraform show -json)', async () => {
    await project();
    for (const args of [
      ['plan', '--offline', '-json'],
      ['show', 'x.cfplan', '-json'],
      ['plan', '--json'],
    ]) {
      const r = await run(args);
      expect(r.code, describeResult(args, r)).toBe(1);
      expect(r.stderr).toContain('hint: did you mean --format json?');
    }
  });

  it('a value that happens to look like a single-dash option is left alone', async () => {
    await project();
    // -t takes a value: "-offline" here is a target pattern, not a misspelt --offline.
    const r = await run(['plan', '--offline', '-t', '-offline']);
    expect(r.stderr).not.toContain('unknown option');
    expect(r.stderr).toContain('--target "-offline" matches no task');
  });

  it.each([[['-o', 'json']], [['--out', 'markdown']], [['--out=Text']]])(
    'plan %j is refused: a format name is not a plan file',
    async (args) => {
      await project();
      const before = await filesIn(p.dir);
      const r = await run(['plan', '--offline', ...args]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/is an output format, not a file to save the plan to/);
      expect(r.stderr).toMatch(/hint: for the output format use --format (json|markdown|text)/);
      expect(await filesIn(p.dir)).toEqual(before);
    },
  );
});

describe('bad options: Error: … hint: …, no help dump', () => {
  it.each([
    [
      ['apply', '--auto-approve', '-p', '0'],
      '--parallelism must be a whole number from 1 to 256',
      'callform apply --help',
    ],
    [['plan', '--format', 'yaml'], 'Allowed choices are text, markdown, json', 'callform plan --help'],
    [['import', '--out', 'x.yaml', '--status', '9'], '--status takes task statuses 1..5', 'callform import --help'],
    [['plan', '--ofline'], "unknown option '--ofline'", 'did you mean --offline?'],
    [['show'], "missing required argument 'planfile'", 'callform show --help'],
  ])('%j', async (args, what, hint) => {
    await project();
    const r = await run(args);
    expect(r.code).toBe(1);
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines, r.stderr).toHaveLength(2);
    expect(lines[0]).toMatch(/^Error: /);
    expect(lines[0]).toContain(what);
    expect(lines[1]).toMatch(/^ {2}hint: /);
    expect(lines[1]).toContain(hint);
    expect(r.stderr).not.toContain('Usage:');
    expect(r.stderr).not.toMatch(/^error:/m);
  });

  it('help NAME for an unknown command exits 1 with a suggestion; help plan exits 0', async () => {
    await project();
    const nope = await run(['help', 'nope']);
    expect(nope.code).toBe(1);
    expect(nope.stderr).toContain("Error: unknown command 'nope'");
    expect(nope.stderr).toContain('`callform --help` lists the commands');
    const typo = await run(['help', 'plna']);
    expect(typo.code).toBe(1);
    expect(typo.stderr).toContain('did you mean plan?');
    const ok = await run(['help', 'plan']);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('Usage: callform plan');
  });
});

describe('--lock-timeout takes durations', () => {
  it.each(['5s', '2m', '500ms', '1500', '1.5s'])('%s is accepted', async (value) => {
    await project();
    // No TTY and no --auto-approve: the run stops after option parsing, at the confirmation check.
    const r = await run(['apply', '--lock-timeout', value]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('apply needs confirmation but standard input is not a terminal');
  });

  it.each(['5x', '2 m', '-5', '61m', '1.5'])('%s is refused', async (value) => {
    await project();
    const r = await run(['apply', '--auto-approve', `--lock-timeout=${value}`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('--lock-timeout must be a duration from 0 to 60 minutes');
    expect(r.stderr).toContain('500ms, 5s, 2m');
  });

  it('state push takes it too (its "state is locked" hint names it)', async () => {
    await project();
    const bad = await run(['state', 'push', 'x.json', '--lock-timeout', '5x']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('--lock-timeout must be a duration from 0 to 60 minutes');
    const missing = await run(['state', 'push', 'x.json', '--lock-timeout', '5s']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('x.json does not exist');
  });
});

describe('history --since takes calendar dates that exist', () => {
  it.each(['2026-02-30', '2026-13-01', 'yesterday'])('%s is refused', async (value) => {
    await project();
    const r = await run(['history', '--since', value]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`"${value}" is not a date: use e.g. 2026-12-01 or 2026-12-01T08:00:00Z`);
  });

  it.each(['2024-02-29', '2026-12-01T23:30:00-05:00'])('%s is accepted', async (value) => {
    await project();
    const r = await run(['history', '--since', value]);
    expect(r.code, r.stderr).toBe(0);
  });
});

describe('whitespace around NXCLOUD_* values is named', () => {
  const SECRET = 'S3CR3T-whitespace-canary';
  it.each([
    ['NXCLOUD_ENDPOINT', 'http://127.0.0.1:9/ ', 'a space at the end'],
    ['NXCLOUD_UUID', ' uuid-1', 'a space at the start'],
    ['NXCLOUD_SECRET_KEY', `${SECRET}\n`, 'a newline at the end'],
    ['NXCLOUD_SECRET_KEY', `\t${SECRET}\r\n`, 'a tab at the start and 2 whitespace characters at the end'],
    ['NXCLOUD_ALGORITHM', 'MD5 ', 'a space at the end'],
  ])('%s=%j', async (name, value, described) => {
    await project();
    const env = {
      NXCLOUD_ENDPOINT: 'http://127.0.0.1:9',
      NXCLOUD_UUID: 'u',
      NXCLOUD_SECRET_KEY: SECRET,
      [name]: value,
    };
    const r = await run(['plan'], env);
    expect(r.code, describeResult(['plan'], r)).toBe(1);
    expect(r.stderr).toContain(`Error: ${name} has ${described}`);
    expect(r.stderr).toContain(`hint: set ${name} to the value alone`);
    expect(r.stderr + r.stdout).not.toContain(SECRET);
    expect(r.stderr).not.toMatch(/Invalid URL|signature/);
  });

  it('doctor names it too, without the value', async () => {
    await project();
    const r = await run(['doctor'], { NXCLOUD_UUID: 'u', NXCLOUD_SECRET_KEY: ` ${SECRET}` });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('NXCLOUD_SECRET_KEY has a space at the start');
    expect(r.stdout + r.stderr).not.toContain(SECRET);
  });
});

describe('validate FILE…', () => {
  it('checks just the named files, even outside the tasks patterns', async () => {
    await project();
    await p.write('tasks/broken.yaml', { userTaskID: 'b', sceneID: 's', taskCreateSetting: { maxCall: 'x' } });
    await p.write('elsewhere/c.json', { ...TASK, userTaskID: 'opt-c' });
    expect((await run(['validate'])).code).toBe(1); // the whole project has a broken file
    const r = await run(['validate', 'tasks/a.yaml', 'elsewhere/c.json']);
    expect(r.code, describeResult(['validate'], r)).toBe(0);
    expect(r.stdout).toBe('Valid: 2 tasks in 2 files.\n');
    const broken = await run(['validate', 'tasks/broken.yaml']);
    expect(broken.code).toBe(1);
    expect(broken.stderr).toMatch(/tasks\/broken\.yaml:\d+:\d+: .*maxCall/);
  });

  it('a missing path or a directory is a clear error', async () => {
    await project();
    const r = await run(['validate', 'tasks/a.yaml', 'tasks/nope.yaml', 'tasks']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('tasks/nope.yaml: no such file');
    expect(r.stderr).toContain('tasks: not a file');
    expect(r.stderr).not.toContain('unexpected failure');
  });
});

describe('init', () => {
  it('is idempotent: a second run exits 0 and says there is nothing to do', async () => {
    await newProject('callform-init-');
    await rm(p.file('callform.config.yaml'));
    const first = await run(['init']);
    expect(first.code, describeResult(['init'], first)).toBe(0);
    expect(first.stdout).toContain('created tasks/example-task.yaml');
    expect((await run(['validate'])).code).toBe(0);
    const before = await p.allFiles();
    const second = await run(['init']);
    expect(second.code, describeResult(['init'], second)).toBe(0);
    expect(second.stdout).toBe(
      'Nothing to do: this directory already has settings file callform.config.yaml, 1 task file, .gitignore entries.\n',
    );
    expect(await p.allFiles()).toEqual(before);
  });

  it('never adds the example task to a project that has task files', async () => {
    await newProject('callform-init-');
    await rm(p.file('callform.config.yaml'));
    await p.write('tasks/a.yaml', TASK);
    const r = await run(['init']);
    expect(r.code, describeResult(['init'], r)).toBe(0);
    expect(r.stdout).toContain('created callform.config.yaml');
    expect(r.stdout).toContain('kept 1 task file');
    expect(existsSync(p.file('tasks/example-task.yaml'))).toBe(false);
    expect((await run(['plan', '--offline'])).code).toBe(0);
  });

  it('keeps an existing settings file of another name and adds no example', async () => {
    await newProject('callform-init-');
    await rename(p.file('callform.config.yaml'), p.file('.callformrc.yaml'));
    const r = await run(['init']);
    expect(r.code, describeResult(['init'], r)).toBe(0);
    expect(r.stdout).toContain('kept settings file .callformrc.yaml');
    expect(existsSync(p.file('callform.config.yaml'))).toBe(false);
    expect(existsSync(p.file('tasks'))).toBe(false);
  });

  it('a target that is a file, or under a file, is named as not a directory', async () => {
    await project();
    for (const target of ['tasks/a.yaml', 'tasks/a.yaml/sub']) {
      const r = await run(['init', target]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`Error: init: ${path.join(p.dir, target)} is not a directory`);
      expect(r.stderr).not.toContain('unexpected failure');
    }
  });

  it('creates a missing target directory', async () => {
    await project();
    const r = await run(['init', 'new/project']);
    expect(r.code, describeResult(['init'], r)).toBe(0);
    expect(existsSync(p.file('new/project/tasks/example-task.yaml'))).toBe(true);
  });
});

describe('plan exits 1 when tasks are in error', () => {
  let sim: Simulator;
  beforeAll(async () => {
    sim = await startSimulator({ seed: { tasks: [{ userTaskID: 'opt-a', sceneID: 'scene-1', taskStatus: 1 }] } });
  });
  afterAll(async () => {
    await sim.close();
  });

  it('prints the whole plan, names the tasks in error, and errors win over --detailed-exitcode', async () => {
    await project();
    await p.write('tasks/missing.yaml', { ...TASK, userTaskID: 'opt-missing', lifecycle: { whenMissing: 'error' } });
    const env = simEnv(sim);
    for (const args of [['plan'], ['plan', '--detailed-exitcode'], ['plan', '--format', 'json']]) {
      const r = await run(args, env);
      expect(r.code, describeResult(args, r)).toBe(1);
      expect(r.stdout).toContain('opt-a');
      expect(r.stdout).toContain('opt-missing');
      expect(r.stderr).toContain('Error: 1 task in error: opt-missing');
    }
    await rm(p.file('tasks/missing.yaml'));
    const clean = await run(['plan', '--detailed-exitcode'], env);
    expect(clean.code, describeResult(['plan'], clean)).toBe(2);
  });
});

describe('the bundled program (dist/cli.js, built by scripts/bundle.mjs)', () => {
  afterAll(async () => {
    await dropDistSnapshot();
  });

  it("reads a callform.config.mjs: the bundle's import() goes through the loader", async () => {
    await project();
    const settings = await readFile(p.file('callform.config.yaml'), 'utf8');
    await rm(p.file('callform.config.yaml'));
    await writeFile(p.file('callform.config.mjs'), `export default ${JSON.stringify(parseYaml(settings))};\n`);
    const r = await run(['plan', '--offline']);
    expect(r.code, describeResult(['plan', '--offline'], r)).toBe(0);
    expect(r.stdout).toContain('opt-a');
  });

  it('a code cache that is not for this bundle and Node, or that V8 rejects, is not used: same output', async () => {
    await project();
    const expected = await run(['plan', '--offline']);
    expect(expected.code, describeResult(['plan', '--offline'], expected)).toBe(0);
    await useDistSnapshot();
    const cache = path.join(distDir(), 'cli.bundle.cache');
    const real = await readFile(cache);
    const key = real.subarray(0, real.indexOf(10) + 1);
    const garbage = Buffer.alloc(4096, 7);
    for (const bad of [Buffer.concat([Buffer.from('callform 0 v0.0.0 x\n'), real]), Buffer.concat([key, garbage])]) {
      await writeFile(cache, bad);
      const r = await run(['plan', '--offline']);
      expect(r.code, describeResult(['plan', '--offline'], r)).toBe(0);
      expect(r.stdout).toBe(expected.stdout);
      expect(r.stderr).toBe(expected.stderr);
    }
    await dropDistSnapshot();
  });

  it('stack traces name bundle lines, and src/*.ts lines with --enable-source-maps', async () => {
    // buildProgram without an Io throws inside the bundle.
    const code = `import { buildProgram } from ${JSON.stringify(pathToFileURL(cliPath()).href)};\nbuildProgram(undefined, () => {}).parse(['node', 'callform', 'plan']);`;
    for (const [flags, where] of [
      [[], /cli\.bundle\.cjs:\d+/],
      [['--enable-source-maps'], /src[\\/]cli\.ts:\d+/],
    ] as const) {
      const r = spawnSync(process.execPath, [...flags, '--input-type=module', '-e', code], { encoding: 'utf8' });
      expect(r.status).not.toBe(0);
      expect(r.stderr).toMatch(where);
    }
  });
});
