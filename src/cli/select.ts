/** Which project(s) a command runs in: shared by every command (commands.ts, state.ts, environments.ts). */
import { CallformError } from '../errors.js';
import type { Project } from '../workflow/project.js';
import type { ProjectSelection } from '../workflow/environments.js';
import type { Io } from './io.js';

/** --env NAME / --all-envs (CALLFORM_ENV does what --env does). */
export interface EnvOptions {
  env?: string;
  allEnvs?: boolean;
}

/** The project(s) a command runs in: the implicit one, one declared environment, or all of them. */
export async function selectProjects(
  io: Io,
  global: { config?: string },
  opts: EnvOptions,
  command: { name: string; allowAll: boolean; defaultAll?: boolean },
  overrides: { parallelism?: number; lockTimeoutMs?: number } = {},
): Promise<ProjectSelection> {
  // Loaded when a command runs: registering the commands costs nothing.
  const { openSelection } = await import('../workflow/environments.js');
  return openSelection({
    cwd: io.cwd,
    configFile: global.config,
    env: io.env,
    overrides,
    choice: { env: opts.env, allEnvs: opts.allEnvs, fromVariable: io.env.CALLFORM_ENV },
    command,
  });
}

/** One project for a command that runs in one environment. */
export async function oneProject(
  io: Io,
  global: { config?: string },
  opts: EnvOptions,
  name: string,
  overrides = {},
): Promise<Project> {
  const s = await selectProjects(io, global, opts, { name, allowAll: false }, overrides);
  if (s.kind === 'all') throw new CallformError(`${name} runs in one environment`, 'pass --env NAME');
  return s.project;
}

/**
 * A saved plan of one environment names where it runs: an --env (or CALLFORM_ENV, which does
 * what --env does) naming another environment is refused, for `show` as for `apply`.
 */
export function assertPlanEnvironment(
  io: Io,
  file: string,
  planEnvironment: string | undefined,
  opts: EnvOptions,
  verb: 'apply' | 'show',
): void {
  const named = opts.env ?? (io.env.CALLFORM_ENV || undefined);
  if (planEnvironment === undefined || named === undefined || named === planEnvironment) return;
  throw new CallformError(
    `${file} is a plan for environment ${planEnvironment}, not ${named}${opts.env === undefined ? ' (CALLFORM_ENV)' : ''}`,
    `${verb} it without --env or CALLFORM_ENV (it is ${planEnvironment}'s plan), or make a plan for ${named}`,
  );
}
