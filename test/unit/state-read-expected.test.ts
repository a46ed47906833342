import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import path from 'node:path';
import { writeFile } from 'node:fs/promises';
import { forgetProofSource, readStateExpecting, type ExpectedSettings } from '../../src/state/read-expected.js';
import { parseState, readState, STATE_VERSION } from '../../src/state/state.js';
import { tempDir } from '../support/temp.js';
import type { ManagedSettings } from '../../src/model/settings.js';
import type { TaskState } from '../../src/generated/state.js';

const LINEAGE = '11111111-2222-4333-8444-555555555555';
const AT = '2026-12-06T08:00:00.000Z';

type Entry = Record<string, unknown>;
const entry = (settings: ManagedSettings, extra: Entry = {}): Entry => ({
  sceneID: 'scene-a',
  taskID: 'T1',
  taskCreateSetting: settings.taskCreateSetting,
  funcFlag: settings.funcFlag,
  appliedAt: AT,
  ...extra,
});
const stateText = (tasks: Record<string, Entry>, extra: Entry = {}) =>
  JSON.stringify({ version: 2, lineage: LINEAGE, serial: 4, tasks, ...extra }, null, 2) + '\n';

/** What readState gives without expectations: JSON.parse and the schema (null when it refuses). */
function wholeText(text: string): unknown {
  try {
    return parseState(text, 'callform.state.json');
  } catch {
    return null;
  }
}

/** `text` with its character at `edit[0]` (modulo its length) replaced by `edit[1]`; as it is without an edit. */
function edited(text: string, edit: [number, string] | undefined): string {
  if (!edit) return text;
  const at = edit[0] % text.length;
  return text.slice(0, at) + edit[1] + text.slice(at + 1);
}

const read = (text: string, expected: ExpectedSettings) =>
  readStateExpecting(Buffer.from(text), expected, STATE_VERSION);

const settingsA: ManagedSettings = {
  taskCreateSetting: { taskName: 'Kampagne Ü中😀 "q"', maxCall: 3, dialAtUpHour: '9,10', maxRingTime: 30 },
  funcFlag: { roundRedial: true, smsFuncFlag: [{ smsID: 'sms-1', intentID: ['a', 'b'] }] },
};
const settingsB: ManagedSettings = { taskCreateSetting: { maxCall: 5 }, funcFlag: {} };

describe('readStateExpecting (a state read knowing the declared settings)', () => {
  it('takes the declared objects for the entries that record them, and is JSON.parse’s value exactly', () => {
    const plain: ManagedSettings = {
      taskCreateSetting: { taskName: 'plain', maxCall: 3 },
      funcFlag: { roundRedial: true },
    };
    const text = stateText({ a: entry(plain), b: entry(settingsB, { taskID: undefined }), c: entry(plain) });
    const expected = new Map([
      ['a', plain],
      ['b', { taskCreateSetting: { maxCall: 5 }, funcFlag: {} }], // equal, but another object
    ]);
    const value = read(text, expected) as unknown as { tasks: Record<string, Entry> };
    expect(value).toStrictEqual(wholeText(text));
    expect(JSON.stringify(value)).toBe(JSON.stringify(JSON.parse(text)));
    expect(value.tasks.a.taskCreateSetting).toBe(plain.taskCreateSetting); // shared: nothing parsed
    expect(value.tasks.a.funcFlag).toBe(plain.funcFlag);
    expect(value.tasks.b.taskCreateSetting).toBe(expected.get('b')?.taskCreateSetting);
    expect(value.tasks.c.taskCreateSetting).not.toBe(plain.taskCreateSetting); // not expected under "c": parsed
  });

  it('parses an entry whose settings differ in a value, in key order, or by a string JSON escapes', () => {
    const reordered = { taskCreateSetting: { maxCall: 3, taskName: 'x' }, funcFlag: {} };
    const text = stateText({
      a: entry({ taskCreateSetting: { taskName: 'x', maxCall: 4 }, funcFlag: {} }),
      b: entry({ taskCreateSetting: { taskName: 'x', maxCall: 3 }, funcFlag: {} }),
      c: entry(settingsA),
    });
    const expected = new Map<string, ManagedSettings>([
      ['a', { taskCreateSetting: { taskName: 'x', maxCall: 3 }, funcFlag: {} }],
      ['b', reordered],
      ['c', settingsA], // its taskName holds a quote: written escaped, so parsed
    ]);
    const value = read(text, expected) as unknown as { tasks: Record<string, Entry> };
    expect(value).toStrictEqual(wholeText(text));
    expect(value.tasks.a.taskCreateSetting).toEqual({ taskName: 'x', maxCall: 4 });
    expect(value.tasks.b.taskCreateSetting).not.toBe(reordered.taskCreateSetting);
    expect(value.tasks.c.taskCreateSetting).not.toBe(settingsA.taskCreateSetting);
  });

  it('never takes a declared value JSON would not give back (.inf, -0, a date, an undefined member)', () => {
    for (const odd of [Infinity, -0, new Date(0), undefined]) {
      const declared = { taskCreateSetting: { maxCall: odd }, funcFlag: {} } as unknown as ManagedSettings;
      const text = stateText({ a: entry(declared) });
      const value = read(text, new Map([['a', declared]])) as unknown as { tasks: Record<string, Entry> } | null;
      if (value !== null) expect(value.tasks.a.taskCreateSetting).not.toBe(declared.taskCreateSetting);
      expect(value === null ? null : JSON.stringify(value)).toBe(
        wholeText(text) === null ? null : JSON.stringify(wholeText(text)),
      );
    }
  });

  it('declines, never throws on, an entry that is not an object under a declared ID, and an array JSON would not give back', () => {
    const empty: ManagedSettings = { taskCreateSetting: {}, funcFlag: {} };
    for (const value of ['null', '5', '"x"', '[]', 'true']) {
      const text = stateText({ a: entry(empty) }).replace(/"a": \{[^]*?\n {4}\}/, `"a": ${value}`);
      expect(text).toContain(`"a": ${value}`);
      expect(read(text, new Map([['a', empty]]))).toBeNull();
    }
    const intents = Object.assign(['x'], { extra: 1 });
    const odd = {
      taskCreateSetting: {},
      funcFlag: { smsFuncFlag: [{ smsID: 's', intentID: intents }] },
    } as ManagedSettings;
    const text = stateText({ a: entry(odd) });
    const value = read(text, new Map([['a', odd]])) as unknown as { tasks: Record<string, Entry> } | null;
    expect(value?.tasks.a.funcFlag).not.toBe(odd.funcFlag);
  });

  it('keeps JSON.parse’s meaning of a repeated entry and of a "__proto__" entry', () => {
    const text = stateText({ a: entry(settingsB), z: entry(settingsB) }).replace(
      '\n    "z": {',
      '\n    "__proto__": {"sceneID": "p", "taskCreateSetting": {}, "funcFlag": {}, "appliedAt": "2026-12-06T08:00:00.000Z"},\n    "a": {"sceneID": "again", "taskCreateSetting": {}, "funcFlag": {}, "appliedAt": "2026-12-06T08:00:00.000Z"},\n    "z": {',
    );
    const value = read(
      text,
      new Map([
        ['a', settingsB],
        ['z', settingsB],
        ['__proto__', settingsB],
      ]),
    ) as unknown as {
      tasks: Record<string, Entry>;
    };
    const want = wholeText(text) as typeof value;
    expect(value).toStrictEqual(want);
    expect(Object.keys(value.tasks)).toEqual(Object.keys(want.tasks));
    expect(value.tasks.a.sceneID).toBe('again');
    expect(Object.hasOwn(value.tasks, '__proto__')).toBe(true);
    expect(Object.getPrototypeOf(value.tasks)).toBe(Object.prototype);
  });

  it('checks an entry against the schema when a key repeats and its section equals a declared null or missing one', () => {
    const recorded = (settings: unknown) => ({
      sceneID: 's',
      taskCreateSetting: settings,
      funcFlag: {},
      appliedAt: AT,
    });
    const b = recorded({});
    const text = (a: Entry) =>
      stateText({ a, b }).replace(
        /\n {2}\}\n\}\n$/,
        `,\n    "b": ${JSON.stringify(b, null, 2).replaceAll('\n', '\n    ')}\n  }\n}\n`,
      );
    for (const declared of [null, undefined]) {
      const expected = new Map([
        ['a', { taskCreateSetting: declared, funcFlag: {} } as unknown as ManagedSettings],
        ['b', { taskCreateSetting: {}, funcFlag: {} }],
      ]);
      const withNull = text(recorded(declared));
      expect(withNull.match(/"b": /g)).toHaveLength(2); // the key repeats
      expect(wholeText(withNull)).toBeNull(); // the schema refuses entry a
      expect(read(withNull, expected)).toBeNull();
    }
  });

  it('declines, never misreads, broken JSON, another layout, a newer version or an invalid entry', () => {
    const good = stateText({ a: entry(settingsB), b: entry(settingsB) });
    const expected = new Map([
      ['a', settingsB],
      ['b', settingsB],
    ]);
    expect(read(good, expected)).not.toBeNull();
    for (const text of [
      JSON.stringify(JSON.parse(good)), // compact: no entry lines
      '\uFEFF' + good, // a BOM: the whole-text path drops it
      good.replace(
        '"appliedAt": "2026-12-06T08:00:00.000Z"\n    },',
        '"appliedAt": "2026-12-06T08:00:00.000Z"\n    },,',
      ),
      good.replace('"maxCall": 5\n      },', '"maxCall": 5\n      },\n      "extra": 1,'), // not in the schema
      good.replace(`"appliedAt": "${AT}"\n    },`, '"appliedAt": "yesterday"\n    },'), // not a date-time
      good.replace('"version": 2', '"version": 3'),
      good.replace('"sceneID": "scene-a"', '"sceneID": "scene\u0001"'), // a raw control character
      good.replace('\n  }\n}', '\n  },\n  "tasks": {}\n}'), // a second "tasks" wins
      good.slice(0, -10),
    ])
      expect(read(text, expected)).toBeNull();
  });

  /** Settings the schema accepts (strings with and without characters JSON escapes, UTF-8 of every length). */
  const name = fc.oneof(
    fc.string({ minLength: 1, maxLength: 5 }),
    fc.constantFrom('x', 'Ü中', '😀 ok', 'a"b', 'a\\b', 'line\u2028', 'lone\ud800'),
  );
  const validSettings = fc.record({
    taskCreateSetting: fc.record(
      {
        taskName: name,
        maxCall: fc.integer({ min: 1, max: 99 }),
        routeID: name,
        zoneSecond: fc.constantFrom(0, -900, 28800),
      },
      { requiredKeys: [], noNullPrototype: true },
    ),
    funcFlag: fc.record(
      { roundRedial: fc.boolean(), taskKeep: fc.boolean() },
      { requiredKeys: [], noNullPrototype: true },
    ),
  });
  /** …and settings it may refuse (other keys and types, null-prototype objects). */
  const scalar = fc.oneof(name, fc.integer({ min: -5, max: 50 }), fc.boolean(), fc.constant(null), fc.constant(1.5));
  const anySettings = fc.oneof(
    { arbitrary: validSettings, weight: 4 },
    fc.record({
      taskCreateSetting: fc.dictionary(
        fc.constantFrom('maxCall', 'taskName', '7'),
        fc.oneof(scalar, fc.array(scalar, { maxLength: 2 })),
        { maxKeys: 3 },
      ),
      funcFlag: fc.dictionary(fc.constantFrom('roundRedial', 'x'), scalar, { maxKeys: 2 }),
    }),
  );

  it('property: whatever the text, the value is exactly the whole-text reading, or null (then that path decides)', () => {
    const id = fc.constantFrom('a', 'b', 'c', 'Ü', 'q"t', '__proto__');
    const recorded = fc.record({
      settings: anySettings,
      taskID: fc.option(fc.constantFrom('T1', 'T"2', 'Ü'), { nil: undefined }),
      pending: fc.constantFrom(false, false, false, true),
    });
    let taken = 0;
    fc.assert(
      fc.property(
        fc.array(fc.tuple(id, recorded), { minLength: 1, maxLength: 5 }),
        fc.array(
          fc.tuple(
            id,
            fc.oneof({ arbitrary: fc.constant('same' as const), weight: 3 }, { arbitrary: anySettings, weight: 1 }),
          ),
          { maxLength: 5 },
        ),
        fc.option(fc.tuple(fc.nat(), fc.constantFrom('', ',', '}', '"', '\n', ' ', 'x', '\u0001')), {
          nil: undefined,
          freq: 2,
        }),
        (entries, declared, edit) => {
          const tasks: Record<string, Entry> = {};
          for (const [key, r] of entries)
            Object.defineProperty(tasks, key, {
              value: entry(r.settings, { taskID: r.taskID, ...(r.pending ? { pending: { since: AT } } : {}) }),
              enumerable: true,
              writable: true,
              configurable: true,
            });
          const expected = new Map<string, ManagedSettings>();
          for (const [key, d] of declared) {
            const found = entries.findLast(([k]) => k === key)?.[1].settings; // the value JSON.parse keeps
            // 'same': the recorded settings, as a copy (equal, never the same object)
            expected.set(key, d === 'same' ? (JSON.parse(JSON.stringify(found ?? settingsB)) as ManagedSettings) : d);
          }
          const body = edited(stateText(tasks), edit);
          const got = read(body, expected);
          if (got === null) return;
          const want = wholeText(body);
          expect(want).not.toBeNull();
          expect(JSON.stringify(got)).toBe(JSON.stringify(want));
          expect(got).toStrictEqual(want);
          for (const [key, settings] of expected)
            if ((got.tasks[key] as TaskState | undefined)?.taskCreateSetting === settings.taskCreateSetting) taken++;
        },
      ),
      { numRuns: 800, seed: 20261206 },
    );
    expect(taken).toBeGreaterThan(25); // the property saw entries read from the declared settings
  });

  it('property: a read that compares with the bytes an earlier read proved is still exactly the whole-text reading, or null', () => {
    const plainName = name.filter((s) => JSON.stringify(s) === `"${s}"` && !/[\u2028\u2029]/.test(s));
    let proven = 0;
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.tuple(plainName, validSettings), { minLength: 1, maxLength: 5, selector: ([id]) => id }),
        fc.array(fc.tuple(fc.nat(), validSettings), { maxLength: 2 }),
        fc.option(fc.tuple(fc.nat(), fc.constantFrom('', ',', '}', '"', '\n', ' ', '1', 'x', '\u0001')), {
          nil: undefined,
          freq: 2,
        }),
        (all, replaced, edit) => {
          forgetProofSource();
          const expected = new Map(all.map(([id, s]) => [id, s as ManagedSettings]));
          // The first read proves what it takes (another environment's state, other IDs and times).
          const first = stateText(Object.fromEntries(all.map(([id, s]) => [id, entry(s, { taskID: 'E1' })])));
          expect(read(first, expected)).toStrictEqual(wholeText(first));
          // The second records some tasks with other settings, and may have a byte edited.
          const tasks = Object.fromEntries(
            all.map(([id, s]) => [id, entry(s, { appliedAt: '2026-12-07T09:30:00.000Z' })]),
          );
          for (const [i, s] of replaced) tasks[all[i % all.length][0]] = entry(s);
          const body = edited(stateText(tasks), edit);
          const got = read(body, expected);
          if (got === null) return;
          // What the file's bytes hold (an edit may leave half a surrogate pair: UTF-8 writes U+FFFD).
          expect(got).toStrictEqual(wholeText(Buffer.from(body).toString('utf8')));
          for (const [id, s] of expected)
            if ((got.tasks[id] as TaskState | undefined)?.taskCreateSetting === s.taskCreateSetting) proven++;
        },
      ),
      { numRuns: 400, seed: 20261207 },
    );
    expect(proven).toBeGreaterThan(100); // the second reads took entries by their proofs
  });

  it('never reuses the buffer that proofs point into for the next file (its bytes must stay what was proved)', async () => {
    forgetProofSource();
    const dir = await tempDir('callform-proofs-');
    // Over a MiB, so that a read's buffer would be kept for the next one.
    const padding = Object.fromEntries(
      Array.from({ length: 6000 }, (_, i) => [`pad-${i}`, entry(settingsB, { sceneID: `scene-${i}` })]),
    );
    const declared: ManagedSettings = { taskCreateSetting: { maxCall: 3, maxRingTime: 30 }, funcFlag: {} };
    const other: ManagedSettings = { taskCreateSetting: { maxCall: 4, maxRingTime: 30 }, funcFlag: {} }; // same length
    const expected = new Map([['x', declared]]);
    const file = async (name: string, settings: ManagedSettings) => {
      const at = path.join(dir, name);
      await writeFile(at, stateText({ x: entry(settings), ...padding }));
      return at;
    };
    const [a, b, c] = [await file('a.json', declared), await file('b.json', other), await file('c.json', other)];
    const tasksOf = async (at: string) => (await readState(at, at, Promise.resolve(expected))).state.tasks;
    expect((await tasksOf(a)).x.taskCreateSetting).toBe(declared.taskCreateSetting); // proved here
    expect((await tasksOf(b)).x.taskCreateSetting).toEqual(other.taskCreateSetting);
    // Had b been read into a's buffer, the proof would now hold b's bytes, and c would read as declared.
    expect((await tasksOf(c)).x.taskCreateSetting).toEqual({ maxCall: 4, maxRingTime: 30 });
  });

  it('property: callform’s own layout with the declared settings is always read from them', () => {
    const plainName = name.filter((s) => JSON.stringify(s) === `"${s}"` && !/[\u2028\u2029]/.test(s));
    const plainSettings = validSettings.map((s) => ({
      taskCreateSetting: Object.fromEntries(
        Object.entries(s.taskCreateSetting).filter(([, v]) => typeof v !== 'string' || JSON.stringify(v) === `"${v}"`),
      ),
      funcFlag: s.funcFlag,
    }));
    fc.assert(
      fc.property(fc.array(fc.tuple(plainName, plainSettings), { minLength: 1, maxLength: 6 }), (all) => {
        const byId = new Map(all.map(([id, s]) => [id, s as ManagedSettings]));
        const tasks = Object.fromEntries([...byId].map(([id, s]) => [id, entry(s)]));
        const text = stateText(tasks);
        const got = read(text, byId) as unknown as { tasks: Record<string, Entry> };
        expect(got).toStrictEqual(wholeText(text));
        for (const [id, s] of byId) {
          expect(got.tasks[id].taskCreateSetting).toBe(s.taskCreateSetting);
          expect(got.tasks[id].funcFlag).toBe(s.funcFlag);
        }
      }),
      { numRuns: 200, seed: 7 },
    );
  });
});
