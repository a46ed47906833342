/**
 * The live-task lifecycle: pausing a running task around its update and resuming it, and
 * settling resumes an earlier (killed) apply still owes. Every step is confirmed by the
 * status the platform reports (mgrTaskStatus's taskStatus, else listTask), and every
 * wait is bounded. callform resumes only tasks it paused: the owed-resume record is
 * written before the pause is sent and cleared once the task runs again (or finished).
 */
import type { MgrTaskStatusRequest, MgrTaskStatusResponse } from '../api/wire.js';
import { ApiError } from '../api/errors.js';
import type { RemoteTask } from '../model/task.js';
import { TaskStatus, describeStatus, isFinishedStatus } from '../model/status.js';
import { errorMessage } from '../errors.js';
import type { StateWriter } from '../state/writer.js';

/** What the lifecycle needs from the API client. */
export interface LifecycleClient {
  mgrTaskStatus(req: Omit<MgrTaskStatusRequest, 'productID'>): Promise<MgrTaskStatusResponse>;
  listTaskPages(conditions: { userTaskID: string[] }, size?: number): Promise<RemoteTask[]>;
}

export type LifecycleStep = 'pausing' | 'paused' | 'updating' | 'resuming' | 'resumed' | 'left-paused';

export interface LifecycleContext {
  client: LifecycleClient;
  state: StateWriter;
  /** How long a pause (or a resume) may take to show in the task's status. */
  pauseTimeoutMs: number;
  /** First wait between two status reads while confirming; doubles up to 2 s. */
  pollMs: number;
  now: () => number;
  sleep: (ms: number) => Promise<void>;
  /** Each step of a pause window, for progress and for a stop signal to say what it waits for. */
  onStep?: (userTaskID: string, step: LifecycleStep) => void;
}

const POLL_CAP_MS = 2_000;
const OPERATE = { start: 1, pause: 2 } as const;

/** The task's status now, or null when listTask does not know it. */
export async function readStatus(ctx: LifecycleContext, userTaskID: string): Promise<number | null> {
  const found = await ctx.client.listTaskPages({ userTaskID: [userTaskID] });
  return found.find((t) => t.userTaskID === userTaskID)?.taskStatus ?? null;
}

/**
 * Reads the status until `done` accepts it or `deadline` (ms) passes; returns the last
 * status read (null: not found). Read errors count as "not yet" until the deadline.
 */
async function pollStatus(
  ctx: LifecycleContext,
  userTaskID: string,
  deadline: number,
  done: (status: number | null) => boolean,
): Promise<number | null | undefined> {
  let wait = ctx.pollMs;
  let last: number | null | undefined;
  for (;;) {
    try {
      last = await readStatus(ctx, userTaskID);
      if (done(last)) return last;
    } catch {
      // unknown for now; the deadline bounds the retries
    }
    const left = deadline - ctx.now();
    if (left <= 0) return last;
    await ctx.sleep(Math.min(wait, left));
    wait = Math.min(POLL_CAP_MS, wait * 2);
  }
}

/** A refusal the server verifiably answered on the first attempt: the operation did not happen. */
const refused = (err: unknown) => err instanceof ApiError && err.kind === 'retcode' && err.details.attempts === 1;
const settled = (status: number | null | undefined) =>
  status === null || status === TaskStatus.Paused || (status !== undefined && isFinishedStatus(status));

export type PauseOutcome =
  /** Paused by this call: update, then resume. */
  | { kind: 'paused' }
  /** Not running when asked (a person paused it, or it never started): update without any resume. */
  | { kind: 'not-running'; status: number }
  | { kind: 'finished'; status: number }
  | { kind: 'missing' }
  /** The pause did not show within the timeout (resumed again as a precaution). */
  | { kind: 'timeout'; message: string }
  | { kind: 'failed'; message: string };

/** Sends the pause and confirms it: by the answer's taskStatus, else by polling listTask up to pauseTimeoutMs. */
export async function pauseTask(ctx: LifecycleContext, userTaskID: string): Promise<PauseOutcome> {
  const deadline = ctx.now() + ctx.pauseTimeoutMs;
  try {
    const res = await ctx.client.mgrTaskStatus({ userTaskID, taskOperate: OPERATE.pause });
    if (res.taskStatus === TaskStatus.Paused) return { kind: 'paused' };
  } catch (err) {
    if (refused(err)) return notPausable(ctx, userTaskID, err);
    // Unknown whether it landed: the status will tell.
  }
  const status = await pollStatus(ctx, userTaskID, deadline, settled);
  if (status === TaskStatus.Paused) return { kind: 'paused' };
  if (status === null) return { kind: 'missing' };
  if (status !== undefined && isFinishedStatus(status)) return { kind: 'finished', status };
  return {
    kind: 'timeout',
    message: `the pause did not take effect within ${ctx.pauseTimeoutMs} ms (status ${status === undefined ? 'unknown' : describeStatus(status)})`,
  };
}

/** The pause was refused: find out why from the status (a person may have paused it first). */
async function notPausable(ctx: LifecycleContext, userTaskID: string, err: unknown): Promise<PauseOutcome> {
  let status: number | null;
  try {
    status = await readStatus(ctx, userTaskID);
  } catch (readErr) {
    return {
      kind: 'failed',
      message: `the pause was refused (${errorMessage(err)}) and the status could not be read: ${errorMessage(readErr)}`,
    };
  }
  if (status === null) return { kind: 'missing' };
  if (isFinishedStatus(status)) return { kind: 'finished', status };
  if (status === TaskStatus.Paused || status === TaskStatus.NotStarted) return { kind: 'not-running', status };
  return { kind: 'failed', message: `the pause was refused: ${errorMessage(err)}` };
}

export type ResumeOutcome =
  | { kind: 'resumed' }
  | { kind: 'finished'; status: number }
  | { kind: 'missing' }
  | { kind: 'failed'; message: string };

/** Sends the start and confirms the task runs again; a task that finished meanwhile is not resumed. */
export async function resumeTask(ctx: LifecycleContext, userTaskID: string): Promise<ResumeOutcome> {
  const deadline = ctx.now() + ctx.pauseTimeoutMs;
  let lastError = '';
  let wait = ctx.pollMs;
  for (;;) {
    try {
      const res = await ctx.client.mgrTaskStatus({ userTaskID, taskOperate: OPERATE.start });
      if (res.taskStatus === TaskStatus.Running) return { kind: 'resumed' };
    } catch (err) {
      lastError = errorMessage(err);
    }
    const status = await readStatus(ctx, userTaskID).catch(() => undefined);
    if (status === TaskStatus.Running) return { kind: 'resumed' };
    if (status === null) return { kind: 'missing' };
    if (status !== undefined && isFinishedStatus(status)) return { kind: 'finished', status };
    if (ctx.now() >= deadline) {
      return {
        kind: 'failed',
        message: `could not resume it (${lastError || `status ${status === undefined ? 'unknown' : describeStatus(status)}`}); the next apply resumes it`,
      };
    }
    await ctx.sleep(Math.min(wait, Math.max(0, deadline - ctx.now())));
    wait = Math.min(POLL_CAP_MS, wait * 2);
  }
}

export type OwedOutcome = { kind: 'resumed' } | { kind: 'cleared'; why: string } | { kind: 'failed'; message: string };

/**
 * Settles a resume an earlier apply owes. A task seen running needs nothing, except right
 * after a kill that may have left a pause on its way ("pausing" within pauseTimeoutMs of
 * being sent): then it waits for that window to pass and resumes if the pause landed.
 */
export async function settleOwedResume(
  ctx: LifecycleContext,
  userTaskID: string,
  owed: { since: string; phase: 'pausing' | 'paused' },
): Promise<OwedOutcome> {
  const windowEnd = Date.parse(owed.since) + ctx.pauseTimeoutMs;
  const status =
    owed.phase === 'pausing' && ctx.now() < windowEnd
      ? await pollStatus(ctx, userTaskID, windowEnd, (s) => s !== TaskStatus.Running)
      : await readStatus(ctx, userTaskID).catch(() => undefined);
  if (status === undefined)
    return { kind: 'failed', message: 'could not read the task status; the next apply tries again' };
  if (status === null) return { kind: 'cleared', why: 'the task no longer exists on NXCloud' };
  if (status === TaskStatus.Running) return { kind: 'cleared', why: 'it is running again' };
  if (isFinishedStatus(status)) return { kind: 'cleared', why: `it is ${describeStatus(status)}` };
  if (status === TaskStatus.NotStarted) return { kind: 'cleared', why: 'it is not started (callform never paused it)' };
  const resumed = await resumeTask(ctx, userTaskID);
  if (resumed.kind === 'resumed') return resumed;
  if (resumed.kind === 'failed') return resumed;
  return {
    kind: 'cleared',
    why:
      resumed.kind === 'missing' ? 'the task no longer exists on NXCloud' : `it is ${describeStatus(resumed.status)}`,
  };
}
