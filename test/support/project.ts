/**
 * Shared helpers for the CLI tests (test/integration/, test/reliability/): temporary callform
 * projects (one TempProject, removed automatically: see temp.ts), spawning the built CLI
 * (dist/cli.js) with output capture (one CliResult), and waiting.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdir, readFile, readdir, rm, stat, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { stringify } from 'yaml';
import type { CallformSettings } from '../../src/generated/config.js';
import { REPO_ROOT } from './repo.js';
import { removeTempDir, tempDir } from './temp.js';
import type { CallformState } from '../../src/generated/state.js';
import { parseJson } from './json.js';

const CLI_PATH = path.join(REPO_ROOT, 'dist', 'cli.js');
const DIST_DIR = path.join(REPO_ROOT, 'dist');

/** The reliability tests drive the real binary: fail early and clearly when it is not built. */
function assertBuilt(): void {
  if (!existsSync(CLI_PATH)) throw new Error(`${CLI_PATH} is missing: run \`npm run build\` before these tests`);
}

let activeDist = DIST_DIR;
let snapshotDir: string | null = null;

/** The dist/ directory the helpers run (a private snapshot after {@link useDistSnapshot}). */
export const distDir = () => activeDist;
export const cliPath = () => path.join(activeDist, 'cli.js');

async function newestMtime(dir: string): Promise<number> {
  let newest = 0;
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? await newestMtime(full) : (await stat(full)).mtimeMs);
  }
  return newest;
}

/**
 * Copies dist/ (with package.json, schemas/ and a node_modules link) to a temp dir and
 * runs the CLI from there, so a concurrent `npm run build` in the working tree cannot
 * swap files under a long test. Waits for dist/ to be quiet for a moment first.
 */
export async function useDistSnapshot(): Promise<string> {
  assertBuilt();
  if (snapshotDir) return cliPath();
  const deadline = Date.now() + 20_000;
  while (Date.now() - (await newestMtime(DIST_DIR)) < 2000 && Date.now() < deadline) await sleep(250);
  const dir = await tempDir('callform-dist-', 'file'); // shared by the file's tests: kept until dropDistSnapshot()
  await cp(DIST_DIR, path.join(dir, 'dist'), { recursive: true });
  await cp(path.join(REPO_ROOT, 'package.json'), path.join(dir, 'package.json'));
  if (existsSync(path.join(REPO_ROOT, 'schemas')))
    await cp(path.join(REPO_ROOT, 'schemas'), path.join(dir, 'schemas'), { recursive: true });
  await symlink(path.join(REPO_ROOT, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
  snapshotDir = dir;
  activeDist = path.join(dir, 'dist');
  return cliPath();
}

/** Removes the snapshot made by {@link useDistSnapshot} (call from afterAll). */
export async function dropDistSnapshot(): Promise<void> {
  if (!snapshotDir) return;
  const dir = snapshotDir;
  snapshotDir = null;
  activeDist = DIST_DIR;
  await removeTempDir(dir);
}

export type ProjectSettings = CallformSettings;

interface TaskCollection {
  defaults?: Record<string, unknown>;
  tasks: Array<Record<string, unknown>>;
}

export interface TempProject {
  dir: string;
  statePath: string;
  /** The lock file, whose content is the holder record (LockInfo JSON). */
  lockPath: string;
  /** Where an older callform (proper-lockfile layout: a `.lock` directory) kept its holder record. */
  legacyLockInfoPath: string;
  file(rel: string): string;
  /** Writes a file (parents created): a string as is, an object as JSON (`*.json`) or YAML. */
  write(rel: string, content: string | object): Promise<void>;
  read(rel: string): Promise<string>;
  /** Writes callform.config.yaml: the project's base settings overlaid with `settings`. */
  writeSettings(settings: ProjectSettings): Promise<void>;
  /** Replaces every task file with `tasks/<name>.yaml` collections. */
  writeCollections(files: Record<string, TaskCollection>): Promise<void>;
  /** Parsed state file, or null when there is none. Throws on invalid JSON. */
  readState(): Promise<CallformState | null>;
  /** Parsed state file; throws when there is none. */
  state(): Promise<CallformState>;
  /** Every regular file in the project (recursive), relative path → content. */
  allFiles(): Promise<Map<string, string>>;
  /** Removes the project now (it is removed after its test, or its file, anyway). */
  cleanup(): Promise<void>;
}

/** The settings tempProject() writes under what a test passes. */
const TEMP_PROJECT_SETTINGS: ProjectSettings = { parallelism: 4, timeoutMs: 5000, retries: 1 };

/**
 * A callform project in a fresh temp directory (removed when the test that made it finishes,
 * or with its file when made outside a test), with callform.config.yaml written from
 * `base` overlaid with `settings`.
 */
async function makeProject(
  options: { settings?: ProjectSettings; base?: ProjectSettings; prefix?: string } = {},
): Promise<TempProject> {
  const settings = options.settings ?? {};
  const base = options.base ?? {};
  const dir = await tempDir(options.prefix ?? 'callform-project-');
  const statePath = path.join(dir, typeof settings.state === 'string' ? settings.state : 'callform.state.json');
  const p: TempProject = {
    dir,
    statePath,
    lockPath: `${statePath}.lock`,
    legacyLockInfoPath: `${statePath}.lock.info`,
    file: (rel) => path.join(dir, rel),
    async write(rel, content) {
      const f = path.join(dir, rel);
      await mkdir(path.dirname(f), { recursive: true });
      await writeFile(
        f,
        typeof content === 'string'
          ? content
          : rel.endsWith('.json')
            ? JSON.stringify(content, null, 2)
            : stringify(content),
      );
    },
    read: (rel) => readFile(path.join(dir, rel), 'utf8'),
    async writeSettings(s) {
      await p.write('callform.config.yaml', { ...base, ...s });
    },
    async writeCollections(files) {
      await rm(path.join(dir, 'tasks'), { recursive: true, force: true });
      for (const [name, coll] of Object.entries(files)) await p.write(`tasks/${name}.yaml`, coll);
    },
    async readState() {
      let text: string;
      try {
        text = await readFile(statePath, 'utf8');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
        throw err;
      }
      return parseJson<CallformState>(text);
    },
    async state() {
      return parseJson<CallformState>(await readFile(statePath, 'utf8'));
    },
    async allFiles() {
      const out = new Map<string, string>();
      const walk = async (d: string): Promise<void> => {
        for (const e of await readdir(d, { withFileTypes: true })) {
          const full = path.join(d, e.name);
          if (e.isDirectory()) await walk(full);
          else if (e.isFile()) out.set(path.relative(dir, full), await readFile(full, 'utf8'));
        }
      };
      await walk(dir);
      return out;
    },
    cleanup: () => removeTempDir(dir),
  };
  await p.writeSettings(settings);
  return p;
}

/** The reliability tests' project: its task files are the YAML files under tasks/. */
export function createProject(settings: ProjectSettings = {}, prefix = 'callform-rel-'): Promise<TempProject> {
  return makeProject({ settings, base: { tasks: 'tasks/**/*.yaml' }, prefix });
}

/**
 * The integration tests' project: {@link TEMP_PROJECT_SETTINGS} overlaid with `settings`
 * (any object: a test may write settings callform must refuse).
 */
export function tempProject(settings: object = {}): Promise<TempProject> {
  return makeProject({ settings, base: TEMP_PROJECT_SETTINGS, prefix: 'callform-it-' });
}

/** Credentials and endpoint for a simulator; NXCLOUD_* from the outer environment never leak in. */
export function simEnv(
  sim: { url: string; uuid: string; secret: string },
  extra: Record<string, string | undefined> = {},
): Record<string, string | undefined> {
  return { NXCLOUD_ENDPOINT: sim.url, NXCLOUD_UUID: sim.uuid, NXCLOUD_SECRET_KEY: sim.secret, ...extra };
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** True when the helper had to kill the process because `timeoutMs` passed. */
  timedOut: boolean;
  /** Wall time from spawn to exit, ms (for messages and reports, never for assertions). */
  ms?: number;
}

export interface SpawnOptions {
  cwd: string;
  env?: Record<string, string | undefined>;
  input?: string;
  /** Safety net: SIGKILL after this long (default 60 s). */
  timeoutMs?: number;
}

export interface RunningCli {
  child: ChildProcessWithoutNullStreams;
  pid: number;
  stdout(): string;
  stderr(): string;
  /** Resolves when the process has exited and its pipes closed. */
  done: Promise<CliResult>;
}

/** The environment of a spawned CLI: the outer one without NXCLOUD_*, with NO_COLOR and CI set; `extra` overrides (undefined removes). */
export function cliEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: Record<string, string | undefined> = { ...process.env, NO_COLOR: '1', CI: '1' };
  for (const k of Object.keys(env)) if (k.startsWith('NXCLOUD_')) delete env[k];
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

/** A child's output, collected as it comes. */
export interface CollectedOutput {
  stdout: () => string;
  stderr: () => string;
  /** True once the process has exited and its pipes closed. */
  exited: () => boolean;
  /** Resolves when the process has exited and its pipes closed; SIGKILLs it after `timeoutMs`. */
  done: Promise<CliResult>;
}

/**
 * Collects a spawned child's stdout and stderr as text until it exits, killing it after
 * `timeoutMs`. `onChange` runs when stdout grows and when the child exits (for waiters).
 */
export function collectOutput(
  child: ChildProcessWithoutNullStreams,
  timeoutMs: number,
  onChange: () => void = () => undefined,
): CollectedOutput {
  const started = Date.now();
  let stdout = '';
  let stderr = '';
  let timedOut = false;
  let exited = false;
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
    onChange();
  });
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  child.stdin.on('error', () => undefined);
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, timeoutMs);
  const done = new Promise<CliResult>((resolve, reject) => {
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      exited = true;
      onChange();
      resolve({ code, signal, stdout, stderr, timedOut, ms: Date.now() - started });
    });
  });
  return { stdout: () => stdout, stderr: () => stderr, exited: () => exited, done };
}

/** Starts `node dist/cli.js ...args` (node itself is the child, so signals reach callform directly). */
export function spawnCli(args: string[], options: SpawnOptions): RunningCli {
  const child = spawn(process.execPath, [cliPath(), ...args], {
    cwd: options.cwd,
    env: cliEnv(options.env),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const out = collectOutput(child, options.timeoutMs ?? 60_000);
  child.stdin.end(options.input ?? '');
  return { child, pid: child.pid!, stdout: out.stdout, stderr: out.stderr, done: out.done };
}

export function runCli(args: string[], options: SpawnOptions): Promise<CliResult> {
  return spawnCli(args, options).done;
}

/** Formats a result for assertion messages. */
export function describeResult(args: string[], r: CliResult): string {
  return `callform ${args.join(' ')} → code ${r.code} signal ${r.signal}${r.timedOut ? ' (TIMED OUT)' : ''}\n--- stdout ---\n${r.stdout}\n--- stderr ---\n${r.stderr}`;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls `predicate` until it is truthy; throws after `timeoutMs`. */
export async function waitFor<T>(
  predicate: () => T | Promise<T>,
  options: { timeoutMs?: number; intervalMs?: number; what?: string } = {},
): Promise<NonNullable<T>> {
  const deadline = Date.now() + (options.timeoutMs ?? 10_000);
  for (;;) {
    const v = await predicate();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${options.what ?? 'condition'}`);
    await sleep(options.intervalMs ?? 10);
  }
}

/** Small deterministic PRNG for test randomness (floats in [0, 1)): the simulator's own. */
export { mulberry32 as seededRandom } from '../../src/sim/faults.js';

/** Paths (a.b.c) where `actual` does not carry `expected`'s value; arrays compare whole. */
export function mismatches(actual: unknown, expected: unknown, at = ''): string[] {
  const plain = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (plain(expected)) {
    if (!plain(actual)) return [at || '(root)'];
    return Object.entries(expected).flatMap(([k, v]) => mismatches(actual[k], v, at ? `${at}.${k}` : k));
  }
  return JSON.stringify(actual) === JSON.stringify(expected) ? [] : [at || '(root)'];
}
