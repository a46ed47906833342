/**
 * Creating tasks (issue 19), unit by unit: the create plan and its renderings, whenMissing,
 * offline plans, the "created, settings not yet sent" update, and apply's two calls with
 * every outcome of createTask (confirmed, refused, unanswered; lookup found with the same
 * or another sceneID, not found, failing) against a scripted client.
 */
import { describe, it, expect } from 'vitest';
import { buildPlan, type PlanInput } from '../../src/plan/plan.js';
import { applyPlan, type ApplyClient } from '../../src/apply/apply.js';
import { StateWriter } from '../../src/state/writer.js';
import { ApiError } from '../../src/api/errors.js';
import { NetworkError } from '../../src/api/client.js';
import { reviewPlan } from '../../src/review/index.js';
import { renderPlanText } from '../../src/render/text.js';
import { renderPlanMarkdown } from '../../src/render/markdown.js';
import { renderPlanJson } from '../../src/render/json.js';
import { validatePlan } from '../../src/generated/plan-validator.js';
import { validateState } from '../../src/generated/validators.js';
import type { CallformPlan, TaskPlan } from '../../src/model/plan.js';
import type { CallformState, TaskState } from '../../src/generated/state.js';
import type { DesiredTask, RemoteTask } from '../../src/model/task.js';
import { parseJson } from '../support/json.js';

const LINEAGE = '00000000-0000-4000-8000-000000000000';
const task = (id: string, over: Partial<DesiredTask> = {}): DesiredTask => ({
  userTaskID: id,
  sceneID: 'scene-1',
  taskCreateSetting: { maxCall: 5, taskName: 'New' },
  funcFlag: { taskKeep: true },
  lifecycle: {},
  source: `tasks/${id}.yaml:3`,
  ...over,
});
const remote = (id: string, sceneID = 'scene-1'): RemoteTask => ({
  userTaskID: id,
  taskID: `T-${id}`,
  sceneID,
  taskStatus: 1,
});
const emptyState = (tasks: CallformState['tasks'] = {}): CallformState => ({
  version: 2,
  lineage: LINEAGE,
  serial: 1,
  tasks,
});
const input = (over: Partial<PlanInput>): PlanInput => ({
  desired: [],
  state: emptyState(),
  stateExists: true,
  remote: new Map(),
  targets: null,
  filesDigest: 'a'.repeat(64),
  toolVersion: 'test',
  now: new Date('2026-12-01T00:00:00Z'),
  ...over,
});
const plan = (over: Partial<PlanInput>): CallformPlan => reviewPlan(buildPlan(input(over)), null);
const only = (p: CallformPlan): TaskPlan => {
  expect(p.tasks).toHaveLength(1);
  return p.tasks[0];
};
const creatingEntry = (phase: 'requested' | 'created', sceneID = 'scene-1'): TaskState => ({
  sceneID,
  taskCreateSetting: {},
  funcFlag: {},
  appliedAt: '2026-11-30T00:00:00.000Z',
  creating: { since: '2026-11-30T00:00:00.000Z', phase },
});

describe('plan: a declared task missing remotely', () => {
  it('is planned as create: createTask with the required fields, then every declared field', () => {
    const p = plan({ desired: [task('a')] });
    expect(only(p)).toEqual({
      userTaskID: 'a',
      sceneID: 'scene-1',
      source: 'tasks/a.yaml:3',
      remote: null,
      action: 'create',
      before: null,
      after: { taskCreateSetting: { maxCall: 5, taskName: 'New' }, funcFlag: { taskKeep: true } },
      changes: [
        { path: 'funcFlag.taskKeep', kind: 'add', after: true },
        { path: 'taskCreateSetting.maxCall', kind: 'add', after: 5 },
        { path: 'taskCreateSetting.taskName', kind: 'add', after: 'New' },
      ],
      createPayload: { productID: 'callbot', userTaskID: 'a', sceneID: 'scene-1' },
      payload: {
        productID: 'callbot',
        userTaskID: 'a',
        sceneID: 'scene-1',
        taskCreateSetting: { maxCall: 5, taskName: 'New' },
        funcFlag: { taskKeep: true },
      },
      deferred: null,
      sentFields: ['funcFlag.taskKeep', 'taskCreateSetting.maxCall', 'taskCreateSetting.taskName'],
      warnings: [],
    });
    expect(p.summary).toEqual({ create: 1, update: 0, noop: 0, blocked: 0, forget: 0, error: 0, resume: 0 });
    expect(p.format_version).toBe('2.2');
    expect(p.risks).toEqual([
      {
        userTaskID: 'a',
        kind: 'new-task',
        source: 'tasks/a.yaml:3',
        message:
          'task does not exist on NXCloud and will be created (sceneID "scene-1"), then get its 3 declared settings',
      },
    ]);
    expect(validatePlan(p), JSON.stringify(validatePlan.errors)).toBe(true);
  });

  it('with no setting declared: createTask only (payload null), still a new-task risk', () => {
    const p = plan({ desired: [task('a', { taskCreateSetting: {}, funcFlag: {} })] });
    expect(only(p)).toMatchObject({ action: 'create', payload: null, sentFields: [], changes: [] });
    expect(p.risks?.map((r) => r.kind)).toEqual(['new-task']);
    expect(validatePlan(p), JSON.stringify(validatePlan.errors)).toBe(true);
  });

  it('lifecycle.whenMissing: error keeps the old behaviour (an error, nothing created)', () => {
    const t = only(plan({ desired: [task('a', { lifecycle: { whenMissing: 'error' } })] }));
    expect(t).toMatchObject({ action: 'update', deferred: { reason: 'error', code: 'task-missing' } });
  });

  it('an offline plan cannot know what is missing: no create, and the text says so', () => {
    const p = plan({ desired: [task('a')], remote: null });
    expect(only(p).action).toBe('update');
    expect(p.summary.create).toBeUndefined();
    expect(renderPlanText(p)).toContain('and no task is planned for creation');
    expect(renderPlanMarkdown(p)).toContain('no task planned for creation');
  });

  it('--target: a create outside the targets is not planned', () => {
    const p = plan({ desired: [task('a'), task('b')], targets: ['b'] });
    expect(only(p)).toMatchObject({ userTaskID: 'b', action: 'create' });
  });

  it('renders as + … will be created (text), 🟢 create (Markdown), action create (JSON)', () => {
    const p = plan({ desired: [task('a')] });
    const text = renderPlanText(p);
    expect(text).toContain('+ a will be created  (tasks/a.yaml:3)');
    expect(text).toContain('    + taskCreateSetting.maxCall = 5');
    expect(text).toContain('(createTask with productID, userTaskID and sceneID, then updateTask with 3 fields)');
    expect(text).toContain('⚠ a: task does not exist on NXCloud and will be created');
    expect(text).toContain('Plan: 1 to create, 0 to update, 0 unchanged.');
    const md = renderPlanMarkdown(p);
    expect(md).toContain('| `a` | 🟢 create | 3 |');
    expect(md).toContain('**new task**');
    expect(md).toContain('**1 to create, 0 to update, 0 unchanged**');
    const json = parseJson<CallformPlan>(renderPlanJson(p));
    expect(json.tasks[0].action).toBe('create');
    expect(json.risks?.[0].kind).toBe('new-task');
  });
});

describe('plan: a task an earlier apply created', () => {
  it('created, settings not sent: an update of every declared field, said so in text and Markdown', () => {
    for (const phase of ['requested', 'created'] as const) {
      const p = plan({
        desired: [task('a')],
        state: emptyState({ a: creatingEntry(phase) }),
        remote: new Map([['a', remote('a')]]),
      });
      expect(only(p)).toMatchObject({
        action: 'update',
        created: true,
        deferred: null,
        sentFields: ['funcFlag.taskKeep', 'taskCreateSetting.maxCall', 'taskCreateSetting.taskName'],
      });
      expect(validatePlan(p), JSON.stringify(validatePlan.errors)).toBe(true);
      expect(renderPlanText(p)).toContain('~ a will be updated (created, settings not yet sent)');
      expect(renderPlanMarkdown(p)).toContain('🟡 update (created, settings not yet sent)');
    }
  });

  it('still missing (its create did not land): planned as create again', () => {
    const p = plan({ desired: [task('a')], state: emptyState({ a: creatingEntry('requested') }) });
    expect(only(p).action).toBe('create');
  });

  it('a sceneID changed in the files before the task exists is no error; a remote one that differs is', () => {
    const state = emptyState({ a: creatingEntry('requested', 'scene-old') });
    expect(only(plan({ desired: [task('a')], state })).action).toBe('create');
    const other = only(plan({ desired: [task('a')], state, remote: new Map([['a', remote('a', 'scene-x')]]) }));
    expect(other).toMatchObject({ deferred: { code: 'scene-mismatch' } });
  });
});

/** A scripted platform: what createTask does, and which tasks listTask knows (with their sceneID). */
function platform(script: {
  create?: Error | 'lands-then-error';
  listed?: Record<string, string>;
  listFails?: boolean;
  /** Tasks listTask also returns, whatever it was asked for (a lookup that is not an exact match). */
  alsoListed?: RemoteTask[];
  update?: Error;
  /** A state write that finishes a moment after it starts, as a real fsync does. */
  slowWrite?: boolean;
}) {
  const log: string[] = [];
  const listed = { ...script.listed };
  let disk: CallformState | null = null;
  const client: ApplyClient = {
    async createTask(p) {
      log.push(
        `create ${p.userTaskID} ${JSON.stringify(p)} (state on disk: ${JSON.stringify(disk?.tasks[p.userTaskID]?.creating)})`,
      );
      if (script.create === 'lands-then-error') {
        listed[p.userTaskID] = p.sceneID;
        throw new NetworkError('socket hang up', 'ECONNRESET');
      }
      if (script.create) throw script.create;
      listed[p.userTaskID] = p.sceneID;
      return { retCode: 0, retMsg: 'ok', taskID: `NEW-${p.userTaskID}` };
    },
    async updateTask(p) {
      log.push(`update ${p.userTaskID} ${JSON.stringify(p.taskCreateSetting)} ${JSON.stringify(p.funcFlag)}`);
      if (script.update) throw script.update;
      return { retCode: 0, retMsg: 'ok' };
    },
    mgrTaskStatus: () => Promise.reject(new Error('unexpected mgrTaskStatus')),
    async listTaskPages({ userTaskID }) {
      log.push(`list ${userTaskID.join(',')}`);
      if (script.listFails) throw new NetworkError('timeout', 'ETIMEDOUT');
      return [
        ...(script.alsoListed ?? []),
        ...userTaskID.flatMap((id) =>
          listed[id] ? [{ userTaskID: id, taskID: `L-${id}`, sceneID: listed[id], taskStatus: 1 }] : [],
        ),
      ];
    },
  };
  const run = async (p: CallformPlan, initial: CallformState = emptyState(), shouldStop?: () => boolean) => {
    const writer = new StateWriter('/unused', initial, async (_p, s) => {
      const copy = structuredClone(s);
      if (script.slowWrite) await new Promise((r) => setImmediate(r));
      disk = copy;
    });
    const result = await applyPlan(p, {
      client,
      state: writer,
      parallelism: 2,
      now: () => new Date('2026-12-01T00:00:00Z'),
      shouldStop,
    });
    expect(validateState(disk ?? initial), JSON.stringify(validateState.errors)).toBe(true);
    return { result, state: writer.current, r: result.results[0] };
  };
  return { client, log, run };
}

const refused = new ApiError('createTask', 'retcode', 'retCode 4: userTaskID "a" already exists', {
  retCode: 4,
  attempts: 1,
});
const createPlan = (t = task('a')) => buildPlan(input({ desired: [t] }));

describe('apply: creating a task', () => {
  it('createTask (required fields only, after the write-ahead mark is on disk), then updateTask with every setting', async () => {
    const p = platform({});
    const { result, state, r } = await p.run(createPlan());
    expect(p.log).toEqual([
      'create a {"productID":"callbot","userTaskID":"a","sceneID":"scene-1"} (state on disk: {"since":"2026-12-01T00:00:00.000Z","phase":"requested"})',
      'update a {"maxCall":5,"taskName":"New"} {"taskKeep":true}',
    ]);
    expect(r).toMatchObject({ outcome: 'created', calls: 1, warnings: [] });
    expect(result).toMatchObject({ createCalls: 1, updateCalls: 1, counts: { created: 1, failed: 0 } });
    expect(state.tasks.a).toEqual({
      sceneID: 'scene-1',
      taskID: 'NEW-a',
      taskCreateSetting: { maxCall: 5, taskName: 'New' },
      funcFlag: { taskKeep: true },
      appliedAt: '2026-12-01T00:00:00.000Z',
    });
  });

  it('with no setting declared: createTask only', async () => {
    const p = platform({});
    const { r, state } = await p.run(createPlan(task('a', { taskCreateSetting: {}, funcFlag: {} })));
    expect(p.log).toHaveLength(1);
    expect(r).toMatchObject({ outcome: 'created', message: 'created (no setting declared)' });
    expect(state.tasks.a).toMatchObject({ taskID: 'NEW-a', taskCreateSetting: {}, funcFlag: {} });
    expect(state.tasks.a.creating).toBeUndefined();
  });

  it('refused, but the task exists with the declared sceneID: continues with the update', async () => {
    const p = platform({ create: refused, listed: { a: 'scene-1' } });
    const { r, state } = await p.run(createPlan());
    expect(p.log.map((l) => l.split(' ')[0])).toEqual(['create', 'list', 'update']);
    expect(r.outcome).toBe('created');
    expect(r.warnings[0]).toMatch(/^createTask retCode 4: userTaskID "a" already exists, but listTask shows the task/);
    // No earlier attempt is claimed: the task may as well have been created elsewhere.
    expect(r.warnings[0]).toContain(
      '(it exists: created by an attempt whose answer was lost, or elsewhere since the plan was made)',
    );
    expect(state.tasks.a).toMatchObject({ taskID: 'L-a', taskCreateSetting: { maxCall: 5 } });
  });

  it('an unknown outcome (the answer lost) where the create landed: found by the lookup, never created twice', async () => {
    const p = platform({ create: 'lands-then-error' });
    const { r } = await p.run(createPlan());
    expect(p.log.filter((l) => l.startsWith('create'))).toHaveLength(1);
    expect(r.outcome).toBe('created');
  });

  it('refused, and the task exists with another sceneID: a conflict error; the mark goes, the earlier entry stays', async () => {
    const earlier: TaskState = {
      sceneID: 'scene-1',
      taskCreateSetting: { maxCall: 1 },
      funcFlag: {},
      appliedAt: '2026-01-01T00:00:00.000Z',
    };
    const p = platform({ create: refused, listed: { a: 'scene-9' } });
    const { r, state } = await p.run(createPlan(), emptyState({ a: earlier }));
    expect(r).toMatchObject({ outcome: 'failed', retCode: 4 });
    expect(r.message).toMatch(
      /^task-conflict: a task with this userTaskID already exists on NXCloud with sceneID "scene-9", but the file says "scene-1"/,
    );
    expect(p.log.some((l) => l.startsWith('update'))).toBe(false);
    expect(state.tasks.a).toEqual(earlier);
  });

  it('the write-ahead mark is on disk (its write finished) before createTask is sent', async () => {
    const p = platform({ slowWrite: true });
    await p.run(createPlan());
    expect(p.log[0]).toMatch(/\(state on disk: \{"since":"2026-12-01T00:00:00.000Z","phase":"requested"\}\)$/);
  });

  it('refused, found by the lookup, then the update fails: the state says created (the found taskID), never creating again', async () => {
    const update = new ApiError('updateTask', 'retcode', 'retCode 1: busy', { retCode: 1, attempts: 1 });
    const p = platform({ create: refused, listed: { a: 'scene-1' }, update });
    const { r, state } = await p.run(createPlan());
    expect(r).toMatchObject({ outcome: 'failed', retCode: 1, calls: 1 });
    expect(r.warnings).toHaveLength(1);
    expect(state.tasks.a).toMatchObject({ taskID: 'L-a', creating: { phase: 'created' } });
  });

  it('a lookup that also returns other tasks: only the exact userTaskID counts as found', async () => {
    const p = platform({ create: refused, alsoListed: [{ ...remote('a-2'), sceneID: 'scene-1' }] });
    const { r, state } = await p.run(createPlan());
    expect(r.outcome).toBe('failed');
    expect(r.message).toMatch(/; listTask does not show the task: not created$/);
    expect(state.tasks).toEqual({});
  });

  it('an error that is not an API error is quoted whole after "createTask"', async () => {
    const p = platform({ create: new Error('proxy: upstream createTask: reset') });
    const { r } = await p.run(createPlan());
    expect(r.message).toBe(
      'createTask proxy: upstream createTask: reset; listTask does not show the task: not created',
    );
  });

  it('refused, and listTask does not show the task: failed, not created, the mark removed', async () => {
    const p = platform({ create: refused });
    const { r, state } = await p.run(createPlan());
    expect(r).toMatchObject({ outcome: 'failed', retCode: 4 });
    expect(r.message).toBe(
      'createTask retCode 4: userTaskID "a" already exists; listTask does not show the task: not created',
    );
    expect(state.tasks).toEqual({});
  });

  it('no answer and the lookup fails too: the creating mark stays for the next plan', async () => {
    const p = platform({ create: new NetworkError('socket hang up'), listFails: true });
    const { r, state } = await p.run(createPlan());
    expect(r.outcome).toBe('failed');
    expect(r.message).toMatch(
      /looking the task up failed too .*: the next plan or apply looks it up again before creating it$/,
    );
    expect(state.tasks.a.creating).toEqual({ since: '2026-12-01T00:00:00.000Z', phase: 'requested' });
  });

  it('created but the update fails: the state says created (settings not sent), with the taskID', async () => {
    const p = platform({
      update: new ApiError('updateTask', 'retcode', 'retCode 1: busy', { retCode: 1, attempts: 1 }),
    });
    const { r, state } = await p.run(createPlan());
    expect(r).toMatchObject({ outcome: 'failed', retCode: 1, calls: 1 });
    expect(r.message).toMatch(
      /^created, but its settings were not sent: .*the next plan sends them \(created, settings not yet sent\)$/,
    );
    expect(state.tasks.a).toMatchObject({
      taskID: 'NEW-a',
      taskCreateSetting: {},
      funcFlag: {},
      creating: { phase: 'created' },
    });
    // …and the next plan sends every declared field.
    const next = buildPlan(input({ desired: [task('a')], state: state, remote: new Map([['a', remote('a')]]) }));
    expect(only(next)).toMatchObject({
      action: 'update',
      created: true,
      sentFields: ['funcFlag.taskKeep', 'taskCreateSetting.maxCall', 'taskCreateSetting.taskName'],
    });
  });

  it('a state write fails after the first create: the next create is not sent, and its mark stays (as on disk)', async () => {
    const p = platform({});
    const writer = new StateWriter('/dir/callform.state.json', emptyState(), async (_p, s) => {
      if (s.tasks.a.creating?.phase === 'created') throw new Error('EIO: i/o error, write');
    });
    const applying = applyPlan(buildPlan(input({ desired: [task('a'), task('b')] })), {
      client: p.client,
      state: writer,
      parallelism: 1,
      now: () => new Date('2026-12-01T00:00:00Z'),
    });
    await expect(applying).rejects.toThrow('could not write state file callform.state.json: EIO: i/o error, write');
    expect(p.log.filter((l) => l.startsWith('create')).map((l) => l.split(' ')[1])).toEqual(['a']);
    expect(writer.current.tasks.b.creating).toEqual({ since: '2026-12-01T00:00:00.000Z', phase: 'requested' });
  });

  it('a create the plan holds back (a task-conflict error) is never sent: failed with its message, no mark', async () => {
    const held = createPlan();
    const message = 'task-conflict: a task with this userTaskID already exists on NXCloud with sceneID "scene-9"';
    held.tasks = held.tasks.map((t) => ({ ...t, deferred: { reason: 'error', code: 'task-conflict', message } }));
    const p = platform({});
    const { r, result, state } = await p.run(held);
    expect(p.log).toEqual([]);
    expect(r).toMatchObject({ outcome: 'failed', message, calls: 0 });
    expect(result.createCalls).toBe(0);
    expect(state.tasks).toEqual({});
  });

  it('interrupted before the create: skipped, the mark removed', async () => {
    const p = platform({});
    const { r, result, state } = await p.run(createPlan(), emptyState(), () => true);
    expect(p.log).toEqual([]);
    expect(r).toMatchObject({ outcome: 'skipped', message: 'not attempted: apply was interrupted' });
    expect(result.interrupted).toBe(true);
    expect(state.tasks).toEqual({});
  });
});
