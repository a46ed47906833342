/**
 * Every position callform shows must be exact. Random task documents in random layouts (see
 * test/support/yaml-layout.ts) are loaded, and the positions callform reports are compared with
 * the `yaml` library's own node ranges (`doc.contents` nodes' `range[0]` + `LineCounter.linePos`):
 * (a) every key and value of every document, through the loader's locator and through the
 *     js-yaml parse trace on its own (which must answer, not defer to `yaml`);
 * (b) the declaration line of each task (the plan's `source`, duplicate-ID messages);
 * (c) the position of the field a validation error or rule violation points at.
 * Fixed numbers of runs; on failure fast-check prints the seed and the shrunk case.
 */
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import type { PathSegment } from '../../src/diagnostics/source.js';
import { loadTaskFile } from '../../src/config/load-tasks.js';
import { formatPath } from '../../src/diagnostics/ajv.js';
import type { SourcePosition } from '../../src/diagnostics/issue.js';
import { taskArb, idArb } from '../support/task-arbitraries.js';
import { yamlLayout, jsonLayout } from '../support/yaml-layout.js';
import { Reference, checkAllPositions } from '../support/positions.js';

/** Fixed; CALLFORM_FUZZ_RUNS=5000 for a deeper local search. */
const RUNS = Number(process.env.CALLFORM_FUZZ_RUNS ?? 150);
const TIMEOUT = 30_000 * Math.max(1, RUNS / 150);

type Plain = Record<string, unknown>;

/** userTaskIDs that are hard on a hand-written scanner: "#", ":", quotes, flow indicators, unicode. */
const trickyIdArb = fc.oneof(
  idArb,
  fc.constantFrom(
    'a#1',
    'a #1',
    'a',
    "it's",
    'say "hi"',
    'x: y',
    '#1',
    '-1',
    'é#中😀',
    'a,b',
    '[x]',
    '{y}',
    'true',
    '007',
    'null',
    '~x',
    'userTaskID: a',
    'k:v',
  ),
);

const tasksArb = fc.uniqueArray(
  fc.tuple(taskArb, trickyIdArb).map(([t, id]) => ({ ...t, userTaskID: id })),
  { selector: (t) => t.userTaskID, minLength: 1, maxLength: 3 },
);

const defaultsArb = fc.record(
  {
    taskCreateSetting: fc.record(
      { maxRingTime: fc.integer({ min: 1, max: 600 }), routeID: idArb, maxCall: fc.integer({ min: 1, max: 50 }) },
      { requiredKeys: [] },
    ),
    funcFlag: fc.record({ taskKeep: fc.boolean(), wholeTTS: fc.boolean() }, { requiredKeys: [] }),
  },
  { requiredKeys: [] },
);

/** A task file document: one task, or { defaults?, tasks }, keys in a random order. */
const taskDocArb = fc
  .tuple(tasksArb, fc.option(defaultsArb, { nil: undefined }), fc.boolean(), fc.nat())
  .map(([tasks, defaults, single, order]) => {
    if (single && tasks.length === 1 && !defaults) return tasks[0];
    const entries: Array<[string, unknown]> = [['tasks', tasks]];
    if (defaults) entries.push(['defaults', defaults]);
    return Object.fromEntries<unknown>(order % 2 ? entries.reverse() : entries);
  });

/** Odd but loadable shapes for the position check: nulls (empty values), empty and nested collections, numbers. */
const junkArb: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    fc.integer({ min: -1000, max: 100000 }),
    fc.double({ min: -1e6, max: 1e6, noNaN: true, noDefaultInfinity: true }).filter((x) => !Object.is(x, -0)),
    fc.oneof(trickyIdArb, fc.string({ unit: 'grapheme', maxLength: 12 })),
    fc.array(tie('value'), { maxLength: 3 }),
    fc.dictionary(fc.oneof(fc.constantFrom('userTaskID', 'a', 'a#b', 'k: v', 'é'), idArb), tie('value'), {
      maxKeys: 3,
    }),
  ),
})).value;

const looseDocArb = fc
  .tuple(taskDocArb, fc.dictionary(fc.constantFrom('extra', 'x#y', 'note', 'userTaskID '), junkArb, { maxKeys: 2 }))
  .map(([doc, extra]) => ({ ...doc, ...extra }));

const seedArb = fc.noShrink(fc.integer());

describe('positions agree with the yaml library', () => {
  it(
    '(a) every key and value, YAML in random layouts (block/flow, quoting, comments, empty values, CRLF, several documents)',
    () => {
      let traced = 0;
      fc.assert(
        fc.property(fc.array(looseDocArb, { minLength: 1, maxLength: 3 }), seedArb, (docs, seed) => {
          if (checkAllPositions('tasks/t.yaml', yamlLayout(docs, seed).text, docs) === 'traced') traced++;
        }),
        { numRuns: RUNS },
      );
      // Declines need a reason (checked per case); the trace itself must have been checked too.
      expect(traced, 'texts whose positions the trace answered').toBeGreaterThan(0);
    },
    TIMEOUT,
  );

  it(
    '(a) every key and value, JSON',
    () => {
      const outcomes: string[] = [];
      fc.assert(
        fc.property(looseDocArb, seedArb, (doc, seed) => {
          outcomes.push(checkAllPositions('tasks/t.json', jsonLayout(doc, seed), [doc]));
        }),
        { numRuns: RUNS },
      );
      // JSON layouts have no BOM, no lone CR and always parse: the trace answers for every one.
      expect(outcomes).toEqual(Array<string>(RUNS).fill('traced'));
    },
    TIMEOUT,
  );

  type Fault = 'none' | 'type' | 'range' | 'null' | 'unknown' | 'rule' | 'missing' | 'defaults';
  const faultArb = fc.constantFrom<Fault>('none', 'type', 'range', 'null', 'unknown', 'rule', 'missing', 'defaults');

  /** Breaks one task (or the defaults) of a document; returns what the issue must say and where it must point. */
  function inject(
    doc: Plain,
    fault: Fault,
    pick: number,
  ): { doc: Plain; path?: PathSegment[]; at?: PathSegment[]; atKey?: boolean; message?: RegExp } {
    const tasks = Array.isArray(doc.tasks) ? (doc.tasks as Plain[]) : null;
    const j = tasks ? pick % tasks.length : 0;
    const base: PathSegment[] = tasks ? ['tasks', j] : [];
    const task = structuredClone(tasks ? tasks[j] : doc);
    const put = (t: Plain): Plain => (tasks ? { ...doc, tasks: tasks.map((x, i) => (i === j ? t : x)) } : t);
    const tcs = { ...((task.taskCreateSetting as Plain | undefined) ?? {}) };
    const field = (f: string): PathSegment[] => [...base, 'taskCreateSetting', f];
    switch (fault) {
      case 'none':
        return { doc };
      case 'type':
        return {
          doc: put({ ...task, taskCreateSetting: { ...tcs, maxCall: 'x#1' } }),
          path: field('maxCall'),
          message: /must be integer, got string/,
        };
      case 'range':
        return {
          doc: put({ ...task, taskCreateSetting: { ...tcs, maxRingTime: 0 } }),
          path: field('maxRingTime'),
          message: /must be > 0; got 0/,
        };
      case 'null':
        return {
          doc: put({ ...task, taskCreateSetting: { ...tcs, maxCall: null } }),
          path: field('maxCall'),
          message: /must be integer, got null/,
        };
      case 'unknown':
        return {
          doc: put({ ...task, taskCreateSetting: { ...tcs, maxCal: 3 } }),
          path: field('maxCal'),
          atKey: true,
          message: /unknown field "maxCal"/,
        };
      case 'rule':
        return {
          doc: put({ ...task, taskCreateSetting: { ...tcs, dialAtWeekDay: '1,2,1' } }),
          path: field('dialAtWeekDay'),
          message: /repeats 1/,
        };
      case 'missing': {
        const { sceneID: _s, ...rest } = task;
        return { doc: put(rest), path: base, message: /missing required field "sceneID"/ };
      }
      case 'defaults': {
        if (!tasks) return { doc };
        // A rule violation inherited from the defaults (the file schema cannot see it): every task
        // without its own dialAtWeekDay inherits it; the issue of the first one points into the defaults.
        const defaults = (doc.defaults as Plain | undefined) ?? {};
        const k = tasks.findIndex((t) => (t.taskCreateSetting as Plain | undefined)?.dialAtWeekDay === undefined);
        if (k < 0) return { doc };
        const bad = {
          ...doc,
          defaults: {
            ...defaults,
            taskCreateSetting: { ...((defaults.taskCreateSetting as Plain | undefined) ?? {}), dialAtWeekDay: '2,2' },
          },
        };
        return {
          doc: bad,
          path: ['tasks', k, 'taskCreateSetting', 'dialAtWeekDay'],
          at: ['defaults', 'taskCreateSetting', 'dialAtWeekDay'],
          message: /repeats 2/,
        };
      }
    }
  }

  function checkLoaded(file: string, text: string, docs: Plain[], faults: Array<ReturnType<typeof inject>>): void {
    const ref = new Reference(text);
    const result = loadTaskFile(file, new TextEncoder().encode(text));
    const multi = docs.length > 1;
    // (b) each declared task at its userTaskID key, as `yaml` places it.
    const declared = new Map<string, SourcePosition | undefined>();
    docs.forEach((doc, d) => {
      const items = Array.isArray(doc.tasks)
        ? (doc.tasks as Plain[]).map((t, i) => [t, ['tasks', i]] as const)
        : [[doc, []] as const];
      for (const [t, p] of items) declared.set(String(t.userTaskID), ref.position(d, [...p, 'userTaskID'], true));
    });
    for (const t of result.tasks) {
      expect(t.position, `declaration of ${t.task.userTaskID}`).toEqual(declared.get(t.task.userTaskID));
      expect(t.position).toBeDefined();
    }
    // (c) each fault's issue points where `yaml` places the field.
    faults.forEach((f, d) => {
      if (!f.path) return;
      const label = formatPath([...(multi ? [`document ${d + 1}`] : []), ...f.path]);
      const issue = result.issues.find((i) => (i.path ?? '') === label && f.message!.test(i.message));
      expect(issue, `an issue at ${label} matching ${f.message} among ${JSON.stringify(result.issues)}`).toBeDefined();
      expect(issue!.position, `position of ${label}`).toEqual(ref.position(d, f.at ?? f.path, f.atKey));
    });
    if (faults.every((f) => !f.path)) {
      expect(result.issues).toEqual([]);
      expect(result.tasks.length).toBe(declared.size);
    }
  }

  const faultyDocsArb = fc.array(fc.tuple(taskDocArb, faultArb, fc.nat()), { minLength: 1, maxLength: 3 }).map((xs) => {
    // IDs unique across the file's documents, so each declaration has one expected place.
    const seen = new Set<string>();
    const injected = xs.map(([doc, fault, pick]) => inject(doc, fault, pick));
    return injected.filter((f) => {
      const ids = (Array.isArray(f.doc.tasks) ? (f.doc.tasks as Plain[]) : [f.doc]).map((t) => String(t.userTaskID));
      if (ids.some((id) => seen.has(id))) return false;
      ids.forEach((id) => seen.add(id));
      return true;
    });
  });

  it(
    '(b, c) declaration lines and error positions, YAML',
    () => {
      fc.assert(
        fc.property(faultyDocsArb, seedArb, (faults, seed) => {
          const docs = faults.map((f) => f.doc);
          checkLoaded('tasks/t.yaml', yamlLayout(docs, seed).text, docs, faults);
        }),
        { numRuns: RUNS },
      );
    },
    TIMEOUT,
  );

  it(
    '(b, c) declaration lines and error positions, JSON',
    () => {
      fc.assert(
        fc.property(faultyDocsArb, seedArb, (faults, seed) => {
          checkLoaded('tasks/t.json', jsonLayout(faults[0].doc, seed), [faults[0].doc], faults.slice(0, 1));
        }),
        { numRuns: RUNS },
      );
    },
    TIMEOUT,
  );
});
