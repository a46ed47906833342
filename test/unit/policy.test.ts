import { describe, it, expect } from 'vitest';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { loadPolicy } from '../../src/config/load-policy.js';
import { evaluatePolicy, blockingViolations, type PolicySubject, type Policy } from '../../src/policy/index.js';
import { ValidationError, formatIssue } from '../../src/diagnostics/issue.js';
import type { CallformPolicy } from '../../src/generated/policy.js';
import { tempTree } from '../support/temp.js';

const project = (files: Record<string, string>) => tempTree(files, 'callform-policy-');
async function policyOf(yaml: string): Promise<Policy> {
  const dir = await project({ 'policies/p.yaml': yaml });
  return (await loadPolicy({ baseDir: dir, settingsFile: null, patterns: ['policies/*.yaml'] }))!;
}
async function policyProblems(
  files: Record<string, string>,
  options: { inline?: CallformPolicy; patterns?: string[] } = {},
): Promise<string[]> {
  const dir = await project(files);
  try {
    await loadPolicy({
      baseDir: dir,
      settingsFile: path.join(dir, 'callform.config.yaml'),
      inline: options.inline,
      patterns: options.patterns ?? ['policies/*.yaml'],
    });
  } catch (err) {
    if (err instanceof ValidationError) return err.issues.map((i) => formatIssue(i).split('\n')[0]);
    throw err;
  }
  throw new Error('expected a ValidationError');
}

function task(
  id: string,
  tcs: PolicySubject['taskCreateSetting'] = {},
  ff: PolicySubject['funcFlag'] = {},
  sceneID = 'scene-1',
): PolicySubject {
  return { userTaskID: id, sceneID, taskCreateSetting: tcs, funcFlag: ff, source: `tasks/${id}.yaml:2` };
}
const findings = (policy: Policy, tasks: PolicySubject[]) =>
  evaluatePolicy(policy, tasks).violations.map((v) => `${v.userTaskID} [${v.rule}] ${v.finding}`);
const rule = (body: string, name = 'r1', severity = 'error') =>
  `rules:\n  - name: ${name}\n    severity: ${severity}\n    message: because\n${body.replace(/^/gm, '    ')}\n`;
const WINDOW = { zoneSecond: 28800, dialAtWeekDay: '1,2,3,4,5', dialAtUpHour: '9,10,11', dialAtDownHour: '9,10,11' };

describe('policy rule kinds', () => {
  it('maxCall: range, undeclared passes unless required', async () => {
    const p = await policyOf(rule('kind: maxCall\nmin: 2\nmax: 50'));
    expect(
      findings(p, [
        task('ok', { maxCall: 50 }),
        task('high', { maxCall: 51 }),
        task('low', { maxCall: 1 }),
        task('unset'),
      ]),
    ).toEqual(['high [r1] maxCall is 51, above the maximum 50', 'low [r1] maxCall is 1, below the minimum 2']);
    const required = await policyOf(rule('kind: maxCall\nmax: 50\nrequired: true'));
    expect(findings(required, [task('unset')])).toEqual(['unset [r1] maxCall is not declared']);
  });

  it("dialingHours: in the task's local time by default", async () => {
    const p = await policyOf(rule('kind: dialingHours\nbetween: "08:00-21:00"'));
    expect(
      findings(p, [
        task('inside', { ...WINDOW, dialAtUpHour: '8,20', dialAtDownHour: '8,20' }),
        task('late', { ...WINDOW, dialAtUpHour: '9,21', dialAtDownHour: '9,20' }),
        task('early', { ...WINDOW, dialAtWeekDay: '6', dialAtUpHour: '7,9', dialAtDownHour: '7' }),
      ]),
    ).toEqual([
      "late [r1] dials outside 08:00–21:00 in the task's local time: Mon–Fri 21:00–21:30 (GMT+8)",
      "early [r1] dials outside 08:00–21:00 in the task's local time: Sat 07:00–08:00 (GMT+8)",
    ]);
  });

  it("dialingHours: a task without zoneSecond or with a partial window cannot be checked, which violates at the rule's severity", async () => {
    const p = await policyOf(rule('kind: dialingHours\nbetween: "08:00-21:00"', 'hours', 'warn'));
    const result = evaluatePolicy(p, [
      task('no-zone', { ...WINDOW, zoneSecond: undefined }),
      task('partial', { zoneSecond: 0, dialAtWeekDay: '1' }),
      task('none'),
    ]);
    expect(result.violations.map((v) => [v.userTaskID, v.severity, v.path, v.finding])).toEqual([
      [
        'no-zone',
        'warn',
        'taskCreateSetting.zoneSecond',
        'cannot be checked: the task does not declare zoneSecond, so its local time is not known',
      ],
      [
        'partial',
        'warn',
        'taskCreateSetting.dialAtUpHour',
        'cannot be checked: dialAtUpHour and dialAtDownHour are not declared, so the window is not known',
      ],
    ]);
    expect(blockingViolations(result)).toEqual([]);
  });

  it("dialingHours: in the rule's own zone and days, moved by quarter hours", async () => {
    // 08:00-21:00 Mon-Sat in GMT+8. A GMT+5:45 task dialing 06:00-07:00 dials 08:15-09:15 GMT+8: fine;
    // 05:30-06:00 is 07:45-08:15 GMT+8: partly too early. A GMT-8 task's Friday 07:00 is Saturday 23:00 GMT+8.
    const p = await policyOf(rule('kind: dialingHours\nbetween: "08:00-21:00"\ndays: Mon-Sat\nzoneSecond: 28800'));
    expect(
      findings(p, [
        task('nepal-ok', { zoneSecond: 20700, dialAtWeekDay: '1', dialAtUpHour: '6', dialAtDownHour: '6' }),
        task('nepal-early', { zoneSecond: 20700, dialAtWeekDay: '1', dialAtUpHour: '6', dialAtDownHour: '5,6' }),
        task('pacific-fri', { zoneSecond: -28800, dialAtWeekDay: '5', dialAtUpHour: '7', dialAtDownHour: '16' }),
        task('pacific-sat', { zoneSecond: -28800, dialAtWeekDay: '6', dialAtUpHour: '7', dialAtDownHour: '16' }),
      ]),
    ).toEqual([
      'nepal-early [r1] dials outside Mon–Sat 08:00–21:00 GMT+8: Mon 05:30–06:00 (GMT+5:45)',
      // Fri 07:00 GMT-8 is Fri 23:00 GMT+8 (too late); Fri 16:30 is Sat 08:30 (fine).
      'pacific-fri [r1] dials outside Mon–Sat 08:00–21:00 GMT+8: Fri 07:00–07:30 (GMT-8)',
      // Sat 16:30 GMT-8 is Sunday 08:30 GMT+8: not an allowed day.
      'pacific-sat [r1] dials outside Mon–Sat 08:00–21:00 GMT+8: Sat 07:00–07:30, 16:30–17:00 (GMT-8)',
    ]);
  });

  it('requiredFuncFlags: each flag declared with the value', async () => {
    const p = await policyOf(rule('kind: requiredFuncFlags\nfuncFlag: { phoneEncrypt: true, wholeTTS: true }'));
    expect(
      findings(p, [
        task('ok', {}, { phoneEncrypt: true, wholeTTS: true }),
        task('off', {}, { phoneEncrypt: false, wholeTTS: true }),
        task('unset'),
      ]),
    ).toEqual([
      'off [r1] phoneEncrypt is false (must be true)',
      'unset [r1] phoneEncrypt is not declared (must be true); wholeTTS is not declared (must be true)',
    ]);
  });

  it('allowedValues: values or globs for routeID, sceneID, strategyName', async () => {
    const p = await policyOf(
      [
        rule('kind: allowedValues\nfield: routeID\nvalues: ["route-cn-*", route-special]', 'routes'),
        rule('kind: allowedValues\nfield: sceneID\nvalues: ["scene-?"]', 'scenes').replace('rules:\n', ''),
        rule('kind: allowedValues\nfield: strategyName\nvalues: [""]\nrequired: true', 'strategy').replace(
          'rules:\n',
          '',
        ),
      ].join(''),
    );
    const v = findings(p, [
      task('a', { routeID: 'route-cn-01', strategyName: '' }),
      task('b', { routeID: 'route-us-01', strategyName: 'x' }, {}, 'scene-12'),
      task('c', { routeID: 'route-special' }),
    ]);
    expect(v).toEqual([
      'b [routes] routeID "route-us-01" is not one of route-cn-*, route-special',
      'b [scenes] sceneID "scene-12" is not one of scene-?',
      'b [strategy] strategyName "x" is not one of ',
      'c [strategy] strategyName is not declared',
    ]);
  });

  it('callbackUrl: https and an allowed host, credentials never shown', async () => {
    const p = await policyOf(rule('kind: callbackUrl\nhosts: [hooks.example.com, "*.ops.example.com"]'));
    expect(
      findings(p, [
        task('ok', { taskCallbackUrl: 'https://HOOKS.example.com/cb' }),
        task('sub', { taskCallbackUrl: 'https://a.b.ops.example.com/cb' }),
        task('http', { taskCallbackUrl: 'http://user:s3cret@hooks.example.com/cb' }),
        task('evil', { taskCallbackUrl: 'https://evil.example.net/cb' }),
      ]),
    ).toEqual([
      'http [r1] taskCallbackUrl uses http, not https',
      'evil [r1] taskCallbackUrl host evil.example.net is not one of hooks.example.com, *.ops.example.com',
    ]);
  });

  it('forbiddenStartupTypes', async () => {
    const p = await policyOf(rule('kind: forbiddenStartupTypes\nvalues: [3]'));
    expect(findings(p, [task('manual', { startupType: 1 }), task('now', { startupType: 3 })])).toEqual([
      'now [r1] startupType 3 (immediate start) is not allowed',
    ]);
  });

  it('jsonSchema: a custom fragment against the merged settings', async () => {
    const p = await policyOf(
      rule(`kind: jsonSchema
schema:
  required: [taskCreateSetting]
  properties:
    taskCreateSetting:
      required: [routeID]
      properties:
        maxRingTime: { maximum: 40 }`),
    );
    expect(findings(p, [task('ok', { routeID: 'r', maxRingTime: 40 }), task('bad', { maxRingTime: 60 })])).toEqual([
      "bad [r1] taskCreateSetting must have required property 'routeID'; taskCreateSetting.maxRingTime must be <= 40",
    ]);
    expect(evaluatePolicy(p, [task('bad', { maxRingTime: 60 })]).violations[0].path).toBe('taskCreateSetting');
  });
});

describe('policy scope, exemptions and severity', () => {
  it('exempts tasks by glob only with a reason, and records the exemption with it', async () => {
    const p = await policyOf(
      rule(`kind: maxCall
max: 10
exempt:
  - tasks: ["big-*", special]
    reason: "  approved by ops (CHG-1) until 2027-01  "`),
    );
    const result = evaluatePolicy(p, [
      task('big-1', { maxCall: 50 }),
      task('special', { maxCall: 5 }),
      task('small', { maxCall: 11 }),
    ]);
    expect(result.violations.map((v) => v.userTaskID)).toEqual(['small']);
    // Only exemptions that kept a task from failing are reported (special passes anyway).
    expect(result.exemptions).toEqual([
      {
        rule: 'r1',
        userTaskID: 'big-1',
        patterns: ['big-*', 'special'],
        reason: 'approved by ops (CHG-1) until 2027-01',
      },
    ]);
  });

  it('an exemption without a reason is a policy error, located', async () => {
    expect(
      await policyProblems({ 'policies/p.yaml': rule('kind: maxCall\nmax: 10\nexempt:\n  - tasks: big-*') }),
    ).toEqual(['policies/p.yaml:8:9: rules[0].exempt[0]: missing required field "reason"']);
    expect(
      await policyProblems({
        'policies/p.yaml': rule('kind: maxCall\nmax: 10\nexempt:\n  - { tasks: big-*, reason: "  " }'),
      }),
    ).toEqual(['policies/p.yaml:8:33: rules[0].exempt[0].reason: "  " has the wrong format']);
  });

  it("checks only the tasks in a rule's scope", async () => {
    const p = await policyOf(rule('kind: requiredFuncFlags\ntasks: "payment-*"\nfuncFlag: { phoneEncrypt: true }'));
    expect(findings(p, [task('payment-1'), task('survey-1')])).toEqual([
      'payment-1 [r1] phoneEncrypt is not declared (must be true)',
    ]);
  });

  it('severity: only error-level violations block', async () => {
    const p = await policyOf(
      rule('kind: maxCall\nmax: 10', 'hard', 'error') +
        rule('kind: maxCall\nmax: 5', 'soft', 'warn').replace('rules:\n', ''),
    );
    const result = evaluatePolicy(p, [task('t', { maxCall: 7 }), task('u', { maxCall: 20 })]);
    expect(result.violations.map((v) => `${v.userTaskID} ${v.rule} ${v.severity}`)).toEqual([
      't soft warn',
      'u hard error',
      'u soft warn',
    ]);
    expect(blockingViolations(result).map((v) => v.userTaskID)).toEqual(['u']);
    expect(result.violations[1]).toEqual({
      rule: 'hard',
      kind: 'maxCall',
      severity: 'error',
      userTaskID: 'u',
      source: 'tasks/u.yaml:2',
      path: 'taskCreateSetting.maxCall',
      finding: 'maxCall is 20, above the maximum 10',
      message: 'because',
    });
  });
});

describe('loading policies', () => {
  it("reads the settings' policy section and policy files, with a digest of both", async () => {
    const inline: CallformPolicy = {
      rules: [{ name: 'cap', kind: 'maxCall', severity: 'error', message: 'm', max: 9 }],
    };
    const dir = await project({
      'callform.config.yaml': 'policy: {}\n',
      'policies/a.yaml': rule('kind: maxCall\nmax: 5', 'a'),
      'policies/b.yml': rule('kind: maxCall\nmax: 3', 'b'),
    });
    const options = {
      baseDir: dir,
      settingsFile: path.join(dir, 'callform.config.yaml'),
      inline,
      patterns: ['policies/*.{yaml,yml}'],
    };
    const policy = (await loadPolicy(options))!;
    expect(policy.sources).toEqual(['callform.config.yaml', 'policies/a.yaml', 'policies/b.yml']);
    expect(policy.rules.map((r) => r.name)).toEqual(['cap', 'a', 'b']);
    expect(policy.digest).toMatch(/^[0-9a-f]{64}$/);
    expect((await loadPolicy(options))!.digest).toBe(policy.digest);
    await writeFile(path.join(dir, 'policies/b.yml'), rule('kind: maxCall\nmax: 4', 'b'));
    expect((await loadPolicy(options))!.digest).not.toBe(policy.digest);
    expect(await loadPolicy({ ...options, inline: undefined, patterns: [] })).toBeNull();
  });

  it('reports bad rules at their node: unknown kind, duplicate names, bad times, bad schemas, empty globs', async () => {
    const out = await policyProblems({
      'policies/a.yaml': `rules:
  - { name: cap, kind: maxCall, severity: error, message: m, max: 5 }
  - { name: hours, kind: dialingHours, severity: warn, message: m, between: "08:15-21:00" }
  - { name: range, kind: maxCall, severity: warn, message: m, min: 9, max: 3 }
  - name: custom
    kind: jsonSchema
    severity: error
    message: m
    schema: { properties: { maxCall: { maximun: 3 } } }
`,
      'policies/b.yaml': `rules:
  - { name: cap, kind: maxCall, severity: error, message: m, max: 6 }
`,
      'policies/c.yaml': `rules:
  - { name: typo, kind: maxCal, severity: error, message: m }
`,
    });
    expect(out).toEqual([
      'policies/a.yaml:3:77: rule "hours": 08:15 is not on a half hour (the API dials in half-hour slots: :00 or :30)',
      'policies/a.yaml:4:68: rule "range": min 9 is above max 3',
      'policies/a.yaml:9:13: rule "custom": not a usable JSON Schema: strict mode: unknown keyword: "maximun"',
      'policies/b.yaml:2:13: rule name "cap" is already used at policies/a.yaml:2',
      'policies/c.yaml:2:25: rules[0].kind: must be one of "maxCall", "dialingHours", "requiredFuncFlags", "allowedValues", "callbackUrl", "forbiddenStartupTypes", "jsonSchema"; got "maxCal"',
    ]);
    expect(await policyProblems({}, { patterns: ['policies/*.yaml'] })).toEqual([
      'callform.config.yaml: policyFiles policies/*.yaml match no file',
    ]);
  });
});
