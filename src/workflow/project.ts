import path from 'node:path';
import { loadSettings, credentialsFromEnv, type CredentialNames, type ResolvedSettings } from '../config/settings.js';
import { loadTasks, type LoadedTasks } from '../config/load-tasks.js';
import { ValidationError } from '../diagnostics/issue.js';
import type { LoadedOverlays } from '../config/overlays.js';
export { warningIssue, type LintWarning } from '../config/dial-window.js';
import type { Policy } from '../policy/types.js';
import type { LoadedState } from '../state/state.js';
import type { ExpectedSettings } from '../state/read-expected.js';
import type { ManagedSettings } from '../model/settings.js';
import { openStateBackend, type StateBackend } from '../state/backend.js';
import type { NxCloudClient, CallGate, HttpPost } from '../api/client.js';
import { RateController } from '../concurrency/controller.js';

export type { RateController };

/** A callform project: resolved settings plus where it runs. */
export interface Project {
  settings: ResolvedSettings;
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** The state store the settings name (file or Postgres). */
  state: StateBackend;
  /** The declared environment this project is (absent: the implicit one, today's project). */
  environment?: ProjectEnvironment;
}

/** A declared environment, resolved (workflow/environments.ts): code below workflow/ never sees it. */
export interface ProjectEnvironment {
  name: string;
  credentials: CredentialNames;
  /** This environment's tasks: the task files parsed once for every environment, its layers merged in. */
  tasks: () => Promise<LoadedTasks>;
  /** The tasks as the files declare them (the parse every environment shares). */
  declared: () => Promise<LoadedTasks>;
  /** This environment's overlay files. */
  overlays: () => Promise<LoadedOverlays>;
  /** Some task files' tasks (`validate FILE…`) with this environment's layers merged in. */
  merge: (loaded: LoadedTasks) => Promise<LoadedTasks>;
}

export async function openProject(options: {
  cwd: string;
  configFile?: string;
  env: NodeJS.ProcessEnv;
  overrides?: Partial<ResolvedSettings>;
}): Promise<Project> {
  const settings = { ...(await loadSettings(options)), ...stripUndefined(options.overrides ?? {}) };
  return {
    settings,
    cwd: options.cwd,
    env: options.env,
    state: await openStateBackend(settings.state, { cwd: options.cwd, env: options.env }),
  };
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** The task files the settings' patterns match, or just `files` (paths relative to the working directory). */
export async function loadProjectTasks(project: Project, files?: string[]): Promise<LoadedTasks> {
  if (project.environment && !files?.length) return project.environment.tasks();
  const { baseDir, taskPatterns } = project.settings;
  const loaded = await loadTasks({
    baseDir,
    patterns: taskPatterns,
    ...(files?.length ? { files: files.map((f) => path.relative(baseDir, path.resolve(project.cwd, f)) || f) } : {}),
  });
  if (project.environment) return project.environment.merge(loaded);
  // Per-environment blocks without declared environments are refused (checked only where some exist).
  if (!project.settings.environments && loaded.tasks.some((t) => t.environments || t.only)) {
    const { environmentNameIssues } = await import('../config/environment-tasks.js');
    throw new ValidationError(environmentNameIssues(loaded.tasks, baseDir, null), 'task files');
  }
  return loaded;
}

/** Policy violations a report can carry: those of values an environment set can be relocated. */
type Locatable = { violations: Array<{ userTaskID: string; path?: string; source?: string }> };

/**
 * In an environment, the violations of values its overlays or `environments` blocks set point
 * where those values are written (file:line:col); elsewhere, and without violations, as they are.
 */
export async function locatedInEnvironment<R extends Locatable>(
  project: Project,
  report: R,
  tasks: LoadedTasks,
): Promise<R> {
  if (!project.environment || report.violations.length === 0) return report;
  const { locateViolations } = await import('../config/environment-tasks.js');
  return { ...report, violations: locateViolations(report.violations, tasks.tasks) };
}

/** The policy in force (the settings' policy section and policyFiles), or null when none is configured. */
export async function loadProjectPolicy(project: Project): Promise<Policy | null> {
  const s = project.settings;
  if (!s.policy && s.policyPatterns.length === 0) return null;
  // Loaded only when a policy is configured: a project without one pays nothing for it.
  const { loadPolicy } = await import('../config/load-policy.js');
  return loadPolicy({ baseDir: s.baseDir, settingsFile: s.configFile, inline: s.policy, patterns: s.policyPatterns });
}

/** `expected`: the settings the plan expects the state to record, when it knows them (backend.ts). */
export function loadProjectState(project: Project, expected?: Promise<ExpectedSettings | null>): Promise<LoadedState> {
  return project.state.read(expected);
}

/**
 * What a plan of `tasks` expects each state entry to record: their declared settings. Never
 * rejects (null when the tasks do not load: their own error is the one reported).
 */
export function expectedSettings(tasks: Promise<LoadedTasks>): Promise<ExpectedSettings | null> {
  return tasks.then(
    (loaded) => {
      // A loop, not a Map of pairs: no 10,000 two-element arrays per environment.
      const expected = new Map<string, ManagedSettings>();
      for (const t of loaded.tasks) expected.set(t.userTaskID, t);
      return expected;
    },
    () => null,
  );
}

export interface ClientExtras {
  transport?: HttpPost;
  debug?: (line: string) => void;
  onAttempt?: (endpoint: string) => void;
  sleep?: (ms: number) => Promise<void>;
  /** The run's rate controller (default: a new one from the settings). Pass one to show its rate. */
  gate?: CallGate;
}

/** One per run: every API call of the run (status reads, updates, pauses) shares it. */
export function createRateController(project: Project, debug?: (line: string) => void): RateController {
  const s = project.settings;
  return new RateController({ mode: s.concurrency, ceiling: s.parallelism, rateLimit: s.rateLimit, debug });
}

export async function createClient(project: Project, extras: ClientExtras = {}): Promise<NxCloudClient> {
  const creds = credentialsFromEnv(project.env, project.environment?.credentials);
  const s = project.settings;
  // Loaded here: commands that make no API call (plan --offline, validate, show) never load the client.
  const { NxCloudClient, gotTransport } = await import('../api/client.js');
  return new NxCloudClient({
    endpoint: s.endpoint,
    uuid: creds.uuid,
    secretKey: creds.secretKey,
    algorithm: s.algorithm,
    timeoutMs: s.timeoutMs,
    retries: s.retries,
    throttleRetries: s.throttleRetries,
    gate: extras.gate ?? createRateController(project, extras.debug),
    transport: extras.transport ?? (await gotTransport(Math.max(s.parallelism, 8))),
    debug: extras.debug,
    onAttempt: extras.onAttempt,
    sleep: extras.sleep,
  });
}
