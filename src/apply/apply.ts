import type { CallformPlan, TaskPlan, UpdateTaskPlan, UpdateTaskPayload } from '../model/plan.js';
import { byUserTaskID } from '../model/task.js';
import type { TaskState } from '../generated/state.js';
import type { UpdateTaskResponse } from '../api/wire.js';
import { ApiError } from '../api/errors.js';
import { runPool } from '../concurrency/pool.js';
import type { StateWriter } from '../state/writer.js';
import { appliedEntry, type SentSettings } from '../state/entry.js';
import { errorMessage } from '../errors.js';

export type ApplyOutcome = 'applied' | 'blocked' | 'failed' | 'unchanged' | 'forgotten' | 'skipped';

export interface TaskResult {
  userTaskID: string;
  outcome: ApplyOutcome;
  /** Why it failed or was held back; for an applied task, what was sent. */
  message?: string;
  retCode?: number;
  calls: number;
  warnings: string[];
}

export interface ApplyResult {
  results: TaskResult[];
  counts: Record<ApplyOutcome, number>;
  /** True when a stop signal ended the run before every task was tried. */
  interrupted: boolean;
  updateCalls: number;
}

/** What apply needs from the API client. */
export interface UpdateClient {
  updateTask(payload: UpdateTaskPayload): Promise<UpdateTaskResponse>;
}

export interface ApplyOptions {
  client: UpdateClient;
  state: StateWriter;
  parallelism: number;
  now?: () => Date;
  /** Called as each task finishes (progress display, CI log lines). */
  onResult?: (result: TaskResult, done: number, total: number) => void;
  /** Checked before each new call: once true, no new call starts; calls in flight finish. */
  shouldStop?: () => boolean;
}

/** An update that calls the API. */
type Call = UpdateTaskPlan & { deferred: null; payload: UpdateTaskPayload };

function isCall(t: TaskPlan): t is Call {
  return t.action === 'update' && t.deferred === null && t.payload !== null;
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
  readonly counts: Record<ApplyOutcome, number> = { applied: 0, blocked: 0, failed: 0, unchanged: 0, forgotten: 0, skipped: 0 };
  updateCalls = 0;

  constructor(
    private readonly total: number,
    private readonly onResult?: ApplyOptions['onResult'],
  ) {}

  record(userTaskID: string, outcome: ApplyOutcome, extra: Partial<Omit<TaskResult, 'userTaskID' | 'outcome'>> = {}): void {
    const r: TaskResult = { userTaskID, outcome, calls: 0, warnings: [], ...extra };
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
      results.record(t.userTaskID, t.deferred.reason === 'blocked' ? 'blocked' : 'failed', { message: t.deferred.message, warnings: t.deferred.reason === 'blocked' ? t.warnings : [] });
    } else if (t.action === 'noop') {
      results.record(t.userTaskID, 'unchanged');
    } else if (t.payload === null) {
      // Only unmanaged fields changed (or an unconfirmed mark is dropped): the state catches up.
      options.state.recordApplied(t.userTaskID, appliedEntry(t.sceneID, t.after, t.remote?.taskID ?? options.state.current.tasks[t.userTaskID]?.taskID, at));
      results.record(t.userTaskID, 'applied', { message: 'state only (no field to send)' });
    }
  }
}

/**
 * Before any call, durably marks what is about to be sent: if the answer never arrives
 * (kill, timeout, unverifiable response) the next plan knows the server may hold it.
 * Returns each marked entry as it was before.
 */
async function markUnconfirmed(calls: readonly Call[], options: ApplyOptions): Promise<Map<string, TaskState>> {
  const since = timestamp(options);
  const sent = calls.filter((t) => options.state.current.tasks[t.userTaskID]).map((t) => ({ userTaskID: t.userTaskID, settings: sentSettings(t.payload) }));
  if (sent.length === 0) return new Map();
  const earlier = options.state.markUnconfirmed(sent, since);
  await options.state.flush();
  return earlier;
}

/** A refusal the server verifiably answered on the first and only attempt: nothing of that send landed. */
function refusedOutright(err: unknown): boolean {
  return err instanceof ApiError && err.kind === 'retcode' && err.details.attempts === 1;
}

/** One updateTask call; a confirmed answer replaces the state entry with exactly what was applied. */
async function sendUpdate(t: Call, earlier: TaskState | undefined, options: ApplyOptions, results: Results): Promise<void> {
  results.updateCalls++;
  try {
    const res = await options.client.updateTask(t.payload);
    const taskID = res.taskID ?? t.remote?.taskID ?? options.state.current.tasks[t.userTaskID]?.taskID;
    options.state.recordApplied(t.userTaskID, appliedEntry(t.sceneID, t.after, taskID, timestamp(options)));
    results.record(t.userTaskID, 'applied', { calls: 1, warnings: t.warnings });
  } catch (err) {
    if (earlier && refusedOutright(err)) options.state.restore(t.userTaskID, earlier);
    const retCode = err instanceof ApiError ? err.details.retCode : undefined;
    results.record(t.userTaskID, 'failed', { message: errorMessage(err), retCode, calls: 1 });
  }
}

/**
 * Executes a plan: one updateTask per changed task that goes ahead (bounded parallelism);
 * each success is recorded in state as soon as it is confirmed, so a failure or a kill
 * halfway leaves the state true for what landed. Non-zero retCodes fail that task only.
 */
export async function applyPlan(plan: CallformPlan, options: ApplyOptions): Promise<ApplyResult> {
  const results = new Results(plan.tasks.length, options.onResult);
  const calls = plan.tasks.filter(isCall);
  settleWithoutCalls(plan.tasks.filter((t) => !isCall(t)), options, results);
  const earlier = await markUnconfirmed(calls, options);
  const started = new Set<string>();
  const send = (t: Call) => {
    started.add(t.userTaskID);
    return sendUpdate(t, earlier.get(t.userTaskID), options, results);
  };
  await runPool(calls, options.parallelism, send, options.shouldStop);
  const unstarted = calls.filter((t) => !started.has(t.userTaskID));
  for (const t of unstarted) results.record(t.userTaskID, 'skipped', { message: 'not attempted: apply was interrupted' });
  await options.state.flush();
  return { results: results.list.sort(byUserTaskID), counts: results.counts, interrupted: unstarted.length > 0, updateCalls: results.updateCalls };
}
