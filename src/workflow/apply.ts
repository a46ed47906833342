import type { CallformPlan } from '../model/plan.js';
import type { RefreshMode } from './plan.js';
import { planHasChanges, planHasWork } from '../model/plan.js';
import type { LockInfo, StateLock } from '../state/lock.js';
import { StateWriter } from '../state/writer.js';
import type { LoadedState } from '../state/state.js';
import { applyPlan, unexecutedResults, type ApplyOptions, type ApplyResult } from '../apply/apply.js';
import type { ApiTraffic } from '../apply/report.js';
import type { ClientTraffic, NxCloudClient } from '../api/client.js';
import { ExitCode, errorMessage } from '../errors.js';
import type { TaskResult } from '../apply/apply.js';
import { gitCommit, historyRun } from '../state/history.js';
import { computePlan, assertPlanCurrent } from './plan.js';
import { createClient, loadProjectState, type Project } from './project.js';
import { assertPolicyAllows, assertSavedPlanAllowed } from './policy-gate.js';
import { readCheckedPlan } from './saved-plan.js';

export async function lockState(
  project: Project,
  operation: string,
  onCompromised?: (err: Error) => void,
  warn?: (message: string) => void,
  onLost?: (err: Error) => void,
): Promise<StateLock> {
  const timeoutMs = project.settings.lockTimeoutMs;
  const onWait = (holder: LockInfo | null) =>
    warn?.(
      `the state is locked by ${project.state.describeHolder(holder)}; waiting up to ${timeoutMs} ms for it (--lock-timeout)`,
    );
  return project.state.lock({ operation, timeoutMs, onCompromised, onWait, onLost });
}

/**
 * Ties a lost lock to the run's state writer: once the lock is gone (Postgres: its
 * connection dropped), the writer fails, so apply starts no new call and exits 1.
 */
class LockWatch {
  lost: Error | null = null;
  private writer: StateWriter | null = null;
  readonly onLost = (err: Error) => {
    this.lost ??= err;
    this.writer?.abort(err);
  };
  attach(writer: StateWriter): void {
    this.writer = writer;
    if (this.lost) writer.abort(this.lost);
  }
}

/** An executed plan, with the API traffic of the execution when the client counts it. */
export type ExecutedPlan = ApplyResult & { traffic: ApiTraffic | null };

const countsTraffic = (client: object): client is { traffic(): ClientTraffic } =>
  typeof (client as { traffic?: unknown }).traffic === 'function';

/** Executes a plan; the state records `policyDigest`, the policy the apply ran under, when given. */
export async function executePlan(
  project: Project,
  plan: CallformPlan,
  state: LoadedState,
  options: Omit<ApplyOptions, 'state'> & { policyDigest?: string | null; onWriter?: (writer: StateWriter) => void },
): Promise<ExecutedPlan> {
  const backend = project.state;
  const writer = new StateWriter(
    backend.display,
    state.state,
    (_display, s) => backend.write(s),
    backend.kind === 'file' ? undefined : backend.display,
  );
  options.onWriter?.(writer);
  if (options.policyDigest !== undefined) writer.recordPolicy(options.policyDigest);
  const client = options.client;
  const before = countsTraffic(client) ? client.traffic() : null;
  const started = performance.now();
  const result = await applyPlan(plan, { ...options, state: writer });
  if (!before || !countsTraffic(client)) return { ...result, traffic: null };
  const after = client.traffic();
  return {
    ...result,
    traffic: {
      calls: after.calls - before.calls,
      throttled: after.throttled - before.throttled,
      seconds: (performance.now() - started) / 1000,
    },
  };
}

/** What `apply` is asked to do: exactly a saved plan, or a fresh plan of (some) tasks. */
export type ApplyRequest =
  /** `plan`: already read from planFile (and checked as readCheckedPlan does), e.g. from an all-environments file. */
  | { planFile: string; plan?: CallformPlan }
  | {
      planFile?: undefined;
      targets: string[] | null;
      pauseRunning?: boolean;
      resync?: boolean;
      /** Which statuses to read (default: the settings' refresh). */
      refresh?: RefreshMode;
    };

/** How the caller (the CLI) shows progress and takes decisions. */
export interface ApplyHooks extends Pick<ApplyOptions, 'onResult' | 'shouldStop' | 'onStep'> {
  client?: NxCloudClient;
  /** A fresh plan, once computed (shown before asking). */
  onPlan?(plan: CallformPlan): void;
  /** A saved plan, once read and found current. */
  onSavedPlan?(plan: CallformPlan, file: string): void;
  /** Asked for a fresh plan with changes; false cancels. Absent: approved. */
  confirm?(plan: CallformPlan): Promise<boolean>;
  warn?: (message: string) => void;
}

/** How an apply ended; `result` has every task's outcome (without a run: held back, unchanged or skipped). */
export type ApplyRun =
  | { status: 'no-changes'; plan: CallformPlan; result: ExecutedPlan }
  /** Only held-back tasks: nothing can be applied now. */
  | { status: 'nothing-applicable'; plan: CallformPlan; result: ExecutedPlan }
  /** Not confirmed, or stopped (shouldStop) before the first call: nothing was sent. */
  | { status: 'cancelled'; plan: CallformPlan; result: ExecutedPlan }
  | { status: 'applied'; plan: CallformPlan; result: ExecutedPlan };

type Unexecuted = Exclude<ApplyRun, { status: 'applied' }>;

const CANCELLED = 'not attempted: apply was cancelled';

/** A run that sends nothing, with every task's outcome from the plan. */
function unexecuted(status: Unexecuted['status'], plan: CallformPlan): Unexecuted {
  return { status, plan, result: { ...unexecutedResults(plan, CANCELLED), traffic: null } };
}

const COMPROMISED = (err: Error) =>
  `the state lock was taken away while this apply holds it (${err.message}); was force-unlock used on a live run? continuing: state writes stay atomic`;
const OFFLINE_SAVED_PLAN =
  'this plan was made with --offline: task statuses were not checked, so running or finished tasks will fail instead of showing as blocked';

/** The plan to apply (saved and current, or fresh and approved), or why there is none. */
async function planToApply(
  project: Project,
  request: ApplyRequest,
  client: NxCloudClient,
  hooks: ApplyHooks,
): Promise<{ plan: CallformPlan; state: LoadedState; policyDigest: string | null } | Unexecuted> {
  if (request.planFile !== undefined) {
    const plan = request.plan ?? (await readCheckedPlan(request.planFile));
    const state = await loadProjectState(project);
    await assertPlanCurrent(project, plan, state);
    const { digest } = await assertSavedPlanAllowed(
      project,
      { file: request.planFile, plan, state: state.state },
      (message) => hooks.warn?.(message),
    );
    hooks.onSavedPlan?.(plan, request.planFile);
    if (plan.offline) hooks.warn?.(OFFLINE_SAVED_PLAN);
    return { plan, state, policyDigest: digest };
  }
  const { plan, state } = await computePlan(project, {
    offline: false,
    targets: request.targets,
    pauseRunning: request.pauseRunning,
    resync: request.resync,
    refresh: request.refresh,
    client,
  });
  hooks.onPlan?.(plan);
  assertPolicyAllows(plan);
  if (!planHasChanges(plan)) return unexecuted('no-changes', plan);
  if (!planHasWork(plan)) return unexecuted('nothing-applicable', plan);
  if (hooks.confirm && !(await hooks.confirm(plan))) return unexecuted('cancelled', plan);
  return { plan, state, policyDigest: plan.policy?.digest ?? null };
}

/** `apply`: lock the state, settle which plan to apply, execute it, release the lock. */
export async function runApply(project: Project, request: ApplyRequest, hooks: ApplyHooks = {}): Promise<ApplyRun> {
  const client = hooks.client ?? (await createClient(project));
  const watch = new LockWatch();
  const lock = await lockState(
    project,
    request.planFile ? `apply ${request.planFile}` : 'apply',
    (err) => hooks.warn?.(COMPROMISED(err)),
    hooks.warn,
    watch.onLost,
  );
  try {
    const chosen = await planToApply(project, request, client, hooks);
    if ('status' in chosen) return chosen;
    // Stopped while planning or asking: nothing is marked or sent.
    if (hooks.shouldStop?.()) return unexecuted('cancelled', chosen.plan);
    if (watch.lost) throw watch.lost;
    const startedAt = new Date();
    const seen: TaskResult[] = [];
    let result: ExecutedPlan;
    try {
      result = await executePlan(project, chosen.plan, chosen.state, {
        client,
        parallelism: project.settings.parallelism,
        pauseTimeoutMs: project.settings.pauseTimeoutMs,
        onResult: (r, done, total) => {
          seen.push(r);
          hooks.onResult?.(r, done, total);
        },
        shouldStop: hooks.shouldStop,
        onStep: hooks.onStep,
        policyDigest: chosen.policyDigest,
        onWriter: (w) => watch.attach(w),
      });
    } catch (err) {
      // The state could not be saved (or the lock was lost): still record what was tried.
      await recordRun(project, chosen.plan, resultOf(seen), startedAt, hooks, errorMessage(err));
      throw err;
    }
    await recordRun(project, chosen.plan, result, startedAt, hooks, null);
    return { status: 'applied', plan: chosen.plan, result };
  } finally {
    await lock.release();
  }
}

/** An ApplyResult from the results seen before the run failed. */
function resultOf(seen: TaskResult[]): ApplyResult {
  const counts = { created: 0, applied: 0, blocked: 0, failed: 0, unchanged: 0, forgotten: 0, skipped: 0, resumed: 0 };
  for (const r of seen) counts[r.outcome]++;
  return { results: seen, counts, interrupted: counts.skipped > 0, updateCalls: 0, createCalls: 0 };
}

/**
 * Appends the run to the history, after its state was saved. A failed history write
 * never undoes or hides the apply: it is reported as a warning.
 */
async function recordRun(
  project: Project,
  plan: CallformPlan,
  result: ApplyResult,
  startedAt: Date,
  hooks: ApplyHooks,
  error: string | null,
): Promise<void> {
  try {
    const run = historyRun(
      plan,
      result,
      {
        state: project.state.display,
        environment: project.environment?.name ?? null,
        startedAt,
        env: project.env,
        commit: await gitCommit(project.cwd),
      },
      error,
    );
    await project.state.appendHistory(run);
  } catch (err) {
    hooks.warn?.(`the run was not recorded in the history: ${errorMessage(err)} (the apply itself is unaffected)`);
  }
}

/**
 * 0 every change landed (or none was needed); 1 something failed, errors in the plan, or
 * the user cancelled; 3 nothing failed but some tasks were blocked.
 */
export function applyExitCode(run: ApplyRun): number {
  switch (run.status) {
    case 'no-changes':
      return ExitCode.Ok;
    case 'cancelled':
      return ExitCode.Error;
    case 'nothing-applicable':
      return run.plan.summary.error > 0 ? ExitCode.Error : ExitCode.Blocked;
    case 'applied':
      if (run.result.counts.failed > 0) return ExitCode.Error;
      if (run.result.counts.blocked > 0) return ExitCode.Blocked;
      return ExitCode.Ok;
  }
}
