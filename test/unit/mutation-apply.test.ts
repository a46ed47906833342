/**
 * src/apply/apply.ts outcome by outcome: every result's outcome, message, warnings and
 * calls, the counts, the progress callback, interruption, and each ending of a pause
 * window and of an owed resume. A scripted client and a fake clock: nothing waits on real
 * time. Written to kill the mutants `npm run mutate` found alive (docs/testing.md).
 */
import { describe, it, expect } from 'vitest';
import {
  applyPlan,
  unexecutedResults,
  type ApplyClient,
  type ApplyOptions,
  type TaskResult,
} from '../../src/apply/apply.js';
import { pausedTimes, callsPerSecond } from '../../src/apply/report.js';
import { buildPlan } from '../../src/plan/plan.js';
import { StateWriter } from '../../src/state/writer.js';
import { ApiError } from '../../src/api/errors.js';
import type { CallformState, TaskState } from '../../src/generated/state.js';
import type { DesiredTask } from '../../src/model/task.js';

const LINEAGE = '00000000-0000-4000-8000-000000000000';
const refused = (endpoint: string, retCode = 4, attempts = 1) =>
  new ApiError(endpoint, 'retcode', `retCode ${retCode}: refused`, { retCode, attempts });

interface Script {
  /** listTask status per task (null: not listed). */
  /** null: listTask does not return the task; an ID left out is not returned either. */
  status: Partial<Record<string, number | null>>;
  /** What updateTask does per task: answer a taskID (or none), or throw. */
  update?: Record<string, { taskID?: string } | Error>;
  /** mgrTaskStatus: per task, pause and start answers (a status, or an error). */
  pause?: Record<string, number | Error>;
  start?: Record<string, number | Error>;
}

function platform(script: Script) {
  const log: string[] = [];
  let t = Date.parse('2026-11-25T00:00:00.000Z');
  const client: ApplyClient = {
    createTask: () => Promise.reject(new Error('unexpected createTask')),
    async updateTask(p) {
      log.push(`update ${p.userTaskID}`);
      const u = script.update?.[p.userTaskID] ?? { taskID: `T-${p.userTaskID}` };
      if (u instanceof Error) throw u;
      return { retCode: 0, retMsg: 'ok', ...(u.taskID ? { taskID: u.taskID } : {}) };
    },
    async mgrTaskStatus({ userTaskID, taskOperate }) {
      log.push(`${taskOperate === 2 ? 'pause' : 'start'} ${userTaskID}`);
      const a = (taskOperate === 2 ? script.pause : script.start)?.[userTaskID] ?? (taskOperate === 2 ? 5 : 2);
      if (a instanceof Error) throw a;
      if (script.status[userTaskID] !== null) script.status[userTaskID] = a;
      return { retCode: 0, retMsg: 'ok', taskStatus: a };
    },
    async listTaskPages({ userTaskID }) {
      return userTaskID.flatMap((id) => {
        const s = script.status[id];
        return s === null || s === undefined
          ? []
          : [{ userTaskID: id, taskID: `T-${id}`, sceneID: 's', taskStatus: s }];
      });
    },
  };
  return {
    client,
    log,
    now: () => new Date(t),
    sleep: async (ms: number) => void (t += ms),
    advance: (ms: number) => void (t += ms),
  };
}

const desired = (id: string, maxCall: number, over: Partial<DesiredTask> = {}): DesiredTask => ({
  userTaskID: id,
  sceneID: 's',
  taskCreateSetting: { maxCall },
  funcFlag: {},
  lifecycle: { whenRunning: 'pause' },
  source: `tasks/${id}.yaml:1`,
  ...over,
});
const entry = (maxCall: number, over: Partial<TaskState> = {}): TaskState => ({
  sceneID: 's',
  taskID: 'T-state',
  taskCreateSetting: { maxCall },
  funcFlag: {},
  appliedAt: '2026-01-01T00:00:00.000Z',
  ...over,
});

interface Scene {
  state?: Partial<CallformState>;
  remote?: Record<string, number | null>;
  offline?: boolean;
  options?: Partial<ApplyOptions>;
}

/** The plan for `tasks` against a state and a listing (the scene), made at the platform's time. */
function planFor(p: ReturnType<typeof platform>, tasks: DesiredTask[], opts: Scene = {}) {
  const initial: CallformState = { version: 2, lineage: LINEAGE, serial: 1, tasks: {}, ...opts.state };
  const remoteStatus = opts.remote ?? {};
  const remote = new Map(
    Object.entries(remoteStatus)
      .filter(([, s]) => s !== null)
      .map(([id, s]) => [id, { userTaskID: id, taskID: `T-remote-${id}`, sceneID: 's', taskStatus: s! }]),
  );
  const plan = buildPlan({
    desired: tasks,
    state: initial,
    stateExists: true,
    remote: opts.offline ? null : remote,
    targets: null,
    filesDigest: 'f'.repeat(64),
    toolVersion: 't',
    now: p.now(),
  });
  return { initial, plan };
}

async function run(p: ReturnType<typeof platform>, tasks: DesiredTask[], opts: Scene = {}) {
  const { initial, plan } = planFor(p, tasks, opts);
  const writes: CallformState[] = [];
  const writer = new StateWriter('/unused', initial, async (_p, s) => void writes.push(structuredClone(s)));
  const progress: string[] = [];
  const steps: string[] = [];
  const result = await applyPlan(plan, {
    client: p.client,
    state: writer,
    parallelism: 1,
    now: p.now,
    sleep: p.sleep,
    onStep: (id, step) => steps.push(`${id}:${step}`),
    onResult: (r, done, total) => progress.push(`${r.userTaskID}:${r.outcome} ${done}/${total}`),
    ...opts.options,
  });
  return { plan, result, writer, writes, progress, steps };
}
const byId = (results: TaskResult[]) => Object.fromEntries(results.map((r) => [r.userTaskID, r]));

describe('applyPlan: tasks without calls', () => {
  it('forgotten, blocked (with its warnings), failed (without), unchanged, state-only', async () => {
    const p = platform({ status: {} });
    const tasks = [
      desired('blocked', 2, { lifecycle: {}, funcFlag: { phoneEncrypt: true } }),
      desired('missing', 2, { funcFlag: { phoneEncrypt: true }, lifecycle: { whenMissing: 'error' } }),
      desired('same', 1),
      desired('stateonly', 1),
      desired('stateonly2', 1),
    ];
    const { result, writer, progress } = await run(p, tasks, {
      state: {
        tasks: {
          gone: entry(1),
          same: entry(1),
          stateonly: entry(1, { taskCreateSetting: { maxCall: 1, taskName: 'dropped' } }),
          stateonly2: entry(1, { taskCreateSetting: { maxCall: 1, taskName: 'dropped' } }),
        },
      },
      remote: { blocked: 2, same: 1, stateonly: 1, stateonly2: null },
    });
    const r = byId(result.results);
    expect(r.gone).toEqual({ userTaskID: 'gone', outcome: 'forgotten', calls: 0, warnings: [] });
    expect(r.blocked).toMatchObject({ outcome: 'blocked', calls: 0 });
    expect(r.blocked.message).toMatch(/^task is 2 \(running\)/);
    expect(r.blocked.warnings).toHaveLength(1);
    expect(r.missing).toMatchObject({ outcome: 'failed', calls: 0, warnings: [] });
    expect(r.missing.message).toMatch(/^task not found on NXCloud/);
    expect(r.same).toEqual({ userTaskID: 'same', outcome: 'unchanged', calls: 0, warnings: [] });
    expect(r.stateonly).toEqual({
      userTaskID: 'stateonly',
      outcome: 'applied',
      message: 'state only (no field to send)',
      calls: 0,
      warnings: [],
    });
    expect(writer.current.tasks.stateonly).toEqual({
      sceneID: 's',
      taskID: 'T-remote-stateonly',
      taskCreateSetting: { maxCall: 1 },
      funcFlag: {},
      appliedAt: '2026-11-25T00:00:00.000Z',
    });
    // Not listed remotely (it is then an error) — the state-only path keeps the state's taskID when offline:
    expect(writer.current.tasks).not.toHaveProperty('gone');
    expect(result.counts).toEqual({
      created: 0,
      applied: 1,
      blocked: 1,
      failed: 2,
      unchanged: 1,
      forgotten: 1,
      skipped: 0,
      resumed: 0,
    });
    expect(result.updateCalls).toBe(0);
    expect(result.interrupted).toBe(false);
    expect(p.log).toEqual([]);
    expect(progress.map((l) => l.split(' ')[1])).toEqual(['1/6', '2/6', '3/6', '4/6', '5/6', '6/6']);
    expect(result.results.map((x) => x.userTaskID)).toEqual([
      'blocked',
      'gone',
      'missing',
      'same',
      'stateonly',
      'stateonly2',
    ]);
  });

  it('offline, a state-only update keeps the taskID the state knows', async () => {
    const p = platform({ status: {} });
    const { writer } = await run(p, [desired('a', 1)], {
      state: { tasks: { a: entry(1, { taskCreateSetting: { maxCall: 1, taskName: 'x' } }) } },
      offline: true,
    });
    expect(writer.current.tasks.a.taskID).toBe('T-state');
  });
});

describe('applyPlan: updates', () => {
  it('the taskID recorded: the answer, else the listing, else the state', async () => {
    const p = platform({ status: { a: 1, b: 1, c: 1 }, update: { a: { taskID: 'T-answer' }, b: {}, c: {} } });
    const { writer, result } = await run(p, [desired('a', 2), desired('b', 2), desired('c', 2)], {
      state: { tasks: { c: entry(1) } },
      remote: { a: 1, b: 1, c: 1 },
    });
    expect(writer.current.tasks.a.taskID).toBe('T-answer');
    expect(writer.current.tasks.b.taskID).toBe('T-remote-b');
    expect(result.updateCalls).toBe(3);
    const offline = platform({ status: {}, update: { c: {} } });
    const off = await run(offline, [desired('c', 2)], { state: { tasks: { c: entry(1) } }, offline: true });
    expect(off.writer.current.tasks.c.taskID).toBe('T-state');
    const none = await run(platform({ status: {}, update: { n: {} } }), [desired('n', 2)], { offline: true });
    expect(none.writer.current.tasks.n).not.toHaveProperty('taskID');
  });

  it('applied with its warnings and one call; failed with the message and retCode', async () => {
    const p = platform({
      status: { a: 1, b: 1, c: 1 },
      update: { b: refused('updateTask', 4), c: new Error('boom') },
    });
    const { result } = await run(
      p,
      [desired('a', 2, { funcFlag: { smsEnable: true } }), desired('b', 2), desired('c', 2)],
      { remote: { a: 1, b: 1, c: 1 } },
    );
    const r = byId(result.results);
    expect(r.a).toEqual({
      userTaskID: 'a',
      outcome: 'applied',
      calls: 1,
      warnings: [expect.stringMatching(/about 5 minutes/)],
    });
    expect(r.b).toEqual({
      userTaskID: 'b',
      outcome: 'failed',
      message: 'updateTask: retCode 4: refused',
      retCode: 4,
      calls: 1,
      warnings: [],
    });
    expect(r.c).toMatchObject({ outcome: 'failed', message: 'boom', retCode: undefined, calls: 1 });
    expect(result.counts.applied).toBe(1);
    expect(result.counts.failed).toBe(2);
  });

  it('marks sends durably first (tasks in state only); a verified refusal restores, a retried one keeps the mark', async () => {
    const p = platform({
      status: { a: 1, b: 1, n: 1 },
      update: { a: refused('updateTask', 4, 1), b: refused('updateTask', 4, 2), n: refused('updateTask', 4, 1) },
    });
    const { writer, writes } = await run(p, [desired('a', 2), desired('b', 2), desired('n', 2)], {
      state: { tasks: { a: entry(1), b: entry(1) } },
      remote: { a: 1, b: 1, n: 1 },
    });
    expect(writes[0].tasks.a.pending).toEqual({
      since: '2026-11-25T00:00:00.000Z',
      taskCreateSetting: { maxCall: 2 },
    });
    expect(writes[0].tasks.b.pending).toBeDefined();
    expect(writes[0].tasks).not.toHaveProperty('n');
    expect(writer.current.tasks.a).toEqual(entry(1));
    expect(writer.current.tasks.b.pending).toBeDefined();
    expect(writer.current.tasks).not.toHaveProperty('n');
  });

  it('no task in state: nothing is marked or written before the calls', async () => {
    const p = platform({ status: { n: 1 } });
    const { writes } = await run(p, [desired('n', 2)], { remote: { n: 1 } });
    expect(writes).toHaveLength(1);
    expect(writes[0].tasks.n).toBeDefined();
  });

  it('a stop signal: calls not started are skipped, the run is interrupted', async () => {
    const p = platform({ status: { a: 1, b: 1, c: 1 } });
    let calls = 0;
    const { result } = await run(p, [desired('a', 2), desired('b', 2), desired('c', 2)], {
      remote: { a: 1, b: 1, c: 1 },
      options: { shouldStop: () => calls++ >= 1 },
    });
    expect(result.interrupted).toBe(true);
    expect(result.results.map((r) => `${r.userTaskID}:${r.outcome}`)).toEqual(['a:applied', 'b:skipped', 'c:skipped']);
    expect(byId(result.results).b).toEqual({
      userTaskID: 'b',
      outcome: 'skipped',
      message: 'not attempted: apply was interrupted',
      calls: 0,
      warnings: [],
    });
    expect(result.counts.skipped).toBe(2);
    expect(result.updateCalls).toBe(1);
  });

  it('a stop signal: tasks never sent get their earlier entries back, without an unconfirmed mark', async () => {
    const p = platform({ status: { a: 1, b: 1, c: 1 } });
    let calls = 0;
    const state = { tasks: { a: entry(1), b: entry(1), c: entry(1) } };
    const { writer, writes } = await run(p, [desired('a', 2), desired('b', 2), desired('c', 2)], {
      state,
      remote: { a: 1, b: 1, c: 1 },
      options: { shouldStop: () => calls++ >= 1 },
    });
    // All three were marked before the first call (the write-ahead)...
    expect(['a', 'b', 'c'].every((id) => writes[0].tasks[id].pending !== undefined)).toBe(true);
    // ...and at the end only the one sent is recorded as applied; the others are as before.
    expect(writer.current.tasks.a).toMatchObject({ taskCreateSetting: { maxCall: 2 } });
    expect(writer.current.tasks.a.pending).toBeUndefined();
    expect(writer.current.tasks.b).toEqual(entry(1));
    expect(writer.current.tasks.c).toEqual(entry(1));
  });
});

describe('applyPlan: pause windows', () => {
  const window = (
    script: Partial<Script>,
    st: Record<string, number | null> = { a: 2 },
    options: Partial<ApplyOptions> = {},
  ) => {
    const p = platform({ status: { ...st }, ...script });
    return run(p, [desired('a', 2)], { state: { tasks: { a: entry(1) } }, remote: { a: 2 }, options }).then((r) => ({
      ...r,
      p,
      a: byId(r.result.results).a,
    }));
  };

  it('paused, updated, resumed: applied with the paused time, the record cleared', async () => {
    const { a, steps, writer, writes } = await window({});
    expect(a).toMatchObject({ outcome: 'applied', calls: 1, pausedMs: 0 });
    expect(steps).toEqual(['a:pausing', 'a:updating', 'a:resuming', 'a:resumed']);
    expect(writer.current.owedResumes).toBeUndefined();
    expect(
      writes.some(
        (s) => s.owedResumes !== undefined && Object.hasOwn(s.owedResumes, 'a') && s.owedResumes.a.phase === 'pausing',
      ),
    ).toBe(true);
  });

  it('update refused inside the window: failed, and the task was resumed', async () => {
    const { a } = await window({ update: { a: refused('updateTask', 4) } });
    expect(a).toMatchObject({
      outcome: 'failed',
      message: 'updateTask: retCode 4: refused; the task was resumed',
      retCode: 4,
      calls: 1,
    });
  });

  it('the resume keeps failing: failed, the record stays, whatever the update did', async () => {
    const failing = { start: { a: new ApiError('mgrTaskStatus', 'network', 'down', { attempts: 3 }) } };
    const { a, steps, writer } = await window(failing, { a: 2 }, { pauseTimeoutMs: 500 });
    expect(a.outcome).toBe('failed');
    expect(a.message).toBe('updated, but could not resume it (mgrTaskStatus: down); the next apply resumes it');
    expect(a.calls).toBe(1);
    expect(a.pausedMs).toBeGreaterThan(0);
    expect(steps.at(-1)).toBe('a:left-paused');
    expect(writer.current.owedResumes).toMatchObject({ a: { phase: 'paused' } });
    const both = await window(
      { ...failing, update: { a: refused('updateTask', 4) } },
      { a: 2 },
      { pauseTimeoutMs: 500 },
    );
    expect(both.a.message).toBe(
      'not updated (updateTask: retCode 4: refused), but could not resume it (mgrTaskStatus: down); the next apply resumes it',
    );
  });

  it('a pause that never shows: resumed as a precaution, not updated, the record renewed; default timeout 30 s', async () => {
    const { a, steps, writer, p } = await window({ pause: { a: 2 } });
    expect(a).toMatchObject({
      outcome: 'failed',
      message:
        'the pause did not take effect within 30000 ms (status 2 (running)): not updated; a start was sent and the next apply checks that no late pause stuck',
      pausedMs: 30_000,
    });
    expect(a.calls).toBe(0);
    expect(p.log.filter((l) => l.startsWith('update'))).toEqual([]);
    expect(steps).toEqual(['a:pausing', 'a:left-paused']);
    expect(writer.current.owedResumes?.a).toEqual({ since: '2026-11-25T00:00:30.000Z', phase: 'pausing' });
  });

  it('status reads start 100 ms apart by default', async () => {
    const sleeps: number[] = [];
    const p = platform({ status: { a: 2 }, pause: { a: 2 } });
    await run(p, [desired('a', 2)], {
      state: { tasks: { a: entry(1) } },
      remote: { a: 2 },
      options: { pauseTimeoutMs: 1_000, sleep: async (ms) => (sleeps.push(ms), p.sleep(ms)) },
    });
    expect(sleeps.slice(0, 3)).toEqual([100, 200, 400]);
  });

  it('without injected clocks it runs on real time (a window that confirms at once)', async () => {
    const p = platform({ status: { a: 2 } });
    const before = Date.now();
    const { a, writer } = await run(p, [desired('a', 2)], {
      state: { tasks: { a: entry(1) } },
      remote: { a: 2 },
      options: { now: undefined, sleep: undefined },
    }).then((r) => ({ ...r, a: byId(r.result.results).a }));
    expect(a.outcome).toBe('applied');
    expect(Date.parse(writer.current.tasks.a.appliedAt)).toBeGreaterThanOrEqual(before - 1000);
  });

  it('without an injected sleep, status reads wait on a timer: a pause that shows a moment later is seen', async () => {
    const script: Script = { status: { a: 2 }, pause: { a: 2 } };
    const p = platform(script);
    const send = p.client.mgrTaskStatus.bind(p.client);
    p.client.mgrTaskStatus = async (req) => {
      const answer = await send(req);
      // The pause lands on the platform's own clock, 20 ms after it was asked for.
      if (req.taskOperate === 2) setTimeout(() => (script.status.a = 5), 20);
      return answer;
    };
    const { result } = await run(p, [desired('a', 2)], {
      state: { tasks: { a: entry(1) } },
      remote: { a: 2 },
      options: { now: undefined, sleep: undefined, pollMs: 5, pauseTimeoutMs: 2_000, onStep: undefined },
    });
    expect(byId(result.results).a).toMatchObject({ outcome: 'applied', calls: 1 });
  });

  it('without onStep (no progress display), a window resumed or left paused ends the same way', async () => {
    const resumed = await window({}, { a: 2 }, { onStep: undefined });
    expect(resumed.a).toMatchObject({ outcome: 'applied', calls: 1 });
    const down = { start: { a: new ApiError('mgrTaskStatus', 'network', 'down', { attempts: 3 }) } };
    const left = await window(down, { a: 2 }, { pauseTimeoutMs: 500, onStep: undefined });
    expect(left.a.message).toBe('updated, but could not resume it (mgrTaskStatus: down); the next apply resumes it');
    expect(left.writer.current.owedResumes).toMatchObject({ a: { phase: 'paused' } });
    const timedOut = await window({ pause: { a: 2 } }, { a: 2 }, { pauseTimeoutMs: 300, onStep: undefined });
    expect(timedOut.a.message).toMatch(/^the pause did not take effect within 300 ms/);
    const owedOnly = await run(platform({ status: { a: 5 } }), [], {
      state: { owedResumes: { a: { since: '2026-11-24T00:00:00.000Z', phase: 'paused' } } },
      options: { onStep: undefined },
    });
    expect(owedOnly.result.results[0]).toMatchObject({ outcome: 'resumed' });
  });

  it('the owed resume cannot be written: no pause is sent, the task fails saying so, and apply fails', async () => {
    const p = platform({ status: { a: 2 } });
    const { initial, plan } = planFor(p, [desired('a', 2)], { state: { tasks: { a: entry(1) } }, remote: { a: 2 } });
    const writer = new StateWriter('/unused', initial, async (_p, s) => {
      if (s.owedResumes) throw new Error('disk full');
    });
    const seen: TaskResult[] = [];
    await expect(
      applyPlan(plan, {
        client: p.client,
        state: writer,
        parallelism: 1,
        now: p.now,
        sleep: p.sleep,
        onResult: (r) => seen.push(r),
      }),
    ).rejects.toThrow('could not write state file unused: disk full');
    expect(p.log).toEqual([]);
    expect(seen).toEqual([
      {
        userTaskID: 'a',
        outcome: 'failed',
        message: 'not paused nor updated: could not write state file unused: disk full',
        calls: 0,
        warnings: [],
      },
    ]);
  });

  it('a pause that never shows and a start that fails: says so', async () => {
    // Listed as not started, the pause and the start unanswered: neither can be confirmed.
    const down = new ApiError('mgrTaskStatus', 'network', 'down', { attempts: 3 });
    const { a } = await window(
      { pause: { a: down }, start: { a: down } },
      { a: 1 },
      { pauseTimeoutMs: 300, pollMs: 50 },
    );
    expect(a.message).toBe(
      'the pause did not take effect within 300 ms (status 1 (not started)): not updated; could not resume it (mgrTaskStatus: down); the next apply resumes it',
    );
  });

  it('not running when paused: updated as it is, not resumed, with a warning that says which', async () => {
    const paused = await window({ pause: { a: refused('mgrTaskStatus', 1) } }, { a: 5 });
    expect(paused.a).toMatchObject({ outcome: 'applied', calls: 1 });
    expect(paused.a.warnings).toEqual(['the task was already paused: updated without pausing, and not resumed']);
    expect(paused.p.log).toEqual(['pause a', 'update a']);
    expect(paused.writer.current.owedResumes).toBeUndefined();
    const notStarted = await window({ pause: { a: refused('mgrTaskStatus', 1) } }, { a: 1 });
    expect(notStarted.a.warnings).toEqual(['the task was not started: updated without pausing, and not resumed']);
  });

  it('finished, missing or refused: not updated, each with its message', async () => {
    const finished = await window({ pause: { a: refused('mgrTaskStatus', 1) } }, { a: 3 });
    expect(finished.a).toEqual({
      userTaskID: 'a',
      outcome: 'blocked',
      message: 'the task finished meanwhile (status 3): not updated',
      calls: 0,
      warnings: [],
    });
    const missing = await window({ pause: { a: refused('mgrTaskStatus', 1) } }, { a: null });
    expect(missing.a).toMatchObject({ outcome: 'failed', message: 'the task no longer exists on NXCloud' });
    const refusedPause = await window({ pause: { a: refused('mgrTaskStatus', 1) } }, { a: 2 });
    expect(refusedPause.a).toMatchObject({
      outcome: 'failed',
      message: 'the pause was refused: mgrTaskStatus: retCode 1: refused',
    });
    expect(refusedPause.writer.current.owedResumes).toBeUndefined();
    expect(refusedPause.result.updateCalls).toBe(0);
  });
});

describe('applyPlan: owed resumes', () => {
  const owed = (phase: 'pausing' | 'paused') => ({ a: { since: '2026-11-24T00:00:00.000Z', phase } });

  it('alone: resumed, or cleared with the reason, or failed; counted in the total', async () => {
    const resumed = await run(platform({ status: { a: 5 } }), [], { state: { owedResumes: owed('paused') } });
    expect(resumed.result.results).toEqual([
      {
        userTaskID: 'a',
        outcome: 'resumed',
        message: 'resumed (an earlier apply paused it and did not resume it)',
        calls: 0,
        warnings: [],
      },
    ]);
    expect(resumed.progress).toEqual(['a:resumed 1/1']);
    expect(resumed.steps).toEqual(['a:resuming', 'a:resumed']);
    expect(resumed.writer.current.owedResumes).toBeUndefined();
    const running = await run(platform({ status: { a: 2 } }), [], { state: { owedResumes: owed('paused') } });
    expect(running.result.results[0]).toMatchObject({
      outcome: 'resumed',
      message: 'no resume needed: it is running again',
    });
    const unreadable = platform({ status: { a: 5 } });
    unreadable.client.listTaskPages = async () => {
      throw new Error('down');
    };
    const failed = await run(unreadable, [], { state: { owedResumes: owed('paused') } });
    expect(failed.result.results[0]).toMatchObject({
      outcome: 'failed',
      message: 'could not read the task status; the next apply tries again',
    });
    expect(failed.steps).toEqual(['a:resuming']);
    expect(failed.writer.current.owedResumes).toEqual(owed('paused'));
  });

  it('with a planned plain update: the update first, then the resume, noted in the warnings', async () => {
    const p = platform({ status: { a: 5 } });
    const { result } = await run(p, [desired('a', 2)], {
      state: { tasks: { a: entry(1) }, owedResumes: owed('paused') },
      remote: { a: 5 },
    });
    expect(p.log).toEqual(['update a', 'start a']);
    expect(result.results).toEqual([
      {
        userTaskID: 'a',
        outcome: 'applied',
        calls: 1,
        warnings: ['resumed (an earlier apply paused it and did not resume it)'],
      },
    ]);
  });

  it('with a planned plain update, a resume that fails: failed, saying what the update did', async () => {
    const down = new ApiError('mgrTaskStatus', 'network', 'down', { attempts: 3 });
    const p = platform({ status: { a: 5 }, start: { a: down } });
    const { result } = await run(p, [desired('a', 2)], {
      state: { tasks: { a: entry(1) }, owedResumes: owed('paused') },
      remote: { a: 5 },
      options: { pauseTimeoutMs: 200 },
    });
    expect(result.results[0]).toMatchObject({
      outcome: 'failed',
      message: 'updated; could not resume it (mgrTaskStatus: down); the next apply resumes it',
      calls: 1,
    });
    const both = platform({ status: { a: 5 }, start: { a: down }, update: { a: refused('updateTask', 4) } });
    const r2 = await run(both, [desired('a', 2)], {
      state: { tasks: { a: entry(1) }, owedResumes: owed('paused') },
      remote: { a: 5 },
      options: { pauseTimeoutMs: 200 },
    });
    expect(r2.result.results[0].message).toBe(
      'updateTask: retCode 4: refused; could not resume it (mgrTaskStatus: down); the next apply resumes it',
    );
  });

  it('with a planned pause window: it runs once the owed resume is settled, or not at all', async () => {
    const p = platform({ status: { a: 2 } });
    const { result } = await run(p, [desired('a', 2)], {
      state: { tasks: { a: entry(1) }, owedResumes: owed('paused') },
      remote: { a: 2 },
    });
    expect(p.log).toEqual(['pause a', 'update a', 'start a']);
    expect(result.results).toHaveLength(1);
    expect(result.results[0]).toMatchObject({ outcome: 'applied', calls: 1 });
    const unreadable = platform({ status: { a: 2 } });
    unreadable.client.listTaskPages = async () => {
      throw new Error('down');
    };
    const blocked = await run(unreadable, [desired('a', 2)], {
      state: { tasks: { a: entry(1) }, owedResumes: owed('paused') },
      remote: { a: 2 },
    });
    expect(blocked.result.results).toEqual([
      {
        userTaskID: 'a',
        outcome: 'failed',
        message: 'could not read the task status; the next apply tries again; not updated',
        calls: 0,
        warnings: [],
      },
    ]);
  });

  it('an owed resume for a task the plan does not hold counts in the total beside the planned tasks', async () => {
    const { progress } = await run(platform({ status: { a: 5, b: 1 } }), [desired('b', 1)], {
      state: { tasks: { b: entry(1) }, owedResumes: owed('paused') },
      remote: { b: 1 },
    });
    expect(progress).toEqual(['b:unchanged 1/2', 'a:resumed 2/2']);
  });

  it('results come back in userTaskID order, not in the order they finished', async () => {
    const { result, progress } = await run(platform({ status: { a: 1, b: 1 } }), [desired('a', 2), desired('b', 1)], {
      state: { tasks: { a: entry(1), b: entry(1) } },
      remote: { a: 1, b: 1 },
    });
    expect(progress).toEqual(['b:unchanged 1/2', 'a:applied 2/2']);
    expect(result.results.map((r) => r.userTaskID)).toEqual(['a', 'b']);
  });

  it('a held-back task that owes a resume counts once', async () => {
    const p = platform({ status: { a: 5 } });
    const { progress } = await run(p, [desired('a', 2, { sceneID: 'other' })], {
      state: { tasks: { a: entry(1) }, owedResumes: owed('paused') },
      remote: { a: 5 },
    });
    expect(progress.map((l) => l.split(' ')[1])).toEqual(['1/1', '2/1']);
  });
});

describe('unexecutedResults (a cancelled apply)', () => {
  it('every task and owed resume gets its outcome; nothing held back goes ahead; sorted, counted, nothing sent', () => {
    const p = platform({ status: {} });
    const { plan } = planFor(
      p,
      [
        desired('e-update', 2),
        desired('a-blocked', 2, { lifecycle: {}, funcFlag: { phoneEncrypt: true } }),
        desired('c-missing', 2, { lifecycle: { whenMissing: 'error' } }),
        desired('d-same', 1),
        desired('g-new', 1),
      ],
      {
        state: {
          tasks: { 'e-update': entry(1), 'a-blocked': entry(1), 'd-same': entry(1), 'b-gone': entry(1) },
          owedResumes: {
            'e-update': { since: '2026-11-24T00:00:00.000Z', phase: 'paused' },
            'f-owed': { since: '2026-11-24T00:00:00.000Z', phase: 'paused' },
          },
        },
        remote: { 'e-update': 1, 'a-blocked': 2, 'd-same': 1 },
      },
    );
    const result = unexecutedResults(plan, 'cancelled');
    const r = byId(result.results);
    expect(r['a-blocked']).toMatchObject({ outcome: 'blocked', calls: 0 });
    expect(r['a-blocked'].message).toMatch(/^task is 2 \(running\)/);
    expect(r['a-blocked'].warnings).toHaveLength(1);
    expect(r['c-missing']).toMatchObject({ outcome: 'failed', calls: 0, warnings: [] });
    expect(r['c-missing'].message).toMatch(/^task not found on NXCloud/);
    expect(r['d-same']).toEqual({ userTaskID: 'd-same', outcome: 'unchanged', calls: 0, warnings: [] });
    for (const id of ['b-gone', 'e-update', 'f-owed', 'g-new'])
      expect(r[id], id).toEqual({ userTaskID: id, outcome: 'skipped', message: 'cancelled', calls: 0, warnings: [] });
    expect(result.results.map((x) => x.userTaskID)).toEqual([
      'a-blocked',
      'b-gone',
      'c-missing',
      'd-same',
      'e-update',
      'f-owed',
      'g-new',
    ]);
    expect(plan.tasks.find((t) => t.userTaskID === 'g-new')?.action).toBe('create');
    expect(result.counts).toEqual({
      created: 0,
      applied: 0,
      blocked: 1,
      failed: 1,
      unchanged: 1,
      forgotten: 0,
      skipped: 4,
      resumed: 0,
    });
    expect([result.interrupted, result.updateCalls, result.createCalls]).toEqual([false, 0, 0]);
    expect(p.log).toEqual([]);
  });
});

describe('apply/report', () => {
  const r = (pausedMs?: number) => ({ userTaskID: 'x', outcome: 'applied' as const, calls: 1, warnings: [], pausedMs });
  it('pausedTimes: none; odd and even counts (median), total and max', () => {
    expect(pausedTimes([r()])).toEqual({ tasks: 0, totalMs: 0, medianMs: null, maxMs: null });
    expect(pausedTimes([r(30), r(), r(10), r(20)])).toEqual({ tasks: 3, totalMs: 60, medianMs: 20, maxMs: 30 });
    expect(pausedTimes([r(40), r(10), r(20), r(30)])).toEqual({ tasks: 4, totalMs: 100, medianMs: 25, maxMs: 40 });
    expect(pausedTimes([r(0)])).toEqual({ tasks: 1, totalMs: 0, medianMs: 0, maxMs: 0 });
  });
  it('callsPerSecond', () => {
    expect(callsPerSecond({ calls: 10, throttled: 0, seconds: 4 })).toBe(2.5);
    expect(callsPerSecond({ calls: 10, throttled: 0, seconds: 0 })).toBe(0);
  });
});
