/**
 * Property tests for the input boundary (parse → validate → load) and the diff.
 * (a) no input, however broken, makes the loaders throw anything but ValidationError;
 * (b) every schema-valid task validates and survives a YAML/JSON round trip;
 * (c) the diff/payload is minimal and, merged the way the API merges, reaches `after`.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import fc from 'fast-check';
import YAML from 'yaml';
import { mkdtemp, mkdir, writeFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseSource, decodeUtf8 } from '../../src/diagnostics/source.js';
import { tasksOfDocument, loadTasks } from '../../src/config/load-tasks.js';
import { checkTaskRules } from '../../src/config/rules.js';
import { validateTask } from '../../src/generated/validators.js';
import { diffSettings, payloadSettings } from '../../src/plan/diff.js';
import { ValidationError, formatIssue, type Issue } from '../../src/diagnostics/issue.js';
import type { CallformTask } from '../../src/generated/task.js';
import {
  taskArb,
  managedArb,
  overlappingArb,
  leafPaths,
  getIn,
  isPlain,
  type Managed,
} from '../support/task-arbitraries.js';

/** YAML.stringify answers undefined for undefined (its types say string). */
const toYaml = (v: unknown): string | undefined => YAML.stringify(v);

/**
 * A fixed number of runs per property (no wall-clock budget that quietly passes after a few
 * runs on a slow box); the whole file takes about 3-4 s on the 2-core dev machine.
 */
const RUNS = 250;
const TEST_TIMEOUT = 30_000;

const VALID_YAML = `# a task
userTaskID: t-1
sceneID: scene-1
taskCreateSetting:
  taskName: "Renewals: Q4"
  startupType: 2
  startupAt: 1900000000
  zoneSecond: 28800
  dialAtWeekDay: "1,2,3,4,5"
  dialAtUpHour: "9,10,11"
  dialAtDownHour: "9,10"
  maxCall: 5
  maxRingTime: 30
  taskCallbackUrl: https://hooks.example.com/x
  manualCallSetting: { agentGroup: g1, dispatchType: 1, ratioCallRate: 1.5 }
funcFlag:
  taskKeep: true
  smsEnable: true
  smsFuncFlag:
    - smsID: sms-1
      intentID: [a, b]
    - smsID: sms-2
      intentName: [Pay]
`;
const VALID_TASK = YAML.parse(VALID_YAML) as CallformTask;

const protoKeys = () => Object.getOwnPropertyNames(Object.prototype).sort().join(',');
const PROTO_BEFORE = protoKeys();

function checkIssues(issues: Issue[], file: string): void {
  for (const i of issues) {
    expect(i.file).toBe(file);
    expect(typeof i.message).toBe('string');
    expect(i.message.length).toBeGreaterThan(0);
    if (i.position) {
      expect(Number.isInteger(i.position.line) && i.position.line >= 1).toBe(true);
      expect(Number.isInteger(i.position.column) && i.position.column >= 1).toBe(true);
    }
    expect(() => formatIssue(i)).not.toThrow();
  }
}

/** parseSource + tasksOfDocument must not throw; issues must be well-formed. */
function parseAndValidate(file: string, text: string): void {
  const parsed = parseSource(file, text);
  checkIssues(parsed.issues, file);
  parsed.documents.forEach((doc, i) => {
    const r = tasksOfDocument(file, doc, i, parsed.documents.length);
    checkIssues(r.issues, file);
    for (const t of r.tasks) {
      expect(typeof t.task.userTaskID).toBe('string');
      expect(typeof t.task.sceneID).toBe('string');
    }
  });
  expect(protoKeys()).toBe(PROTO_BEFORE);
}

/** Characters that matter to YAML/JSON syntax, to make mutations bite. */
const SYNTAX_CHARS = [
  ':',
  ' ',
  '\n',
  '\t',
  '-',
  '#',
  '"',
  "'",
  '[',
  ']',
  '{',
  '}',
  ',',
  '&',
  '*',
  '!',
  '|',
  '>',
  '?',
  '%',
  '@',
  '`',
  '\\',
  '0',
  '1',
  'a',
  '\u00e9',
  '\u0000',
  '\ufeff',
  '\r',
];
/** Multi-character tokens: documents, anchors/aliases, tags, merge keys, the keys callform knows. */
const SYNTAX_TOKENS = [
  ...SYNTAX_CHARS,
  '---\n',
  '...\n',
  ': ',
  '- ',
  '&a ',
  '*a',
  '!!str ',
  '!!binary ',
  '!foo ',
  '<<: ',
  '__proto__',
  'tasks',
  'defaults',
  'userTaskID',
  'sceneID',
  'taskCreateSetting',
  'maxCall',
];

type Mutation = { kind: 'insert' | 'delete' | 'replace'; at: number; ch: string; len: number };
const mutationArb: fc.Arbitrary<Mutation> = fc.record({
  kind: fc.constantFrom('insert', 'delete', 'replace'),
  at: fc.nat(),
  ch: fc.oneof(fc.constantFrom(...SYNTAX_TOKENS), fc.string({ unit: 'binary', minLength: 1, maxLength: 3 })),
  len: fc.integer({ min: 1, max: 8 }),
});

function mutate(text: string, ms: Mutation[]): string {
  let s = text;
  for (const m of ms) {
    const at = s.length === 0 ? 0 : m.at % (s.length + 1);
    if (m.kind === 'insert') s = s.slice(0, at) + m.ch + s.slice(at);
    else if (m.kind === 'delete') s = s.slice(0, at) + s.slice(at + m.len);
    else s = s.slice(0, at) + m.ch + s.slice(at + m.ch.length);
  }
  return s;
}

/** A path into the valid task: existing keys, array indexes, or brand-new keys. */
const pathArb = fc.array(
  fc.oneof(
    fc.constantFrom(
      'userTaskID',
      'sceneID',
      'taskCreateSetting',
      'funcFlag',
      'manualCallSetting',
      'smsFuncFlag',
      'maxCall',
      'startupType',
      'dialAtWeekDay',
      'intentID',
      'tasks',
      'defaults',
      '__proto__',
      'constructor',
    ),
    fc.nat({ max: 3 }),
    fc.string({ maxLength: 6 }),
  ),
  { minLength: 0, maxLength: 4 },
);

function setAt(root: unknown, path: Array<string | number>, value: unknown): unknown {
  if (path.length === 0) return value;
  const [head, ...rest] = path;
  if (Array.isArray(root) && typeof head === 'number') {
    const copy = [...(root as unknown[])];
    copy[Math.min(head, copy.length)] = setAt(root[head], rest, value);
    return copy;
  }
  const base: Record<string, unknown> = isPlain(root) ? { ...root } : {};
  const key = String(head);
  Object.defineProperty(base, key, {
    value: setAt(Object.hasOwn(base, key) ? base[key] : undefined, rest, value),
    enumerable: true,
    writable: true,
    configurable: true,
  });
  return base;
}

// A real directory for the glob; the bytes come from the injected readFile.
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'callform-fuzz-'));
  await mkdir(path.join(dir, 'tasks'), { recursive: true });
  await writeFile(path.join(dir, 'tasks', 'a.yaml'), '');
  await writeFile(path.join(dir, 'tasks', 'b.json'), '');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function loadWith(contents: { yaml: Uint8Array | string; json: Uint8Array | string }) {
  const enc = (x: Uint8Array | string) => (typeof x === 'string' ? new TextEncoder().encode(x) : x);
  return loadTasks({
    baseDir: dir,
    patterns: ['tasks/*.{yaml,json}'],
    readFile: async (f) => (f.endsWith('.json') ? enc(contents.json) : enc(contents.yaml)),
  });
}

/** loadTasks resolves, or rejects with a ValidationError whose issues are well-formed. */
async function loadNeverCrashes(contents: { yaml: Uint8Array | string; json: Uint8Array | string }): Promise<void> {
  try {
    const loaded = await loadWith(contents);
    for (const t of loaded.tasks) expect(typeof t.userTaskID).toBe('string');
  } catch (err) {
    if (!(err instanceof ValidationError)) throw err;
    expect(err.issues.length).toBeGreaterThan(0);
    for (const i of err.issues) expect(['tasks/a.yaml', 'tasks/b.json']).toContain(i.file);
  }
  expect(protoKeys()).toBe(PROTO_BEFORE);
}

describe('(a) hostile input never crashes the loaders', () => {
  it(
    'parseSource/tasksOfDocument on arbitrary strings (YAML and JSON)',
    () => {
      fc.assert(
        fc.property(
          fc.oneof(
            fc.string({ unit: 'binary', maxLength: 200 }),
            fc.string({ unit: fc.constantFrom(...SYNTAX_TOKENS), maxLength: 80 }),
          ),
          (text) => {
            parseAndValidate('tasks/a.yaml', text);
            parseAndValidate('tasks/a.json', text);
          },
        ),
        { numRuns: RUNS },
      );
    },
    TEST_TIMEOUT,
  );

  it(
    'decodeUtf8 + parse on arbitrary bytes',
    () => {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
          const { text, issue } = decodeUtf8('tasks/a.yaml', bytes);
          expect(text === undefined).toBe(issue !== undefined);
          if (issue) checkIssues([issue], 'tasks/a.yaml');
          if (text !== undefined) {
            parseAndValidate('tasks/a.yaml', text);
            parseAndValidate('tasks/a.json', text);
          }
        }),
        { numRuns: RUNS },
      );
    },
    TEST_TIMEOUT,
  );

  it(
    'mutated valid YAML (insert/delete/replace characters)',
    () => {
      fc.assert(
        fc.property(fc.array(mutationArb, { minLength: 1, maxLength: 6 }), (ms) => {
          const text = mutate(VALID_YAML, ms);
          parseAndValidate('tasks/a.yaml', text);
          parseAndValidate('tasks/a.json', mutate(JSON.stringify(VALID_TASK, null, 2), ms));
        }),
        { numRuns: RUNS },
      );
    },
    TEST_TIMEOUT,
  );

  it(
    'random JSON values at random paths, through loadTasks (YAML and JSON files)',
    async () => {
      await fc.assert(
        fc.asyncProperty(pathArb, fc.jsonValue({ maxDepth: 3 }), fc.boolean(), async (p, value, asCollection) => {
          const base = asCollection
            ? {
                defaults: { taskCreateSetting: { maxCall: 3 } },
                tasks: [VALID_TASK, { ...VALID_TASK, userTaskID: 't-2' }],
              }
            : VALID_TASK;
          const doc = setAt(base, p, value);
          const json = (JSON.stringify(doc) as string | undefined) ?? 'null';
          await loadNeverCrashes({ yaml: toYaml(doc) ?? '', json });
        }),
        { numRuns: RUNS, timeout: 2_000 },
      );
    },
    TEST_TIMEOUT,
  );

  it(
    'arbitrary bytes and mutated text through loadTasks',
    async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.uint8Array({ maxLength: 200 }),
          fc.array(mutationArb, { minLength: 1, maxLength: 4 }),
          async (bytes, ms) => {
            await loadNeverCrashes({ yaml: mutate(VALID_YAML, ms), json: bytes });
          },
        ),
        { numRuns: RUNS, timeout: 2_000 },
      );
    },
    TEST_TIMEOUT,
  );

  // Regression: mergeDefaults used to *assign* a "__proto__" key, turning the item's
  // fields into an (unvalidated, invisible) prototype that still yielded a task.
  it('a "__proto__" key in a collection item is an unknown field, not a hidden prototype', async () => {
    const hidden = { userTaskID: 'hidden', sceneID: 's', taskCreateSetting: { maxCall: 1 } };
    for (const defaults of [{}, { taskCreateSetting: { maxCall: 2 } }]) {
      const json = `{"defaults": ${JSON.stringify(defaults)}, "tasks": [{"__proto__": ${JSON.stringify(hidden)}}]}`;
      const yaml = `defaults: ${JSON.stringify(defaults)}\ntasks:\n  - __proto__: ${JSON.stringify(hidden)}\n`;
      const err = await loadWith({ yaml, json }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ValidationError);
      const text = (err as ValidationError).issues.map(formatIssue).join('\n');
      expect(text).toContain('tasks/b.json');
      expect(text).toContain('unknown field "__proto__"');
      expect(protoKeys()).toBe(PROTO_BEFORE);
    }
  });
});

/** The settings loadTasks hands on, for comparison with the generated task. */
function desiredOf(task: CallformTask) {
  return {
    userTaskID: task.userTaskID,
    sceneID: task.sceneID,
    taskCreateSetting: task.taskCreateSetting ?? {},
    funcFlag: task.funcFlag ?? {},
    lifecycle: task.lifecycle ?? {},
  };
}

describe('(b) valid tasks validate and round-trip', () => {
  it(
    'every generated task passes the schema and the extra rules',
    () => {
      fc.assert(
        fc.property(taskArb, (task) => {
          const ok = validateTask(task);
          expect(ok, JSON.stringify(validateTask.errors)).toBe(true);
          expect(checkTaskRules(task)).toEqual([]);
        }),
        { numRuns: RUNS },
      );
    },
    TEST_TIMEOUT,
  );

  it(
    'yaml.stringify / JSON.stringify → loadTasks gives back the same settings',
    async () => {
      await fc.assert(
        fc.asyncProperty(taskArb, async (task) => {
          const json: CallformTask = { ...task, userTaskID: `${task.userTaskID}-json` };
          const loaded = await loadWith({ yaml: YAML.stringify(task), json: JSON.stringify(json, null, 2) });
          const got = Object.fromEntries(loaded.tasks.map(({ source: _s, ...t }) => [t.userTaskID, t]));
          expect(got[task.userTaskID]).toEqual(desiredOf(task));
          expect(got[json.userTaskID]).toEqual(desiredOf(json));
        }),
        { numRuns: RUNS, timeout: 2_000 },
      );
    },
    TEST_TIMEOUT,
  );

  it(
    'a collection with defaults merges back to the same task (task values win over defaults)',
    async () => {
      await fc.assert(
        fc.asyncProperty(taskArb, fc.infiniteStream(fc.boolean()), async (task, coin) => {
          // Move a random half of the leaf settings into defaults; give defaults a decoy
          // value for the fields the task keeps.
          const it = coin[Symbol.iterator]();
          const own: Record<string, Record<string, unknown>> = {};
          const defaults: Record<string, Record<string, unknown>> = {};
          for (const section of ['taskCreateSetting', 'funcFlag'] as const) {
            for (const [k, v] of Object.entries((task[section] ?? {}) as Record<string, unknown>)) {
              if (it.next().value) (defaults[section] ??= {})[k] = v;
              else {
                (own[section] ??= {})[k] = v;
                if (k === 'maxCall') (defaults[section] ??= {})[k] = 9999;
                if (k === 'taskKeep') (defaults[section] ??= {})[k] = !v;
              }
            }
          }
          const file = { defaults, tasks: [{ userTaskID: task.userTaskID, sceneID: task.sceneID, ...own }] };
          const loaded = await loadWith({
            yaml: YAML.stringify(file),
            json: JSON.stringify({ userTaskID: `${task.userTaskID}-json`, sceneID: 's' }),
          });
          const got = loaded.tasks.find((t) => t.userTaskID === task.userTaskID);
          expect(got && { ...got, source: undefined }).toEqual({ ...desiredOf(task), source: undefined });
        }),
        { numRuns: RUNS, timeout: 2_000 },
      );
    },
    TEST_TIMEOUT,
  );
});

/** What the NXCloud API (and src/sim) does with an updateTask payload. */
function merge(before: Managed | null, payload: ReturnType<typeof payloadSettings>): Managed {
  const out: Managed = structuredClone(before ?? { taskCreateSetting: {}, funcFlag: {} });
  if (!payload) return out;
  const tcs = out.taskCreateSetting as Record<string, unknown>;
  for (const [k, v] of Object.entries(payload.taskCreateSetting ?? {})) {
    tcs[k] = k === 'manualCallSetting' ? { ...(tcs.manualCallSetting ?? {}), ...(v as object) } : structuredClone(v);
  }
  const ff = out.funcFlag as Record<string, unknown>;
  for (const [k, v] of Object.entries(payload.funcFlag ?? {})) ff[k] = structuredClone(v); // smsFuncFlag replaced whole
  return out;
}

const beforeAfterArb = managedArb.chain((after) =>
  fc.tuple(fc.oneof(fc.constant(null), managedArb, overlappingArb(after), overlappingArb(after)), fc.constant(after)),
);

describe('(c) diff and payload', () => {
  it(
    'diff(x, x) and diff(x, copy of x) are empty',
    () => {
      fc.assert(
        fc.property(managedArb, (x) => {
          expect(diffSettings(x, x)).toEqual([]);
          expect(diffSettings(x, structuredClone(x))).toEqual([]);
          expect(diffSettings(JSON.parse(JSON.stringify(x)) as typeof x, x)).toEqual([]);
          expect(payloadSettings(diffSettings(x, x), x)).toBeNull();
        }),
        { numRuns: RUNS },
      );
    },
    TEST_TIMEOUT,
  );

  it(
    'merging the payload into before reaches after on every managed field',
    () => {
      fc.assert(
        fc.property(beforeAfterArb, ([before, after]) => {
          const payload = payloadSettings(diffSettings(before, after), after);
          const merged = merge(before, payload);
          for (const [p, v] of leafPaths(after)) expect(getIn(merged, p), p.join('.')).toEqual(v);
        }),
        { numRuns: RUNS },
      );
    },
    TEST_TIMEOUT,
  );

  it(
    'the payload holds only changed values (smsFuncFlag whole, and only when it changed)',
    () => {
      fc.assert(
        fc.property(beforeAfterArb, ([before, after]) => {
          const changes = diffSettings(before, after);
          const payload = payloadSettings(changes, after);
          if (payload === null) {
            for (const [p, v] of leafPaths(after)) if (!isPlain(v)) expect(getIn(before, p), p.join('.')).toEqual(v);
            return;
          }
          for (const [p, v] of leafPaths(payload)) {
            expect(v, p.join('.')).toEqual(getIn(after, p));
            const old = getIn(before, p);
            if (old !== undefined) expect(old, `${p.join('.')} sent unchanged`).not.toEqual(v);
          }
          for (const c of changes) {
            if (c.kind === 'unmanage') expect(getIn(after, c.path.split('.')), c.path).toBeUndefined();
            else expect(c.after).toEqual(getIn(after, c.path.split('.')));
          }
        }),
        { numRuns: RUNS },
      );
    },
    TEST_TIMEOUT,
  );

  it(
    'before = null sends everything declared',
    () => {
      fc.assert(
        fc.property(managedArb, (after) => {
          const changes = diffSettings(null, after);
          expect(changes.every((c) => c.kind === 'add')).toBe(true);
          const payload = payloadSettings(changes, after);
          const declared = leafPaths(after).filter(([, v]) => !(isPlain(v) && Object.keys(v).length === 0));
          const sent = leafPaths(payload ?? {}).filter(([, v]) => !(isPlain(v) && Object.keys(v).length === 0));
          expect(sent).toEqual(expect.arrayContaining(declared));
          expect(sent.length).toBe(declared.length);
          if (declared.length === 0) expect(payload).toBeNull();
        }),
        { numRuns: RUNS },
      );
    },
    TEST_TIMEOUT,
  );
});
