import { readFile as fsReadFile, stat } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { glob } from 'tinyglobby';
import type { CallformTask } from '../generated/task.js';
import { validateTask, validateTaskFile } from '../generated/validators.js';
import { ValidationError, fileLine, type Issue, type SourcePosition } from '../diagnostics/issue.js';
import { byUserTaskID, type DesiredTask } from '../model/task.js';
import { parseSource, decodeUtf8, tooLarge, MAX_FILE_BYTES, type PathSegment, type SourceDocument } from '../diagnostics/source.js';
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
  readFile?: (file: string) => Promise<Uint8Array>;
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
    if (k === '__proto__') Object.defineProperty(out, k, { value, enumerable: true, writable: true, configurable: true });
    else out[k] = value;
  }
  return out;
}

export interface Declared {
  task: CallformTask;
  file: string;
  position?: SourcePosition;
}

const where = (d: Declared) => fileLine(d.file, d.position);

/** Validates one parsed document and returns the tasks it declares, or issues. */
export function tasksOfDocument(
  file: string,
  doc: SourceDocument,
  docIndex: number,
  docCount: number,
): { tasks: Declared[]; issues: Issue[]; warnings: LintWarning[] } {
  const prefix: PathSegment[] = docCount > 1 ? [`document ${docIndex + 1}`] : [];
  const label = (p: PathSegment[]) => formatPath([...prefix, ...p]) || undefined;
  const value = doc.value;
  if (value === null || value === undefined) return { tasks: [], issues: [], warnings: [] };
  if (!isPlain(value)) {
    return {
      tasks: [],
      warnings: [],
      issues: [{ file, position: doc.locate([]), path: label([]), message: `must be a task object or { defaults, tasks }; got ${Array.isArray(value) ? 'an array' : typeof value}`, hint: 'see schemas/task-file.schema.json' }],
    };
  }
  if (!validateTaskFile(value)) {
    const issues = ajvIssues(validateTaskFile.errors, { file, basePath: prefix, sources: [{ doc, basePath: [] }] });
    return { tasks: [], issues, warnings: [] };
  }
  const items: Array<{ raw: Plain; path: PathSegment[] }> =
    'tasks' in value ? (value.tasks as Plain[]).map((raw, i) => ({ raw, path: ['tasks', i] })) : [{ raw: value, path: [] }];
  const ctx: DocContext = { file, doc, prefix };
  // dialWindow is compiled per object (defaults once, then each task): see dial-window.ts.
  const rawDefaults = 'tasks' in value && isPlain(value.defaults) ? value.defaults : undefined;
  const defaultsDial = rawDefaults && { raw: rawDefaults, compiled: compileDeclaredWindow(rawDefaults, ['defaults'], ctx) };
  const defaults = defaultsDial ? (defaultsDial.compiled?.value ?? rawDefaults) : undefined;
  const tasks: Declared[] = [];
  const issues: Issue[] = [...(defaultsDial?.compiled?.issues ?? [])];
  const warnings: LintWarning[] = [];
  for (const item of items) {
    const compiled = compileDeclaredWindow(item.raw, item.path, ctx);
    if (compiled) issues.push(...compiled.issues);
    const own = compiled?.value ?? item.raw;
    const merged = defaults ? (mergeDefaults(defaults, own) as Plain) : own;
    const sources = [{ doc, basePath: item.path }, ...(defaults ? [{ doc, basePath: ['defaults'] as PathSegment[] }] : [])];
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
    // Declared where its userTaskID key is (the plan's `source`, duplicate-ID messages).
    if (violations.length === 0 && !compiled?.issues.length) {
      tasks.push({ task, file, position: doc.locate([...item.path, 'userTaskID'], true, true) });
      warnings.push(...dialWindowWarnings(task as { taskCreateSetting?: Record<string, string> }, item.raw, compiled, defaultsDial, item.path, ctx));
    }
  }
  return { tasks, issues, warnings };
}

function toDesired(d: Declared): DesiredTask {
  const { userTaskID, sceneID, taskCreateSetting = {}, funcFlag = {}, lifecycle = {} } = d.task;
  return { userTaskID, sceneID, taskCreateSetting, funcFlag, lifecycle, source: where(d) };
}

/** What one task file yields. */
export interface FileResult {
  file: string;
  /** SHA-256 of the file's relative path, size and bytes. */
  digest: string;
  tasks: Declared[];
  issues: Issue[];
  warnings: LintWarning[];
}

/** One warning per place and message: a defaults value shared by many tasks warns once. */
function uniqueWarnings(warnings: LintWarning[]): LintWarning[] {
  const seen = new Set<string>();
  return warnings.filter((w) => {
    const key = `${w.file}\0${w.path}\0${w.message}`;
    return seen.has(key) ? false : (seen.add(key), true);
  });
}

function oversized(file: string, size: number): FileResult {
  const digest = createHash('sha256').update(`${file}\0${size}\0`).digest('hex');
  return { file, digest, tasks: [], issues: [tooLarge(file, size)], warnings: [] };
}

/** Parses and validates one file's bytes. Pure: no I/O, never throws for bad input. */
export function loadTaskFile(file: string, bytes: Uint8Array): FileResult {
  const digest = createHash('sha256').update(`${file}\0${bytes.byteLength}\0`).update(bytes).digest('hex');
  const { text, issue } = decodeUtf8(file, bytes);
  if (issue || text === undefined) return { file, digest, tasks: [], issues: issue ? [issue] : [], warnings: [] };
  const parsed = parseSource(file, text);
  const issues = [...parsed.issues];
  const tasks: Declared[] = [];
  const warnings: LintWarning[] = [];
  parsed.documents.forEach((doc, docIndex) => {
    const result = tasksOfDocument(file, doc, docIndex, parsed.documents.length);
    issues.push(...result.issues);
    tasks.push(...result.tasks);
    warnings.push(...result.warnings);
  });
  return { file, digest, tasks, issues, warnings };
}

/** Finds, parses and validates every task file; throws one ValidationError listing all problems. */
export async function loadTasks(options: LoadTasksOptions): Promise<LoadedTasks> {
  const files = (await glob(options.patterns, { cwd: options.baseDir, onlyFiles: true, dot: false, expandDirectories: false })).sort();
  if (files.length === 0) {
    throw new ValidationError(
      [{ file: options.baseDir, message: `no task files match ${options.patterns.join(', ')}`, hint: 'set "tasks" in the settings file or create tasks/*.yaml' }],
      'task files',
    );
  }
  const results = await Promise.all(
    files.map(async (file) => {
      const abs = path.resolve(options.baseDir, file);
      if (options.readFile) return loadTaskFile(file, await options.readFile(abs));
      // Refuse an oversized file by its size, before reading it into memory.
      const { size } = await stat(abs);
      if (size > MAX_FILE_BYTES) return oversized(file, size);
      return loadTaskFile(file, await fsReadFile(abs));
    }),
  );
  const digest = createHash('sha256');
  const issues: Issue[] = [];
  const byId = new Map<string, Declared>();
  for (const r of results) {
    digest.update(r.digest);
    issues.push(...r.issues);
    for (const d of r.tasks) {
      const first = byId.get(d.task.userTaskID);
      if (first) {
        issues.push({
          file: d.file,
          position: d.position,
          path: 'userTaskID',
          message: `duplicate userTaskID "${d.task.userTaskID}", already declared at ${where(first)}`,
          hint: 'userTaskID must be unique across all task files',
        });
      } else {
        byId.set(d.task.userTaskID, d);
      }
    }
  }
  if (issues.length > 0) throw new ValidationError(issues, 'task files');
  const tasks = [...byId.values()].map(toDesired).sort(byUserTaskID);
  return { tasks, files, filesDigest: digest.digest('hex'), warnings: uniqueWarnings(results.flatMap((r) => r.warnings)) };
}
