/**
 * pause → update → resume and owed resumes, step by step, against a scripted in-memory
 * platform with an injected clock (nothing here waits on real time).
 */
import { describe, it, expect } from 'vitest';
import { applyPlan, type ApplyClient } from '../../src/apply/apply.js';
import { buildPlan } from '../../src/plan/plan.js';
import { StateWriter } from '../../src/state/writer.js';
import { ApiError } from '../../src/api/errors.js';
import type { CallformState } from '../../src/generated/state.js';
import type { DesiredTask } from '../../src/model/task.js';
import { WriteGate, settle } from '../support/gated-writer.js';
import { anyNumber, matching } from '../support/expect.js';

const LINEAGE = '00000000-0000-4000-8000-000000000000';

/** A scripted platform: statuses per task, a pause that lands after `pauseAfterPolls` status reads, call log. */
function platform(
  statuses: Record<string, number>,
  opts: {
    pauseAfterPolls?: number;
    refuseStart?: number;
    failUpdate?: boolean;
    finishOnPause?: boolean;
    /** The pause is refused (retCode, first attempt) whatever the status. */
    refusePause?: boolean;
    /** listTask fails: the status cannot be read. */
    unreadable?: boolean;
  } = {},
) {
  const log: string[] = [];
  /** Status reads (listTask), by task. */
  const reads: string[] = [];
  const pendingPause = new Map<string, number>();
  let clock = 1_000_000;
  const client: ApplyClient = {
    createTask: () => Promise.reject(new Error('unexpected createTask')),
    async updateTask(p) {
      log.push(`update ${p.userTaskID} (status ${statuses[p.userTaskID]})`);
      if (opts.failUpdate)
        throw new ApiError('updateTask', 'retcode', 'retCode 4: bad value', { retCode: 4, attempts: 1 });
      if (statuses[p.userTaskID] !== 1 && statuses[p.userTaskID] !== 5)
        throw new ApiError('updateTask', 'retcode', 'retCode 1: running', { retCode: 1, attempts: 1 });
      return { retCode: 0, retMsg: 'ok', taskID: `T-${p.userTaskID}` };
    },
    async mgrTaskStatus({ userTaskID, taskOperate }) {
      log.push(`${taskOperate === 2 ? 'pause' : taskOperate === 1 ? 'start' : 'finish'} ${userTaskID}`);
      const s = statuses[userTaskID];
      if (taskOperate === 2) {
        if (s !== 2 || opts.refusePause)
          throw new ApiError('mgrTaskStatus', 'retcode', `retCode 1: cannot pause status ${s}`, {
            retCode: 1,
            attempts: 1,
          });
        if (opts.finishOnPause) {
          statuses[userTaskID] = 3;
          return { retCode: 0, retMsg: 'ok', taskStatus: 3 };
        }
        if (opts.pauseAfterPolls) {
          pendingPause.set(userTaskID, opts.pauseAfterPolls);
          return { retCode: 0, retMsg: 'ok', taskStatus: 2 };
        }
        statuses[userTaskID] = 5;
        return { retCode: 0, retMsg: 'ok', taskStatus: 5 };
      }
      if (opts.refuseStart && opts.refuseStart-- > 0)
        throw new ApiError('mgrTaskStatus', 'network', 'socket hang up', { attempts: 2 });
      if (s === 2 && pendingPause.delete(userTaskID)) return { retCode: 0, retMsg: 'ok', taskStatus: 2 }; // cancels a pause on its way
      if (s !== 5 && s !== 1)
        throw new ApiError('mgrTaskStatus', 'retcode', `retCode 1: cannot start status ${s}`, {
          retCode: 1,
          attempts: 1,
        });
      pendingPause.delete(userTaskID);
      statuses[userTaskID] = 2;
      return { retCode: 0, retMsg: 'ok', taskStatus: 2 };
    },
    async listTaskPages({ userTaskID }) {
      reads.push(...userTaskID);
      if (opts.unreadable) throw new ApiError('listTask', 'network', 'socket hang up', { attempts: 3 });
      return userTaskID.flatMap((id) => {
        const left = pendingPause.get(id);
        if (left !== undefined) {
          if (left <= 1) {
            pendingPause.delete(id);
            statuses[id] = 5;
          } else pendingPause.set(id, left - 1);
        }
        return !Object.hasOwn(statuses, id)
          ? []
          : [{ userTaskID: id, taskID: `T-${id}`, sceneID: 's', taskStatus: statuses[id] }];
      });
    },
  };
  return { client, log, reads, statuses, now: () => new Date(clock), sleep: async (ms: number) => void (clock += ms) };
}

const desired = (id: string, maxCall: number): DesiredTask => ({
  userTaskID: id,
  sceneID: 's',
  taskCreateSetting: { maxCall },
  funcFlag: {},
  lifecycle: { whenRunning: 'pause' },
  source: `tasks/${id}.yaml:1`,
});

async function run(
  p: ReturnType<typeof platform>,
  tasks: DesiredTask[],
  state?: Partial<CallformState>,
  pauseTimeoutMs = 5_000,
  gate?: Pick<WriteGate, 'write'>,
  parallelism = 4,
) {
  const initial: CallformState = { version: 2, lineage: LINEAGE, serial: 1, tasks: {}, ...state };
  const remote = new Map(
    Object.entries(p.statuses).map(([id, s]) => [
      id,
      { userTaskID: id, taskID: `T-${id}`, sceneID: 's', taskStatus: s },
    ]),
  );
  const plan = buildPlan({
    desired: tasks,
    state: initial,
    stateExists: true,
    remote,
    targets: null,
    filesDigest: 'f'.repeat(64),
    toolVersion: 't',
    now: p.now(),
  });
  const writes: CallformState[] = [];
  const writer = new StateWriter(
    '/unused',
    initial,
    gate?.write ?? (async (_p, s) => void writes.push(structuredClone(s))),
  );
  const steps: string[] = [];
  const result = await applyPlan(plan, {
    client: p.client,
    state: writer,
    parallelism,
    now: p.now,
    sleep: p.sleep,
    pauseTimeoutMs,
    pollMs: 100,
    onStep: (id, step) => steps.push(`${id}:${step}`),
  });
  return { plan, result, writer, writes, steps };
}

describe('pause → update → resume', () => {
  it('records the owed resume durably before the pause, pauses, updates, resumes, then clears it', async () => {
    const p = platform({ a: 2 });
    const gate = new WriteGate();
    const owedAtPause: unknown[] = [];
    const mgrTaskStatus = p.client.mgrTaskStatus.bind(p.client);
    p.client.mgrTaskStatus = (req) => {
      if (req.taskOperate === 2) owedAtPause.push(gate.durable?.owedResumes?.a);
      return mgrTaskStatus(req);
    };
    const applying = run(p, [desired('a', 7)], {}, 5_000, gate);
    await settle();
    // The owed resume's write is in flight and held: the pause must wait for it.
    expect(gate.held.map((h) => h.snapshot.owedResumes?.a)).toEqual([expect.objectContaining({ phase: 'pausing' })]);
    expect(p.log, 'the pause was sent before the owed resume was written').toEqual([]);
    gate.open();
    const { plan, result, writer, steps } = await applying;
    expect(plan.tasks[0].action).toBe('pause-update-resume');
    expect(p.log).toEqual(['pause a', 'update a (status 5)', 'start a']);
    expect(owedAtPause).toEqual([expect.objectContaining({ phase: 'pausing' })]);
    expect(writer.current.owedResumes).toBeUndefined();
    expect(gate.durable?.owedResumes).toBeUndefined();
    expect(writer.current.tasks.a).toMatchObject({ taskCreateSetting: { maxCall: 7 } });
    expect(p.statuses.a).toBe(2);
    expect(result.results[0]).toMatchObject({ outcome: 'applied', pausedMs: anyNumber() });
    expect(steps).toEqual(['a:pausing', 'a:updating', 'a:resuming', 'a:resumed']);
  });

  it('confirms a delayed pause by polling listTask', async () => {
    const p = platform({ a: 2 }, { pauseAfterPolls: 3 });
    const { result } = await run(p, [desired('a', 7)]);
    expect(p.log).toEqual(['pause a', 'update a (status 5)', 'start a']);
    expect(result.counts.applied).toBe(1);
    expect(result.results[0].pausedMs).toBeGreaterThanOrEqual(100 + 200); // two waits before the third read
  });

  it('a pause that does not take effect in time: a start cancels it, nothing is updated, the task fails clearly, the record stays', async () => {
    const p = platform({ a: 2 }, { pauseAfterPolls: 1_000 });
    const { result, writer } = await run(p, [desired('a', 7)], {}, 1_000);
    expect(p.log).toEqual(['pause a', 'start a']);
    expect(result.results[0]).toMatchObject({
      outcome: 'failed',
      message: matching(/pause did not take effect within 1000 ms.*not updated/),
    });
    // a pause landing later (if a start does not cancel it) is undone by the next apply
    expect(writer.current.owedResumes?.a).toMatchObject({ phase: 'pausing' });
    expect(p.statuses.a).toBe(2);
  });

  it('always resumes, even when the update is refused', async () => {
    const p = platform({ a: 2 }, { failUpdate: true });
    const { result } = await run(p, [desired('a', 7)]);
    expect(p.log).toEqual(['pause a', 'update a (status 5)', 'start a']);
    expect(result.results[0]).toMatchObject({
      outcome: 'failed',
      message: matching(/retCode 4.*the task was resumed/),
    });
    expect(p.statuses.a).toBe(2);
  });

  it('a resume that keeps failing leaves the owed resume in the state for the next apply', async () => {
    const p = platform({ a: 2 }, { refuseStart: 1_000 });
    const { result, writer } = await run(p, [desired('a', 7)], {}, 1_000);
    expect(result.results[0]).toMatchObject({
      outcome: 'failed',
      message: matching(/updated, but could not resume it.*next apply resumes it/),
    });
    expect(writer.current.owedResumes?.a).toMatchObject({ phase: 'paused' });
  });

  it('never resumes a task a person paused first: updated as it is, left paused', async () => {
    const p = platform({ a: 2 });
    const tasks = [desired('a', 7)];
    const remote = new Map([['a', { userTaskID: 'a', taskID: 'T-a', sceneID: 's', taskStatus: 2 }]]);
    const initial: CallformState = { version: 2, lineage: LINEAGE, serial: 1, tasks: {} };
    const plan = buildPlan({
      desired: tasks,
      state: initial,
      stateExists: true,
      remote,
      targets: null,
      filesDigest: 'f'.repeat(64),
      toolVersion: 't',
      now: p.now(),
    });
    p.statuses.a = 5; // a person pauses it between plan and apply
    const writer = new StateWriter('/unused', initial, async () => undefined);
    const result = await applyPlan(plan, {
      client: p.client,
      state: writer,
      parallelism: 1,
      now: p.now,
      sleep: p.sleep,
      pollMs: 100,
    });
    expect(p.log).toEqual(['pause a', 'update a (status 5)']);
    expect(p.statuses.a).toBe(5);
    expect(result.results[0]).toMatchObject({
      outcome: 'applied',
      warnings: [matching(/already paused: updated without pausing, and not resumed/)],
    });
    expect(writer.current.owedResumes).toBeUndefined();
  });

  it('a task that finishes when paused is not updated nor resumed', async () => {
    const p = platform({ a: 2 }, { finishOnPause: true });
    const { result, writer } = await run(p, [desired('a', 7)]);
    expect(p.log).toEqual(['pause a']);
    expect(result.results[0]).toMatchObject({
      outcome: 'blocked',
      message: matching(/finished meanwhile/),
    });
    expect(writer.current.owedResumes).toBeUndefined();
  });
});

describe('a refused pause', () => {
  it('while the task still runs: not updated, nothing resumed, the owed resume cleared, the refusal named', async () => {
    const p = platform({ a: 2 }, { refusePause: true });
    const { result, writer, steps } = await run(p, [desired('a', 7)]);
    expect(p.log).toEqual(['pause a']);
    expect(p.reads).toEqual(['a']); // why it was refused: the status says it still runs
    expect(result.results[0]).toMatchObject({
      outcome: 'failed',
      calls: 0,
      message: 'the pause was refused: mgrTaskStatus: retCode 1: cannot pause status 2',
    });
    expect(p.statuses.a).toBe(2);
    expect(writer.current.owedResumes).toBeUndefined();
    expect(steps).toEqual(['a:pausing']);
  });

  it('while the status cannot be read: not updated, nothing resumed, both reasons named', async () => {
    const p = platform({ a: 2 }, { refusePause: true, unreadable: true });
    const { result, writer } = await run(p, [desired('a', 7)]);
    expect(p.log).toEqual(['pause a']);
    expect(p.reads).toEqual(['a']);
    expect(result.results[0]).toMatchObject({
      outcome: 'failed',
      calls: 0,
      message:
        'the pause was refused (mgrTaskStatus: retCode 1: cannot pause status 2) and the status could not be read: listTask: socket hang up',
    });
    expect(p.statuses.a).toBe(2);
    expect(writer.current.owedResumes).toBeUndefined();
  });
});

describe('a failed state write around a pause window', () => {
  it('the owed resume cannot be written: nothing is paused, no other task is touched, apply fails', async () => {
    const p = platform({ a: 2, b: 2 });
    const gate = new WriteGate();
    const applying = run(p, [desired('a', 7), desired('b', 7)], {}, 5_000, gate).then(
      () => 'resolved',
      (err: Error) => err.message,
    );
    await settle();
    expect(gate.held.map((h) => Object.keys(h.snapshot.owedResumes ?? {}))).toEqual([['a']]);
    gate.held[0].fail(new Error('ENOSPC: no space left on device'));
    await settle();
    gate.open();
    expect(await applying).toBe('could not write state file unused: ENOSPC: no space left on device');
    expect(p.log).toEqual([]);
    expect(p.statuses).toEqual({ a: 2, b: 2 });
  });

  it('a write fails while a task is paused: it is still updated and resumed, the next task is never paused', async () => {
    const p = platform({ a: 2, b: 2 });
    let writes = 0;
    const gate = {
      // 1: a's owed resume; 2: a is paused
      write: () => (++writes === 2 ? Promise.reject(new Error('EIO: i/o error')) : Promise.resolve()),
    };
    const tasks = [desired('a', 7), desired('b', 7)];
    const outcome = await run(p, tasks, {}, 5_000, gate, 1).then(
      () => 'resolved',
      (err: Error) => err.message,
    );
    expect(outcome).toBe('could not write state file unused: EIO: i/o error');
    expect(p.log).toEqual(['pause a', 'update a (status 5)', 'start a']);
    expect(p.statuses).toEqual({ a: 2, b: 2 });
  });
});

describe('owed resumes', () => {
  const owed = (phase: 'pausing' | 'paused', since = '1970-01-01T00:00:00.000Z') => ({
    owedResumes: { a: { since, phase } },
  });

  it('resumes a task an earlier apply left paused, even with nothing else to do', async () => {
    const p = platform({ a: 5 });
    const { result, writer, plan } = await run(p, [], owed('paused'));
    expect(plan.summary.resume).toBe(1);
    expect(p.log).toEqual(['start a']);
    expect(result.results[0]).toMatchObject({ userTaskID: 'a', outcome: 'resumed' });
    expect(writer.current.owedResumes).toBeUndefined();
  });

  it('completes an interrupted window: the planned update first, then the resume', async () => {
    const p = platform({ a: 5 });
    const { result } = await run(p, [desired('a', 9)], owed('paused'));
    expect(p.log).toEqual(['update a (status 5)', 'start a']);
    expect(result.results[0]).toMatchObject({ outcome: 'applied', warnings: [matching(/^resumed/)] });
  });

  it.each([
    [2, /running again/],
    [3, /3 \(completed\)/],
    [4, /4 \(completed \(failed\)\)/],
  ])('clears without a call when the task is %i', async (status, why) => {
    const p = platform({ a: status });
    const { result, writer } = await run(p, [], owed('paused'));
    expect(p.log).toEqual([]);
    expect(result.results[0]).toMatchObject({ outcome: 'resumed', message: matching(why) });
    expect(writer.current.owedResumes).toBeUndefined();
  });

  it('a pause that may still be on its way (killed right after sending it) is waited for, then resumed', async () => {
    const p = platform({ a: 2 }, { pauseAfterPolls: 2 });
    await p.client.mgrTaskStatus({ userTaskID: 'a', taskOperate: 2 }); // the killed run's pause, still pending
    p.log.length = 0;
    const { writer } = await run(p, [], owed('pausing', p.now().toISOString()));
    expect(p.log).toEqual(['start a']);
    expect(p.statuses.a).toBe(2);
    expect(writer.current.owedResumes).toBeUndefined();
  });

  it('a window planned for a task that still owes a resume runs once the owed resume is settled (not before)', async () => {
    const p = platform({ a: 2 }, { pauseAfterPolls: 2 });
    await p.client.mgrTaskStatus({ userTaskID: 'a', taskOperate: 2 }); // a killed run's pause, still pending
    p.log.length = 0;
    const { plan, result, writer } = await run(p, [desired('a', 9)], owed('pausing', p.now().toISOString()));
    expect(plan.tasks[0].action).toBe('pause-update-resume');
    expect(p.log).toEqual(['start a', 'pause a', 'update a (status 5)', 'start a']);
    expect(result.results[0]).toMatchObject({ outcome: 'applied' });
    expect(p.statuses.a).toBe(2);
    expect(writer.current.owedResumes).toBeUndefined();
  });
});
