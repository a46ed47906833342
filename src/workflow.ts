import path from 'node:path';
import type { CallformPlan } from './generated/plan.js';
import { loadSettings, credentialsFromEnv, type ResolvedSettings } from './config/settings.js';
import { loadTasks, type LoadedTasks } from './config/load-tasks.js';
import { readState, StateWriter, type LoadedState } from './state/state.js';
import { acquireStateLock, type StateLock } from './state/lock.js';
import { buildPlan } from './plan/plan.js';
import { targetFilter, targetMatcher } from './plan/targets.js';
import { NxCloudClient, gotTransport, type HttpPost } from './api/client.js';
import { applyPlan, type ApplyOptions, type ApplyResult } from './apply/apply.js';
import { staleReason } from './plan/saved-plan.js';
import { CallformError, ExitCode } from './errors.js';
import { TOOL_VERSION } from './version.js';

export interface Project {
  settings: ResolvedSettings;
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** The state file path as shown to users (relative to the working directory). */
  displayStatePath: string;
}

export async function openProject(options: { cwd: string; configFile?: string; env: NodeJS.ProcessEnv; overrides?: Partial<ResolvedSettings> }): Promise<Project> {
  const settings = { ...(await loadSettings(options)), ...stripUndefined(options.overrides ?? {}) };
  return { settings, cwd: options.cwd, env: options.env, displayStatePath: path.relative(options.cwd, settings.statePath) || settings.statePath };
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

export function loadProjectTasks(project: Project): Promise<LoadedTasks> {
  return loadTasks({ baseDir: project.settings.baseDir, patterns: project.settings.taskPatterns });
}

export function loadProjectState(project: Project): Promise<LoadedState> {
  return readState(project.settings.statePath, project.displayStatePath);
}

export interface ClientExtras {
  transport?: HttpPost;
  debug?: (line: string) => void;
  onAttempt?: (endpoint: string) => void;
  sleep?: (ms: number) => Promise<void>;
}

export async function createClient(project: Project, extras: ClientExtras = {}): Promise<NxCloudClient> {
  const creds = credentialsFromEnv(project.env);
  const s = project.settings;
  return new NxCloudClient({
    endpoint: s.endpoint,
    uuid: creds.uuid,
    secretKey: creds.secretKey,
    algorithm: s.algorithm,
    timeoutMs: s.timeoutMs,
    retries: s.retries,
    transport: extras.transport ?? (await gotTransport(Math.max(s.parallelism, 8))),
    debug: extras.debug,
    onAttempt: extras.onAttempt,
    sleep: extras.sleep,
  });
}

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
}

/** config → state → remote statuses (unless offline) → plan. No writes. */
export async function computePlan(project: Project, options: { offline: boolean; targets: string[] | null; client?: NxCloudClient; now?: Date }): Promise<PlanRun> {
  const [tasks, state] = await Promise.all([loadProjectTasks(project), loadProjectState(project)]);
  checkTargets(options.targets, [...tasks.tasks.map((t) => t.userTaskID), ...Object.keys(state.state.tasks)]);
  let remote = null;
  if (!options.offline) {
    const client = options.client ?? (await createClient(project));
    const selected = targetFilter(options.targets);
    const ids = tasks.tasks.filter((t) => selected(t.userTaskID)).map((t) => t.userTaskID);
    remote = await client.listTasksByIds(ids, project.settings.parallelism);
  }
  const plan = buildPlan({
    desired: tasks.tasks,
    state: state.state,
    stateExists: state.exists,
    remote,
    targets: options.targets,
    filesDigest: tasks.filesDigest,
    toolVersion: TOOL_VERSION,
    now: options.now ?? new Date(),
  });
  return { plan, tasks, state };
}

export async function lockState(project: Project, operation: string, onCompromised?: (err: Error) => void): Promise<StateLock> {
  return acquireStateLock(project.settings.statePath, { operation, timeoutMs: project.settings.lockTimeoutMs, onCompromised });
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

export async function executePlan(project: Project, plan: CallformPlan, state: LoadedState, options: Omit<ApplyOptions, 'state'>): Promise<ApplyResult> {
  const writer = new StateWriter(project.settings.statePath, state.state);
  return applyPlan(plan, { ...options, state: writer });
}

/** 0 every change landed; 1 something failed; 3 nothing failed but some tasks were blocked. */
export function applyExitCode(result: ApplyResult): number {
  if (result.counts.failed > 0) return ExitCode.Error;
  if (result.counts.blocked > 0) return ExitCode.Blocked;
  return ExitCode.Ok;
}
