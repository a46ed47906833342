import { describe, it, expect } from 'vitest';
import { loadTasks, mergeDefaults } from '../../src/config/load-tasks.js';
import { ValidationError, formatIssue } from '../../src/diagnostics/issue.js';
import { matching } from '../support/expect.js';

// Task files are found by glob on disk, so each case writes a small temp tree (removed after the test).
import { tempTree } from '../support/temp.js';
const onDisk = (files: Record<string, string>) => tempTree(files, 'callform-load-');
async function load(files: Record<string, string>) {
  const dir = await onDisk(files);
  return loadTasks({ baseDir: dir, patterns: ['tasks/**/*.{yaml,yml,json}'] });
}
async function issues(files: Record<string, string>): Promise<string[]> {
  try {
    await load(files);
  } catch (err) {
    if (err instanceof ValidationError) return err.issues.map(formatIssue);
    throw err;
  }
  throw new Error('expected a ValidationError');
}

describe('loadTasks', () => {
  it('merges defaults under each task (task wins, arrays replaced)', async () => {
    const { tasks } = await load({
      'tasks/a.yaml': `defaults:
  taskCreateSetting: { maxCall: 5, zoneSecond: 28800, manualCallSetting: { agentGroup: g, dispatchType: 0 } }
  funcFlag: { smsFuncFlag: [{ smsID: d }] }
tasks:
  - userTaskID: a
    sceneID: s
    taskCreateSetting: { maxCall: 7, manualCallSetting: { dispatchType: 1, ratioCallRate: 2 } }
    funcFlag: { smsFuncFlag: [{ smsID: own }] }
  - userTaskID: b
    sceneID: s
`,
    });
    expect(tasks[0]).toMatchObject({
      userTaskID: 'a',
      taskCreateSetting: {
        maxCall: 7,
        zoneSecond: 28800,
        manualCallSetting: { agentGroup: 'g', dispatchType: 1, ratioCallRate: 2 },
      },
      funcFlag: { smsFuncFlag: [{ smsID: 'own' }] },
      source: 'tasks/a.yaml:5',
    });
    expect(tasks[1]).toMatchObject({
      userTaskID: 'b',
      taskCreateSetting: { maxCall: 5 },
      funcFlag: { smsFuncFlag: [{ smsID: 'd' }] },
    });
  });

  it('reads several YAML documents and JSON files', async () => {
    const { tasks, files } = await load({
      'tasks/m.yaml': 'userTaskID: one\nsceneID: s\n---\nuserTaskID: two\nsceneID: s\n',
      'tasks/j.json': '{"$schema": "x", "userTaskID": "three", "sceneID": "s"}',
    });
    expect(tasks.map((t) => t.userTaskID)).toEqual(['one', 'three', 'two']);
    expect(files).toEqual(['tasks/j.json', 'tasks/m.yaml']);
  });

  it('reports every problem with file, line, column, field and a hint', async () => {
    const found = await issues({
      'tasks/a.yaml': `tasks:
  - userTaskID: a
    sceneID: s
    taskCreateSetting:
      maxCal: 5
      startupType: 4
      dialAtWeekDay: "1,1"
  - sceneID: s
`,
    });
    expect(found).toEqual(
      expect.arrayContaining([
        expect.stringMatching(
          /^tasks\/a\.yaml:5:7: tasks\[0\]\.taskCreateSetting\.maxCal: unknown field "maxCal" \(did you mean "maxCall"\?\)/,
        ),
        expect.stringMatching(
          /^tasks\/a\.yaml:6:20: tasks\[0\]\.taskCreateSetting\.startupType: must be one of 1, 2, 3; got 4/,
        ),
        expect.stringMatching(/^tasks\/a\.yaml:8:5: tasks\[1\]: missing required field "userTaskID"/),
      ]),
    );
  });

  it('points at the defaults block when the bad value comes from there', async () => {
    const found = await issues({
      'tasks/a.yaml': 'defaults:\n  taskCreateSetting:\n    maxCall: 0\ntasks:\n  - userTaskID: a\n    sceneID: s\n',
    });
    expect(found[0]).toMatch(/^tasks\/a\.yaml:3:14: defaults\.taskCreateSetting\.maxCall: must be >= 1; got 0/);
  });

  it('checks cross-field rules after the merge', async () => {
    const found = await issues({
      'tasks/a.yaml': `defaults:
  funcFlag: { smsEnable: true }
tasks:
  - userTaskID: a
    sceneID: s
  - userTaskID: b
    sceneID: s
    funcFlag:
      smsFuncFlag: [{ smsID: x, intentID: [i1] }, { smsID: y, intentID: [i1] }]
`,
    });
    expect(found.join('\n')).toMatch(
      /tasks\[0\]\.funcFlag\.smsFuncFlag: missing required field|tasks\[0\]\.funcFlag: missing required field "smsFuncFlag"/,
    );
    expect(found.join('\n')).toMatch(/intentID "i1" is already used by smsFuncFlag\[0\]/);
  });

  it('refuses a userTaskID declared twice, naming both places', async () => {
    const found = await issues({
      'tasks/a.yaml': 'userTaskID: x\nsceneID: s\n',
      'tasks/b.yaml': 'userTaskID: x\nsceneID: s\n',
    });
    expect(found[0]).toMatch(
      /tasks\/b\.yaml:1:\d+: userTaskID: duplicate userTaskID "x", already declared at tasks\/a\.yaml:1/,
    );
  });

  it('reports a duplicate userTaskID even when one of the copies has other errors', async () => {
    const found = await issues({
      'tasks/t.yaml': 'tasks:\n  - { userTaskID: a, sceneID: s1 }\n  - { userTaskID: a, sceneID: 5 }\n',
    });
    expect(found).toEqual([
      expect.stringMatching(
        /^tasks\/t\.yaml:3:7: userTaskID: duplicate userTaskID "a", already declared at tasks\/t\.yaml:2$/m,
      ),
      expect.stringMatching(/^tasks\/t\.yaml:3:31: tasks\[1\]\.sceneID: must be string, got integer 5$/m),
    ]);
  });

  // Regression: "missing required field startupAt" came without a hint, though startupAt is
  // optional unless startupType is 2: the message did not say why it was required.
  it('says why a conditionally required field is required', async () => {
    const found = await issues({
      'tasks/a.yaml':
        'userTaskID: a\nsceneID: s\ntaskCreateSetting: { startupType: 2 }\nfuncFlag: { smsEnable: true }\n',
    });
    expect(found.join('\n')).toMatch(
      /missing required field "startupAt"\n\s+hint: startupType 2 \(scheduled start\) needs startupAt/,
    );
    expect(found.join('\n')).toMatch(/missing required field "smsFuncFlag"\n\s+hint: smsEnable true needs smsFuncFlag/);
  });

  // Regression: a null read "must be string, got null null", and .inf "must be integer, got number Infinity".
  it('names a null or non-finite value once, plainly', async () => {
    const found = await issues({
      'tasks/a.yaml': 'userTaskID: a\nsceneID: null\ntaskCreateSetting:\n  maxCall: .inf\n',
    });
    expect(found).toEqual([
      expect.stringMatching(/^tasks\/a\.yaml:2:10: sceneID: must be string, got null$/m),
      expect.stringMatching(
        /^tasks\/a\.yaml:4:12: taskCreateSetting\.maxCall: must be integer, got Infinity \(not a finite number\)$/m,
      ),
    ]);
  });

  // Regression: a task copied with a YAML alias (*t1) was reported without a line: the
  // locator stopped at the alias node.
  it('places a duplicate made by a YAML alias at the alias', async () => {
    const found = await issues({
      'tasks/t.yaml': 'tasks:\n  - &t1 { userTaskID: a, sceneID: s }\n  - userTaskID: b\n    sceneID: s\n  - *t1\n',
    });
    expect(found).toEqual([
      expect.stringMatching(
        /^tasks\/t\.yaml:5:5: userTaskID: duplicate userTaskID "a", already declared at tasks\/t\.yaml:2$/m,
      ),
    ]);
  });

  // Regression: the line scanner read `userTaskID: "a#1"` as `a` (its `#` started a comment), so
  // the duplicate `a` on line 6 was reported as "already declared at tasks/t.yaml:2".
  it('names the exact declaration line of a duplicate userTaskID (quoted values with #)', async () => {
    const found = await issues({
      'tasks/t.yaml':
        'tasks:\n  - userTaskID: "a#1"\n    sceneID: s\n  - userTaskID: a\n    sceneID: s\n  - userTaskID: a\n    sceneID: s\n',
    });
    expect(found).toEqual([
      expect.stringMatching(
        /^tasks\/t\.yaml:6:\d+: userTaskID: duplicate userTaskID "a", already declared at tasks\/t\.yaml:4$/m,
      ),
    ]);
  });

  it('gives every task its declaration line as source, whatever the layout', async () => {
    const { tasks } = await load({
      'tasks/a.yaml': [
        '# comment: userTaskID: fake',
        'tasks:',
        "  - {sceneID: s, userTaskID: 'b#2'}",
        '  - sceneID: s',
        '    "userTaskID":',
        '      c',
        '  - sceneID: "userTaskID: d"',
        '    userTaskID: d # userTaskID: e',
        '',
      ].join('\n'),
      'tasks/b.json': '{\n  "sceneID": "s",\n\n  "userTaskID": "f"\n}\n',
    });
    expect(Object.fromEntries(tasks.map((t) => [t.userTaskID, t.source]))).toEqual({
      'b#2': 'tasks/a.yaml:3',
      c: 'tasks/a.yaml:5',
      d: 'tasks/a.yaml:8',
      f: 'tasks/b.json:4',
    });
  });

  it('refuses a JSON key repeated at any depth, where the second one is (JSON.parse alone would keep the last)', async () => {
    const found = await issues({
      'tasks/deep.json':
        '{"tasks": [{"userTaskID": "a", "sceneID": "s",\n  "taskCreateSetting": {"maxCall": 1, "maxCall": 2}}]}\n',
      'tasks/top.json': '{"userTaskID": "b", "sceneID": "s",\n "sceneID": "t"}\n',
    });
    expect(found).toEqual([
      matching(/^tasks\/deep\.json:2:39: invalid JSON: .*\n {4}hint: remove or rename the repeated key$/),
      matching(/^tasks\/top\.json:2:2: invalid JSON: .*\n {4}hint: remove or rename the repeated key$/),
    ]);
  });

  it('locates a problem below the first levels of a JSON file (the full trace, made on demand)', async () => {
    const found = await issues({
      'tasks/a.json':
        '{\n  "tasks": [\n    {"userTaskID": "a", "sceneID": "s",\n     "taskCreateSetting": {"maxCall": "x"}}\n  ]\n}\n',
    });
    expect(found).toEqual([matching(/^tasks\/a\.json:4:39: tasks\[0\]\.taskCreateSetting\.maxCall: /)]);
  });

  it('keeps positions exact in layouts left to the yaml parser (anchors, tags, empty items, {a, b})', async () => {
    const found = await issues({
      // anchors/aliases and tags: parsed by `yaml` from the start
      'tasks/a.yaml':
        'defaults: &d\n  taskCreateSetting: { maxCall: 0 }\ntasks:\n  - userTaskID: !!str a1\n    sceneID: s\n',
      // an empty block sequence item (js-yaml can mis-nest those)
      'tasks/b.yaml': 'tasks:\n  -\n  - userTaskID: b1\n    sceneID: s\n',
      // a flow mapping key without a value: the trace defers to `yaml` for that mapping only
      'tasks/c.yaml': 'tasks:\n  - { userTaskID: c1, sceneID: s, taskCreateSetting: { maxCall: 0, routeID } }\n',
    });
    expect(found).toEqual([
      expect.stringMatching(/^tasks\/a\.yaml:2:33: defaults\.taskCreateSetting\.maxCall: must be >= 1; got 0/),
      expect.stringMatching(/^tasks\/b\.yaml:2:4: tasks\[0\]: must be object, got null$/),
      expect.stringMatching(/^tasks\/c\.yaml:2:65: tasks\[0\]\.taskCreateSetting\.maxCall: must be >= 1; got 0/),
      expect.stringMatching(/^tasks\/c\.yaml:2:68: tasks\[0\]\.taskCreateSetting\.routeID: must be string, got null\n/),
    ]);
  });

  it('refuses YAML alias bombs without expanding them', async () => {
    const bomb = ['a: &a ["x","x","x","x","x","x","x","x","x","x"]'];
    for (let i = 1; i < 10; i++)
      bomb.push(
        `${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(10)
          .fill('*' + String.fromCharCode(96 + i))
          .join(',')}]`,
      );
    const found = await issues({ 'tasks/bomb.yaml': bomb.join('\n') + '\n' });
    expect(found[0]).toMatch(/aliases expand too far/);
  });

  it('mergeDefaults never mutates its inputs', () => {
    const under = { a: { b: 1 } };
    const over = { a: { c: 2 } };
    expect(mergeDefaults(under, over)).toEqual({ a: { b: 1, c: 2 } });
    expect(under).toEqual({ a: { b: 1 } });
  });
});
