/**
 * Declared environments (settings `environments`): each resolved once into the settings
 * the workflow already takes, so code below workflow/ never asks which environment it is in.
 */
import path from 'node:path';
import type { EnvironmentSettings } from '../generated/config.js';
import { CallformError } from '../errors.js';
import { ValidationError, type Issue } from '../diagnostics/issue.js';
import type { PathSegment } from '../diagnostics/source.js';
import { editDistance } from '../diagnostics/suggest.js';
import { settingsDocument, type CredentialNames, type ResolvedSettings } from './settings.js';
import { resolveStateSetting, type StateSetting } from '../state/backend.js';

/** One environment: its name, credential variable names, overlay globs, and its settings. */
export interface EnvironmentSpec {
  name: string;
  credentials: CredentialNames;
  overlayPatterns: string[];
  /** The project's settings with this environment's state, endpoint, policy files and tuning. */
  settings: ResolvedSettings;
}

const asList = (v: string | string[] | undefined): string[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/**
 * An environment's state when it names none: with a PostgreSQL state at the top level, the
 * same database and schema under the environment's name (a team that moved its state to
 * PostgreSQL must not get local files per environment, silently); else the file
 * callform.<name>.state.json.
 */
function defaultEnvironmentState(base: ResolvedSettings, name: string): StateSetting {
  if (base.state.backend === 'postgres') return { ...base.state, name };
  return resolveStateSetting(`callform.${name}.state.json`, base.baseDir, name);
}

/** Two environments share a store when these keys are equal. */
const stateKey = (s: StateSetting) =>
  s.backend === 'file' ? `file\0${s.path}` : `postgres\0${s.urlEnv}\0${s.schema}\0${s.name}`;

/** The store as the clash message names it. */
const stateLabel = (s: StateSetting, cwd: string) =>
  s.backend === 'file'
    ? `the state file ${path.relative(cwd, s.path) || s.path}`
    : `the PostgreSQL state ${s.schema}.${s.name} (${s.urlEnv})`;

function specOf(base: ResolvedSettings, name: string, e: EnvironmentSettings): EnvironmentSpec {
  const { environments: _declared, ...shared } = base;
  return {
    name,
    credentials: { uuid: e.credentials.uuid, secretKey: e.credentials.secretKey, environment: name },
    overlayPatterns: asList(e.overlays),
    settings: {
      ...shared,
      state: e.state ? resolveStateSetting(e.state, base.baseDir, name) : defaultEnvironmentState(base, name),
      endpoint: (e.endpoint ?? base.endpoint).replace(/\/+$/, ''),
      algorithm: e.algorithm ?? base.algorithm,
      parallelism: e.parallelism ?? base.parallelism,
      rateLimit: e.rateLimit ?? base.rateLimit,
      timeoutMs: e.timeoutMs ?? base.timeoutMs,
      retries: e.retries ?? base.retries,
      pauseTimeoutMs: e.pauseTimeoutMs ?? base.pauseTimeoutMs,
      policyPatterns: [...base.policyPatterns, ...asList(e.policyFiles)],
    },
  };
}

/**
 * The declared environments in declaration order (their apply order), or null when the
 * settings declare none (one implicit environment: today's behaviour). Two environments
 * sharing a state file, or one endpoint and the same credential variables, are refused
 * with the settings file's line and column.
 */
export async function resolveEnvironments(base: ResolvedSettings, cwd: string): Promise<EnvironmentSpec[] | null> {
  const declared = base.environments;
  if (!declared) return null;
  const specs = Object.entries(declared).map(([name, e]) => specOf(base, name, e));
  const clashes: Array<{ at: PathSegment[]; message: string; hint: string }> = [];
  const byState = new Map<string, string>();
  const byAccount = new Map<string, string>();
  for (const spec of specs) {
    const first = byState.get(stateKey(spec.settings.state));
    if (first)
      clashes.push({
        at: ['environments', spec.name, ...(declared[spec.name].state ? ['state'] : [])],
        message: `environment ${spec.name} uses ${stateLabel(spec.settings.state, cwd)}, as environment ${first} does`,
        hint: 'give each environment its own state (environments never share a state or a lock)',
      });
    else byState.set(stateKey(spec.settings.state), spec.name);
    const account = `${spec.settings.endpoint}\0${spec.credentials.uuid}\0${spec.credentials.secretKey}`;
    const same = byAccount.get(account);
    if (same)
      clashes.push({
        at: ['environments', spec.name, 'credentials'],
        message: `environment ${spec.name} has the same endpoint and credential variables (${spec.credentials.uuid}, ${spec.credentials.secretKey}) as environment ${same}`,
        hint:
          'each environment is its own account: name other variables, e.g. NXCLOUD_UUID_' +
          spec.name.toUpperCase().replace(/-/g, '_'),
      });
    else byAccount.set(account, spec.name);
  }
  if (clashes.length > 0) {
    const where = base.configFile ? await settingsDocument(base.configFile, {}, cwd) : null;
    const issues: Issue[] = clashes.map((c) => ({
      file: where?.file ?? 'settings',
      position: where?.doc.locate([...where.basePath, ...c.at], false, true),
      path: c.at.join('.'),
      message: c.message,
      hint: c.hint,
    }));
    throw new ValidationError(issues, 'the settings file');
  }
  return specs;
}

/** How a command was told which environment(s) to use. */
export interface EnvironmentChoice {
  /** --env NAME (wins over CALLFORM_ENV). */
  env?: string;
  allEnvs?: boolean;
  /** The CALLFORM_ENV variable. */
  fromVariable?: string;
}

export type Selection =
  { kind: 'implicit' } | { kind: 'one'; spec: EnvironmentSpec } | { kind: 'all'; specs: EnvironmentSpec[] };

/** "did you mean staging?" for a close name. */
export function didYouMean(word: string, names: string[]): string {
  const near = names.find(
    (n) => n.startsWith(word) || word.startsWith(n) || editDistance(word, n) <= Math.max(2, Math.ceil(word.length / 2)),
  );
  return near ? `did you mean ${near}? ` : '';
}

/**
 * Which environment(s) a command runs in. `allowAll`: the command takes --all-envs;
 * `defaultAll`: without a choice it runs in every environment (validate).
 */
export function selectEnvironments(
  specs: EnvironmentSpec[] | null,
  choice: EnvironmentChoice,
  command: { name: string; allowAll: boolean; defaultAll?: boolean },
): Selection {
  if (choice.env !== undefined && choice.allEnvs)
    throw new CallformError(
      '--env and --all-envs cannot be used together',
      'pass one environment with --env NAME, or every one with --all-envs',
    );
  const name = choice.env ?? (choice.allEnvs ? undefined : choice.fromVariable || undefined);
  const source = choice.env !== undefined ? '--env' : 'CALLFORM_ENV';
  if (!specs) {
    if (name !== undefined || choice.allEnvs)
      throw new CallformError(
        `${choice.allEnvs ? '--all-envs' : `${source} ${name}`}: the settings declare no environments`,
        'declare them under `environments:` in the settings file (docs/environments.md), or leave the option out',
      );
    return { kind: 'implicit' };
  }
  const names = specs.map((s) => s.name);
  if (choice.allEnvs) {
    if (!command.allowAll)
      throw new CallformError(
        `${command.name} does not take --all-envs`,
        `run it for one environment: --env ${names.join(' | ')}`,
      );
    return { kind: 'all', specs };
  }
  if (name !== undefined) {
    const spec = specs.find((s) => s.name === name);
    if (!spec)
      throw new CallformError(
        `${source} ${name}: no such environment (declared: ${names.join(', ')})`,
        `${didYouMean(name, names)}environments are declared under \`environments:\` in the settings file`,
      );
    return { kind: 'one', spec };
  }
  if (command.defaultAll) return { kind: 'all', specs };
  throw new CallformError(
    `${command.name} needs an environment: the settings declare ${names.join(', ')}`,
    `pass --env ${names[0]} (or set CALLFORM_ENV)${command.allowAll ? ', or --all-envs for every one' : ''}`,
  );
}
