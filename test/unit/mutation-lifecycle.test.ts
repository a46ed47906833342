/**
 * src/apply/lifecycle.ts step by step: pauseTask, resumeTask and settleOwedResume against
 * a scripted client (answers and statuses queued per call) and a fake clock. Written to
 * kill the mutants `npm run mutate` found alive (docs/testing.md); lifecycle.test.ts
 * covers the same steps end to end through applyPlan.
 */
import { describe, it, expect } from 'vitest';
import {
  pauseTask,
  resumeTask,
  settleOwedResume,
  readStatus,
  type LifecycleContext,
} from '../../src/apply/lifecycle.js';
import { ApiError } from '../../src/api/errors.js';
import { matching } from '../support/expect.js';
import { StateWriter } from '../../src/state/writer.js';

type Answer = number | Error; // a taskStatus, or a thrown error
const refusal = (msg = 'retCode 1: no') => new ApiError('mgrTaskStatus', 'retcode', msg, { retCode: 1, attempts: 1 });
const retriedRefusal = () => new ApiError('mgrTaskStatus', 'retcode', 'retCode 1: no', { retCode: 1, attempts: 2 });
const networkError = () => new ApiError('mgrTaskStatus', 'network', 'socket hang up', { attempts: 3 });

/**
 * `operate`: answers to mgrTaskStatus in order (the last repeats); `statuses`: answers to
 * listTask in order (the last repeats; null: not found, an Error: the read fails).
 */
function ctxFor(
  script: { operate?: Answer[]; statuses?: Array<number | null | Error> },
  over: Partial<LifecycleContext> = {},
) {
  const log: string[] = [];
  let t = 1_000_000;
  const operate = [...(script.operate ?? [])];
  const statuses = [...(script.statuses ?? [])];
  const next = <T>(q: T[]): T => (q.length > 1 ? q.shift()! : q[0]);
  const ctx: LifecycleContext = {
    client: {
      async mgrTaskStatus({ userTaskID, taskOperate }) {
        log.push(`${taskOperate === 2 ? 'pause' : 'start'} ${userTaskID}`);
        const a = next(operate);
        if (a instanceof Error) throw a;
        return { retCode: 0, retMsg: 'ok', taskStatus: a };
      },
      async listTaskPages({ userTaskID }) {
        log.push(`list ${userTaskID.join(',')}`);
        const s = next(statuses);
        if (s instanceof Error) throw s;
        return s === null
          ? [{ userTaskID: 'other', taskID: 'T-o', sceneID: 's', taskStatus: 2 }]
          : [
              { userTaskID: 'other', taskID: 'T-o', sceneID: 's', taskStatus: 4 },
              { userTaskID: userTaskID[0], taskID: 'T', sceneID: 's', taskStatus: s },
            ];
      },
    },
    state: new StateWriter('/unused', { version: 2, lineage: 'x', serial: 0, tasks: {} }, async () => undefined),
    pauseTimeoutMs: 1_000,
    pollMs: 100,
    now: () => t,
    sleep: async (ms) => {
      log.push(`sleep ${ms}`);
      t += ms;
    },
    ...over,
  };
  return { ctx, log, elapsed: () => t - 1_000_000 };
}

describe('readStatus', () => {
  it('the status of that task, or null when listTask does not list it', async () => {
    expect(await readStatus(ctxFor({ statuses: [5] }).ctx, 'a')).toBe(5);
    expect(await readStatus(ctxFor({ statuses: [null] }).ctx, 'a')).toBeNull();
  });
});

describe('pauseTask', () => {
  it('paused by the answer: no status read', async () => {
    const { ctx, log } = ctxFor({ operate: [5] });
    expect(await pauseTask(ctx, 'a')).toEqual({ kind: 'paused' });
    expect(log).toEqual(['pause a']);
  });

  it('paused later: polls with doubling waits (capped at 2 s, and at the time left)', async () => {
    const { ctx, log } = ctxFor({ operate: [2], statuses: [2, 2, 2, 2, 2, 5] }, { pauseTimeoutMs: 10_000 });
    expect(await pauseTask(ctx, 'a')).toEqual({ kind: 'paused' });
    expect(log.filter((l) => l.startsWith('sleep'))).toEqual([
      'sleep 100',
      'sleep 200',
      'sleep 400',
      'sleep 800',
      'sleep 1600',
    ]);
    const capped = ctxFor({ operate: [2], statuses: [2] }, { pauseTimeoutMs: 10_000, pollMs: 1500 });
    const outcome = await pauseTask(capped.ctx, 'a');
    expect(capped.log.filter((l) => l.startsWith('sleep'))).toEqual([
      'sleep 1500',
      'sleep 2000',
      'sleep 2000',
      'sleep 2000',
      'sleep 2000',
      'sleep 500',
    ]);
    expect(capped.elapsed()).toBe(10_000);
    expect(outcome).toEqual({
      kind: 'timeout',
      message: 'the pause did not take effect within 10000 ms (status 2 (running))',
    });
  });

  it('an unknown answer (network) is settled by the status: paused, missing, finished', async () => {
    expect(await pauseTask(ctxFor({ operate: [networkError()], statuses: [5] }).ctx, 'a')).toEqual({ kind: 'paused' });
    expect(await pauseTask(ctxFor({ operate: [networkError()], statuses: [null] }).ctx, 'a')).toEqual({
      kind: 'missing',
    });
    expect(await pauseTask(ctxFor({ operate: [networkError()], statuses: [3] }).ctx, 'a')).toEqual({
      kind: 'finished',
      status: 3,
    });
    expect(await pauseTask(ctxFor({ operate: [2], statuses: [4] }).ctx, 'a')).toEqual({ kind: 'finished', status: 4 });
    // A refusal after retries is not a verified refusal: also settled by polling.
    expect(await pauseTask(ctxFor({ operate: [retriedRefusal()], statuses: [5] }).ctx, 'a')).toEqual({
      kind: 'paused',
    });
  });

  it('missing or finished ends the watch at once: one read, no wait', async () => {
    const missing = ctxFor({ operate: [networkError()], statuses: [null] });
    expect(await pauseTask(missing.ctx, 'a')).toEqual({ kind: 'missing' });
    expect(missing.log).toEqual(['pause a', 'list a']);
    for (const done of [3, 4]) {
      const finished = ctxFor({ operate: [2], statuses: [done] });
      expect(await pauseTask(finished.ctx, 'a')).toEqual({ kind: 'finished', status: done });
      expect(finished.log).toEqual(['pause a', 'list a']);
    }
  });

  it('only a retCode refusal on the first attempt is a refusal: any other failure is settled by the status', async () => {
    const http = new ApiError('mgrTaskStatus', 'http', 'HTTP 502', { statusCode: 502, attempts: 1 });
    for (const err of [http, new Error('boom')]) {
      const { ctx, log } = ctxFor({ operate: [err], statuses: [5] });
      expect(await pauseTask(ctx, 'a')).toEqual({ kind: 'paused' });
      expect(log).toEqual(['pause a', 'list a']);
    }
  });

  it('status reads that keep failing: a timeout with the status unknown', async () => {
    const { ctx, elapsed } = ctxFor({ operate: [2], statuses: [new Error('down')] });
    expect(await pauseTask(ctx, 'a')).toEqual({
      kind: 'timeout',
      message: 'the pause did not take effect within 1000 ms (status unknown)',
    });
    expect(elapsed()).toBe(1_000);
  });

  it('a failed read in between does not lose the last status read', async () => {
    const { ctx } = ctxFor({ operate: [2], statuses: [2, new Error('down')] });
    expect(await pauseTask(ctx, 'a')).toMatchObject({ message: matching(/\(status 2 \(running\)\)/) });
  });

  it('a verified refusal: the status says why', async () => {
    const refused = (statuses: Array<number | null | Error>) =>
      pauseTask(ctxFor({ operate: [refusal()], statuses }).ctx, 'a');
    expect(await refused([5])).toEqual({ kind: 'not-running', status: 5 });
    expect(await refused([1])).toEqual({ kind: 'not-running', status: 1 });
    expect(await refused([3])).toEqual({ kind: 'finished', status: 3 });
    expect(await refused([4])).toEqual({ kind: 'finished', status: 4 });
    expect(await refused([null])).toEqual({ kind: 'missing' });
    expect(await refused([2])).toEqual({
      kind: 'failed',
      message: 'the pause was refused: mgrTaskStatus: retCode 1: no',
    });
    expect(await refused([new Error('list down')])).toEqual({
      kind: 'failed',
      message: 'the pause was refused (mgrTaskStatus: retCode 1: no) and the status could not be read: list down',
    });
  });

  it('the deadline is counted from before the pause call', async () => {
    let t = 0;
    const { ctx } = ctxFor({ operate: [2], statuses: [2] }, { now: () => t, sleep: async (ms) => void (t += ms) });
    const slowCall = ctx.client.mgrTaskStatus.bind(ctx.client);
    ctx.client.mgrTaskStatus = async (req) => {
      t += 900; // the pause call itself takes 900 of the 1000 ms
      return slowCall(req);
    };
    await pauseTask(ctx, 'a');
    expect(t).toBe(1_000);
  });
});

describe('resumeTask', () => {
  it('resumed by the answer, or by the status read after it', async () => {
    const a = ctxFor({ operate: [2] });
    expect(await resumeTask(a.ctx, 'a')).toEqual({ kind: 'resumed' });
    expect(a.log).toEqual(['start a']);
    expect(await resumeTask(ctxFor({ operate: [5], statuses: [2] }).ctx, 'a')).toEqual({ kind: 'resumed' });
    expect(await resumeTask(ctxFor({ operate: [networkError()], statuses: [2] }).ctx, 'a')).toEqual({
      kind: 'resumed',
    });
  });

  it('missing or finished: not resumed, no retry', async () => {
    expect(await resumeTask(ctxFor({ operate: [5], statuses: [null] }).ctx, 'a')).toEqual({ kind: 'missing' });
    expect(await resumeTask(ctxFor({ operate: [5], statuses: [3] }).ctx, 'a')).toEqual({ kind: 'finished', status: 3 });
  });

  it('retries with doubling waits until the deadline, then says why', async () => {
    const { ctx, log, elapsed } = ctxFor({ operate: [networkError()], statuses: [5] }, { pauseTimeoutMs: 1_000 });
    expect(await resumeTask(ctx, 'a')).toEqual({
      kind: 'failed',
      message: 'could not resume it (mgrTaskStatus: socket hang up); the next apply resumes it',
    });
    expect(log.filter((l) => l.startsWith('sleep'))).toEqual(['sleep 100', 'sleep 200', 'sleep 400', 'sleep 300']);
    expect(elapsed()).toBe(1_000);
    const quiet = ctxFor({ operate: [5], statuses: [5] });
    expect(await resumeTask(quiet.ctx, 'a')).toEqual({
      kind: 'failed',
      message: 'could not resume it (status 5 (paused)); the next apply resumes it',
    });
    const unknown = ctxFor({ operate: [5], statuses: [new Error('down')] });
    expect(await resumeTask(unknown.ctx, 'a')).toEqual({
      kind: 'failed',
      message: 'could not resume it (status unknown); the next apply resumes it',
    });
  });

  it('a later success after failures resumes', async () => {
    const { ctx } = ctxFor({ operate: [networkError(), networkError(), 2], statuses: [5] });
    expect(await resumeTask(ctx, 'a')).toEqual({ kind: 'resumed' });
  });

  it('the waits are capped at 2 s', async () => {
    const { ctx, log } = ctxFor({ operate: [5], statuses: [5] }, { pauseTimeoutMs: 7_000, pollMs: 1_500 });
    await resumeTask(ctx, 'a');
    expect(log.filter((l) => l.startsWith('sleep'))).toEqual(['sleep 1500', 'sleep 2000', 'sleep 2000', 'sleep 1500']);
  });
});

describe('settleOwedResume', () => {
  const owed = (phase: 'pausing' | 'paused', since = new Date(1_000_000).toISOString()) => ({ since, phase });

  it('reads the status once when the pause is old or known to have landed', async () => {
    const read = (statuses: Array<number | null | Error>, phase: 'pausing' | 'paused' = 'paused') =>
      settleOwedResume(ctxFor({ operate: [2], statuses }).ctx, 'a', owed(phase, new Date(0).toISOString()));
    expect(await read([new Error('down')])).toEqual({
      kind: 'failed',
      message: 'could not read the task status; the next apply tries again',
    });
    expect(await read([null])).toEqual({ kind: 'cleared', why: 'the task no longer exists on NXCloud' });
    expect(await read([2])).toEqual({ kind: 'cleared', why: 'it is running again' });
    expect(await read([3])).toEqual({ kind: 'cleared', why: 'it is 3 (completed)' });
    expect(await read([4], 'pausing')).toEqual({ kind: 'cleared', why: 'it is 4 (completed (failed))' });
    expect(await read([1])).toEqual({ kind: 'cleared', why: 'it is not started (callform never paused it)' });
    expect(await read([5])).toEqual({ kind: 'resumed' });
  });

  it('a paused task: the resume decides', async () => {
    const settle = (operate: Answer[], statuses: Array<number | null | Error>) =>
      settleOwedResume(ctxFor({ operate, statuses }).ctx, 'a', owed('paused'));
    expect(await settle([5], [5, null])).toEqual({ kind: 'cleared', why: 'the task no longer exists on NXCloud' });
    expect(await settle([5], [5, 3])).toEqual({ kind: 'cleared', why: 'it is 3 (completed)' });
    expect(await settle([networkError()], [5])).toEqual({
      kind: 'failed',
      message: 'could not resume it (mgrTaskStatus: socket hang up); the next apply resumes it',
    });
  });

  it('a pause known to have landed, or a pause still on its way that landed: one read, no wait', async () => {
    // "paused" inside the window: read once, not watched (a running task is not waited on).
    const paused = ctxFor({ operate: [2], statuses: [2] });
    expect(await settleOwedResume(paused.ctx, 'a', owed('paused'))).toEqual({
      kind: 'cleared',
      why: 'it is running again',
    });
    expect(paused.log).toEqual(['list a']);
    // "pausing" inside the window, already paused: the watch ends at the first read, then the resume.
    const landed = ctxFor({ operate: [2], statuses: [5] });
    expect(await settleOwedResume(landed.ctx, 'a', owed('pausing'))).toEqual({ kind: 'resumed' });
    expect(landed.log).toEqual(['list a', 'start a']);
  });

  it('a pause that may still be on its way: watched until the window ends, then resumed if it landed', async () => {
    // Sent at 1,000,000 with a 1 s window; now is 1,000,000: polls until it lands.
    const landed = ctxFor({ operate: [2], statuses: [2, 2, 5] });
    expect(await settleOwedResume(landed.ctx, 'a', owed('pausing'))).toEqual({ kind: 'resumed' });
    expect(landed.log.filter((l) => l.startsWith('list')).length).toBeGreaterThanOrEqual(3);
    // Never landed: it keeps running through the window; nothing to resume.
    const never = ctxFor({ operate: [2], statuses: [2] });
    expect(await settleOwedResume(never.ctx, 'a', owed('pausing'))).toEqual({
      kind: 'cleared',
      why: 'it is running again',
    });
    expect(never.elapsed()).toBe(1_000);
    // The window has just ended: one read, no wait.
    const ended = ctxFor({ operate: [2], statuses: [2] });
    expect(await settleOwedResume(ended.ctx, 'a', owed('pausing', new Date(1_000_000 - 1_000).toISOString()))).toEqual({
      kind: 'cleared',
      why: 'it is running again',
    });
    expect(ended.log).toEqual(['list a']);
  });
});
