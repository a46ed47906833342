/**
 * src/policy without files: rules compiled straight from objects, checks called on tasks,
 * the exact findings, problems, scope, exemptions, ordering and report lines. Written to
 * kill the mutants `npm run mutate` found alive (docs/testing.md); policy.test.ts covers
 * loading rules from files.
 */
import { describe, it, expect } from 'vitest';
import { compileRules } from '../../src/policy/compile.js';
import { memoized, lazyAjv } from '../../src/policy/checks.js';
import { evaluatePolicy, policyReport } from '../../src/policy/evaluate.js';
import { blockingViolations, formatViolation, formatExemption, shortDigest } from '../../src/policy/report.js';
import type { PolicyRule, PolicySubject, Policy } from '../../src/policy/types.js';

const base = { severity: 'error', message: 'because' } as const;
const rule = (r: Record<string, unknown>, name = 'r1'): PolicyRule => ({ name, ...base, ...r }) as PolicyRule;
const task = (
  id: string,
  tcs: PolicySubject['taskCreateSetting'] = {},
  ff: PolicySubject['funcFlag'] = {},
  sceneID = 'scene-1',
): PolicySubject => ({ userTaskID: id, sceneID, taskCreateSetting: tcs, funcFlag: ff, source: `tasks/${id}.yaml:2` });

function compiled(r: Record<string, unknown>) {
  const { rules, problems } = compileRules([rule(r)]);
  return { check: rules[0].check, problems, rule: rules[0] };
}
const finding = (r: Record<string, unknown>, t: PolicySubject) => compiled(r).check(t);
const WINDOW = { zoneSecond: 28800, dialAtWeekDay: '1,2,3,4,5', dialAtUpHour: '9,10', dialAtDownHour: '9,10' };

describe('maxCall', () => {
  it('bounds are inclusive; each side alone; required', () => {
    const r = { kind: 'maxCall', min: 2, max: 50 };
    expect(finding(r, task('a', { maxCall: 2 }))).toBeNull();
    expect(finding(r, task('a', { maxCall: 50 }))).toBeNull();
    expect(finding(r, task('a', { maxCall: 51 }))).toEqual({
      path: 'taskCreateSetting.maxCall',
      finding: 'maxCall is 51, above the maximum 50',
    });
    expect(finding(r, task('a', { maxCall: 1 }))).toEqual({
      path: 'taskCreateSetting.maxCall',
      finding: 'maxCall is 1, below the minimum 2',
    });
    expect(finding({ kind: 'maxCall', max: 5 }, task('a', { maxCall: 0 }))).toBeNull();
    expect(finding({ kind: 'maxCall', min: 5 }, task('a', { maxCall: 99 }))).toBeNull();
    expect(finding(r, task('a'))).toBeNull();
    expect(finding({ ...r, required: false }, task('a'))).toBeNull();
    expect(finding({ ...r, required: true }, task('a'))).toEqual({
      path: 'taskCreateSetting.maxCall',
      finding: 'maxCall is not declared',
    });
  });

  it('problems: neither bound; min above max (equal is fine)', () => {
    expect(compiled({ kind: 'maxCall' }).problems).toEqual([
      { rule: 0, at: [], message: 'a maxCall rule needs min, max or both', hint: 'e.g. max: 50' },
    ]);
    expect(compiled({ kind: 'maxCall', min: 5, max: 4 }).problems).toEqual([
      { rule: 0, at: ['min'], message: 'min 5 is above max 4', hint: 'no maxCall could pass: swap them' },
    ]);
    expect(compiled({ kind: 'maxCall', min: 5, max: 5 }).problems).toEqual([]);
    expect(compiled({ kind: 'maxCall', min: 5 }).problems).toEqual([]);
    expect(compiled({ kind: 'maxCall', max: 5 }).problems).toEqual([]);
  });
});

describe('requiredFuncFlags', () => {
  it('names each wrong flag, its value or that it is not declared', () => {
    const r = { kind: 'requiredFuncFlags', funcFlag: { phoneEncrypt: true, taskKeep: false } };
    expect(finding(r, task('a', {}, { phoneEncrypt: true, taskKeep: false }))).toBeNull();
    expect(finding(r, task('a', {}, { phoneEncrypt: false }))).toEqual({
      path: 'funcFlag.phoneEncrypt',
      finding: 'phoneEncrypt is false (must be true); taskKeep is not declared (must be false)',
    });
    expect(finding(r, task('a', {}, { phoneEncrypt: true, taskKeep: true }))).toEqual({
      path: 'funcFlag.taskKeep',
      finding: 'taskKeep is true (must be false)',
    });
  });
});

describe('allowedValues', () => {
  it('globs over routeID (or sceneID), required, and the exact finding', () => {
    const r = { kind: 'allowedValues', field: 'routeID', values: ['r-*', 'main'] };
    expect(finding(r, task('a', { routeID: 'r-1' }))).toBeNull();
    expect(finding(r, task('a', { routeID: 'main' }))).toBeNull();
    expect(finding(r, task('a', { routeID: 'other' }))).toEqual({
      path: 'taskCreateSetting.routeID',
      finding: 'routeID "other" is not one of r-*, main',
    });
    expect(finding(r, task('a'))).toBeNull();
    expect(finding({ ...r, required: true }, task('a'))).toEqual({
      path: 'taskCreateSetting.routeID',
      finding: 'routeID is not declared',
    });
    const scene = { kind: 'allowedValues', field: 'sceneID', values: ['scene-1'] };
    expect(finding(scene, task('a'))).toBeNull();
    expect(finding(scene, task('a', {}, {}, 'scene-2'))).toEqual({
      path: 'sceneID',
      finding: 'sceneID "scene-2" is not one of scene-1',
    });
  });

  it('remembers per value: an unset value and a value spelled like the marker are told apart', () => {
    const { check } = compiled({ kind: 'allowedValues', field: 'routeID', values: ['ok'], required: true });
    expect(check(task('a', { routeID: 'ok' }))).toBeNull();
    expect(check(task('b'))).toMatchObject({ finding: 'routeID is not declared' });
    expect(check(task('c', { routeID: 'bad' }))).toMatchObject({ finding: 'routeID "bad" is not one of ok' });
    expect(check(task('d', { routeID: 'ok' }))).toBeNull();
    expect(check(task('e'))).toMatchObject({ finding: 'routeID is not declared' });
  });
});

describe('callbackUrl', () => {
  const r = { kind: 'callbackUrl', hosts: ['hooks.example.com', '*.corp.example'] };
  it('https and an allowed host (case-insensitive); each fault named; credentials never shown', () => {
    expect(finding(r, task('a', { taskCallbackUrl: 'https://hooks.example.com/x' }))).toBeNull();
    expect(finding(r, task('a', { taskCallbackUrl: 'https://HOOKS.Example.com/x' }))).toBeNull();
    expect(finding(r, task('a', { taskCallbackUrl: 'https://a.corp.example/x' }))).toBeNull();
    expect(
      finding({ ...r, hosts: ['HOOKS.example.com'] }, task('a', { taskCallbackUrl: 'https://hooks.example.com/' })),
    ).toBeNull();
    expect(finding(r, task('a', { taskCallbackUrl: 'http://u:secret@hooks.example.com/x' }))).toEqual({
      path: 'taskCreateSetting.taskCallbackUrl',
      finding: 'taskCallbackUrl uses http, not https',
    });
    expect(finding(r, task('a', { taskCallbackUrl: 'ftp://evil.example/x' }))).toEqual({
      path: 'taskCreateSetting.taskCallbackUrl',
      finding:
        'taskCallbackUrl uses ftp, not https, and its host evil.example is not one of hooks.example.com, *.corp.example',
    });
    expect(finding(r, task('a', { taskCallbackUrl: 'https://evil.example/x' }))).toEqual({
      path: 'taskCreateSetting.taskCallbackUrl',
      finding: 'taskCallbackUrl host evil.example is not one of hooks.example.com, *.corp.example',
    });
    expect(finding(r, task('a', { taskCallbackUrl: 'not a url' }))).toEqual({
      path: 'taskCreateSetting.taskCallbackUrl',
      finding: 'taskCallbackUrl is not a URL',
    });
    expect(finding(r, task('a'))).toBeNull();
    expect(finding({ ...r, required: true }, task('a'))).toEqual({
      path: 'taskCreateSetting.taskCallbackUrl',
      finding: 'taskCallbackUrl is not declared',
    });
  });

  it('remembers per URL: an unset URL and an empty one are told apart', () => {
    const { check } = compiled({ ...r, required: true });
    expect(check(task('a'))).toEqual({
      path: 'taskCreateSetting.taskCallbackUrl',
      finding: 'taskCallbackUrl is not declared',
    });
    expect(check(task('b', { taskCallbackUrl: '' }))).toEqual({
      path: 'taskCreateSetting.taskCallbackUrl',
      finding: 'taskCallbackUrl is not a URL',
    });
  });
});

describe('forbiddenStartupTypes', () => {
  it('names the type', () => {
    const r = { kind: 'forbiddenStartupTypes', values: [1, 3] };
    expect(finding(r, task('a', { startupType: 2 }))).toBeNull();
    expect(finding(r, task('a'))).toBeNull();
    expect(finding(r, task('a', { startupType: 3 }))).toEqual({
      path: 'taskCreateSetting.startupType',
      finding: 'startupType 3 (immediate start) is not allowed',
    });
    expect(finding(r, task('a', { startupType: 1 }))?.finding).toBe('startupType 1 (manual start) is not allowed');
    expect(finding({ kind: 'forbiddenStartupTypes', values: [2] }, task('a', { startupType: 2 }))?.finding).toBe(
      'startupType 2 (scheduled start) is not allowed',
    );
  });
});

describe('jsonSchema', () => {
  it('against the settings without source; at most three messages, then how many more', () => {
    const r = {
      kind: 'jsonSchema',
      schema: {
        type: 'object',
        properties: {
          taskCreateSetting: {
            type: 'object',
            properties: { a: { type: 'number' }, b: { type: 'number' }, c: { type: 'number' }, d: { type: 'number' } },
          },
        },
        not: { required: ['source'] },
      },
    };
    expect(finding(r, task('ok', { a: 1 } as never))).toBeNull();
    expect(finding(r, task('x', { a: 'x', b: 'x', c: 'x', d: 'x' } as never))).toEqual({
      path: 'taskCreateSetting.a',
      finding:
        'taskCreateSetting.a must be number; taskCreateSetting.b must be number; taskCreateSetting.c must be number (and 1 more)',
    });
    expect(finding(r, task('x', { a: 'x', b: 'x', c: 'x' } as never))?.finding).toBe(
      'taskCreateSetting.a must be number; taskCreateSetting.b must be number; taskCreateSetting.c must be number',
    );
  });

  it('an error at the root reads "the task", without a path', () => {
    const f = finding({ kind: 'jsonSchema', schema: { required: ['nope'] } }, task('x'));
    expect(f).toEqual({ path: undefined, finding: "the task must have required property 'nope'" });
  });

  it('a schema ajv rejects is a problem at schema, and checks nothing', () => {
    const { problems, check } = compiled({ kind: 'jsonSchema', schema: { type: 'nonsense' } });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({
      rule: 0,
      at: ['schema'],
      hint: 'draft-07 keywords only; ajv checks it in strict mode (unknown keywords are errors)',
    });
    expect(problems[0].message).toMatch(/^not a usable JSON Schema: \S/);
    expect(check(task('x'))).toBeNull();
    expect(compiled({ kind: 'jsonSchema', schema: { unknownKeyword: 1 } }).problems).toHaveLength(1);
  });

  it('formats are known (fast mode); union types are allowed', () => {
    const r = {
      kind: 'jsonSchema',
      schema: {
        properties: {
          taskCreateSetting: { properties: { taskCallbackUrl: { format: 'uri' }, x: { type: ['string', 'number'] } } },
        },
      },
    };
    expect(compiled(r).problems).toEqual([]);
    expect(finding(r, task('x', { taskCallbackUrl: 'not a uri' }))?.finding).toBe(
      'taskCreateSetting.taskCallbackUrl must match format "uri"',
    );
  });

  it('formats are checked the fast way: a date is its shape, not a day of the calendar', () => {
    const r = { kind: 'jsonSchema', schema: { properties: { sceneID: { format: 'date' } } } };
    expect(compiled(r).problems).toEqual([]);
    // Fast mode: 30 February has a date's shape, so it passes (full mode would reject it).
    expect(finding(r, task('x', {}, {}, '2021-02-30'))).toBeNull();
    expect(finding(r, task('x', {}, {}, '2021-2-3'))).toEqual({
      path: 'sceneID',
      finding: 'sceneID must match format "date"',
    });
  });

  it('a tuple schema (items as an array) without minItems or additionalItems is usable', () => {
    const r = {
      kind: 'jsonSchema',
      schema: {
        properties: { taskCreateSetting: { properties: { x: { type: 'array', items: [{ type: 'string' }] } } } },
      },
    };
    expect(compiled(r).problems).toEqual([]);
  });

  it('ajv is loaded once per compile and shared', () => {
    const get = lazyAjv();
    expect(get()).toBe(get());
  });
});

describe('memoized', () => {
  it('asks once per key and keeps the answer', () => {
    let calls = 0;
    const check = memoized(
      (t) => t.userTaskID.slice(0, 1),
      (t) => (calls++, { finding: t.userTaskID }),
    );
    expect(check(task('a1'))).toEqual({ finding: 'a1' });
    expect(check(task('a2'))).toEqual({ finding: 'a1' });
    expect(check(task('b1'))).toEqual({ finding: 'b1' });
    expect(calls).toBe(2);
  });

  it('remembers a null answer too', () => {
    let calls = 0;
    const check = memoized(
      () => 'k',
      () => (calls++, null),
    );
    check(task('a'));
    check(task('b'));
    expect(calls).toBe(1);
  });

  it('stops remembering past 10,000 keys', () => {
    let calls = 0;
    const check = memoized(
      (t) => t.userTaskID,
      () => (calls++, null),
    );
    for (let i = 0; i < 10_000; i++) check(task(`t${i}`));
    expect(calls).toBe(10_000);
    check(task('t0'));
    expect(calls).toBe(10_000);
    check(task('new'));
    check(task('new'));
    expect(calls).toBe(10_002);
  });
});

describe('dialingHours', () => {
  const r = { kind: 'dialingHours', between: '08:00-21:00' };
  it('cannot check without a window, a whole window, or a zone', () => {
    expect(finding(r, task('a'))).toBeNull();
    expect(finding({ ...r, required: true }, task('a'))).toEqual({
      path: 'taskCreateSetting.dialAtUpHour',
      finding: 'cannot be checked: the task declares no dialing window',
    });
    expect(finding(r, task('a', { dialAtUpHour: '9' }))).toEqual({
      path: 'taskCreateSetting.dialAtWeekDay',
      finding: 'cannot be checked: dialAtWeekDay and dialAtDownHour are not declared, so the window is not known',
    });
    expect(finding(r, task('a', { dialAtUpHour: '9', dialAtWeekDay: '1' }))).toEqual({
      path: 'taskCreateSetting.dialAtDownHour',
      finding: 'cannot be checked: dialAtDownHour is not declared, so the window is not known',
    });
    const { zoneSecond: _z, ...noZone } = WINDOW;
    expect(finding(r, task('a', noZone))).toEqual({
      path: 'taskCreateSetting.zoneSecond',
      finding: 'cannot be checked: the task does not declare zoneSecond, so its local time is not known',
    });
  });

  it('inside passes; outside names the cells and the zone', () => {
    expect(finding(r, task('a', WINDOW))).toBeNull();
    expect(finding(r, task('a', { ...WINDOW, dialAtUpHour: '7,9', dialAtDownHour: '9' }))).toEqual({
      path: 'taskCreateSetting.dialAtUpHour',
      finding: "dials outside 08:00–21:00 in the task's local time: Mon–Fri 07:00–07:30 (GMT+8)",
    });
    expect(finding(r, task('a', { ...WINDOW, dialAtUpHour: '9', dialAtDownHour: '20,21' }))?.finding).toBe(
      "dials outside 08:00–21:00 in the task's local time: Mon–Fri 21:30–22:00 (GMT+8)",
    );
  });

  it('days and a zone of its own: the window moves by whole quarter hours, across days and the week', () => {
    const own = { ...r, days: '1-5', zoneSecond: 0 };
    // 09:00–11:00 GMT+8 is 01:00–03:00 GMT: outside 08:00–21:00 GMT.
    expect(finding(own, task('a', WINDOW))?.finding).toBe(
      'dials outside Mon–Fri 08:00–21:00 GMT+0: Mon–Fri 09:00–11:00 (GMT+8)',
    );
    // 17:00 GMT+8 is 09:00 GMT: inside.
    expect(finding(own, task('a', { ...WINDOW, dialAtUpHour: '17', dialAtDownHour: '17' }))).toBeNull();
    // Monday 07:00 GMT+8 is Sunday 23:00 GMT: Sunday is not an allowed day.
    const sunday = finding(
      { kind: 'dialingHours', between: '00:00-24:00', days: '1-5', zoneSecond: 0 },
      task('a', { ...WINDOW, dialAtWeekDay: '1', dialAtUpHour: '7', dialAtDownHour: '7' }),
    );
    expect(sunday?.finding).toMatch(/^dials outside Mon–Fri 00:00–24:00 GMT\+0: Mon 07:00–08:00 \(GMT\+8\)$/);
    // A half-hour zone: 09:00 GMT+5:30 is 03:30 GMT; 13:30 GMT+5:30 is 08:00 GMT.
    const india = { ...WINDOW, zoneSecond: 19800, dialAtUpHour: '13', dialAtDownHour: '13' };
    expect(finding({ ...r, zoneSecond: 0 }, task('a', india))?.finding).toMatch(/: Mon–Fri 13:00–13:30 \(/);
    const quarter = { ...WINDOW, zoneSecond: 20700, dialAtUpHour: '13', dialAtDownHour: '13' }; // GMT+5:45
    // 13:30–14:00 at +5:45 is 07:45–08:15 GMT: its first quarter is outside, so it is too.
    expect(finding({ ...r, zoneSecond: 0 }, task('a', quarter))?.finding).toMatch(/: Mon–Fri 13:00–14:00 \(/);
    const later = { ...quarter, dialAtUpHour: '14', dialAtDownHour: '14' }; // 08:15–09:15 GMT
    expect(finding({ ...r, zoneSecond: 0 }, task('a', later))).toBeNull();
  });

  it('a Sunday window moved forward lands on Monday (the week wraps)', () => {
    const rule2 = { kind: 'dialingHours', between: '00:00-24:00', days: '1', zoneSecond: 28800 };
    // Sunday 23:00 GMT is Monday 07:00 GMT+8: allowed.
    const t = task('a', { zoneSecond: 0, dialAtWeekDay: '7', dialAtUpHour: '23', dialAtDownHour: '23' });
    expect(finding(rule2, t)).toBeNull();
    const t2 = task('a', { zoneSecond: 0, dialAtWeekDay: '7', dialAtUpHour: '10', dialAtDownHour: '10' });
    expect(finding(rule2, t2)?.finding).toMatch(/: Sun 10:00–11:00 \(/);
  });

  it('bad between or days are problems at their place, and the rule checks nothing', () => {
    const bad = compiled({ kind: 'dialingHours', between: '25:00-26:00' });
    expect(bad.problems.length).toBeGreaterThan(0);
    expect(bad.problems.every((p) => p.rule === 0 && p.at[0] === 'between')).toBe(true);
    expect(bad.check(task('a', { ...WINDOW, dialAtUpHour: '3' }))).toBeNull();
    const badDays = compiled({ kind: 'dialingHours', between: '08:00-21:00', days: 'Funday' });
    expect(badDays.problems.length).toBeGreaterThan(0);
    expect(badDays.problems[0].message.length).toBeGreaterThan(0);
    expect(badDays.check(task('a', { ...WINDOW, dialAtUpHour: '3' }))).toBeNull();
  });

  it('remembers per window and zone, not per task', () => {
    const { check } = compiled(r);
    const late = { ...WINDOW, dialAtUpHour: '22', dialAtDownHour: '22' };
    expect(check(task('a', late))).not.toBeNull();
    expect(check(task('b', WINDOW))).toBeNull();
    expect(check(task('c', { ...late, zoneSecond: 0 }))).not.toBeNull();
    expect(check(task('d', { ...WINDOW, dialAtDownHour: '22' }))).not.toBeNull();
    expect(check(task('e', { ...WINDOW, dialAtWeekDay: '6' }))).toBeNull();
    expect(check(task('f', late))).toEqual(check(task('a', late)));
  });

  it('a window judged once gives back the same finding (no second judgement), per zone', () => {
    const { check } = compiled(r);
    const late = { ...WINDOW, dialAtUpHour: '22', dialAtDownHour: '22' };
    const first = check(task('a', late));
    expect(first).not.toBeNull();
    // The same window on another task: the remembered finding itself, not an equal new one.
    expect(check(task('b', late))).toBe(first);
    // The same days and hours in another zone are judged apart, then remembered too.
    const elsewhere = check(task('c', { ...late, zoneSecond: 0 }));
    expect(elsewhere).not.toBe(first);
    expect(check(task('d', { ...late, zoneSecond: 0 }))).toBe(elsewhere);
    expect(check(task('e', late))).toBe(first);
  });
});

describe('compileRules and evaluatePolicy', () => {
  const rules: PolicyRule[] = [
    rule(
      {
        kind: 'maxCall',
        max: 10,
        tasks: ['sales-*', 'vip'],
        exempt: [{ tasks: 'sales-big*', reason: '  approved  ' }],
      },
      'cap',
    ),
    rule({ kind: 'forbiddenStartupTypes', values: [3], severity: 'warn', message: 'no immediate' }, 'start'),
  ];
  const policy = (): Policy => ({ ...compileRules(rules), sources: ['p.yaml'], digest: 'abcdef0123456789' });
  const tasks = [
    task('sales-big-1', { maxCall: 99, startupType: 3 }),
    task('other', { maxCall: 99 }),
    task('sales-1', { maxCall: 11 }),
    { ...task('vip', { maxCall: 12 }), source: undefined },
  ];

  it('scope, exemptions (reason trimmed), rule order within task order, sources and paths', () => {
    const result = evaluatePolicy(policy(), tasks);
    expect(result.exemptions).toEqual([
      { rule: 'cap', userTaskID: 'sales-big-1', patterns: ['sales-big*'], reason: 'approved' },
    ]);
    expect(result.violations).toEqual([
      {
        rule: 'start',
        kind: 'forbiddenStartupTypes',
        severity: 'warn',
        userTaskID: 'sales-big-1',
        finding: 'startupType 3 (immediate start) is not allowed',
        message: 'no immediate',
        source: 'tasks/sales-big-1.yaml:2',
        path: 'taskCreateSetting.startupType',
      },
      {
        rule: 'cap',
        kind: 'maxCall',
        severity: 'error',
        userTaskID: 'sales-1',
        finding: 'maxCall is 11, above the maximum 10',
        message: 'because',
        source: 'tasks/sales-1.yaml:2',
        path: 'taskCreateSetting.maxCall',
      },
      {
        rule: 'cap',
        kind: 'maxCall',
        severity: 'error',
        userTaskID: 'vip',
        finding: 'maxCall is 12, above the maximum 10',
        message: 'because',
        path: 'taskCreateSetting.maxCall',
      },
    ]);
    expect(evaluatePolicy(policy(), new Set(tasks))).toEqual(result);
  });

  it('a task without a source gets no source field; many tasks breaking several rules stay in task, then rule order', () => {
    const { rules: r } = compileRules([rule({ kind: 'maxCall', max: 1 }, 'a'), rule({ kind: 'maxCall', max: 2 }, 'b')]);
    const many = Array.from({ length: 60 }, (_, i) => ({
      ...task(`t${String(i).padStart(2, '0')}`, { maxCall: 5 }),
      source: undefined,
    }));
    const { violations } = evaluatePolicy({ rules: r }, many);
    expect(violations.map((v) => `${v.userTaskID}:${v.rule}`)).toEqual(
      many.flatMap((t) => [`${t.userTaskID}:a`, `${t.userTaskID}:b`]),
    );
    expect(violations[0]).not.toHaveProperty('source');
  });

  it('a finding without a path has no path field', () => {
    const { rules: r } = compileRules([rule({ kind: 'jsonSchema', schema: { required: ['nope'] } })]);
    const v = evaluatePolicy({ rules: r }, [task('a')]).violations[0];
    expect(v).not.toHaveProperty('path');
    expect(v.source).toBe('tasks/a.yaml:2');
  });

  it('a single-pattern scope and several exemptions: the first that matches', () => {
    const { rules: r } = compileRules([
      rule({
        kind: 'maxCall',
        max: 1,
        tasks: 'a*',
        exempt: [
          { tasks: ['ab'], reason: 'first' },
          { tasks: 'a*', reason: 'second' },
        ],
      }),
    ]);
    expect(r[0].appliesTo!('b')).toBe(false);
    expect(r[0].exemptionOf('ab')).toEqual({ patterns: ['ab'], reason: 'first' });
    expect(r[0].exemptionOf('ac')).toEqual({ patterns: ['a*'], reason: 'second' });
    expect(r[0].exemptionOf('b')).toBeUndefined();
    const { rules: all } = compileRules([rule({ kind: 'maxCall', max: 1 })]);
    expect(all[0].appliesTo).toBeNull();
    expect(all[0].exemptionOf('x')).toBeUndefined();
    expect(all[0]).toMatchObject({ name: 'r1', kind: 'maxCall', severity: 'error', message: 'because' });
  });

  it('problems carry the index of their rule', () => {
    const { problems } = compileRules([rule({ kind: 'maxCall', max: 1 }), rule({ kind: 'maxCall' }, 'r2')]);
    expect(problems.map((p) => p.rule)).toEqual([1]);
  });

  it('policyReport and the report lines', () => {
    const report = policyReport(policy(), tasks);
    expect(report).toMatchObject({ digest: 'abcdef0123456789', sources: ['p.yaml'], rules: 2 });
    expect(report.violations).toHaveLength(3);
    expect(report.exemptions).toHaveLength(1);
    expect(blockingViolations(report).map((v) => v.userTaskID)).toEqual(['sales-1', 'vip']);
    expect(formatViolation(report.violations[1])).toBe(
      'tasks/sales-1.yaml:2: sales-1 [cap] maxCall is 11, above the maximum 10 — because',
    );
    expect(formatViolation(report.violations[2])).toBe('vip [cap] maxCall is 12, above the maximum 10 — because');
    expect(formatExemption({ rule: 'cap', userTaskID: 'x', patterns: ['a', 'b'], reason: 'why' })).toBe(
      'x exempt from [cap] (a, b): why',
    );
    expect(shortDigest('0123456789abcdef')).toBe('0123456789ab');
  });
});
