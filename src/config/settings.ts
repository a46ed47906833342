import path from 'node:path';
import { readFile } from 'node:fs/promises';
import type { CallformSettings } from '../generated/config.js';
import { validateSettings } from '../generated/validators.js';
import { CallformError, fsProblem } from '../errors.js';
import { ValidationError, type Issue } from '../diagnostics/issue.js';
import { ajvIssues } from '../diagnostics/ajv.js';
import { parseSource, type PathSegment, type SourceDocument } from '../diagnostics/source.js';

/** The signature algorithm the settings choose (the API client implements both). */
type SignAlgorithm = NonNullable<CallformSettings['algorithm']>;
/** adaptive: AIMD concurrency and rate under the parallelism ceiling; fixed: always parallelism in flight. */
type ConcurrencyMode = NonNullable<CallformSettings['concurrency']>;
/** Which task statuses plan and apply read: every declared task, or only those with something to do. */
export type RefreshMode = NonNullable<CallformSettings['refresh']>;
import type { SendMode } from '../model/task.js';
import { resolveStateSetting, type StateSetting } from '../state/backend.js';

export const MODULE_NAME = 'callform';
const DEFAULT_ENDPOINT = 'https://nxbot.nxcloud.com';
export const DEFAULT_TASK_GLOB = 'tasks/**/*.{yaml,yml,json}';

export const SEARCH_PLACES = [
  'package.json',
  `${MODULE_NAME}.config.json`,
  `${MODULE_NAME}.config.yaml`,
  `${MODULE_NAME}.config.yml`,
  `${MODULE_NAME}.config.js`,
  `${MODULE_NAME}.config.mjs`,
  `${MODULE_NAME}.config.cjs`,
  `${MODULE_NAME}.config.ts`,
  `.${MODULE_NAME}rc`,
  `.${MODULE_NAME}rc.json`,
  `.${MODULE_NAME}rc.yaml`,
  `.${MODULE_NAME}rc.yml`,
  `.${MODULE_NAME}rc.js`,
  `.${MODULE_NAME}rc.mjs`,
  `.${MODULE_NAME}rc.cjs`,
  `.config/${MODULE_NAME}rc`,
  `.config/${MODULE_NAME}rc.json`,
  `.config/${MODULE_NAME}rc.yaml`,
  `.config/${MODULE_NAME}rc.yml`,
  `.config/${MODULE_NAME}rc.js`,
  `.config/${MODULE_NAME}rc.mjs`,
];

export interface Credentials {
  uuid: string;
  secretKey: string;
}

/** Settings after discovery, validation, defaults and environment overrides. */
export interface ResolvedSettings {
  /** The settings file used, or null when defaults apply. */
  configFile: string | null;
  /** Globs and the state path are relative to this directory. */
  baseDir: string;
  taskPatterns: string[];
  /** Where the state lives (see state/backend.ts): the backend is a function of this value alone. */
  state: StateSetting;
  endpoint: string;
  algorithm: SignAlgorithm;
  parallelism: number;
  timeoutMs: number;
  retries: number;
  /** Retries of throttled attempts (HTTP 429, retCode 7): a budget of their own. */
  throttleRetries: number;
  concurrency: ConcurrencyMode;
  /** Hard cap on API requests per second, or null. */
  rateLimit: number | null;
  lockTimeoutMs: number;
  /** How long a pause may take to show as status 5 (live-task lifecycle). */
  pauseTimeoutMs: number;
  /** Which fields an update carries, unless a task's lifecycle.sendMode says otherwise. */
  sendMode: SendMode;
  /** Which task statuses plan and apply read (--refresh overrides). */
  refresh: RefreshMode;
  /** The settings file's own policy section, if any (checked against policy.schema.json when loaded). */
  policy?: object;
  /** Globs of policy files, relative to baseDir (none: no policy files). */
  policyPatterns: string[];
  /** The settings file's `environments`, as declared (resolved by config/environments.ts); absent: one implicit environment. */
  environments?: NonNullable<CallformSettings['environments']>;
}

export interface LoadSettingsOptions {
  cwd: string;
  /** --config FILE: skip discovery. */
  configFile?: string;
  env: NodeJS.ProcessEnv;
}

async function discover(options: LoadSettingsOptions): Promise<{ config: unknown; filepath: string } | null> {
  const { cosmiconfig } = await import('cosmiconfig');
  const explorer = cosmiconfig(MODULE_NAME, { searchPlaces: SEARCH_PLACES, searchStrategy: 'project', cache: false });
  try {
    const file = options.configFile && path.resolve(options.cwd, options.configFile);
    const result = file ? await explorer.load(file) : await explorer.search(options.cwd);
    // An empty settings file is allowed: every key has a default.
    if (!result) return file ? { config: {}, filepath: file } : null;
    return { config: result.isEmpty ? {} : result.config, filepath: result.filepath };
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ENOENT')
      throw new CallformError(`settings file ${options.configFile} not found`, 'check the --config path');
    if (e.code === 'EISDIR' || e.code === 'EACCES')
      throw new CallformError(
        `cannot read settings file${options.configFile ? ` ${options.configFile}` : ''}: ${fsProblem(e)}`,
        'pass the settings file itself with --config FILE',
      );
    // js-yaml's error (cosmiconfig passes it on) knows where: file:line:column like every other error.
    const yamlError = err as { reason?: unknown; mark?: { line: number; column: number } };
    if (typeof yamlError.reason === 'string' && yamlError.mark) {
      const file = /^YAML Error in (.+):$/m.exec((err as Error).message)?.[1];
      const where = file ? path.relative(options.cwd, file) : 'settings file';
      throw new CallformError(
        `cannot read settings file: ${where}:${yamlError.mark.line + 1}:${yamlError.mark.column + 1}: ${yamlError.reason}`,
        'fix the syntax of the settings file',
      );
    }
    // cosmiconfig puts "YAML/JSON Error in FILE:" first and the reason on a later line, between code frames.
    const lines = e.message.split('\n');
    const reason = lines.slice(1).find((l) => l.trim() !== '' && !/^\s*(>?\s*\d*\s*\||-+\^)/.test(l));
    const head = lines[0].trim().replace(/:$/, '');
    const detail = reason ? `${head}: ${reason.trim().replace(/ while parsing .*$/, '')}` : head;
    throw new CallformError(`cannot read settings file: ${detail}`, 'fix the syntax of the settings file');
  }
}

/** The settings file parsed for positions (JS/TS settings get none), and its display name. */
export async function settingsDocument(
  filepath: string,
  value: unknown,
  cwd: string,
): Promise<{ file: string; doc: SourceDocument; basePath: PathSegment[] }> {
  const file = path.relative(cwd, filepath) || filepath;
  let doc: SourceDocument = { value, locate: () => undefined };
  if (!/\.(m|c)?(j|t)s$/.test(filepath))
    doc = parseSource(filepath, await readFile(filepath, 'utf8')).documents[0] ?? doc;
  return { file, doc, basePath: path.basename(filepath) === 'package.json' ? [MODULE_NAME] : [] };
}

/** Locates settings errors by re-reading data files (JS/TS settings get no positions). */
async function settingsIssues(filepath: string, config: unknown, cwd: string): Promise<Issue[]> {
  const file = path.relative(cwd, filepath) || filepath;
  const noPositions = { value: config, locate: () => undefined };
  let doc: SourceDocument = noPositions;
  if (!/\.(m|c)?(j|t)s$/.test(filepath)) {
    // Extension-less rc files are YAML or JSON; the YAML parser reads both.
    doc = parseSource(filepath, await readFile(filepath, 'utf8')).documents[0] ?? noPositions;
  }
  const basePath = path.basename(filepath) === 'package.json' ? [MODULE_NAME] : [];
  return ajvIssues(validateSettings.errors, { file, basePath: [], sources: [{ doc, basePath }] });
}

/** "a trailing newline", "2 leading spaces and a trailing tab": the whitespace around a value, never the value. */
function surroundingWhitespace(value: string): string | null {
  const name = (ws: string) => {
    const kinds = new Set(
      [...ws].map((ch) =>
        ch === ' '
          ? 'space'
          : ch === '\t'
            ? 'tab'
            : ch === '\n'
              ? 'newline'
              : ch === '\r'
                ? 'carriage return'
                : 'whitespace character',
      ),
    );
    const kind = kinds.size === 1 ? [...kinds][0] : 'whitespace character';
    return ws.length === 1 ? `a ${kind}` : `${ws.length} ${kind}s`;
  };
  if (value.trim() === '') return 'only whitespace';
  const leading = /^\s+/.exec(value)?.[0];
  const trailing = /\s+$/.exec(value)?.[0];
  const parts = [leading && `${name(leading)} at the start`, trailing && `${name(trailing)} at the end`].filter(
    Boolean,
  );
  return parts.length > 0 ? parts.join(' and ') : null;
}

/**
 * A copied credential or URL often brings a space or a newline along; sent as is, it reads as
 * "Invalid URL" or a signature error far from the cause. Refused here, by the variable's name.
 */
function assertNoSurroundingWhitespace(env: NodeJS.ProcessEnv, names: readonly string[]): void {
  for (const name of names) {
    const value = env[name];
    const ws = value ? surroundingWhitespace(value) : null;
    if (ws)
      throw new CallformError(
        `${name} has ${ws}`,
        `set ${name} to the value alone, without the whitespace (a value read from a file often ends with a newline)`,
      );
  }
}

function isHttpUrl(value: string): boolean {
  try {
    const u = new URL(value);
    return u.protocol === 'http:' || u.protocol === 'https:';
  } catch {
    return false;
  }
}

/**
 * JSON.parse keeps the last of two equal keys: a second `staging` under `environments`
 * would silently replace the first. Refused with both places, as a YAML settings file is.
 */
async function assertNoDuplicateKeys(filepath: string, cwd: string): Promise<void> {
  const file = path.relative(cwd, filepath) || filepath;
  // The JSON is valid (it was loaded): the only issues parseSource can find are repeated keys.
  const { issues } = parseSource(file, await readFile(filepath, 'utf8'));
  if (issues.length > 0) throw new ValidationError(issues, 'the settings file');
}

/** Discovers (cosmiconfig), validates and resolves the tool settings. */
export async function loadSettings(options: LoadSettingsOptions): Promise<ResolvedSettings> {
  const found = await discover(options);
  const config = (found?.config ?? {}) as unknown;
  if (found && !validateSettings(config)) {
    throw new ValidationError(await settingsIssues(found.filepath, config, options.cwd), 'the settings file');
  }
  if (found && /\.json$/.test(found.filepath) && path.basename(found.filepath) !== 'package.json')
    await assertNoDuplicateKeys(found.filepath, options.cwd);
  const s = config as CallformSettings;
  const baseDir = found ? path.dirname(found.filepath) : options.cwd;
  const env = options.env;
  assertNoSurroundingWhitespace(env, ['NXCLOUD_ENDPOINT', 'NXCLOUD_ALGORITHM']);
  const endpoint = env.NXCLOUD_ENDPOINT || s.endpoint || DEFAULT_ENDPOINT;
  if (!isHttpUrl(endpoint)) {
    throw new CallformError(
      `endpoint "${endpoint}"${env.NXCLOUD_ENDPOINT ? ' (from NXCLOUD_ENDPOINT)' : ''} is not an http(s) URL`,
      `use e.g. ${DEFAULT_ENDPOINT}`,
    );
  }
  let algorithm: SignAlgorithm = s.algorithm ?? 'MD5';
  if (env.NXCLOUD_ALGORITHM) {
    const upper = env.NXCLOUD_ALGORITHM.toUpperCase();
    if (upper !== 'MD5' && upper !== 'SHA256') {
      throw new CallformError(`NXCLOUD_ALGORITHM "${env.NXCLOUD_ALGORITHM}" is not supported`, 'use MD5 or SHA256');
    }
    algorithm = upper;
  }
  return {
    configFile: found?.filepath ?? null,
    baseDir,
    taskPatterns: s.tasks === undefined ? [DEFAULT_TASK_GLOB] : Array.isArray(s.tasks) ? s.tasks : [s.tasks],
    state: resolveStateSetting(s.state, baseDir),
    endpoint: endpoint.replace(/\/+$/, ''),
    algorithm,
    parallelism: s.parallelism ?? 8,
    timeoutMs: s.timeoutMs ?? 15000,
    retries: s.retries ?? 3,
    throttleRetries: s.throttleRetries ?? 20,
    concurrency: s.concurrency ?? 'adaptive',
    rateLimit: s.rateLimit ?? null,
    lockTimeoutMs: s.lockTimeoutMs ?? 0,
    pauseTimeoutMs: s.pauseTimeoutMs ?? 30_000,
    sendMode: s.sendMode ?? 'changed',
    refresh: s.refresh ?? 'all',
    ...(s.policy ? { policy: s.policy } : {}),
    policyPatterns: s.policyFiles === undefined ? [] : Array.isArray(s.policyFiles) ? s.policyFiles : [s.policyFiles],
    ...(s.environments ? { environments: s.environments } : {}),
  };
}

/** The names of the variables that hold an account's credentials. */
export interface CredentialNames {
  uuid: string;
  secretKey: string;
  /** The environment they belong to, named in messages (absent: the implicit one). */
  environment?: string;
}

const DEFAULT_CREDENTIAL_NAMES: CredentialNames = { uuid: 'NXCLOUD_UUID', secretKey: 'NXCLOUD_SECRET_KEY' };

/** Credentials come only from the environment; the secret is never echoed. */
export function credentialsFromEnv(
  env: NodeJS.ProcessEnv,
  names: CredentialNames = DEFAULT_CREDENTIAL_NAMES,
): Credentials {
  assertNoSurroundingWhitespace(env, [names.uuid, names.secretKey]);
  const missing = [names.uuid, names.secretKey].filter((k) => !env[k]);
  if (missing.length > 0) {
    const of = names.environment ? ` for environment ${names.environment}` : '';
    throw new CallformError(
      `missing credential${missing.length > 1 ? 's' : ''}${of}: ${missing.join(', ')} not set`,
      `export ${names.uuid} and ${names.secretKey} (NXCloud console → Developer); use \`plan --offline\` to plan without them`,
    );
  }
  return { uuid: env[names.uuid]!, secretKey: env[names.secretKey]! };
}
