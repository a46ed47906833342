import { mkdir, readFile, writeFile, access } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CallformError } from '../errors.js';

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

/** `callform init`: settings file, tasks/ with one example, .gitignore entries. Never overwrites. */
export async function initProject(dir: string): Promise<string[]> {
  const created: string[] = [];
  const configFile = path.join(dir, 'callform.config.yaml');
  const taskFile = path.join(dir, 'tasks', 'example-task.yaml');
  for (const f of [configFile, taskFile]) {
    if (await exists(f))
      throw new CallformError(
        `${path.relative(dir, f)} already exists; init never overwrites`,
        'remove it or run init in an empty directory',
      );
  }
  await mkdir(path.dirname(taskFile), { recursive: true });
  await writeFile(
    configFile,
    `# yaml-language-server: $schema=${schemaRef(configFile, 'config.schema.json')}
# callform settings. Credentials are never stored here: export NXCLOUD_UUID and NXCLOUD_SECRET_KEY.
tasks: "tasks/**/*.{yaml,yml,json}"
state: callform.state.json
endpoint: https://nxbot.nxcloud.com
algorithm: MD5
parallelism: 8
timeoutMs: 15000
retries: 3
`,
  );
  created.push('callform.config.yaml');
  await writeFile(
    taskFile,
    `# yaml-language-server: $schema=${schemaRef(taskFile, 'task-file.schema.json')}
# One task; a file may also hold { defaults, tasks: [...] } or several YAML documents.
userTaskID: example-task-0001   # your own unique ID for the task (it must already exist on NXCloud)
sceneID: your-scene-id          # dialogue template ID (Script Management)
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
  );
  created.push('tasks/example-task.yaml');
  const gitignore = path.join(dir, '.gitignore');
  const current = (await exists(gitignore)) ? await readFile(gitignore, 'utf8') : '';
  // The lock file, plus `.lock.*`: its short-lived temp files (`.lock.tmp-*`) and an older callform's `.lock.info`.
  const wanted = ['callform.state.json.lock', 'callform.state.json.lock.*', '*.cfplan'].filter(
    (l) => !current.split(/\r?\n/).includes(l),
  );
  if (wanted.length > 0) {
    await writeFile(
      gitignore,
      current + (current && !current.endsWith('\n') ? '\n' : '') + '# callform\n' + wanted.join('\n') + '\n',
    );
    created.push('.gitignore entries: ' + wanted.join(', '));
  }
  return created;
}
