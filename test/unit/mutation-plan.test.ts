/**
 * src/plan beyond plan.test.ts and diff.test.ts: --target globs, saved plans (read, write,
 * staleness) and the exact words and fields of a plan. Written to kill the mutants
 * `npm run mutate` found alive (docs/testing.md).
 */
import { describe, it, expect, afterAll, beforeEach } from 'vitest';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { anyGlobMatcher, targetMatcher, targetFilter } from '../../src/plan/targets.js';
import { readSavedPlan, writeSavedPlan, staleReason } from '../../src/plan/saved-plan.js';
import {
  buildPlan,
  knownSettings,
  recordedSettings,
  DELAYED_EFFECT_WARNING,
  type PlanInput,
} from '../../src/plan/plan.js';
import { diffSettings, pickSettings, payloadSettings } from '../../src/plan/diff.js';
import { CallformError } from '../../src/errors.js';
import type { CallformPlan, TaskPlan } from '../../src/model/plan.js';
import type { DesiredTask, RemoteTask } from '../../src/model/task.js';
import type { CallformState } from '../../src/generated/state.js';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});
async function tempDir(): Promise<string> {
  const d = await mkdtemp(path.join(tmpdir(), 'callform-mut-plan-'));
  dirs.push(d);
  return d;
}

describe('targets', () => {
  it('* is any run, ? one character, everything else literal, whole id only', () => {
    const m = targetMatcher('a.b+*-?');
    expect(m.test('a.b+xyz-1')).toBe(true);
    expect(m.test('a.b+-1')).toBe(true);
    expect(m.test('axb+x-1')).toBe(false);
    expect(m.test('a.b+x-12')).toBe(false);
    expect(m.test('za.b+x-1')).toBe(false);
    for (const lit of ['(a)', '[a]', 'a|b', '^a$', 'a{2}', 'a\\b', 'x.y'])
      expect(targetMatcher(lit).test(lit), lit).toBe(true);
    expect(targetMatcher('a|b').test('a')).toBe(false);
    expect(targetMatcher('x.y').test('xzy')).toBe(false);
    expect(targetMatcher('a*').test('a')).toBe(true);
    expect(targetMatcher('a?').test('a')).toBe(false);
    expect(targetMatcher('a*b*').test('aXbY')).toBe(true);
    expect(targetMatcher('a?b?').test('aXbY')).toBe(true);
  });

  it('targetFilter: null or empty selects every task; else any pattern', () => {
    expect(targetFilter(null)('x')).toBe(true);
    expect(targetFilter([])('x')).toBe(true);
    const f = targetFilter(['a-*', 'b']);
    expect(['a-1', 'b', 'bb', 'c'].map(f)).toEqual([true, true, false, false]);
  });

  it('anyGlobMatcher: one expression that matches what one of the globs matches, whole ID, nothing when none', () => {
    const globs = ['a.b+*', 'x|y', '?-(1)'];
    const m = anyGlobMatcher(globs);
    for (const id of ['a.b+', 'a.b+zz', 'x|y', 'q-(1)', 'x', 'y', 'axb+', 'a.b', 'qq-(1)', 'q-1', 'za.b+'])
      expect(m.test(id), id).toBe(globs.some((g) => targetMatcher(g).test(id)));
    expect(anyGlobMatcher(['a', 'b']).test('ab')).toBe(false); // each glob whole, not joined
    expect(anyGlobMatcher([]).test('')).toBe(false);
    expect(anyGlobMatcher([]).test('a')).toBe(false);
  });
});

const LINEAGE = '00000000-0000-4000-8000-000000000000';
const state = (over: Partial<CallformState> = {}): CallformState => ({
  version: 2,
  lineage: LINEAGE,
  serial: 3,
  tasks: {},
  ...over,
});
const task = (id: string, over: Partial<DesiredTask> = {}): DesiredTask => ({
  userTaskID: id,
  sceneID: 'scene-1',
  taskCreateSetting: { maxCall: 5 },
  funcFlag: { taskKeep: true },
  lifecycle: {},
  source: `tasks/${id}.yaml:1`,
  ...over,
});
const remote = (id: string, taskStatus: number, sceneID = 'scene-1'): RemoteTask => ({
  userTaskID: id,
  taskID: `T-${id}`,
  sceneID,
  taskStatus,
});
/** By default every declared task exists remotely, not started (a missing one would be a create). */
function input(over: Partial<PlanInput>): PlanInput {
  return {
    desired: [],
    state: state(),
    stateExists: true,
    remote: new Map((over.desired ?? []).map((t) => [t.userTaskID, remote(t.userTaskID, 1)])),
    targets: null,
    filesDigest: 'a'.repeat(64),
    toolVersion: '0.0.0-test',
    now: new Date('2026-11-25T00:00:00Z'),
    ...over,
  };
}
const applied = (t: DesiredTask) => ({
  sceneID: t.sceneID,
  taskID: `T-${t.userTaskID}`,
  taskCreateSetting: t.taskCreateSetting,
  funcFlag: t.funcFlag,
  appliedAt: '2026-01-01T00:00:00.000Z',
});

describe('saved plans', () => {
  // Built inside each test, not while collecting: code run outside a test is a "static" mutant for Stryker (all tests rerun).
  let plan: CallformPlan;
  beforeEach(() => {
    plan = buildPlan(input({ desired: [task('a')], remote: new Map([['a', remote('a', 1)]]) }));
  });

  it('round-trips through a file, marked as a saved plan', async () => {
    const file = path.join(await tempDir(), 'p.json');
    await writeSavedPlan(file, plan);
    const text = await readFile(file, 'utf8');
    expect(text.endsWith('}\n')).toBe(true);
    expect(text).toContain('\n  "kind": "callform-saved-plan"');
    expect(await readSavedPlan(file)).toEqual({ ...plan, kind: 'callform-saved-plan' });
  });

  it('cannot write into a missing directory, and says so', async () => {
    const file = path.join(await tempDir(), 'no', 'p.json');
    await expect(writeSavedPlan(file, plan)).rejects.toMatchObject({
      message: `cannot write saved plan ${file}: its directory does not exist`,
      hint: 'check the --out path',
    });
  });

  it('cannot write over a directory: the system error is shown', async () => {
    const dir = await tempDir();
    const err = await writeSavedPlan(dir, plan).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CallformError);
    expect((err as CallformError).message).toMatch(new RegExp(`^cannot write saved plan ${dir}: \\S`));
    expect((err as CallformError).message).not.toContain('its directory does not exist');
  });

  it('refuses what is not a saved plan, with the reason', async () => {
    const dir = await tempDir();
    const at = (name: string) => path.join(dir, name);
    const missing = await readSavedPlan(at('missing.json')).catch((e: unknown) => e);
    expect(missing).toMatchObject({ hint: 'pass a file written by `callform plan --out FILE`' });
    expect((missing as Error).message).toMatch(/^cannot read saved plan .*missing\.json: /);

    await writeFile(at('bad.json'), '{ nope');
    await expect(readSavedPlan(at('bad.json'))).rejects.toMatchObject({
      message: `${at('bad.json')} is not a saved plan (not JSON)`,
      hint: 'create one with `callform plan --out FILE`',
    });

    await writeFile(at('plain.json'), JSON.stringify(plan));
    await expect(readSavedPlan(at('plain.json'))).rejects.toMatchObject({
      message: `${at('plain.json')} is not a valid callform saved plan (kind is not callform-saved-plan)`,
      hint: 'create one with `callform plan --out FILE`',
    });

    await writeFile(at('invalid.json'), JSON.stringify({ ...plan, kind: 'callform-saved-plan', offline: 'no' }));
    const invalid = await readSavedPlan(at('invalid.json')).catch((e: unknown) => e);
    expect((invalid as Error).message).toMatch(
      new RegExp(`^${at('invalid.json').replace(/[.]/g, '\\.')} is not a valid callform saved plan:\\n  \\S`),
    );
    // The issue names the field at its place in the plan (the root: no prefix of its own).
    expect((invalid as Error).message.split('\n')[1]).toBe(
      `  ${at('invalid.json')}: offline: must be boolean, got string "no"`,
    );

    await writeFile(at('null.json'), 'null');
    await expect(readSavedPlan(at('null.json'))).rejects.toThrow(/is not a valid callform saved plan/);
  });

  it('lists at most five schema problems', async () => {
    const file = path.join(await tempDir(), 'many.json');
    const broken = {
      ...plan,
      kind: 'callform-saved-plan',
      offline: 1,
      targets: 1,
      tool_version: 1,
      files_digest: 1,
      created_at: 1,
      resumes: 1,
      summary: 1,
    };
    await writeFile(file, JSON.stringify(broken));
    const err = (await readSavedPlan(file).catch((e: unknown) => e)) as Error;
    const issueLines = err.message.split('\n').filter((l) => l.startsWith(`  ${file}: `));
    expect(issueLines).toHaveLength(5);
  });

  it('reads its own major version, older minors, refuses other majors and newer minors', async () => {
    const dir = await tempDir();
    const at = (v: string) => path.join(dir, `v${v}.json`);
    const write = (v: string) =>
      writeFile(at(v), JSON.stringify({ ...plan, kind: 'callform-saved-plan', format_version: v }));
    await write('3.0');
    await expect(readSavedPlan(at('3.0'))).rejects.toMatchObject({
      message: `${at('3.0')} has plan format 3.0; this callform reads format 2.x (it writes 2.2)`,
      hint: 'make the plan again with this callform: `callform plan --out FILE`',
    });
    await write('1.9');
    await expect(readSavedPlan(at('1.9'))).rejects.toThrow('has plan format 1.9; this callform reads format 2.x');
    await write('2.3');
    await expect(readSavedPlan(at('2.3'))).rejects.toMatchObject({
      message: `${at('2.3')} has plan format 2.3, written by a newer callform; this one reads format 2.0 to 2.2`,
      hint: 'apply it with the callform that made it, or upgrade callform',
    });
    await write('2.0');
    // 2.0 passes the version gate (then the schema decides).
    const older = (await readSavedPlan(at('2.0')).catch((e: unknown) => e)) as Error;
    expect(String(older.message)).not.toMatch(/plan format/);
  });

  it('staleReason: lineage, then serial, then files', () => {
    const s = state();
    expect(staleReason(plan, s, true, 'a'.repeat(64))).toBeNull();
    expect(staleReason(plan, s, false, 'a'.repeat(64))).toBe(
      `the state lineage changed (plan: ${LINEAGE}, now: no state): this plan was made for another state file`,
    );
    const noState = { ...plan, state: { lineage: null, serial: 3 } };
    expect(staleReason(noState, s, true, 'a'.repeat(64))).toBe(
      `the state lineage changed (plan: no state, now: ${LINEAGE}): this plan was made for another state file`,
    );
    expect(staleReason(noState, s, false, 'a'.repeat(64))).toBeNull();
    expect(staleReason(plan, state({ serial: 4 }), true, 'b'.repeat(64))).toBe(
      'the state changed since the plan was made (serial 3 → 4): another apply ran in between',
    );
    expect(staleReason(plan, s, true, 'b'.repeat(64))).toBe('the task files changed since the plan was made');
  });
});

describe('diff: pickSettings and unusual edits', () => {
  it('pickSettings: null when no path, the values at the paths otherwise', () => {
    const after = { taskCreateSetting: { maxCall: 5, taskName: 'x' }, funcFlag: { taskKeep: true } };
    expect(pickSettings(after, [])).toBeNull();
    expect(pickSettings(after, ['funcFlag.taskKeep'])).toEqual({ funcFlag: { taskKeep: true } });
  });

  it('a grown array outside a whole-value path replaces the array value', () => {
    const before = { taskCreateSetting: { list: [1, 2] }, funcFlag: {} } as never;
    const after = { taskCreateSetting: { list: [1, 2, 3] }, funcFlag: {} } as never;
    const changes = diffSettings(before, after);
    expect(changes).toEqual([{ path: 'taskCreateSetting.list', kind: 'change', before: [1, 2], after: [1, 2, 3] }]);
    expect(payloadSettings(changes, after)).toEqual({ taskCreateSetting: { list: [1, 2, 3] } });
  });

  it('an added whole value is an add; changes come sorted by path', () => {
    const before = { taskCreateSetting: { b: 1 }, funcFlag: {} } as never;
    const after = { taskCreateSetting: { a: 2, b: 1, c: 3 }, funcFlag: { smsFuncFlag: [{ smsID: 's' }] } } as never;
    expect(diffSettings(before, after)).toEqual([
      { path: 'funcFlag.smsFuncFlag', kind: 'add', before: undefined, after: [{ smsID: 's' }] },
      { path: 'taskCreateSetting.a', kind: 'add', after: 2 },
      { path: 'taskCreateSetting.c', kind: 'add', after: 3 },
    ]);
  });

  it('changes come sorted by path even when the diff lists them otherwise', () => {
    const before = { taskCreateSetting: { b: 1 }, funcFlag: {} } as never;
    const after = { taskCreateSetting: { a: 2, b: 3 }, funcFlag: {} } as never;
    expect(diffSettings(before, after).map((c) => c.path)).toEqual(['taskCreateSetting.a', 'taskCreateSetting.b']);
  });

  it('a removed nested object unmanages each of its leaves', () => {
    const before = { taskCreateSetting: { m: { a: 1, b: 2 } }, funcFlag: {} } as never;
    const after = { taskCreateSetting: {}, funcFlag: {} } as never;
    expect(diffSettings(before, after)).toEqual([
      { path: 'taskCreateSetting.m.a', kind: 'unmanage', before: 1 },
      { path: 'taskCreateSetting.m.b', kind: 'unmanage', before: 2 },
    ]);
  });
});

const only = (plan: CallformPlan): TaskPlan => {
  expect(plan.tasks).toHaveLength(1);
  return plan.tasks[0];
};

describe('buildPlan: exact fields and words', () => {
  it('a task named like an Object.prototype member has no state entry unless the state records one', () => {
    const named = ['constructor', 'toString', 'hasOwnProperty', '__proto__'].map((id) => task(id));
    const plan = buildPlan(input({ desired: named, remote: null }));
    expect(plan.tasks.map((t) => [t.userTaskID, t.action, t.before])).toEqual(
      ['__proto__', 'constructor', 'hasOwnProperty', 'toString'].map((id) => [id, 'update', null]),
    );
    const recorded = state({
      tasks: JSON.parse(JSON.stringify({ constructor: applied(task('constructor')) })) as CallformState['tasks'],
    });
    const again = buildPlan(input({ desired: [task('constructor')], state: recorded, remote: null }));
    expect(again.tasks.map((t) => t.action)).toEqual(['noop']);
  });

  it('the plan header', () => {
    const plan = buildPlan(input({ stateExists: false, targets: ['a*'], remote: null }));
    expect(plan).toEqual({
      format_version: '2.2',
      kind: 'callform-plan',
      tool_version: '0.0.0-test',
      created_at: '2026-11-25T00:00:00.000Z',
      offline: true,
      state: { lineage: null, serial: 3 },
      files_digest: 'a'.repeat(64),
      targets: ['a*'],
      summary: { update: 0, noop: 0, blocked: 0, forget: 0, error: 0, resume: 0 },
      resumes: [],
      tasks: [],
    });
    expect(buildPlan(input({})).state.lineage).toBe(LINEAGE);
    expect(buildPlan(input({})).offline).toBe(false);
  });

  it('a change that sends nothing (a field no longer managed) is not blocked by a running task', () => {
    const before = task('a', { taskCreateSetting: { maxCall: 5, taskName: 'x' } });
    const now = task('a', { taskCreateSetting: { maxCall: 5 } });
    const t = only(
      buildPlan(
        input({
          desired: [now],
          state: state({ tasks: { a: applied(before) } }),
          remote: new Map([['a', remote('a', 2)]]),
        }),
      ),
    );
    expect(t).toMatchObject({ action: 'update', payload: null, deferred: null });
  });

  it('a noop task, exactly', () => {
    const t = task('a');
    const plan = buildPlan(
      input({ desired: [t], state: state({ tasks: { a: applied(t) } }), remote: new Map([['a', remote('a', 2)]]) }),
    );
    expect(only(plan)).toEqual({
      userTaskID: 'a',
      sceneID: 'scene-1',
      source: 'tasks/a.yaml:1',
      remote: { taskID: 'T-a', taskStatus: 2, sceneID: 'scene-1' },
      action: 'noop',
      before: { taskCreateSetting: { maxCall: 5 }, funcFlag: { taskKeep: true } },
      after: { taskCreateSetting: { maxCall: 5 }, funcFlag: { taskKeep: true } },
      deferred: null,
      warnings: [],
    });
  });

  it('an update task, exactly', () => {
    const t = task('a', { taskCreateSetting: { maxCall: 6 } });
    const plan = buildPlan(
      input({
        desired: [t],
        state: state({ tasks: { a: applied(task('a')) } }),
        remote: new Map([['a', remote('a', 1)]]),
      }),
    );
    expect(only(plan)).toEqual({
      userTaskID: 'a',
      sceneID: 'scene-1',
      source: 'tasks/a.yaml:1',
      remote: { taskID: 'T-a', taskStatus: 1, sceneID: 'scene-1' },
      action: 'update',
      before: { taskCreateSetting: { maxCall: 5 }, funcFlag: { taskKeep: true } },
      after: { taskCreateSetting: { maxCall: 6 }, funcFlag: { taskKeep: true } },
      changes: [{ path: 'taskCreateSetting.maxCall', kind: 'change', before: 5, after: 6 }],
      resync: false,
      sendMode: 'changed',
      sentFields: ['taskCreateSetting.maxCall'],
      payload: { productID: 'callbot', userTaskID: 'a', sceneID: 'scene-1', taskCreateSetting: { maxCall: 6 } },
      deferred: null,
      warnings: [],
    });
  });

  it('the words of each deferral', () => {
    const t = task('a', { taskCreateSetting: { maxCall: 6 } });
    const rec = { a: applied(task('a')) };
    const deferred = (over: Partial<PlanInput>) => {
      const p = only(buildPlan(input({ desired: [t], state: state({ tasks: rec }), ...over })));
      return p.action === 'forget' ? null : p.deferred;
    };
    expect(deferred({ remote: new Map([['a', remote('a', 2)]]) })).toEqual({
      reason: 'blocked',
      code: 'task-status',
      message:
        'task is 2 (running): only not started (1) or paused (5) tasks can be updated; pause it (mgrTaskStatus taskOperate 2) and re-run, or let callform do it: lifecycle.whenRunning: pause in the task file, or --pause-running',
    });
    expect(deferred({ remote: new Map([['a', remote('a', 3)]]) })).toEqual({
      reason: 'blocked',
      code: 'task-status',
      message:
        'task is 3 (completed): only not started (1) or paused (5) tasks can be updated; a finished task cannot be changed',
    });
    expect(deferred({ remote: new Map([['a', remote('a', 5)]]) })).toBeNull();
    const missing = (lifecycle: DesiredTask['lifecycle']) =>
      only(buildPlan(input({ desired: [{ ...t, lifecycle }], state: state({ tasks: rec }), remote: new Map() })));
    expect(missing({ whenMissing: 'error' })).toMatchObject({
      action: 'update',
      deferred: {
        reason: 'error',
        code: 'task-missing',
        message:
          'task not found on NXCloud, and its lifecycle.whenMissing is error: create it elsewhere first, fix the userTaskID, or set whenMissing: create',
      },
    });
    expect(missing({})).toMatchObject({ action: 'create', deferred: null });
    expect(missing({ whenMissing: 'create' })).toMatchObject({ action: 'create', deferred: null });
    expect(deferred({ remote: new Map([['a', remote('a', 1, 'scene-2')]]) })).toEqual({
      reason: 'error',
      code: 'scene-mismatch',
      message:
        'remote task has sceneID "scene-2" but the file says "scene-1"; fix the file (updateTask cannot change it)',
    });
    expect(deferred({ remote: null })).toBeNull();
    const moved = only(
      buildPlan(input({ desired: [task('a', { sceneID: 'scene-9' })], state: state({ tasks: rec }), remote: null })),
    );
    expect(moved.action !== 'forget' && moved.deferred).toEqual({
      reason: 'error',
      code: 'scene-changed',
      message:
        'sceneID changed from "scene-1" to "scene-9": updateTask cannot change a task\'s dialogue template; give the new template a new task (new userTaskID)',
    });
  });

  it('a running task with nothing to send is not blocked; a noop keeps its remote checks', () => {
    const t = task('a');
    const unchanged = only(
      buildPlan(
        input({ desired: [t], state: state({ tasks: { a: applied(t) } }), remote: new Map([['a', remote('a', 2)]]) }),
      ),
    );
    expect(unchanged.action !== 'forget' && unchanged.deferred).toBeNull();
    const kept = { ...t, lifecycle: { whenMissing: 'error' as const } };
    const gone = only(
      buildPlan(input({ desired: [kept], state: state({ tasks: { a: applied(t) } }), remote: new Map() })),
    );
    expect(gone.action).toBe('noop');
    expect(gone.action !== 'forget' && gone.deferred?.code).toBe('task-missing');
  });

  it('pauses only a running task with a payload, opted in by lifecycle or --pause-running', () => {
    const t = (whenRunning?: 'pause' | 'block') =>
      task('a', { taskCreateSetting: { maxCall: 6 }, lifecycle: whenRunning ? { whenRunning } : {} });
    const rec = { a: applied(task('a')) };
    const action = (over: Partial<PlanInput>, d = t()) =>
      only(buildPlan(input({ desired: [d], state: state({ tasks: rec }), ...over }))).action;
    const running = new Map([['a', remote('a', 2)]]);
    expect(action({ remote: running }, t('pause'))).toBe('pause-update-resume');
    expect(action({ remote: running, pauseRunning: true })).toBe('pause-update-resume');
    expect(action({ remote: running, pauseRunning: false })).toBe('update');
    expect(action({ remote: running }, t('block'))).toBe('update');
    expect(action({ remote: new Map([['a', remote('a', 5)]]) }, t('pause'))).toBe('update');
    const p = only(buildPlan(input({ desired: [t('pause')], state: state({ tasks: rec }), remote: running })));
    expect(p).toMatchObject({ action: 'pause-update-resume', pauseResume: true, deferred: null });
  });

  it('the sendMode of a task wins over the settings file; declared sends every declared field', () => {
    const rec = { a: applied(task('a', { taskCreateSetting: { maxCall: 5, taskName: 'n' } })) };
    const plan = (lifecycle: DesiredTask['lifecycle'], sendMode?: 'changed' | 'declared') =>
      only(
        buildPlan(
          input({
            desired: [task('a', { taskCreateSetting: { maxCall: 6, taskName: 'n' }, lifecycle })],
            state: state({ tasks: rec }),
            sendMode,
          }),
        ),
      );
    const fields = (p: TaskPlan) => (p.action === 'update' ? [p.sendMode, p.sentFields] : p.action);
    expect(fields(plan({}))).toEqual(['changed', ['taskCreateSetting.maxCall']]);
    expect(fields(plan({}, 'declared'))).toEqual([
      'declared',
      ['taskCreateSetting.maxCall', 'taskCreateSetting.taskName', 'funcFlag.taskKeep'],
    ]);
    expect(fields(plan({ sendMode: 'changed' }, 'declared'))).toEqual(['changed', ['taskCreateSetting.maxCall']]);
    expect(fields(plan({ sendMode: 'declared' }, 'changed'))[0]).toBe('declared');
  });

  it('declared mode does not make a call for an unmanaged-only change', () => {
    const rec = { a: applied(task('a', { taskCreateSetting: { maxCall: 5, taskName: 'n' } })) };
    const p = only(buildPlan(input({ desired: [task('a')], state: state({ tasks: rec }), sendMode: 'declared' })));
    expect(p).toMatchObject({ action: 'update', payload: null, sentFields: [] });
  });

  it('warnings: the pending send, and the delayed effect of each SMS or encryption flag', () => {
    const warn = (funcFlag: DesiredTask['funcFlag']) => {
      const p = only(buildPlan(input({ desired: [task('a', { funcFlag })], remote: null })));
      return p.warnings;
    };
    expect(warn({ taskKeep: true })).toEqual([]);
    expect(warn({ phoneEncrypt: true })).toEqual([DELAYED_EFFECT_WARNING]);
    expect(warn({ smsEnable: true })).toEqual([DELAYED_EFFECT_WARNING]);
    expect(warn({ smsFuncFlag: [] })).toEqual([DELAYED_EFFECT_WARNING]);
    expect(DELAYED_EFFECT_WARNING).toBe(
      'the server applies phoneEncrypt and SMS changes after about 5 minutes, and not to numbers already completed or imported',
    );
    const t = task('a');
    const pending = only(
      buildPlan(
        input({
          desired: [t],
          remote: null,
          state: state({
            tasks: {
              a: { ...applied(t), pending: { since: '2026-11-24T00:00:00.000Z', taskCreateSetting: { maxCall: 5 } } },
            },
          }),
        }),
      ),
    );
    expect(pending.warnings).toEqual([
      'an earlier apply (2026-11-24T00:00:00.000Z) sent some of these settings without getting a confirmation; they are sent again so the server surely matches the files',
    ]);
  });

  it('knownSettings and recordedSettings', () => {
    const entry = {
      ...applied(task('a', { taskCreateSetting: { maxCall: 5, taskName: 'n' } })),
      pending: { since: 's', taskCreateSetting: { maxCall: 5 } },
    };
    expect(knownSettings(undefined)).toBeNull();
    expect(recordedSettings(entry)).toEqual({
      taskCreateSetting: { maxCall: 5, taskName: 'n' },
      funcFlag: { taskKeep: true },
    });
    expect(knownSettings(entry)).toEqual({ taskCreateSetting: { taskName: 'n' }, funcFlag: { taskKeep: true } });
    const { pending: _p, ...plain } = entry;
    expect(knownSettings(plain)).toEqual(recordedSettings(plain));
  });

  it('forgets, exactly, sorted with the rest; targets and own keys only', () => {
    const rec = { b: applied(task('b')), z: applied(task('z')), c: applied(task('c')) };
    const plan = buildPlan(
      input({ desired: [task('d'), task('a')], state: state({ tasks: rec }), targets: ['a', 'b', 'd'], remote: null }),
    );
    expect(plan.tasks.map((t) => `${t.userTaskID}:${t.action}`)).toEqual(['a:update', 'b:forget', 'd:update']);
    expect(plan.tasks[1]).toEqual({
      userTaskID: 'b',
      sceneID: 'scene-1',
      action: 'forget',
      remote: null,
      before: { taskCreateSetting: { maxCall: 5 }, funcFlag: { taskKeep: true } },
      after: null,
      warnings: [],
    });
    const inherited = Object.create({ ghost: applied(task('ghost')) }) as Record<string, never>;
    expect(buildPlan(input({ state: state({ tasks: inherited }) })).tasks).toEqual([]);
  });

  it('owed resumes, sorted, with the remote view', () => {
    const plan = buildPlan(
      input({
        state: state({ owedResumes: { b: { since: 's1', phase: 'paused' }, a: { since: 's2', phase: 'pausing' } } }),
        remote: new Map([['a', remote('a', 5)]]),
      }),
    );
    expect(plan.resumes).toEqual([
      { userTaskID: 'a', since: 's2', phase: 'pausing', remote: { taskID: 'T-a', taskStatus: 5, sceneID: 'scene-1' } },
      { userTaskID: 'b', since: 's1', phase: 'paused', remote: null },
    ]);
    expect(plan.summary.resume).toBe(2);
  });
});
