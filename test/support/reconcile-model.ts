/**
 * The model of the model-based reconcile tests (test/reliability/model*.test.ts): task
 * files as plain data that random commands edit (set, remove and re-add fields, whole
 * sections, reverts to an earlier version), and the one invariant that matters after a
 * clean apply: every field the files declare has that value on the server.
 */
import fc from 'fast-check';
import { stringify } from 'yaml';
import { dataEqual, getPath, isPlain, setPath, type Plain } from '../../src/model/settings.js';
import { mergeDefaults } from '../../src/config/load-tasks.js';

const SCENE = 'scene-model-v1';
export const TASK_IDS = ['model-a', 'model-b', 'model-c'] as const;
/** Paused by a person: updated as it is, never resumed by callform. */
export const PERSON_PAUSED_TASK = 'model-b';
/** Running and opted in to pause → update → resume: every change pauses and resumes it. */
export const RUNNING_TASK = 'model-c';

/** Every field the commands touch, with a few values each (few, so reverts and repeats are common). */
export const FIELD_VALUES: Record<string, readonly unknown[]> = {
  'taskCreateSetting.maxCall': [1, 2, 3],
  'taskCreateSetting.taskName': ['Model A', 'Model B'],
  'taskCreateSetting.manualCallSetting.agentGroup': ['group-1', 'group-2'],
  'taskCreateSetting.manualCallSetting.ratioCallRate': [1.5, 2.5],
  'funcFlag.phoneEncrypt': [false, true],
  'funcFlag.taskKeep': [false, true],
  'funcFlag.smsFuncFlag': [
    [{ smsID: 'sms-1', intentID: ['intent-1'] }],
    [{ smsID: 'sms-2' }],
    [
      { smsID: 'sms-1', intentName: ['yes'] },
      { smsID: 'sms-2', intentID: ['intent-2'] },
    ],
  ],
};
const FIELDS = Object.keys(FIELD_VALUES);
/** Whole sections a command may drop at once. */
const SECTIONS = ['funcFlag', 'taskCreateSetting', 'taskCreateSetting.manualCallSetting', 'funcFlag.smsFuncFlag'];

/** The task files: one collection with defaults, each task's own settings. */
export interface Files {
  defaults: Plain;
  tasks: Record<string, Plain>;
}

/** The files a sequence starts from: every field declared (in the tasks, some through the defaults). */
export function initialFiles(): Files {
  const own: Plain = {};
  for (const field of FIELDS) setPath(own, field, FIELD_VALUES[field][0]);
  const defaults: Plain = {};
  setPath(defaults, 'funcFlag.taskKeep', true);
  setPath(defaults, 'taskCreateSetting.manualCallSetting.dispatchType', 0);
  return { defaults, tasks: Object.fromEntries(TASK_IDS.map((id) => [id, structuredClone(own)])) };
}

/** Where an edit applies: the defaults or one task's own settings. */
export type Scope = 'defaults' | (typeof TASK_IDS)[number];

function scopeOf(files: Files, scope: Scope): Plain {
  return scope === 'defaults' ? files.defaults : files.tasks[scope];
}

function removeIn(root: Plain, path: string): void {
  const keys = path.split('.');
  let node: unknown = root;
  for (const k of keys.slice(0, -1)) node = isPlain(node) ? node[k] : undefined;
  if (isPlain(node)) delete node[keys[keys.length - 1]];
}

/**
 * An edit of the files. `remove-existing` picks the pick-th path (leaf or section) that the
 * files hold right now, so removals hit something; `revert` goes back to an earlier version.
 */
export type Edit =
  | { kind: 'set'; scope: Scope; path: string; value: unknown }
  /** Sets the field to the value after its current one (always a change, cycling through the values). */
  | { kind: 'toggle'; scope: Scope; path: string }
  | { kind: 'remove'; scope: Scope; path: string }
  | { kind: 'remove-existing'; pick: number }
  /**
   * Removes, from a task's own settings, a field whose last send was never confirmed (the
   * state's pending mark), as a person does who takes back a change after a failed apply.
   */
  | { kind: 'drop-uncertain'; pick: number }
  | { kind: 'revert'; back: number };

/** Every [scope, path] the files declare, sections included (in a stable order). */
function presentPaths(files: Files): Array<[Scope, string]> {
  const out: Array<[Scope, string]> = [];
  const walk = (scope: Scope, node: Plain, prefix: string) => {
    for (const [k, v] of Object.entries(node)) {
      const p = prefix ? `${prefix}.${k}` : k;
      out.push([scope, p]);
      if (isPlain(v)) walk(scope, v, p);
    }
  };
  for (const scope of ['defaults', ...TASK_IDS] as Scope[]) walk(scope, scopeOf(files, scope), '');
  return out;
}

/** The edit made concrete against the current files (remove-existing resolved to a path). */
export function resolveEdit(files: Files, edit: Edit, uncertain: ReadonlyArray<[Scope, string]> = []): Edit {
  if (edit.kind === 'drop-uncertain') {
    const present = uncertain.filter(([scope, path]) => getPath(scopeOf(files, scope), path) !== undefined);
    if (present.length === 0) return resolveEdit(files, { kind: 'remove-existing', pick: edit.pick });
    const [scope, path] = present[edit.pick % present.length];
    return { kind: 'remove', scope, path };
  }
  if (edit.kind === 'toggle') {
    const values = FIELD_VALUES[edit.path];
    const current = values.findIndex((v) => dataEqual(v, getPath(scopeOf(files, edit.scope), edit.path)));
    return { kind: 'set', scope: edit.scope, path: edit.path, value: values[(current + 1) % values.length] };
  }
  if (edit.kind !== 'remove-existing') return edit;
  const present = presentPaths(files);
  if (present.length === 0) return { kind: 'revert', back: 0 };
  const [scope, path] = present[edit.pick % present.length];
  return { kind: 'remove', scope, path };
}

export function applyEdit(files: Files, history: Files[], edit: Edit): Files {
  if (edit.kind === 'revert')
    return history.length === 0
      ? files
      : structuredClone(history[Math.max(0, history.length - 1 - (edit.back % history.length))]);
  if (edit.kind === 'remove-existing' || edit.kind === 'toggle' || edit.kind === 'drop-uncertain')
    throw new Error(`resolve ${edit.kind} first`);
  const next = structuredClone(files);
  if (edit.kind === 'set') setPath(scopeOf(next, edit.scope), edit.path, edit.value);
  else removeIn(scopeOf(next, edit.scope), edit.path);
  return next;
}

export function describeEdit(e: Edit): string {
  switch (e.kind) {
    case 'revert':
      return `revert(${e.back})`;
    case 'set':
      return `set ${e.scope} ${e.path}=${JSON.stringify(e.value)}`;
    case 'remove':
      return `remove ${e.scope} ${e.path}`;
    case 'remove-existing':
      return `remove-existing(${e.pick})`;
    case 'toggle':
      return `toggle ${e.scope} ${e.path}`;
    case 'drop-uncertain':
      return `drop-uncertain(${e.pick})`;
  }
}

const scopeArb: fc.Arbitrary<Scope> = fc.oneof(
  { weight: 1, arbitrary: fc.constant<Scope>('defaults') },
  { weight: 4, arbitrary: fc.constantFrom<Scope>(...TASK_IDS) },
);

export const editArb: fc.Arbitrary<Edit> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({ kind: fc.constant('toggle' as const), scope: scopeArb, path: fc.constantFrom(...FIELDS) }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('remove' as const),
      scope: scopeArb,
      path: fc.constantFrom(...FIELDS, ...SECTIONS),
    }),
  },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('remove-existing' as const), pick: fc.nat(60) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('drop-uncertain' as const), pick: fc.nat(20) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('revert' as const), back: fc.nat(3) }) },
);

/** The settings a task declares once the defaults are merged under its own. */
export function declared(files: Files, id: string): { taskCreateSetting: Plain; funcFlag: Plain } {
  const merged = mergeDefaults(files.defaults, files.tasks[id]) as Plain;
  return {
    taskCreateSetting: (merged.taskCreateSetting as Plain | undefined) ?? {},
    funcFlag: (merged.funcFlag as Plain | undefined) ?? {},
  };
}

/** The task file's YAML text. */
export function filesYaml(files: Files): string {
  const lifecycle = (id: string) => (id === RUNNING_TASK ? { lifecycle: { whenRunning: 'pause' } } : {});
  const tasks = TASK_IDS.map((id) => ({ userTaskID: id, sceneID: SCENE, ...lifecycle(id), ...files.tasks[id] }));
  return stringify(Object.keys(files.defaults).length > 0 ? { defaults: files.defaults, tasks } : { tasks });
}

/** Leaves of `want` (arrays whole) whose value on the server differs, key order ignored. */
export function serverMismatches(server: unknown, want: unknown, at = ''): string[] {
  if (isPlain(want) && Object.keys(want).length > 0) {
    return Object.entries(want).flatMap(([k, v]) =>
      serverMismatches(isPlain(server) ? server[k] : undefined, v, at ? `${at}.${k}` : k),
    );
  }
  if (isPlain(want)) return isPlain(server) ? [] : [at];
  return dataEqual(server, want) ? [] : [`${at}: server ${JSON.stringify(server)}, files ${JSON.stringify(want)}`];
}

/** Initial server settings: some fields already set (differently from what the files will say). */
export const SEED_TASKS = TASK_IDS.map((id, i) => ({
  userTaskID: id,
  sceneID: SCENE,
  taskStatus: id === RUNNING_TASK ? 2 : id === PERSON_PAUSED_TASK ? 5 : 1,
  taskCreateSetting: { maxCall: 9, manualCallSetting: { agentGroup: 'group-0' } },
  funcFlag: { phoneEncrypt: i % 2 === 0, smsFuncFlag: [{ smsID: 'sms-0' }] },
}));
