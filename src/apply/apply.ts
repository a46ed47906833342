import type { CallformPlan, TaskPlan } from '../generated/plan.js';
import type { NxCloudClient } from '../api/client.js';
import { runPool } from '../api/client.js';
import { ApiError } from '../api/errors.js';
import { byUserTaskID } from '../api/types.js';
import type { StateWriter } from '../state/state.js';
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

export interface ApplyOptions {
  client: Pick<NxCloudClient, 'updateTask'>;
  state: StateWriter;
  parallelism: number;
  now?: () => Date;
  /** Called as each task finishes (progress display, CI log lines). */
  onResult?: (result: TaskResult, done: number, total: number) => void;
  /** Checked before each new call: once true, no new call starts; calls in flight finish. */
  shouldStop?: () => boolean;
}

/**
 * Executes a plan: one updateTask per changed, unblocked task (bounded parallelism);
 * each success is recorded in state as soon as it is confirmed, so a failure or a kill
 * halfway leaves the state true for what landed. Non-zero retCodes fail that task only.
 */
/** The settings part of an updateTask payload (what may land on the server). */
function sentSettings(t: TaskPlan) {
  const { productID: _p, userTaskID: _u, sceneID: _s, ...settings } = t.payload!;
  return settings;
}

export async function applyPlan(plan: CallformPlan, options: ApplyOptions): Promise<ApplyResult> {
  const now = options.now ?? (() => new Date());
  const results: TaskResult[] = [];
  const counts: Record<ApplyOutcome, number> = { applied: 0, blocked: 0, failed: 0, unchanged: 0, forgotten: 0, skipped: 0 };
  let updateCalls = 0;
  const record = (r: TaskResult) => {
    results.push(r);
    counts[r.outcome]++;
    options.onResult?.(r, results.length, plan.tasks.length);
  };
  const recordApplied = (t: TaskPlan, taskID: string | undefined) => {
    const id = taskID ?? options.state.current.tasks[t.userTaskID]?.taskID;
    options.state.recordApplied(t.userTaskID, {
      sceneID: t.sceneID,
      ...(id ? { taskID: id } : {}),
      taskCreateSetting: t.after!.taskCreateSetting,
      funcFlag: t.after!.funcFlag,
      appliedAt: now().toISOString(),
    });
  };
  const immediate: TaskPlan[] = [];
  const calls: TaskPlan[] = [];
  for (const t of plan.tasks) (t.action === 'update' && t.payload ? calls : immediate).push(t);

  for (const t of immediate) {
    switch (t.action) {
      case 'noop':
        record({ userTaskID: t.userTaskID, outcome: 'unchanged', calls: 0, warnings: [] });
        break;
      case 'blocked':
        record({ userTaskID: t.userTaskID, outcome: 'blocked', message: t.reason ?? 'blocked by task status', calls: 0, warnings: t.warnings });
        break;
      case 'error':
        record({ userTaskID: t.userTaskID, outcome: 'failed', message: t.reason ?? 'error', calls: 0, warnings: [] });
        break;
      case 'forget':
        options.state.forget(t.userTaskID);
        record({ userTaskID: t.userTaskID, outcome: 'forgotten', calls: 0, warnings: [] });
        break;
      case 'update':
        // Only unmanaged (removed) fields changed: nothing to send, the state catches up.
        recordApplied(t, t.remote?.taskID);
        record({ userTaskID: t.userTaskID, outcome: 'applied', message: 'state only (no field to send)', calls: 0, warnings: [] });
        break;
    }
  }

  // Before any call, durably mark what is about to be sent: if the answer never arrives
  // (kill, timeout, unverifiable response) the next plan knows the server may hold it.
  const sentAt = now().toISOString();
  const earlierPending = new Map(calls.map((t) => [t.userTaskID, options.state.current.tasks[t.userTaskID]?.pending]));
  const unconfirmed = calls
    .filter((t) => options.state.current.tasks[t.userTaskID])
    .map((t) => ({ userTaskID: t.userTaskID, settings: { since: sentAt, ...sentSettings(t) } }));
  if (unconfirmed.length > 0) {
    options.state.markUnconfirmed(unconfirmed);
    await options.state.flush();
  }

  const stop = options.shouldStop ?? (() => false);
  const started = new Set<string>();
  await runPool(
    calls,
    options.parallelism,
    async (t) => {
      started.add(t.userTaskID);
      updateCalls++;
      try {
        const res = await options.client.updateTask(t.payload!);
        recordApplied(t, res.taskID ?? t.remote?.taskID);
        record({ userTaskID: t.userTaskID, outcome: 'applied', calls: 1, warnings: t.warnings });
      } catch (err) {
        const retCode = err instanceof ApiError ? err.details.retCode : undefined;
        // A verified refusal on the first and only attempt: nothing of this send landed.
        if (err instanceof ApiError && err.kind === 'retcode' && err.details.attempts === 1) {
          options.state.restorePending(t.userTaskID, earlierPending.get(t.userTaskID));
        }
        record({ userTaskID: t.userTaskID, outcome: 'failed', message: errorMessage(err), retCode, calls: 1, warnings: [] });
      }
    },
    stop,
  );
  let interrupted = false;
  for (const t of calls) {
    if (!started.has(t.userTaskID)) {
      interrupted = true;
      record({ userTaskID: t.userTaskID, outcome: 'skipped', message: 'not attempted: apply was interrupted', calls: 0, warnings: [] });
    }
  }
  await options.state.flush();
  results.sort(byUserTaskID);
  return { results, counts, interrupted, updateCalls };
}
