/**
 * Environments resolved above the workflow: each declared environment becomes the same
 * Project the workflow already takes (its settings, its tasks, its credentials), so plan,
 * apply and the state never ask which environment they run in. The task files are parsed
 * once for every environment of a run.
 */
import path from 'node:path';
import { loadTasks, type LoadedTasks } from '../config/load-tasks.js';
import {
  resolveEnvironments,
  selectEnvironments,
  type EnvironmentChoice,
  type EnvironmentSpec,
} from '../config/environments.js';
import { ValidationError } from '../diagnostics/issue.js';
import { credentialsFromEnv } from '../config/settings.js';
import { openProject, type Project } from './project.js';
import { openStateBackend } from '../state/backend.js';

export type { EnvironmentChoice };

/** The project(s) a command runs in. */
export type ProjectSelection =
  { kind: 'implicit'; project: Project } | { kind: 'one'; project: Project } | { kind: 'all'; projects: Project[] };

export interface OpenEnvironmentsOptions {
  cwd: string;
  configFile?: string;
  env: NodeJS.ProcessEnv;
  overrides?: { parallelism?: number; lockTimeoutMs?: number };
  choice: EnvironmentChoice;
  command: { name: string; allowAll: boolean; defaultAll?: boolean };
}

const once = <T>(fn: () => Promise<T>): (() => Promise<T>) => {
  let p: Promise<T> | undefined;
  return () => (p ??= fn());
};

/** Every environment's Project over one shared parse of the task files. */
async function environmentProjects(
  root: Project,
  specs: EnvironmentSpec[],
  names: string[],
  cliParallelism?: number,
): Promise<Project[]> {
  const { baseDir, taskPatterns } = root.settings;
  const base = once(async (): Promise<LoadedTasks> => {
    const loaded = await loadTasks({ baseDir, patterns: taskPatterns });
    const { environmentNameIssues } = await import('../config/environment-tasks.js');
    const issues = environmentNameIssues(loaded.tasks, baseDir, names);
    if (issues.length > 0) throw new ValidationError(issues, 'task files');
    return loaded;
  });
  const settingsFile = root.settings.configFile ? path.relative(root.cwd, root.settings.configFile) : 'settings';
  const projects = specs.map(async (spec): Promise<Project> => {
    const overlays = once(async () =>
      (await import('../config/overlays.js')).loadOverlays(baseDir, spec.overlayPatterns, settingsFile),
    );
    return {
      // --parallelism and --lock-timeout on the command line win over an environment's own.
      settings: {
        ...spec.settings,
        lockTimeoutMs: root.settings.lockTimeoutMs,
        parallelism: cliParallelism ?? spec.settings.parallelism,
      },
      cwd: root.cwd,
      env: root.env,
      // Each environment its own store (and so its own lock), through the same backend interface.
      state: await openStateBackend(spec.settings.state, { cwd: root.cwd, env: root.env }),
      environment: {
        name: spec.name,
        credentials: spec.credentials,
        declared: base,
        overlays,
        tasks: once(async () => {
          const { environmentTasks } = await import('../config/environment-tasks.js');
          const [loaded, loadedOverlays] = await Promise.all([base(), overlays()]);
          return environmentTasks(loaded, baseDir, spec.name, loadedOverlays);
        }),
        // Some files only: a patch for tasks of other files matching none of these is no mistake.
        merge: async (loaded) => {
          const { environmentTasks, environmentNameIssues } = await import('../config/environment-tasks.js');
          const issues = environmentNameIssues(loaded.tasks, baseDir, names);
          if (issues.length > 0) throw new ValidationError(issues, 'task files');
          return environmentTasks(loaded, baseDir, spec.name, await overlays(), { someFiles: true });
        },
      },
    };
  });
  return Promise.all(projects);
}

/** Opens the project and picks the environment(s) the command runs in (--env, CALLFORM_ENV, --all-envs). */
export async function openSelection(options: OpenEnvironmentsOptions): Promise<ProjectSelection> {
  const root = await openProject(options);
  const specs = await resolveEnvironments(root.settings, options.cwd);
  const selected = selectEnvironments(specs, options.choice, options.command);
  if (selected.kind === 'implicit') return { kind: 'implicit', project: root };
  // Each chosen environment opens its own store: the top-level one is not used (no idle pool).
  await root.state.close();
  const chosen = selected.kind === 'one' ? [selected.spec] : selected.specs;
  const projects = await environmentProjects(
    root,
    chosen,
    (specs ?? []).map((s) => s.name),
    options.overrides?.parallelism,
  );
  return selected.kind === 'one' ? { kind: 'one', project: projects[0] } : { kind: 'all', projects };
}

/**
 * Every environment's credentials, checked before any API call of any environment: a
 * missing variable names its environment and stops the run before it starts.
 */
export function assertCredentials(projects: Project[]): void {
  for (const p of projects) credentialsFromEnv(p.env, p.environment?.credentials);
}
