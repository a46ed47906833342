import {
  isChange,
  isCreate,
  type CallformPlan,
  type TaskPlan,
  type ChangeTaskPlan,
  type PauseUpdateTaskPlan,
  type UpdateTaskPayload,
} from '../model/plan.js';
import { byUserTaskID, ownEntry } from '../model/task.js';
import type { TaskState, OwedResume } from '../generated/state.js';
import type { UpdateTaskResponse } from '../api/wire.js';
import { ApiError } from '../api/errors.js';
import { runPool } from '../concurrency/pool.js';
import type { StateWriter } from '../state/writer.js';
import { appliedEntry, type SentSettings } from '../state/entry.js';
import { markCreating, sendCreate, unmarkCreating, type CreateCall, type CreateClient } from './create.js';
import { errorMessage } from '../errors.js';
import {
  pauseTask,
  resumeTask,
  settleOwedResume,
  type LifecycleClient,
  type LifecycleContext,
  type LifecycleStep,
  type ResumeOutcome,
} from './lifecycle.js';

type ApplyOutcome = 'created' | 'applied' | 'blocked' | 'failed' | 'unchanged' | 'forgotten' | 'skipped' | 'resumed';

export interface TaskResult {
  userTaskID: string;
  outcome: ApplyOutcome;
  /** Why it failed or was held back; for an applied task, what was sent. */
  message?: string;
  retCode?: number;
  /** updateTask calls for this task (0 or 1); createTask, pause and resume calls count in the run's traffic. */
  calls: number;
  warnings: string[];
  /** pause → update → resume: from sending the pause to the confirmed resume (ms). */
  pausedMs?: number;
}

export interface ApplyResult {
  results: TaskResult[];
  counts: Record<ApplyOutcome, number>;
  /** True when a stop signal ended the run before every task was tried. */
  interrupted: boolean;
  updateCalls: number;
  /** createTask calls (one per task to create that was tried; the client's retries not counted). */
  createCalls: number;
}

/** What apply needs from the API client. */
interface UpdateClient {
  updateTask(payload: UpdateTaskPayload): Promise<UpdateTaskResponse>;
}
export type ApplyClient = UpdateClient & LifecycleClient & CreateClient;

export interface ApplyOptions {
  client: ApplyClient;
  state: StateWriter;
  parallelism: number;
  now?: () => Date;
  sleep?: (ms: number) => Promise<void>;
  /** How long a pause may take to show (settings pauseTimeoutMs; default 30 s). */
  pauseTimeoutMs?: number;
  /** First wait between status reads while confirming a pause or a resume (default 100 ms). */
  pollMs?: number;
  /** Each step of a pause window (a stop signal says which windows it waits for). */
  onStep?: (userTaskID: string, step: LifecycleStep) => void;
  /** Called as each task finishes (progress display, CI log lines). */
  onResult?: (result: TaskResult, done: number, total: number) => void;
  /** Checked before each new call: once true, no new call starts; calls in flight finish. */
  shouldStop?: () => boolean;
}

/** A change that calls the API (a plain update, or one inside a pause window). */
type Call = ChangeTaskPlan & { deferred: null; payload: UpdateTaskPayload };
type WindowCall = Call & PauseUpdateTaskPlan;

function isCall(t: TaskPlan): t is Call {
  return isChange(t) && t.deferred === null && t.payload !== null;
}

function isCreateCall(t: TaskPlan): t is CreateCall {
  return isCreate(t) && t.deferred === null;
}

/** The settings part of an updateTask payload (what may land on the server). */
function sentSettings(payload: UpdateTaskPayload): SentSettings {
  const { productID: _p, userTaskID: _u, sceneID: _s, ...settings } = payload;
  return settings;
}

const timestamp = (options: ApplyOptions) => (options.now?.() ?? new Date()).toISOString();

/** Collects results in order of completion and counts them. */
class Results {
  readonly list: TaskResult[] = [];
  readonly counts: Record<ApplyOutcome, number> = {
    created: 0,
    applied: 0,
    blocked: 0,
    failed: 0,
    unchanged: 0,
    forgotten: 0,
    skipped: 0,
    resumed: 0,
  };
  updateCalls = 0;
  createCalls = 0;
  /** Tasks that got a result: the rest of the calls were never started. */
  readonly done = new Set<string>();

  constructor(
    private readonly total: number,
    private readonly onResult?: ApplyOptions['onResult'],
  ) {}

  record(
    userTaskID: string,
    outcome: ApplyOutcome,
    extra: Partial<Omit<TaskResult, 'userTaskID' | 'outcome'>> = {},
  ): void {
    const r: TaskResult = { userTaskID, outcome, calls: 0, warnings: [], ...extra };
    this.done.add(userTaskID);
    this.list.push(r);
    this.counts[outcome]++;
    this.onResult?.(r, this.list.length, this.total);
  }
}

/** Every task that needs no API call: unchanged, held back, forgotten, or a state-only update. */
function settleWithoutCalls(tasks: readonly TaskPlan[], options: ApplyOptions, results: Results): void {
  const at = timestamp(options);
  for (const t of tasks) {
    if (t.action === 'forget') {
      options.state.forget(t.userTaskID);
      results.record(t.userTaskID, 'forgotten');
    } else if (t.deferred) {
      results.record(t.userTaskID, t.deferred.reason === 'blocked' ? 'blocked' : 'failed', {
        message: t.deferred.message,
        warnings: t.deferred.reason === 'blocked' ? t.warnings : [],
      });
    } else if (t.action === 'noop') {
      results.record(t.userTaskID, 'unchanged');
    } else if (t.payload === null) {
      // Only unmanaged fields changed (or an unconfirmed mark is dropped): the state catches up.
      options.state.recordApplied(
        t.userTaskID,
        appliedEntry(t.sceneID, t.after, t.remote?.taskID ?? options.state.task(t.userTaskID)?.taskID, at),
      );
      results.record(t.userTaskID, 'applied', { message: 'state only (no field to send)' });
    }
  }
}

/**
 * Every task's outcome when the plan is not executed: held-back tasks as apply reports them
 * (blocked; failed for an error), unchanged ones, and what would have gone ahead as skipped
 * with `why` (a cancelled apply). Pure: nothing is sent and the state is not touched.
 */
export function unexecutedResults(plan: CallformPlan, why: string): ApplyResult {
  const results = new Results(0);
  for (const t of plan.tasks) {
    if (t.action !== 'forget' && t.deferred) {
      const blocked = t.deferred.reason === 'blocked';
      results.record(t.userTaskID, blocked ? 'blocked' : 'failed', {
        message: t.deferred.message,
        warnings: blocked ? t.warnings : [],
      });
    } else if (t.action === 'noop') results.record(t.userTaskID, 'unchanged');
    else results.record(t.userTaskID, 'skipped', { message: why });
  }
  for (const r of plan.resumes)
    if (!results.done.has(r.userTaskID)) results.record(r.userTaskID, 'skipped', { message: why });
  return {
    results: results.list.sort(byUserTaskID),
    counts: results.counts,
    interrupted: false,
    updateCalls: 0,
    createCalls: 0,
  };
}

/**
 * Before any call, durably marks what is about to be sent: if the answer never arrives
 * (kill, timeout, unverifiable response) the next plan knows the server may hold it.
 * Returns each marked entry as it was before.
 */
async function markUnconfirmed(calls: readonly Call[], options: ApplyOptions): Promise<Map<string, TaskState>> {
  const since = timestamp(options);
  const sent = calls
    .filter((t) => options.state.task(t.userTaskID))
    .map((t) => ({ userTaskID: t.userTaskID, settings: sentSettings(t.payload) }));
  if (sent.length === 0) return new Map();
  const earlier = options.state.markUnconfirmed(sent, since);
  await options.state.flush();
  return earlier;
}

/** A refusal the server verifiably answered on the first and only attempt: nothing of that send landed. */
function refusedOutright(err: unknown): boolean {
  return err instanceof ApiError && err.kind === 'retcode' && err.details.attempts === 1;
}

type UpdateOutcome = { ok: true } | { ok: false; message: string; retCode?: number };

/** One updateTask call; a confirmed answer replaces the state entry with exactly what was applied. */
async function sendUpdate(
  t: Call,
  earlier: TaskState | undefined,
  options: ApplyOptions,
  results: Results,
): Promise<UpdateOutcome> {
  results.updateCalls++;
  try {
    const res = await options.client.updateTask(t.payload);
    const taskID = res.taskID ?? t.remote?.taskID ?? options.state.task(t.userTaskID)?.taskID;
    options.state.recordApplied(t.userTaskID, appliedEntry(t.sceneID, t.after, taskID, timestamp(options)));
    return { ok: true };
  } catch (err) {
    if (earlier && refusedOutright(err)) options.state.restore(t.userTaskID, earlier);
    return {
      ok: false,
      message: errorMessage(err),
      retCode: err instanceof ApiError ? err.details.retCode : undefined,
    };
  }
}

function recordUpdate(t: Call, outcome: UpdateOutcome, results: Results, extra: Partial<TaskResult> = {}): void {
  if (outcome.ok) results.record(t.userTaskID, 'applied', { calls: 1, warnings: t.warnings, ...extra });
  else
    results.record(t.userTaskID, 'failed', { message: outcome.message, retCode: outcome.retCode, calls: 1, ...extra });
}

function lifecycle(options: ApplyOptions): LifecycleContext {
  return {
    client: options.client,
    state: options.state,
    pauseTimeoutMs: options.pauseTimeoutMs ?? 30_000,
    pollMs: options.pollMs ?? 100,
    now: () => (options.now?.() ?? new Date()).getTime(),
    sleep: options.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms))),
    onStep: options.onStep,
  };
}

/** After the resume attempt: the record is cleared unless the task may still be paused by callform. */
function settleResume(ctx: LifecycleContext, userTaskID: string, resumed: ResumeOutcome): string | undefined {
  if (resumed.kind === 'failed') {
    ctx.onStep?.(userTaskID, 'left-paused');
    return resumed.message;
  }
  ctx.state.clearResume(userTaskID);
  ctx.onStep?.(userTaskID, 'resumed');
  return undefined;
}

/**
 * pause → confirm → update → resume → confirm, back to back. The owed resume is written
 * (fsync) before the pause is sent; the resume is sent whatever the update's outcome.
 */
async function runWindow(
  t: WindowCall,
  earlier: TaskState | undefined,
  options: ApplyOptions,
  results: Results,
): Promise<void> {
  const ctx = lifecycle(options);
  const id = t.userTaskID;
  ctx.state.oweResume(id, new Date(ctx.now()).toISOString());
  try {
    await ctx.state.flush();
  } catch (err) {
    // The owed resume is not durable: no pause (apply fails with the write error once the calls in flight end).
    results.record(id, 'failed', { message: `not paused nor updated: ${errorMessage(err)}` });
    return;
  }
  const start = ctx.now();
  ctx.onStep?.(id, 'pausing');
  const paused = await pauseTask(ctx, id);
  if (paused.kind === 'paused') {
    ctx.state.markPaused(id);
    ctx.onStep?.(id, 'updating');
    const update = await sendUpdate(t, earlier, options, results);
    ctx.onStep?.(id, 'resuming');
    const unresumed = settleResume(ctx, id, await resumeTask(ctx, id));
    const pausedMs = ctx.now() - start;
    if (unresumed)
      results.record(id, 'failed', {
        message: `${update.ok ? 'updated' : `not updated (${update.message})`}, but ${unresumed}`,
        calls: 1,
        pausedMs,
      });
    else
      recordUpdate(t, update, results, {
        pausedMs,
        ...(update.ok ? {} : { message: `${update.message}; the task was resumed` }),
      });
    return;
  }
  if (paused.kind === 'timeout') {
    // The start should cancel a pause still on its way, but the docs do not say so: the
    // record stays ("pausing", from now), so a pause that lands later is undone next time.
    const resumed = await resumeTask(ctx, id);
    ctx.state.oweResume(id, new Date(ctx.now()).toISOString());
    ctx.onStep?.(id, 'left-paused');
    const after =
      resumed.kind === 'failed'
        ? resumed.message
        : 'a start was sent and the next apply checks that no late pause stuck';
    results.record(id, 'failed', { message: `${paused.message}: not updated; ${after}`, pausedMs: ctx.now() - start });
    return;
  }
  ctx.state.clearResume(id); // nothing of ours is paused
  if (paused.kind === 'not-running') {
    // A person paused it (or it never started): update it as it is and leave its status alone.
    recordUpdate(t, await sendUpdate(t, earlier, options, results), results, {
      warnings: [
        ...t.warnings,
        `the task was ${paused.status === 5 ? 'already paused' : 'not started'}: updated without pausing, and not resumed`,
      ],
    });
  } else if (paused.kind === 'finished') {
    results.record(id, 'blocked', { message: `the task finished meanwhile (status ${paused.status}): not updated` });
  } else {
    results.record(id, 'failed', {
      message: paused.kind === 'missing' ? 'the task no longer exists on NXCloud' : paused.message,
    });
  }
}

/**
 * A resume an earlier apply owes. A plain update planned for the same task (it was seen
 * paused, by callform) completes the interrupted window first: update, then resume. A
 * pause → update → resume planned for it (it was seen running) runs once the owed resume
 * is settled.
 */
async function runOwed(
  userTaskID: string,
  owed: OwedResume,
  call: Call | undefined,
  earlier: TaskState | undefined,
  options: ApplyOptions,
  results: Results,
): Promise<void> {
  const ctx = lifecycle(options);
  const update = call?.action === 'update' ? await sendUpdate(call, earlier, options, results) : undefined;
  ctx.onStep?.(userTaskID, 'resuming');
  const settled = await settleOwedResume(ctx, userTaskID, owed);
  if (settled.kind !== 'failed') {
    ctx.state.clearResume(userTaskID);
    ctx.onStep?.(userTaskID, 'resumed');
  }
  const note =
    settled.kind === 'resumed'
      ? 'resumed (an earlier apply paused it and did not resume it)'
      : settled.kind === 'cleared'
        ? `no resume needed: ${settled.why}`
        : settled.message;
  if (call?.action === 'pause-update-resume') {
    if (settled.kind === 'failed') results.record(userTaskID, 'failed', { message: `${note}; not updated` });
    else await runWindow(call, earlier, options, results);
  } else if (call && update) {
    recordUpdate(
      call,
      update,
      results,
      settled.kind === 'failed'
        ? { outcome: 'failed', message: `${update.ok ? 'updated' : update.message}; ${note}` }
        : { warnings: [...call.warnings, note] },
    );
  } else {
    results.record(userTaskID, settled.kind === 'failed' ? 'failed' : 'resumed', { message: note });
  }
}

/**
 * A task to create: createTask (settled by a lookup when it fails), then updateTask with
 * every declared setting. A failed update leaves the state at `created`, so the next plan
 * shows the task as "updated (created, settings not yet sent)" and sends every field.
 */
async function runCreate(
  t: CreateCall,
  earlier: TaskState | undefined,
  since: string,
  options: ApplyOptions,
  results: Results,
): Promise<void> {
  results.createCalls++;
  const created = await sendCreate(t, options.client, options.state, earlier, since);
  if (!created.ok) {
    results.record(t.userTaskID, 'failed', { message: created.message, retCode: created.retCode });
    return;
  }
  const warnings = created.note ? [created.note] : [];
  if (t.payload === null) {
    options.state.recordApplied(t.userTaskID, appliedEntry(t.sceneID, t.after, created.taskID, timestamp(options)));
    results.record(t.userTaskID, 'created', { warnings, message: 'created (no setting declared)' });
    return;
  }
  results.updateCalls++;
  try {
    const res = await options.client.updateTask(t.payload);
    const entry = appliedEntry(t.sceneID, t.after, res.taskID ?? created.taskID, timestamp(options));
    options.state.recordApplied(t.userTaskID, entry);
    results.record(t.userTaskID, 'created', { calls: 1, warnings });
  } catch (err) {
    results.record(t.userTaskID, 'failed', {
      message: `created, but its settings were not sent: ${errorMessage(err)}; the next plan sends them (created, settings not yet sent)`,
      retCode: err instanceof ApiError ? err.details.retCode : undefined,
      calls: 1,
      warnings,
    });
  }
}

/**
 * Executes a plan. First the resumes an earlier apply owes, then one updateTask per
 * changed task that goes ahead (running tasks opted in are paused around it), with
 * bounded parallelism. Each success is recorded in state as soon as it is confirmed, so a
 * failure or a kill halfway leaves the state true for what landed. Non-zero retCodes fail
 * that task only.
 */
export async function applyPlan(plan: CallformPlan, options: ApplyOptions): Promise<ApplyResult> {
  const owed = Object.entries(options.state.current.owedResumes ?? {});
  const results = new Results(
    plan.tasks.length + owed.filter(([id]) => !plan.tasks.some((t) => t.userTaskID === id)).length,
    options.onResult,
  );
  const calls = plan.tasks.filter(isCall);
  const creates = plan.tasks.filter(isCreateCall);
  settleWithoutCalls(
    plan.tasks.filter((t) => !isCall(t) && !isCreateCall(t)),
    options,
    results,
  );
  const earlier = await markUnconfirmed(calls, options);
  const creatingSince = timestamp(options);
  const beforeCreate = await markCreating(creates, options.state, creatingSince);
  // A failed state write ends the run: no new call starts (the ones in flight finish).
  const stop = () => options.state.failed || (options.shouldStop?.() ?? false);
  const callOf = new Map(calls.map((t) => [t.userTaskID, t]));
  await runPool(
    owed,
    options.parallelism,
    ([id, o]) => runOwed(id, o, callOf.get(id), earlier.get(id), options, results),
    stop,
  );
  const rest = calls.filter(
    (t) => !ownEntry(options.state.current.owedResumes, t.userTaskID) && !results.done.has(t.userTaskID),
  );
  const run = (t: Call | CreateCall) =>
    t.action === 'create'
      ? runCreate(t, beforeCreate.get(t.userTaskID), creatingSince, options, results)
      : t.action === 'pause-update-resume'
        ? runWindow(t, earlier.get(t.userTaskID), options, results)
        : sendUpdate(t, earlier.get(t.userTaskID), options, results).then((o) => recordUpdate(t, o, results));
  await runPool([...creates, ...rest], options.parallelism, run, stop);
  const unstartedCreates = creates.filter((c) => !results.done.has(c.userTaskID));
  for (const t of unstartedCreates) {
    // Never sent: the write-ahead mark goes (nothing can have been created).
    if (!options.state.failed) unmarkCreating(options.state, t.userTaskID, beforeCreate.get(t.userTaskID));
    results.record(t.userTaskID, 'skipped', { message: 'not attempted: apply was interrupted' });
  }
  const unstarted = calls.filter((t) => !results.done.has(t.userTaskID));
  for (const t of unstarted) {
    // Never sent: the server cannot hold it, so its unconfirmed mark would be a false alarm
    // that hides the real diff in the next plan (found by a hostile tryout). After a failed
    // state write nothing more is written, and the marks on disk stay (docs/state.md).
    const before = earlier.get(t.userTaskID);
    if (before && !options.state.failed) options.state.restore(t.userTaskID, before);
    results.record(t.userTaskID, 'skipped', { message: 'not attempted: apply was interrupted' });
  }
  await options.state.flush();
  return {
    results: results.list.sort(byUserTaskID),
    counts: results.counts,
    interrupted: unstarted.length + unstartedCreates.length > 0,
    updateCalls: results.updateCalls,
    createCalls: results.createCalls,
  };
}
