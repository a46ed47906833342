import { isChange, planHasChanges, unreadTasks, type CallformPlan } from '../model/plan.js';
import { dataEqual } from '../model/settings.js';
import type { LoadedTasks } from '../config/load-tasks.js';
import type { LoadedState } from '../state/state.js';
import { buildPlan } from '../plan/plan.js';
import { targetFilter, targetMatcher } from '../plan/targets.js';
import type { NxCloudClient } from '../api/client.js';
import path from 'node:path';
import { CallformError, ExitCode } from '../errors.js';
import { ValidationError } from '../diagnostics/issue.js';
import { NoTaskFilesError } from '../config/load-tasks.js';
import { blockingViolations } from '../policy/report.js';
import { TOOL_VERSION } from '../version.js';
import {
  createClient,
  expectedSettings,
  loadProjectPolicy,
  loadProjectState,
  loadProjectTasks,
  locatedInEnvironment,
  type Project,
} from './project.js';
import { reviewPlan } from '../review/index.js';
import type { Policy } from '../policy/types.js';
import type { RefreshMode } from '../config/settings.js';
export type { RefreshMode };

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
  /** Which statuses to read when online (default: the settings' refresh, all). */
  refresh?: RefreshMode;
}

/** config → state → remote statuses (unless offline) → plan, reviewed (risks, windows, policy). No writes. */
export async function computePlan(project: Project, options: PlanOptions): Promise<PlanRun> {
  const loading = loadProjectTasks(project);
  const [tasks, state, policy] = await Promise.all([
    loading,
    loadProjectState(project, expectedSettings(loading)),
    loadProjectPolicy(project),
  ]);
  if (options.targets)
    checkTargets(options.targets, [...tasks.tasks.map((t) => t.userTaskID), ...Object.keys(state.state.tasks)]);
  const input = {
    desired: tasks.tasks,
    state: state.state,
    stateExists: state.exists,
    targets: options.targets,
    filesDigest: tasks.filesDigest,
    toolVersion: TOOL_VERSION,
    now: options.now ?? new Date(),
    pauseRunning: options.pauseRunning,
    resync: options.resync,
    sendMode: project.settings.sendMode,
  };
  let built: CallformPlan;
  if (options.offline) built = buildPlan({ ...input, remote: null });
  else {
    const client = options.client ?? (await createClient(project));
    const selected = targetFilter(options.targets);
    const declared = tasks.tasks.filter((t) => selected(t.userTaskID)).map((t) => t.userTaskID);
    let ids = declared;
    if ((options.refresh ?? project.settings.refresh) === 'changed') {
      // Diff offline first: only the declared tasks with something to do (changes, unconfirmed
      // sends; any action but noop) are read. Forgotten tasks are never read.
      const offline = buildPlan({ ...input, remote: null });
      ids = offline.tasks.filter((t) => t.action !== 'noop' && t.action !== 'forget').map((t) => t.userTaskID);
    }
    // Owed resumes are settled whatever the targets and refresh: their statuses are read too.
    const read = new Set([...ids, ...Object.keys(state.state.owedResumes ?? {})]);
    const unread = new Set(declared.filter((id) => !read.has(id)));
    const { readRemoteTasks } = await import('../remote/statuses.js');
    const remote = await readRemoteTasks(client, [...read], project.settings.parallelism);
    built = buildPlan({ ...input, remote, unread });
  }
  // The plan's own task entries are the policy's subjects (the targeted declared tasks, as
  // the server will hold them): a saved plan's report is checked again the same way.
  // Saved-plan code (and the policy's) loads only when a policy is configured.
  const verdict =
    policy && (await (await import('./saved-plan.js')).policyVerdict(policy, built, state.state.policyDigest));
  const report = verdict && (await locatedInEnvironment(project, verdict, tasks));
  const reviewed = reviewPlan(built, report);
  // A declared environment's plan says which one it is: apply FILE runs there.
  const plan = project.environment ? { ...reviewed, environment: project.environment.name } : reviewed;
  return { plan, tasks, state, policy };
}

/**
 * Refuses a saved plan whose state or task files moved since it was made, or whose tasks
 * are not what those files and that state produce (a plan file edited by hand: `show`
 * renders its changes, apply sends its payloads, and the two must be one plan).
 */
export async function assertPlanCurrent(project: Project, plan: CallformPlan, state: LoadedState): Promise<void> {
  const tasks = await savedPlanTasks(project);
  const remake = remakeCommand(project);
  const { planStaleness } = await import('../plan/saved-plan.js');
  const stale = planStaleness(plan, state.state, state.exists, tasks.filesDigest);
  if (stale?.applied)
    throw new CallformError(
      stale.reason,
      'nothing to do for this plan; `callform plan` shows whether anything changed since',
    );
  if (stale)
    throw new CallformError(`saved plan is stale: ${stale.reason}`, `run ${remake} again and apply the new plan`);
  const fresh = replan(project, plan, tasks, state);
  const setting = settingChange(plan, fresh);
  if (setting)
    throw new CallformError(
      `saved plan is stale: ${setting}`,
      `run ${remake} again with the settings as they are now, and apply the new plan`,
    );
  const differs = firstDifference(plan, fresh);
  if (differs) {
    throw new CallformError(
      `saved plan does not match its task files and state: ${differs}: the plan file was edited`,
      `apply only plans that callform wrote: run ${remake} again, review it, and apply that`,
    );
  }
}

/** The command that makes a saved plan again: in a declared environment, for it (or for every one). */
function remakeCommand(project: Project): string {
  const env = project.environment?.name;
  return env
    ? `\`callform plan --env ${env} --out FILE\` (or \`--all-envs\` for every environment)`
    : '`callform plan --out FILE`';
}

/** The task files a saved plan is checked against; not found and no longer valid are told apart. */
async function savedPlanTasks(project: Project): Promise<LoadedTasks> {
  try {
    return await loadProjectTasks(project);
  } catch (err) {
    if (err instanceof NoTaskFilesError) {
      const from = project.settings.configFile
        ? `the directory of the settings file ${path.relative(project.cwd, project.settings.configFile) || project.settings.configFile}`
        : 'the working directory: no settings file was found';
      throw new CallformError(
        `saved plan cannot be checked: its task files were not found: no file matches ${err.patterns.join(', ')} in ${err.baseDir} (${from})`,
        'apply the plan from the project it was made in (where its settings file is), or name that settings file with --config',
      );
    }
    if (err instanceof ValidationError)
      throw new CallformError(
        `saved plan is stale: the task files changed since the plan was made and no longer validate; ${err.message}`,
        `fix the task files, then run ${remakeCommand(project)} again and apply the new plan`,
      );
    throw err;
  }
}

/** The send mode a change task was planned with (the settings' sendMode unless its file sets one). */
function settingChange(saved: CallformPlan, fresh: CallformPlan): string | null {
  const modes = new Map(fresh.tasks.filter(isChange).map((t) => [t.userTaskID, t.sendMode]));
  for (const t of saved.tasks) {
    if (!isChange(t)) continue;
    const now = modes.get(t.userTaskID);
    // Same task files: a different send mode comes from the settings file.
    if (now !== undefined && now !== t.sendMode)
      return `the settings' sendMode changed since the plan was made (plan: ${t.sendMode}, now: ${now}), so task ${t.userTaskID} would send other fields`;
  }
  return null;
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
    unread: new Set(unreadTasks(saved)),
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

/** A task entry as a saved plan holds it: through JSON (no undefined fields). */
const stored = (t: unknown): Record<string, unknown> => JSON.parse(JSON.stringify(t)) as Record<string, unknown>;

/** What apply acts on first, named in the message when it differs. */
const ACTING_FIELDS = ['action', 'deferred', 'payload', 'changes', 'after'];

/**
 * "task X: its payload differs" for the first task where the saved plan and the replan
 * differ, or null. Every field of every task entry is compared (the review's parts are
 * derived from them: before, sentFields, resync, warnings and source included).
 */
function firstDifference(saved: CallformPlan, fresh: CallformPlan): string | null {
  const ids = (p: CallformPlan) =>
    [...p.tasks.map((t) => t.userTaskID), '|', ...p.resumes.map((r) => r.userTaskID)].join(',');
  if (ids(saved) !== ids(fresh)) return 'it lists other tasks or owed resumes';
  for (let i = 0; i < saved.tasks.length; i++) {
    const [a, b] = [stored(saved.tasks[i]), stored(fresh.tasks[i])];
    if (dataEqual(a, b)) continue;
    const keys = [...new Set([...ACTING_FIELDS, ...Object.keys(a), ...Object.keys(b)])];
    const field = keys.find((k) => !dataEqual(a[k], b[k]));
    const acts = field !== undefined && ACTING_FIELDS.includes(field);
    return `task ${saved.tasks[i].userTaskID} ${acts ? 'would do something else' : 'reads otherwise'} (its ${field ?? 'entry'} differs)`;
  }
  for (let i = 0; i < saved.resumes.length; i++) {
    if (!dataEqual(stored(saved.resumes[i]), stored(fresh.resumes[i])))
      return `owed resume ${saved.resumes[i].userTaskID} differs`;
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
