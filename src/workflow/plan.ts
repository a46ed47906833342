import type { CallformPlan } from '../model/plan.js';
import type { LoadedTasks } from '../config/load-tasks.js';
import type { LoadedState } from '../state/state.js';
import { buildPlan } from '../plan/plan.js';
import { targetFilter, targetMatcher } from '../plan/targets.js';
import { staleReason } from '../plan/saved-plan.js';
import { readRemoteTasks } from '../remote/statuses.js';
import type { NxCloudClient } from '../api/client.js';
import { CallformError, ExitCode } from '../errors.js';
import { planHasChanges } from '../model/plan.js';
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
    throw new CallformError(`--target ${unmatched.map((t) => `"${t}"`).join(', ')} matches no task in the files or the state`, 'check the userTaskID; * and ? are wildcards');
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
  const [tasks, state, policy] = await Promise.all([loadProjectTasks(project), loadProjectState(project), loadProjectPolicy(project)]);
  if (options.targets) checkTargets(options.targets, [...tasks.tasks.map((t) => t.userTaskID), ...Object.keys(state.state.tasks)]);
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
  const evaluated = policy && (await import('../policy/evaluate.js')).policyReport(policy, tasks.tasks.filter((t) => selected(t.userTaskID)));
  const previous = state.state.policyDigest;
  const report = evaluated && (previous === undefined ? evaluated : { ...evaluated, previous_digest: previous });
  return { plan: reviewPlan(built, report), tasks, state, policy };
}

/** Refuses a saved plan whose state or task files moved since it was made. */
export async function assertPlanCurrent(project: Project, plan: CallformPlan, state: LoadedState): Promise<void> {
  let digest: string;
  try {
    digest = (await loadProjectTasks(project)).filesDigest;
  } catch {
    throw new CallformError('saved plan is stale: the task files changed since the plan was made (and no longer validate)', 'run `callform plan --out FILE` again');
  }
  const reason = staleReason(plan, state.state, state.exists, digest);
  if (reason) throw new CallformError(`saved plan is stale: ${reason}`, 'run `callform plan --out FILE` again and apply the new plan');
}

export interface PlanGates {
  /** --detailed-exitcode: 2 when the plan has anything to do. */
  detailedExitcode?: boolean;
  /** --fail-on-risk: 4 when the plan has risky changes. */
  failOnRisk?: boolean;
}

/**
 * plan's exit code, most serious first: 1 an error-level policy violation (apply would
 * refuse the plan), 4 risky changes (--fail-on-risk), 2 anything to do
 * (--detailed-exitcode), else 0.
 */
export function planExitCode(plan: CallformPlan, gates: PlanGates): number {
  if (plan.policy && blockingViolations(plan.policy).length > 0) return ExitCode.Error;
  if (gates.failOnRisk && (plan.risks ?? []).length > 0) return ExitCode.Risky;
  if (gates.detailedExitcode && planHasChanges(plan)) return ExitCode.Changes;
  return ExitCode.Ok;
}
