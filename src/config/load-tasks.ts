import { closeSync, fstatSync, openSync, readFileSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { glob } from 'tinyglobby';
import type { CallformTask } from '../generated/task.js';
import { validateTask, validateTaskFile } from '../generated/validators.js';
import { fsProblem } from '../errors.js';
import { ValidationError, fileLine, type Issue, type SourcePosition } from '../diagnostics/issue.js';
import { byUserTaskID, type DesiredTask } from '../model/task.js';
import {
  parseSource,
  decodeUtf8,
  tooLarge,
  MAX_FILE_BYTES,
  type PathSegment,
  type SourceDocument,
} from '../diagnostics/source.js';
import { ajvIssues, formatPath } from '../diagnostics/ajv.js';
import { checkTaskRules } from './rules.js';
import { compileDeclaredWindow, dialWindowWarnings, type DocContext, type LintWarning } from './dial-window.js';

export interface LoadedTasks {
  tasks: DesiredTask[];
  files: string[];
  /** SHA-256 over every file's relative path and bytes: a saved plan is stale when it moves. */
  filesDigest: string;
  /** Lint warnings (the tasks are valid): printed by validate and plan. */
  warnings: LintWarning[];
}

export interface LoadTasksOptions {
  /** Directory the globs and reported paths are relative to. */
  baseDir: string;
  patterns: string[];
  /** These files (relative to baseDir) instead of the patterns' matches: `validate FILE…`. */
  files?: string[];
  readFile?: (file: string) => Promise<Uint8Array>;
}

/** Each named file must be a readable regular file: one issue per one that is not. */
async function missingFiles(baseDir: string, files: string[]): Promise<Issue[]> {
  const issues: Issue[] = [];
  for (const file of files) {
    const problem = await stat(path.resolve(baseDir, file)).then(
      (s) => (s.isFile() ? null : 'not a file (validate takes task files, not directories)'),
      (err: unknown) => fsProblem(err),
    );
    if (problem) issues.push({ file, message: problem, hint: 'check the path of the task file' });
  }
  return issues;
}

type Plain = Record<string, unknown>;
const isPlain = (v: unknown): v is Plain => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Deep merge for defaults: objects merge, arrays and scalars of `over` replace. */
export function mergeDefaults(under: unknown, over: unknown): unknown {
  if (!isPlain(under) || !isPlain(over)) return over === undefined ? under : over;
  const out: Plain = { ...under };
  for (const [k, v] of Object.entries(over)) {
    const value = Object.hasOwn(under, k) ? mergeDefaults(under[k], v) : v;
    // A "__proto__" key must stay an own (and so rejected) field: assignment would set the prototype.
    if (k === '__proto__')
      Object.defineProperty(out, k, { value, enumerable: true, writable: true, configurable: true });
    else out[k] = value;
  }
  return out;
}

interface Declared {
  task: CallformTask;
  file: string;
  position?: SourcePosition;
}

/** A userTaskID declared somewhere, valid task or not: duplicates are found over all of them. */
interface Claim {
  userTaskID: string;
  file: string;
  position?: SourcePosition;
}

export interface DocumentTasks {
  tasks: Declared[];
  /** Every item's userTaskID, in order (the valid tasks' and the invalid ones'). */
  claims: Claim[];
  issues: Issue[];
  warnings: LintWarning[];
}

const where = (d: { file: string; position?: SourcePosition }) => fileLine(d.file, d.position);

/** Validates one parsed document and returns the tasks it declares, or issues. */
export function tasksOfDocument(file: string, doc: SourceDocument, docIndex: number, docCount: number): DocumentTasks {
  const prefix: PathSegment[] = docCount > 1 ? [`document ${docIndex + 1}`] : [];
  const label = (p: PathSegment[]) => formatPath([...prefix, ...p]) || undefined;
  const value = doc.value;
  if (value === null || value === undefined) return { tasks: [], claims: [], issues: [], warnings: [] };
  if (!isPlain(value)) {
    return {
      tasks: [],
      claims: [],
      warnings: [],
      issues: [
        {
          file,
          position: doc.locate([]),
          path: label([]),
          message: `must be a task object or { defaults, tasks }; got ${Array.isArray(value) ? 'an array' : typeof value}`,
          hint: 'see schemas/task-file.schema.json',
        },
      ],
    };
  }
  if (!validateTaskFile(value)) {
    const issues = ajvIssues(validateTaskFile.errors, { file, basePath: prefix, sources: [{ doc, basePath: [] }] });
    return { tasks: [], claims: claimsOf(value, file, doc), issues, warnings: [] };
  }
  const items = itemsOf(value) as Array<{ raw: Plain; path: PathSegment[] }>; // schema-valid: every item is an object
  const ctx: DocContext = { file, doc, prefix };
  // dialWindow is compiled per object (defaults once, then each task): see dial-window.ts.
  const rawDefaults = 'tasks' in value && isPlain(value.defaults) ? value.defaults : undefined;
  const defaultsDial = rawDefaults && {
    raw: rawDefaults,
    compiled: compileDeclaredWindow(rawDefaults, ['defaults'], ctx),
  };
  const defaults = defaultsDial ? (defaultsDial.compiled?.value ?? rawDefaults) : undefined;
  const tasks: Declared[] = [];
  const claims: Claim[] = [];
  const issues: Issue[] = [...(defaultsDial?.compiled?.issues ?? [])];
  const warnings: LintWarning[] = [];
  for (const item of items) {
    // Claimed where its userTaskID key is (the plan's `source`, duplicate-ID messages), valid or not.
    const claim = claimOf(item.raw, item.path, file, doc);
    if (claim) claims.push(claim);
    const compiled = compileDeclaredWindow(item.raw, item.path, ctx);
    if (compiled) issues.push(...compiled.issues);
    const own = compiled?.value ?? item.raw;
    const merged = defaults ? (mergeDefaults(defaults, own) as Plain) : own;
    const sources = [
      { doc, basePath: item.path },
      ...(defaults ? [{ doc, basePath: ['defaults'] as PathSegment[] }] : []),
    ];
    if (!validateTask(merged)) {
      issues.push(...ajvIssues(validateTask.errors, { file, basePath: [...prefix, ...item.path], sources }));
      continue;
    }
    const task = merged as unknown as CallformTask;
    const violations = checkTaskRules(task);
    for (const v of violations) {
      issues.push({
        file,
        position: doc.locate([...item.path, ...v.path], true) ?? doc.locate(['defaults', ...v.path]),
        path: label([...item.path, ...v.path]),
        message: v.message,
        hint: v.hint,
      });
    }
    if (violations.length === 0 && !compiled?.issues.length) {
      tasks.push({ task, file, position: claim?.position });
      for (const w of dialWindowWarnings(task, item.raw, compiled, defaultsDial, item.path, ctx))
        warnings.push({ ...w, userTaskIDs: [task.userTaskID] });
    }
  }
  return { tasks, claims, issues, warnings };
}

function claimOf(raw: unknown, path: PathSegment[], file: string, doc: SourceDocument): Claim | null {
  const id = isPlain(raw) ? raw.userTaskID : undefined;
  return typeof id === 'string'
    ? { userTaskID: id, file, position: doc.locate([...path, 'userTaskID'], true, true) }
    : null;
}

/** A document's task items: a collection's `tasks`, or the document itself as one task. */
function itemsOf(value: Plain): Array<{ raw: unknown; path: PathSegment[] }> {
  if (!('tasks' in value)) return [{ raw: value, path: [] }];
  return Array.isArray(value.tasks) ? value.tasks.map((raw: unknown, i) => ({ raw, path: ['tasks', i] })) : [];
}

/** The userTaskIDs of a file that failed its schema, for duplicate checks. */
function claimsOf(value: Plain, file: string, doc: SourceDocument): Claim[] {
  return itemsOf(value).flatMap(({ raw, path }) => claimOf(raw, path, file, doc) ?? []);
}

function toDesired(d: Declared): DesiredTask {
  const { userTaskID, sceneID, taskCreateSetting = {}, funcFlag = {}, lifecycle = {}, environments, only } = d.task;
  // environment-tasks.ts's withLayers writes these fields in this order too: one object shape.
  const desired: DesiredTask = { userTaskID, sceneID, taskCreateSetting, funcFlag, lifecycle, source: where(d) };
  // Per-environment parts ride along (rarely present): config/environment-tasks.ts applies them.
  return environments || only ? { ...desired, ...(environments && { environments }), ...(only && { only }) } : desired;
}

/** What one task file yields. */
export interface FileResult {
  file: string;
  /** SHA-256 of the file's relative path, size and bytes. */
  digest: string;
  tasks: Declared[];
  claims: Claim[];
  issues: Issue[];
  warnings: LintWarning[];
}

/** One warning per place and message: a defaults value shared by many tasks warns once, for all of them. */
function uniqueWarnings(warnings: LintWarning[]): LintWarning[] {
  const seen = new Map<string, { warning: LintWarning; ids: string[] }>();
  for (const w of warnings) {
    const key = `${w.file}\0${w.path}\0${w.message}`;
    const first = seen.get(key);
    if (first) first.ids.push(...(w.userTaskIDs ?? []));
    else seen.set(key, { warning: w, ids: [...(w.userTaskIDs ?? [])] });
  }
  return [...seen.values()].map(({ warning, ids }) => ({ ...warning, userTaskIDs: ids }));
}

function oversized(file: string, size: number): FileResult {
  const digest = createHash('sha256').update(`${file}\0${size}\0`).digest('hex');
  return { file, digest, tasks: [], claims: [], issues: [tooLarge(file, size)], warnings: [] };
}

/** Parses and validates one file's bytes. Pure: no I/O, never throws for bad input. */
export function loadTaskFile(file: string, bytes: Uint8Array): FileResult {
  const digest = createHash('sha256').update(`${file}\0${bytes.byteLength}\0`).update(bytes).digest('hex');
  const { text, issue } = decodeUtf8(file, bytes);
  if (issue || text === undefined)
    return { file, digest, tasks: [], claims: [], issues: issue ? [issue] : [], warnings: [] };
  const parsed = parseSource(file, text);
  const issues = [...parsed.issues];
  const tasks: Declared[] = [];
  const claims: Claim[] = [];
  const warnings: LintWarning[] = [];
  parsed.documents.forEach((doc, docIndex) => {
    const result = tasksOfDocument(file, doc, docIndex, parsed.documents.length);
    issues.push(...result.issues);
    tasks.push(...result.tasks);
    claims.push(...result.claims);
    warnings.push(...result.warnings);
  });
  return { file, digest, tasks, claims, issues, warnings };
}

/** No file matches the task patterns (a ValidationError of its own kind, so a caller can say where it looked). */
export class NoTaskFilesError extends ValidationError {
  constructor(
    readonly baseDir: string,
    readonly patterns: string[],
  ) {
    super(
      [
        {
          file: baseDir,
          message: `no task files match ${patterns.join(', ')}`,
          hint: 'set "tasks" in the settings file or create tasks/*.yaml',
        },
      ],
      'task files',
    );
  }
}

/**
 * A task file's bytes, or only its size when it is over the limit (refused before it is read
 * into memory). Synchronous on purpose: a project's task files are many and small, and each
 * asynchronous stat/open/read/close costs the main thread a promise and a thread-pool round
 * trip; on the bench's 400 files that was about 0.3 ms a file, more than the reads themselves.
 */
function readTaskBytes(abs: string): { bytes: Buffer } | { size: number } {
  const fd = openSync(abs, 'r');
  try {
    const { size } = fstatSync(fd);
    return size > MAX_FILE_BYTES ? { size } : { bytes: readFileSync(fd) };
  } finally {
    closeSync(fd);
  }
}

/** Finds, parses and validates every task file; throws one ValidationError listing all problems. */
export async function loadTasks(options: LoadTasksOptions): Promise<LoadedTasks> {
  if (options.files) {
    const missing = await missingFiles(options.baseDir, options.files);
    if (missing.length > 0) throw new ValidationError(missing, 'task files');
  }
  const files = (
    options.files
      ? [...new Set(options.files)]
      : await glob(options.patterns, { cwd: options.baseDir, onlyFiles: true, dot: false, expandDirectories: false })
  ).sort();
  if (files.length === 0) throw new NoTaskFilesError(options.baseDir, options.patterns);
  // One file at a time: each file's bytes, text and parse are dropped once its tasks are
  // taken, instead of every file of a 100,000-task project read and parsed at once.
  const results: FileResult[] = [];
  for (const file of files) {
    const abs = path.resolve(options.baseDir, file);
    if (options.readFile) results.push(loadTaskFile(file, await options.readFile(abs)));
    else {
      const read = readTaskBytes(abs);
      results.push('size' in read ? oversized(file, read.size) : loadTaskFile(file, read.bytes));
    }
  }
  const digest = createHash('sha256');
  const issues: Issue[] = [];
  // Duplicates over every declared ID, valid task or not: all problems are reported in one run.
  const firstClaim = new Map<string, Claim>();
  for (const r of results) {
    digest.update(r.digest);
    issues.push(...r.issues);
    for (const c of r.claims) {
      const first = firstClaim.get(c.userTaskID);
      if (first) {
        issues.push({
          file: c.file,
          position: c.position,
          path: 'userTaskID',
          message: `duplicate userTaskID "${c.userTaskID}", already declared at ${where(first)}`,
          hint: 'userTaskID must be unique across all task files',
        });
      } else {
        firstClaim.set(c.userTaskID, c);
      }
    }
  }
  if (issues.length > 0) throw new ValidationError(issues, 'task files');
  const tasks = results.flatMap((r) => r.tasks.map(toDesired)).sort(byUserTaskID);
  return {
    tasks,
    files,
    filesDigest: digest.digest('hex'),
    warnings: uniqueWarnings(results.flatMap((r) => r.warnings)),
  };
}
