import { isChange, planHasChanges, type CallformPlan, type TaskPlan } from '../model/plan.js';
import { dataEqual } from '../model/settings.js';
import type { LoadedTasks } from '../config/load-tasks.js';
import type { LoadedState } from '../state/state.js';
import { buildPlan } from '../plan/plan.js';
import { targetFilter, targetMatcher } from '../plan/targets.js';
import { staleReason } from '../plan/saved-plan.js';
import { readRemoteTasks } from '../remote/statuses.js';
import type { NxCloudClient } from '../api/client.js';
import { CallformError, ExitCode } from '../errors.js';
import { blockingViolations } from '../policy/report.js';
import { TOOL_VERSION } from '../version.js';
import { createClient, loadProjectPolicy, loadProjectState, loadProjectTasks, type Project } from './project.js';
import { reviewPlan } from '../review/index.js';
import type { Policy } from '../policy/types.js';

/** --target patterns that select nothing are a mistake worth stopping for. */
export function checkTargets(targets: string[] | null, ids: Iterable<string>): void {
  if (!targets) return;
  const all = [...ids];
  const unmatched = targets.filter((t) => {
    const matcher = targetMatcher(t);
    return !all.some((id) => matcher.test(id));
  });
  if (unmatched.length > 0) {
    throw new CallformError(
      `--target ${unmatched.map((t) => `"${t}"`).join(', ')} matches no task in the files or the state`,
      'check the userTaskID; * and ? are wildcards',
    );
  }
}

export interface PlanRun {
  plan: CallformPlan;
  tasks: LoadedTasks;
  state: LoadedState;
  /** The policy the plan was checked against (null: none configured). */
  policy: Policy | null;
}

export interface PlanOptions {
  offline: boolean;
  targets: string[] | null;
  /** --pause-running: targeted running tasks with changes are paused, updated and resumed. */
  pauseRunning?: boolean;
  /** --resync: every declared field of the targeted tasks is sent. */
  resync?: boolean;
  client?: NxCloudClient;
  now?: Date;
}

/** config → state → remote statuses (unless offline) → plan, reviewed (risks, windows, policy). No writes. */
export async function computePlan(project: Project, options: PlanOptions): Promise<PlanRun> {
  const [tasks, state, policy] = await Promise.all([
    loadProjectTasks(project),
    loadProjectState(project),
    loadProjectPolicy(project),
  ]);
  if (options.targets)
    checkTargets(options.targets, [...tasks.tasks.map((t) => t.userTaskID), ...Object.keys(state.state.tasks)]);
  let remote = null;
  if (!options.offline) {
    const client = options.client ?? (await createClient(project));
    const selected = targetFilter(options.targets);
    const ids = new Set(tasks.tasks.filter((t) => selected(t.userTaskID)).map((t) => t.userTaskID));
    // Owed resumes are settled whatever the targets: their statuses are read too.
    for (const id of Object.keys(state.state.owedResumes ?? {})) ids.add(id);
    remote = await readRemoteTasks(client, [...ids], project.settings.parallelism);
  }
  const built = buildPlan({
    desired: tasks.tasks,
    state: state.state,
    stateExists: state.exists,
    remote,
    targets: options.targets,
    filesDigest: tasks.filesDigest,
    toolVersion: TOOL_VERSION,
    now: options.now ?? new Date(),
    pauseRunning: options.pauseRunning,
    resync: options.resync,
    sendMode: project.settings.sendMode,
  });
  // The declared tasks are the policy's subjects: the plan's payloads are parts of them.
  const selected = targetFilter(options.targets);
  const evaluated =
    policy &&
    (await import('../policy/evaluate.js')).policyReport(
      policy,
      tasks.tasks.filter((t) => selected(t.userTaskID)),
    );
  const previous = state.state.policyDigest;
  const report = evaluated && (previous === undefined ? evaluated : { ...evaluated, previous_digest: previous });
  return { plan: reviewPlan(built, report), tasks, state, policy };
}

/**
 * Refuses a saved plan whose state or task files moved since it was made, or whose tasks
 * are not what those files and that state produce (a plan file edited by hand: `show`
 * renders its changes, apply sends its payloads, and the two must be one plan).
 */
export async function assertPlanCurrent(project: Project, plan: CallformPlan, state: LoadedState): Promise<void> {
  let tasks: LoadedTasks;
  try {
    tasks = await loadProjectTasks(project);
  } catch {
    throw new CallformError(
      'saved plan is stale: the task files changed since the plan was made (and no longer validate)',
      'run `callform plan --out FILE` again',
    );
  }
  const reason = staleReason(plan, state.state, state.exists, tasks.filesDigest);
  if (reason)
    throw new CallformError(
      `saved plan is stale: ${reason}`,
      'run `callform plan --out FILE` again and apply the new plan',
    );
  const differs = firstDifference(plan, replan(project, plan, tasks, state));
  if (differs) {
    throw new CallformError(
      `saved plan does not match its task files and state: ${differs} (was the plan file edited?)`,
      'apply only plans that callform wrote: run `callform plan --out FILE` again, review it, and apply that',
    );
  }
}

/** The plan the saved plan's inputs give now: the same files and state, its recorded statuses and flags. */
function replan(project: Project, saved: CallformPlan, tasks: LoadedTasks, state: LoadedState): CallformPlan {
  const views = [...saved.tasks, ...saved.resumes].flatMap((t) =>
    t.remote ? [[t.userTaskID, { userTaskID: t.userTaskID, ...t.remote }] as const] : [],
  );
  const optedIn = new Set(tasks.tasks.filter((t) => t.lifecycle.whenRunning === 'pause').map((t) => t.userTaskID));
  return buildPlan({
    desired: tasks.tasks,
    state: state.state,
    stateExists: state.exists,
    remote: saved.offline ? null : new Map(views),
    targets: saved.targets,
    filesDigest: tasks.filesDigest,
    toolVersion: TOOL_VERSION,
    now: new Date(saved.created_at),
    // The flags the plan was made with, as its tasks show them.
    pauseRunning: saved.tasks.some((t) => t.action === 'pause-update-resume' && !optedIn.has(t.userTaskID)),
    resync: saved.tasks.some((t) => 'resync' in t && t.resync),
    sendMode: project.settings.sendMode,
  });
}

/** What apply acts on, per task: the action, why it is held back, what is sent and what the state records. */
function actionable(t: TaskPlan): unknown {
  const change = isChange(t) ? { payload: t.payload, changes: t.changes, after: t.after } : {};
  // As a saved plan holds it: through JSON (no undefined fields).
  return JSON.parse(
    JSON.stringify({
      userTaskID: t.userTaskID,
      action: t.action,
      deferred: 'deferred' in t ? t.deferred : null,
      ...change,
    }),
  );
}

/** "task X: …" for the first task where the saved plan and the replan differ, or null. */
function firstDifference(saved: CallformPlan, fresh: CallformPlan): string | null {
  const ids = (p: CallformPlan) =>
    [...p.tasks.map((t) => t.userTaskID), '|', ...p.resumes.map((r) => r.userTaskID)].join(',');
  if (ids(saved) !== ids(fresh)) return 'it lists other tasks or owed resumes';
  for (let i = 0; i < saved.tasks.length; i++) {
    if (!dataEqual(actionable(saved.tasks[i]!), actionable(fresh.tasks[i]!)))
      return `task ${saved.tasks[i]!.userTaskID} would do something else (its action, payload or changes differ)`;
  }
  return null;
}

export interface PlanGates {
  /** --detailed-exitcode: 2 when the plan has anything to do. */
  detailedExitcode?: boolean;
  /** --fail-on-risk: 4 when the plan has risky changes. */
  failOnRisk?: boolean;
}

/**
 * plan's exit code, most serious first: 1 an error-level policy violation (apply would
 * refuse the plan) or a task in error (as Terraform's plan exits 1 on errors), 4 risky
 * changes (--fail-on-risk), 2 anything to do (--detailed-exitcode), else 0.
 */
export function planExitCode(plan: CallformPlan, gates: PlanGates): number {
  if (plan.policy && blockingViolations(plan.policy).length > 0) return ExitCode.Error;
  if (plan.summary.error > 0) return ExitCode.Error;
  if (gates.failOnRisk && (plan.risks ?? []).length > 0) return ExitCode.Risky;
  if (gates.detailedExitcode && planHasChanges(plan)) return ExitCode.Changes;
  return ExitCode.Ok;
}
