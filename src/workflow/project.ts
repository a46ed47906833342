import path from 'node:path';
import { loadSettings, credentialsFromEnv, type ResolvedSettings } from '../config/settings.js';
import { loadTasks, type LoadedTasks } from '../config/load-tasks.js';
export { warningIssue, type LintWarning } from '../config/dial-window.js';
import type { Policy } from '../policy/types.js';
import type { LoadedState } from '../state/state.js';
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
  /** The environment this project is resolved for, when environments are used (history records it). */
  environment?: string;
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
export function loadProjectTasks(project: Project, files?: string[]): Promise<LoadedTasks> {
  const { baseDir, taskPatterns } = project.settings;
  return loadTasks({
    baseDir,
    patterns: taskPatterns,
    ...(files?.length ? { files: files.map((f) => path.relative(baseDir, path.resolve(project.cwd, f)) || f) } : {}),
  });
}

/** The policy in force (the settings' policy section and policyFiles), or null when none is configured. */
export async function loadProjectPolicy(project: Project): Promise<Policy | null> {
  const s = project.settings;
  if (!s.policy && s.policyPatterns.length === 0) return null;
  // Loaded only when a policy is configured: a project without one pays nothing for it.
  const { loadPolicy } = await import('../config/load-policy.js');
  return loadPolicy({ baseDir: s.baseDir, settingsFile: s.configFile, inline: s.policy, patterns: s.policyPatterns });
}

export function loadProjectState(project: Project): Promise<LoadedState> {
  return project.state.read();
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
  const creds = credentialsFromEnv(project.env);
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
