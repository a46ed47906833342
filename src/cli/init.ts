import { mkdir, readFile, writeFile, access, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { glob } from 'tinyglobby';
import { CallformError, ExitCode, fsProblem } from '../errors.js';
import type { Io } from './io.js';
import { DEFAULT_TASK_GLOB, MODULE_NAME, SEARCH_PLACES } from '../config/settings.js';

const SCHEMA_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'schemas');

async function exists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  );
}

/** Path from a scaffolded file to the installed schema, for editor completion without network. */
function schemaRef(fromFile: string, schema: string): string {
  const rel = path.relative(path.dirname(fromFile), path.join(SCHEMA_DIR, schema)).split(path.sep).join('/');
  return rel.startsWith('.') ? rel : `./${rel}`;
}

/** What init did: files and entries created, and what it found already there (and so left alone). */
interface InitResult {
  created: string[];
  kept: string[];
}

/** A settings file callform would discover in `dir` itself (package.json only with a "callform" key). */
async function existingSettings(dir: string): Promise<string | null> {
  for (const place of SEARCH_PLACES) {
    const file = path.join(dir, place);
    if (!(await exists(file))) continue;
    if (place !== 'package.json') return place;
    const pkg = await readFile(file, 'utf8').then(
      (t) => JSON.parse(t) as unknown,
      () => null,
    );
    if (pkg && typeof pkg === 'object' && MODULE_NAME in pkg) return 'package.json#callform';
  }
  return null;
}

/** The directory to scaffold: created when missing; anything else there is refused in words. */
async function ensureDirectory(dir: string): Promise<void> {
  const HINT = 'give init a directory (it is created when missing), e.g. `callform init my-project`';
  const info = await stat(dir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return null;
    if (err.code === 'ENOTDIR')
      throw new CallformError(`init: ${dir} is not a directory (a part of its path is a file)`, HINT);
    throw new CallformError(`init: cannot use ${dir}: ${fsProblem(err)}`, HINT);
  });
  if (info && !info.isDirectory()) throw new CallformError(`init: ${dir} is not a directory`, HINT);
  if (!info)
    await mkdir(dir, { recursive: true }).catch((err: NodeJS.ErrnoException) => {
      const why =
        err.code === 'ENOTDIR' || err.code === 'EEXIST' ? 'a part of the path is not a directory' : fsProblem(err);
      throw new CallformError(`init: cannot create directory ${dir}: ${why}`, HINT);
    });
}

/**
 * `callform init`: settings file, tasks/ with one example, .gitignore entries. Never
 * overwrites, and is idempotent: an existing settings file is kept, and the example task
 * is written only into a project with neither settings nor task files.
 */
async function initProject(dir: string, envs: string[]): Promise<InitResult> {
  await ensureDirectory(dir);
  try {
    return await scaffold(dir, envs);
  } catch (err) {
    if (err instanceof CallformError) throw err;
    const file = (err as NodeJS.ErrnoException).path;
    throw new CallformError(
      `init: cannot write ${file ? path.relative(dir, file) || file : dir}: ${fsProblem(err)}`,
      'check the permissions of the directory',
    );
  }
}

async function scaffold(dir: string, envs: string[]): Promise<InitResult> {
  const created: string[] = [];
  const kept: string[] = [];
  const configFile = path.join(dir, 'callform.config.yaml');
  const taskFile = path.join(dir, 'tasks', 'example-task.yaml');
  const settings = await existingSettings(dir);
  const taskFiles = await glob(DEFAULT_TASK_GLOB, { cwd: dir, onlyFiles: true, expandDirectories: false });
  if (settings) kept.push(`settings file ${settings}`);
  if (taskFiles.length > 0) kept.push(`${taskFiles.length} task file${taskFiles.length === 1 ? '' : 's'}`);
  if (!settings) await writeConfig(configFile, created, envs);
  else if (envs.length > 0)
    kept.push(`settings file ${settings} (add the environments to it by hand: docs/environments.md)`);
  if (!settings && taskFiles.length === 0) await writeExampleTask(taskFile, created);
  for (const env of envs) await writeOverlayFolder(dir, env, created, kept);
  await addGitignoreEntries(dir, created, kept, envs.length > 0);
  return { created, kept };
}

/** NXCLOUD_UUID_PROD_EU for prod-eu: the variables an environment's credentials are read from. */
const variableSuffix = (env: string) => env.toUpperCase().replace(/-/g, '_');

function environmentsBlock(envs: string[]): string {
  if (envs.length === 0) return '';
  const lines = ['# One NXCloud account each, applied in this order (docs/environments.md).', 'environments:'];
  for (const env of envs)
    lines.push(
      `  ${env}:`,
      `    credentials: { uuid: NXCLOUD_UUID_${variableSuffix(env)}, secretKey: NXCLOUD_SECRET_KEY_${variableSuffix(env)} }`,
      `    state: callform.${env}.state.json`,
      `    overlays: "overlays/${env}/*.yaml"`,
    );
  return lines.join('\n') + '\n';
}

async function writeConfig(configFile: string, created: string[], envs: string[]): Promise<void> {
  const credentials =
    envs.length === 0
      ? 'export NXCLOUD_UUID and NXCLOUD_SECRET_KEY'
      : "each environment's credentials are the environment variables it names";
  await writeFile(
    configFile,
    `# yaml-language-server: $schema=${schemaRef(configFile, 'config.schema.json')}
# callform settings. Credentials are never stored here: ${credentials}.
tasks: "tasks/**/*.{yaml,yml,json}"
${envs.length === 0 ? 'state: callform.state.json\n' : ''}endpoint: https://nxbot.nxcloud.com
algorithm: MD5
parallelism: 8
timeoutMs: 15000
retries: 3
${environmentsBlock(envs)}`,
    { flag: 'wx' },
  );
  created.push('callform.config.yaml');
}

async function writeExampleTask(taskFile: string, created: string[]): Promise<void> {
  await mkdir(path.dirname(taskFile), { recursive: true });
  await writeFile(
    taskFile,
    `# yaml-language-server: $schema=${schemaRef(taskFile, 'task-file.schema.json')}
# One task; a file may also hold { defaults, tasks: [...] } or several YAML documents.
userTaskID: example-task-0001   # your own unique ID for the task (UUID recommended)
sceneID: your-scene-id          # dialogue template ID (Script Management)
# Missing on NXCloud, the task will be created (createTask, then updateTask with the
# settings below); set lifecycle.whenMissing: error if tasks are created elsewhere.
lifecycle:
  whenMissing: create
taskCreateSetting:
  taskName: Example outbound task
  startupType: 1                # 1 manual, 2 scheduled (needs startupAt), 3 immediate
  zoneSecond: 28800             # UTC+8
  dialAtWeekDay: "1,2,3,4,5"
  dialAtUpHour: "9,10,11,14,15,16"
  dialAtDownHour: "9,10,11,14,15,16"
  maxCall: 5
  maxRingTime: 30
funcFlag:
  taskKeep: true
  roundRedial: false
  wholeTTS: true
  smsEnable: false
  phoneEncrypt: true
`,
    { flag: 'wx' },
  );
  created.push('tasks/example-task.yaml');
}

/** overlays/<env>/ with an overlay file that changes nothing yet, and says how to. */
async function writeOverlayFolder(dir: string, env: string, created: string[], kept: string[]): Promise<void> {
  const file = path.join(dir, 'overlays', env, 'overlay.yaml');
  const rel = path.relative(dir, file);
  if (await exists(path.dirname(file))) {
    kept.push(`overlays/${env}/`);
    return;
  }
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(
    file,
    `# ${env}'s changes to the tasks, applied after the task files and before each task's own
# environments.${env} block (docs/environments.md). For example:
#   - tasks: "renewals-*"            # userTaskID globs; a patch matching no task is an error
#     taskCreateSetting: { maxCall: 2 }
#     funcFlag: { roundRedial: null } # null: not managed in ${env}
patches: []
`,
    { flag: 'wx' },
  );
  created.push(rel);
}

async function addGitignoreEntries(dir: string, created: string[], kept: string[], envs: boolean): Promise<void> {
  const gitignore = path.join(dir, '.gitignore');
  const current = (await exists(gitignore)) ? await readFile(gitignore, 'utf8') : '';
  // The lock file, plus `.lock.*`: its short-lived temp files (`.lock.tmp-*`) and an older callform's `.lock.info`.
  const locks = envs ? ['callform.*.state.json.lock', 'callform.*.state.json.lock.*'] : [];
  const wanted = ['callform.state.json.lock', 'callform.state.json.lock.*', ...locks, '*.cfplan'].filter(
    (l) => !current.split(/\r?\n/).includes(l),
  );
  if (wanted.length > 0) {
    await writeFile(
      gitignore,
      current + (current && !current.endsWith('\n') ? '\n' : '') + '# callform\n' + wanted.join('\n') + '\n',
    );
    created.push('.gitignore entries: ' + wanted.join(', '));
  } else {
    kept.push('.gitignore entries');
  }
}

/** `callform init [dir]`: scaffolds, then says what it created and what it kept, or that there was nothing to do. */
export async function initCommand(io: Io, dir: string | undefined, envs: string[] = []): Promise<number> {
  const bad = envs.find((e) => !/^[a-z0-9][a-z0-9-]*$/.test(e));
  if (bad !== undefined)
    throw new CallformError(
      `init --env ${bad}: not an environment name`,
      'use lowercase letters, digits and -, starting with a letter or digit (e.g. staging, prod-eu)',
    );
  const { created, kept } = await initProject(path.resolve(io.cwd, dir ?? '.'), [...new Set(envs)]);
  io.stdout.write(
    created.length === 0
      ? `Nothing to do: ${dir ?? 'this directory'} already has ${kept.join(', ')}.\n`
      : [...created.map((c) => `created ${c}`), ...kept.map((k) => `kept ${k}`)].join('\n') + '\n',
  );
  return ExitCode.Ok;
}
