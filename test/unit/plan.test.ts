import { describe, it, expect } from 'vitest';
import { buildPlan, type PlanInput } from '../../src/plan/plan.js';
import { planHasChanges, unreadTasks, type TaskPlan } from '../../src/model/plan.js';
import { validatePlan } from '../../src/generated/plan-validator.js';
import type { DesiredTask, RemoteTask } from '../../src/model/task.js';
import { matching } from '../support/expect.js';

const task = (id: string, over: Partial<DesiredTask> = {}): DesiredTask => ({
  userTaskID: id,
  sceneID: 'scene-1',
  taskCreateSetting: { maxCall: 5, taskName: id },
  funcFlag: { taskKeep: true },
  lifecycle: {},
  source: 'tasks/a.yaml:1',
  ...over,
});
const remote = (id: string, taskStatus: number, sceneID = 'scene-1'): RemoteTask => ({
  userTaskID: id,
  taskID: `T-${id}`,
  sceneID,
  taskStatus,
});
/** The update a task plan must be (fails the test otherwise). */
function asUpdate(t: TaskPlan | undefined) {
  if (t?.action !== 'update') throw new Error(`expected an update, got ${t?.action}`);
  return t;
}
const applied = (t: DesiredTask) => ({
  sceneID: t.sceneID,
  taskID: `T-${t.userTaskID}`,
  taskCreateSetting: t.taskCreateSetting,
  funcFlag: t.funcFlag,
  appliedAt: '2026-01-01T00:00:00.000Z',
});

function input(over: Partial<PlanInput>): PlanInput {
  return {
    desired: [],
    state: { version: 1, lineage: '00000000-0000-4000-8000-000000000000', serial: 3, tasks: {} },
    stateExists: true,
    remote: new Map(),
    targets: null,
    filesDigest: 'a'.repeat(64),
    toolVersion: '0.0.0-test',
    now: new Date('2026-11-25T00:00:00Z'),
    ...over,
  };
}

describe('buildPlan', () => {
  it('shares the offline noop of a task whose entry holds its declared objects, the same as one planned from a copy', () => {
    const t = task('a');
    const state = (entry: ReturnType<typeof applied>) => ({ ...input({}).state, tasks: { a: entry } });
    const shared = (s: ReturnType<typeof state>) => buildPlan(input({ desired: [t], state: s, remote: null })).tasks[0];
    const first = shared(state(applied(t)));
    expect(shared(state(applied(t)))).toBe(first); // another environment's plan of the same task object
    const copied = structuredClone(applied(t));
    expect(shared(state(copied))).not.toBe(first);
    expect(shared(state(copied))).toEqual(first);
    expect(first).toMatchObject({ action: 'noop', deferred: null, remote: null });
    // Anything else about the entry is planned as before: an unconfirmed send, another scene, a status read.
    const pending = { ...applied(t), pending: { since: '2026-01-01T00:00:00.000Z' } };
    expect(shared(state(pending))).not.toBe(first);
    expect(shared(state({ ...applied(t), sceneID: 'scene-0' }))).toMatchObject({ deferred: { code: 'scene-changed' } });
    const online = buildPlan(
      input({ desired: [t], state: state(applied(t)), remote: new Map([['a', remote('a', 1)]]) }),
    );
    expect(online.tasks[0]).not.toBe(first);
    expect(online.tasks[0]).toMatchObject({ action: 'noop', remote: { taskID: 'T-a' } });
  });

  it('plans a first apply with the full declared settings and validates against plan.schema.json', () => {
    const t = task('a');
    const plan = buildPlan(input({ desired: [t], remote: new Map([['a', remote('a', 1)]]) }));
    expect(plan.tasks[0]).toMatchObject({
      action: 'update',
      payload: {
        productID: 'callbot',
        userTaskID: 'a',
        sceneID: 'scene-1',
        taskCreateSetting: t.taskCreateSetting,
        funcFlag: t.funcFlag,
      },
    });
    expect(validatePlan(plan), JSON.stringify(validatePlan.errors)).toBe(true);
    expect(plan.summary).toEqual({ update: 1, noop: 0, blocked: 0, forget: 0, error: 0, resume: 0 });
  });

  it('unchanged tasks are noop with no payload, whatever their status', () => {
    const t = task('a');
    const plan = buildPlan(
      input({
        desired: [t],
        state: { ...input({}).state, tasks: { a: applied(t) } },
        remote: new Map([['a', remote('a', 2)]]),
      }),
    );
    expect(plan.tasks[0]).toMatchObject({ action: 'noop', deferred: null });
    expect(planHasChanges(plan)).toBe(false);
  });

  it('unread tasks (--refresh changed) are judged as offline; a read task not returned is missing', () => {
    // whenMissing: error, so a task read and not found is an error (the default would create it).
    const lifecycle = { whenMissing: 'error' as const };
    const [a, b, c] = [
      task('a', { lifecycle }),
      task('b', { lifecycle }),
      task('c', { lifecycle, taskCreateSetting: { maxCall: 9, taskName: 'c' } }),
    ];
    const state = { ...input({}).state, tasks: { a: applied(a), b: applied(b), c: applied(task('c')) } };
    // a and b unchanged and not read (b is gone remotely: not detected); c changed, read, not returned.
    const plan = buildPlan(input({ desired: [a, b, c], state, remote: new Map(), unread: new Set(['a', 'b']) }));
    expect(
      plan.tasks.map((t) => [t.userTaskID, t.action, t.remote, t.action === 'forget' ? null : t.deferred?.code]),
    ).toEqual([
      ['a', 'noop', null, undefined],
      ['b', 'noop', null, undefined],
      ['c', 'update', null, 'task-missing'],
    ]);
    expect(unreadTasks(plan)).toEqual(['a', 'b']);
    expect(unreadTasks({ ...plan, offline: true })).toEqual([]);
    // Read and not found: deferred, so never counted as unread.
    const all = buildPlan(input({ desired: [a, b, c], state, remote: new Map([['a', remote('a', 1)]]) }));
    expect(unreadTasks(all)).toEqual([]);
    expect(all.summary).toMatchObject({ noop: 1, error: 2 });
    // With the default whenMissing (create), an unread task is never planned for creation.
    const [d, e] = [task('d'), task('e', { taskCreateSetting: { maxCall: 9, taskName: 'e' } })];
    const creating = buildPlan(
      input({
        desired: [d, e],
        state: { ...state, tasks: { d: applied(d), e: applied(task('e')) } },
        remote: new Map(),
        unread: new Set(['d']),
      }),
    );
    expect(creating.tasks.map((t) => [t.userTaskID, t.action])).toEqual([
      ['d', 'noop'],
      ['e', 'create'],
    ]);
  });

  it.each([2, 3, 4])(
    'a changed task in status %i is an update held back as blocked, keeping the payload it would send',
    (status) => {
      const t = task('a');
      const plan = buildPlan(input({ desired: [t], remote: new Map([['a', remote('a', status)]]) }));
      const update = asUpdate(plan.tasks[0]);
      expect(update.payload).not.toBeNull();
      expect(update.deferred).toMatchObject({ reason: 'blocked', code: 'task-status' });
      expect(update.deferred?.message).toMatch(/only not started \(1\) or paused \(5\)/);
      expect(plan.summary).toMatchObject({ update: 0, blocked: 1 });
      expect(validatePlan(plan), JSON.stringify(validatePlan.errors)).toBe(true);
    },
  );

  it.each([1, 5])('status %i may be updated', (status) => {
    const plan = buildPlan(input({ desired: [task('a')], remote: new Map([['a', remote('a', status)]]) }));
    expect(plan.tasks[0]).toMatchObject({ action: 'update', deferred: null });
  });

  it('a task missing remotely (whenMissing: error), or with another sceneID, is an error', () => {
    const kept = { ...task('a'), lifecycle: { whenMissing: 'error' as const } };
    const plan = buildPlan(input({ desired: [kept, task('b')], remote: new Map([['b', remote('b', 1, 'other')]]) }));
    const [a, b] = plan.tasks.map(asUpdate);
    expect(a.deferred).toMatchObject({
      reason: 'error',
      code: 'task-missing',
      message: matching(/not found on NXCloud/),
    });
    expect(b.deferred).toMatchObject({
      reason: 'error',
      code: 'scene-mismatch',
      message: matching(/sceneID "other"/),
    });
    expect(plan.summary).toMatchObject({ update: 0, error: 2 });
  });

  it('a sceneID changed in the file against state is an error even offline', () => {
    const t = task('a');
    const plan = buildPlan(
      input({
        desired: [{ ...t, sceneID: 'scene-2' }],
        state: { ...input({}).state, tasks: { a: applied(t) } },
        remote: null,
      }),
    );
    expect(plan.tasks[0]).toMatchObject({ action: 'noop', deferred: { reason: 'error', code: 'scene-changed' } });
    expect(planHasChanges(plan)).toBe(true);
    expect(plan.offline).toBe(true);
  });

  it('a task gone from every file is forgotten without a payload', () => {
    const t = task('gone');
    const plan = buildPlan(input({ desired: [], state: { ...input({}).state, tasks: { gone: applied(t) } } }));
    expect(plan.tasks[0]).toEqual({
      userTaskID: 'gone',
      sceneID: 'scene-1',
      action: 'forget',
      remote: null,
      before: { taskCreateSetting: t.taskCreateSetting, funcFlag: t.funcFlag },
      after: null,
      warnings: [],
    });
  });

  it('only-removed fields update the state without a call', () => {
    const t = task('a');
    const desired = { ...t, taskCreateSetting: { maxCall: 5 } };
    const plan = buildPlan(
      input({
        desired: [desired],
        state: { ...input({}).state, tasks: { a: applied(t) } },
        remote: new Map([['a', remote('a', 1)]]),
      }),
    );
    expect(plan.tasks[0]).toMatchObject({
      action: 'update',
      payload: null,
      changes: [{ path: 'taskCreateSetting.taskName', kind: 'unmanage' }],
    });
  });

  it('warns about the delayed effect of phoneEncrypt and SMS changes', () => {
    const plan = buildPlan(
      input({ desired: [task('a', { funcFlag: { phoneEncrypt: true } })], remote: new Map([['a', remote('a', 1)]]) }),
    );
    expect(plan.tasks[0].warnings.join()).toMatch(/5 minutes/);
  });

  it('targets select tasks by glob, including forgets', () => {
    const t = task('keep-1');
    const plan = buildPlan(
      input({
        desired: [task('keep-1'), task('other')],
        state: { ...input({}).state, tasks: { 'keep-2': applied(t) } },
        remote: new Map([
          ['keep-1', remote('keep-1', 1)],
          ['other', remote('other', 1)],
        ]),
        targets: ['keep-*'],
      }),
    );
    expect(plan.tasks.map((x) => `${x.userTaskID}:${x.action}`)).toEqual(['keep-1:update', 'keep-2:forget']);
  });

  it('fields sent without confirmation are planned again; with nothing left to send, the mark is cleared', () => {
    const t = task('a');
    const pending = { since: '2026-11-25T00:00:00.000Z', taskCreateSetting: { maxCall: 99 } };
    const withPending = { ...input({}).state, tasks: { a: { ...applied(t), pending } } };
    const plan = buildPlan(input({ desired: [t], state: withPending, remote: new Map([['a', remote('a', 1)]]) }));
    expect(plan.tasks[0]).toMatchObject({
      action: 'update',
      payload: { taskCreateSetting: { maxCall: 5 } },
      changes: [{ path: 'taskCreateSetting.maxCall', kind: 'add' }],
    });
    expect(plan.tasks[0].warnings[0]).toMatch(/without getting a confirmation/);
    const undeclared = { ...t, taskCreateSetting: { taskName: 'a' } };
    const pendingOnly = { ...input({}).state, tasks: { a: { ...applied(undeclared), pending } } };
    const cleared = buildPlan(
      input({ desired: [undeclared], state: pendingOnly, remote: new Map([['a', remote('a', 1)]]) }),
    );
    expect(cleared.tasks[0]).toMatchObject({ action: 'update', payload: null, changes: [] });
  });
});

describe('buildPlan: live tasks, send modes, resync, owed resumes', () => {
  const withState = (tasks: Record<string, ReturnType<typeof applied>>, extra: object = {}) => ({
    ...input({}).state,
    tasks,
    ...extra,
  });

  it('a running task opted in (lifecycle or --pause-running) is paused, updated and resumed; others stay blocked', () => {
    const opted = task('a', { lifecycle: { whenRunning: 'pause' } });
    const plain = task('b');
    const remote = new Map([
      ['a', remote2('a')],
      ['b', remote2('b')],
    ]);
    const plan = buildPlan(input({ desired: [opted, plain], remote }));
    expect(plan.tasks[0]).toMatchObject({ action: 'pause-update-resume', pauseResume: true, deferred: null });
    expect(plan.tasks[1]).toMatchObject({ action: 'update', deferred: { reason: 'blocked', code: 'task-status' } });
    expect(plan.summary).toMatchObject({ update: 1, blocked: 1 });
    expect(validatePlan(plan), JSON.stringify(validatePlan.errors)).toBe(true);
    const flag = buildPlan(input({ desired: [plain], remote, pauseRunning: true }));
    expect(flag.tasks[0].action).toBe('pause-update-resume');
  });

  it.each([3, 4])('a finished task (status %i) stays blocked even when opted in', (status) => {
    const plan = buildPlan(
      input({
        desired: [task('a', { lifecycle: { whenRunning: 'pause' } })],
        remote: new Map([['a', remote('a', status)]]),
        pauseRunning: true,
      }),
    );
    expect(plan.tasks[0]).toMatchObject({ action: 'update', deferred: { reason: 'blocked' } });
    expect(asUpdate(plan.tasks[0]).deferred?.message).toMatch(/finished task cannot be changed/);
  });

  it('an unchanged running task is not paused', () => {
    const t = task('a', { lifecycle: { whenRunning: 'pause' } });
    const plan = buildPlan(
      input({ desired: [t], state: withState({ a: applied(t) }), remote: new Map([['a', remote2('a')]]) }),
    );
    expect(plan.tasks[0]).toMatchObject({ action: 'noop', deferred: null });
  });

  it('sendMode declared sends every declared field, but only when something changed', () => {
    const t = task('a', { lifecycle: { sendMode: 'declared' } });
    const changed = { ...t, taskCreateSetting: { ...t.taskCreateSetting, maxCall: 6 } };
    const state = withState({ a: applied(t) });
    const plan = buildPlan(input({ desired: [changed], state, remote: new Map([['a', remote('a', 1)]]) }));
    const u = asUpdate(plan.tasks[0]);
    expect(u.changes.map((c) => c.path)).toEqual(['taskCreateSetting.maxCall']);
    expect(u.sentFields).toEqual(['taskCreateSetting.maxCall', 'taskCreateSetting.taskName', 'funcFlag.taskKeep']);
    expect(u.payload).toMatchObject({ taskCreateSetting: { maxCall: 6, taskName: 'a' }, funcFlag: { taskKeep: true } });
    expect(u.sendMode).toBe('declared');
    expect(buildPlan(input({ desired: [t], state, remote: new Map([['a', remote('a', 1)]]) })).tasks[0].action).toBe(
      'noop',
    );
    // the settings' sendMode applies when the task does not say
    const viaSettings = buildPlan(
      input({
        desired: [{ ...changed, lifecycle: {} }],
        state,
        remote: new Map([['a', remote('a', 1)]]),
        sendMode: 'declared',
      }),
    );
    expect(asUpdate(viaSettings.tasks[0]).sentFields).toHaveLength(3);
  });

  it('--resync sends every declared field of an unchanged task, still behind the status gate and lifecycle', () => {
    const t = task('a');
    const state = withState({ a: applied(t) });
    const plan = buildPlan(input({ desired: [t], state, remote: new Map([['a', remote('a', 5)]]), resync: true }));
    const u = asUpdate(plan.tasks[0]);
    expect(u).toMatchObject({ resync: true, changes: [], deferred: null });
    expect(u.payload).toMatchObject({ taskCreateSetting: t.taskCreateSetting, funcFlag: t.funcFlag });
    const running = buildPlan(input({ desired: [t], state, remote: new Map([['a', remote2('a')]]), resync: true }));
    expect(running.tasks[0]).toMatchObject({ action: 'update', resync: true, deferred: { reason: 'blocked' } });
    const opted = buildPlan(
      input({
        desired: [{ ...t, lifecycle: { whenRunning: 'pause' } }],
        state,
        remote: new Map([['a', remote2('a')]]),
        resync: true,
      }),
    );
    expect(opted.tasks[0]).toMatchObject({ action: 'pause-update-resume', resync: true });
  });

  it('lists the resumes the state owes, whatever the targets, and counts them as changes', () => {
    const t = task('a');
    const state = withState(
      { a: applied(t) },
      { owedResumes: { z: { since: '2026-11-25T00:00:00.000Z', phase: 'paused' } } },
    );
    const plan = buildPlan(
      input({
        desired: [t],
        state,
        remote: new Map([
          ['a', remote('a', 1)],
          ['z', remote('z', 5)],
        ]),
        targets: ['a'],
      }),
    );
    expect(plan.resumes).toEqual([
      {
        userTaskID: 'z',
        since: '2026-11-25T00:00:00.000Z',
        phase: 'paused',
        remote: { taskID: 'T-z', taskStatus: 5, sceneID: 'scene-1' },
      },
    ]);
    expect(plan.summary.resume).toBe(1);
    expect(planHasChanges(plan)).toBe(true);
    expect(validatePlan(plan), JSON.stringify(validatePlan.errors)).toBe(true);
  });
});

function remote2(id: string): RemoteTask {
  return remote(id, 2);
}
