import { describe, it, expect } from 'vitest';
import { loadTasks } from '../../src/config/load-tasks.js';
import { warningIssue } from '../../src/config/dial-window.js';
import { ValidationError, formatIssue } from '../../src/diagnostics/issue.js';
import { tempTree } from '../support/temp.js';

async function load(files: Record<string, string>) {
  const dir = await tempTree(files, 'callform-dialwindow-');
  return loadTasks({ baseDir: dir, patterns: ['tasks/**/*.{yaml,yml,json}'] });
}
async function problems(files: Record<string, string>): Promise<string[]> {
  try {
    await load(files);
  } catch (err) {
    if (err instanceof ValidationError) return err.issues.map((i) => formatIssue(i).split('\n')[0]);
    throw err;
  }
  throw new Error('expected a ValidationError');
}
const byId = async (files: Record<string, string>) =>
  new Map((await load(files)).tasks.map((t) => [t.userTaskID, t.taskCreateSetting]));

describe('dialWindow in task files', () => {
  it('compiles to exactly the raw fields, canonical, and nothing else', async () => {
    const tasks = await byId({
      'tasks/a.yaml': `userTaskID: a
sceneID: s
taskCreateSetting:
  maxCall: 3
  dialWindow:
    days: Sat-Sun,Mon
    hours: ["14:00-17:30", "09:00-12:00"]
`,
      'tasks/b.json': '{"userTaskID": "b", "sceneID": "s", "taskCreateSetting": {"dialWindow": {"days": [5, 1, 3]}}}',
    });
    expect(tasks.get('a')).toEqual({
      maxCall: 3,
      dialAtWeekDay: '1,6,7',
      dialAtUpHour: '9,10,11,14,15,16,17',
      dialAtDownHour: '9,10,11,14,15,16',
    });
    expect(tasks.get('b')).toEqual({ dialAtWeekDay: '1,3,5' });
  });

  it("merges with defaults field by field: a task's own value wins, whichever form either used", async () => {
    const tasks = await byId({
      'tasks/c.yaml': `defaults:
  taskCreateSetting:
    dialWindow: { days: Mon-Fri, hours: ["09:00-12:00"] }
tasks:
  - { userTaskID: inherits, sceneID: s }
  - userTaskID: raw-days
    sceneID: s
    taskCreateSetting: { dialAtWeekDay: "1,2,3,4,5,6" }
  - userTaskID: own-hours
    sceneID: s
    taskCreateSetting: { dialWindow: { hours: ["13:00-18:00"] } }
`,
      'tasks/d.yaml': `defaults:
  taskCreateSetting: { dialAtWeekDay: "1,2", dialAtUpHour: "8", dialAtDownHour: "8" }
tasks:
  - userTaskID: window-over-raw
    sceneID: s
    taskCreateSetting: { dialWindow: { days: Sun } }
`,
    });
    expect(tasks.get('inherits')).toEqual({
      dialAtWeekDay: '1,2,3,4,5',
      dialAtUpHour: '9,10,11',
      dialAtDownHour: '9,10,11',
    });
    expect(tasks.get('raw-days')).toEqual({
      dialAtWeekDay: '1,2,3,4,5,6',
      dialAtUpHour: '9,10,11',
      dialAtDownHour: '9,10,11',
    });
    expect(tasks.get('own-hours')).toEqual({
      dialAtWeekDay: '1,2,3,4,5',
      dialAtUpHour: '13,14,15,16,17',
      dialAtDownHour: '13,14,15,16,17',
    });
    expect(tasks.get('window-over-raw')).toEqual({ dialAtWeekDay: '7', dialAtUpHour: '8', dialAtDownHour: '8' });
  });

  it('reports every bad form at its own node, with file:line:column', async () => {
    const out = await problems({
      'tasks/bad.yaml': `defaults:
  taskCreateSetting:
    dialWindow:
      days: Mon-Fry
tasks:
  - userTaskID: quarter
    sceneID: s
    taskCreateSetting:
      dialWindow:
        hours:
          - "09:00-12:00"
          - "13:15-14:00"
  - userTaskID: overlap
    sceneID: s
    taskCreateSetting:
      dialWindow: { hours: ["09:00-12:00", "11:00-13:00"] }
  - userTaskID: both
    sceneID: s
    taskCreateSetting:
      dialAtUpHour: "9"
      dialWindow: { hours: ["09:00-10:00"] }
  - userTaskID: shape
    sceneID: s
    taskCreateSetting:
      dialWindow: { hours: "09:00-10:00" }
`,
    });
    expect(out).toEqual([
      'tasks/bad.yaml:4:13: defaults.taskCreateSetting.dialWindow.days: unknown day "Fry"',
      'tasks/bad.yaml:12:13: tasks[0].taskCreateSetting.dialWindow.hours[1]: 13:15 is not on a half hour (the API dials in half-hour slots: :00 or :30)',
      'tasks/bad.yaml:16:44: tasks[1].taskCreateSetting.dialWindow.hours[1]: "11:00-13:00" overlaps "09:00-12:00" (both include 11:00–11:30)',
      'tasks/bad.yaml:21:7: tasks[2].taskCreateSetting.dialWindow: dialWindow and dialAtUpHour both set the dialing window',
      'tasks/bad.yaml:25:28: tasks[3].taskCreateSetting.dialWindow.hours: must be array, got string "09:00-10:00"',
    ]);
  });

  it("reports a single task file's bad window through the file schema, and a clash in defaults", async () => {
    expect(
      await problems({
        'tasks/one.yaml': 'userTaskID: one\nsceneID: s\ntaskCreateSetting:\n  dialWindow: { days: "" }\n',
      }),
    ).toEqual(['tasks/one.yaml:4:23: taskCreateSetting.dialWindow.days: must not be empty']);
    expect(
      await problems({
        'tasks/two.yaml':
          'defaults:\n  taskCreateSetting:\n    dialAtWeekDay: "1"\n    dialWindow: { days: Mon }\ntasks:\n  - { userTaskID: t, sceneID: s }\n',
      }),
    ).toEqual([
      'tasks/two.yaml:4:5: defaults.taskCreateSetting.dialWindow: dialWindow and dialAtWeekDay both set the dialing window',
    ]);
  });
});

describe('dialing-window lint warnings', () => {
  it('warns about lone half-hour slots made by raw lists, once per declaration, located when shown', async () => {
    const { warnings } = await load({
      'tasks/w.yaml': `defaults:
  taskCreateSetting:
    dialAtWeekDay: "1,2,3,4,5"
    dialAtUpHour: "10,11,15,16,17,18,19"
    dialAtDownHour: "10,11,15,16,17"
tasks:
  - { userTaskID: a, sceneID: s }
  - { userTaskID: b, sceneID: s }
  - userTaskID: c
    sceneID: s
    taskCreateSetting: { dialAtDownHour: "9,10,11,15,16,17,18,19" }
  - userTaskID: d
    sceneID: s
    taskCreateSetting: { dialAtUpHour: "9" }
`,
    });
    expect(warnings.map((w) => formatIssue(warningIssue(w)).split('\n')[0])).toEqual([
      'tasks/w.yaml:4:19: defaults.taskCreateSetting.dialAtUpHour: 19:00–19:30 on Mon–Fri: a lone half-hour slot (hour 19 in dialAtUpHour but not in dialAtDownHour, nothing dialable next to it)',
      'tasks/w.yaml:14:40: tasks[3].taskCreateSetting.dialAtUpHour: 09:00–09:30 on Mon–Fri: a lone half-hour slot (hour 9 in dialAtUpHour but not in dialAtDownHour, nothing dialable next to it)',
      // d's own dialAtUpHour over the defaults' dialAtDownHour leaves the :30 halves alone: reported at d.
      'tasks/w.yaml:14:40: tasks[3].taskCreateSetting.dialAtUpHour: 10:30–11:00, 11:30–12:00, 15:30–16:00, 16:30–17:00, 17:30–18:00 on Mon–Fri: lone half-hour slots (hours 10, 11, 15, 16, 17 in dialAtDownHour but not in dialAtUpHour, nothing dialable next to them)',
    ]);
    // c: 09:30-10:00 borders 10:00; 18:00-20:00 whole hours: nothing lone.
    expect(warnings[0].hint).toBe(
      'to dial whole hours, add 19 to dialAtDownHour; or declare dialWindow with explicit ranges (e.g. hours: ["19:00-20:00"])',
    );
  });

  it('joins 23:30 to 00:00 across midnight only when every day dials', async () => {
    const { warnings } = await load({
      'tasks/m.yaml': `tasks:
  - userTaskID: monday
    sceneID: s
    taskCreateSetting: { dialAtWeekDay: "1", dialAtUpHour: "0", dialAtDownHour: "23" }
  - userTaskID: every-day
    sceneID: s
    taskCreateSetting: { dialAtWeekDay: "1,2,3,4,5,6,7", dialAtUpHour: "0", dialAtDownHour: "23" }
`,
    });
    expect(warnings.map((w) => `${w.path}: ${w.message}`)).toEqual([
      'tasks[0].taskCreateSetting.dialAtUpHour: 00:00–00:30 on Mon: a lone half-hour slot (hour 0 in dialAtUpHour but not in dialAtDownHour, nothing dialable next to it)',
      'tasks[0].taskCreateSetting.dialAtDownHour: 23:30–24:00 on Mon: a lone half-hour slot (hour 23 in dialAtDownHour but not in dialAtUpHour, nothing dialable next to it)',
    ]);
  });

  it('takes half hours written in a dialWindow as intended, and windows ending at :30 as normal', async () => {
    const { warnings } = await load({
      'tasks/ok.yaml': `userTaskID: a
sceneID: s
taskCreateSetting:
  dialWindow: { days: Mon-Fri, hours: ["09:00-12:00", "14:00-17:30", "19:00-19:30"] }
---
userTaskID: b
sceneID: s
taskCreateSetting: { dialAtWeekDay: "1", dialAtUpHour: "9,10,11,14,15,16,17", dialAtDownHour: "9,10,11,14,15,16" }
`,
    });
    expect(warnings).toEqual([]);
  });
});
