/**
 * One environment's tasks, from the task files parsed once for every environment:
 * `only` filters, then each task's layers merge in the fixed precedence
 *   defaults → the task → overlay patches (files in glob order, patches in file order)
 *   → the task's own `environments.<name>` block
 * and every task an environment changed is validated again, with the file:line:col of
 * the value that won.
 */
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import path from 'node:path';
import type { LoadedTasks } from './load-tasks.js';
import type { LoadedOverlays, OverlayPatch } from './overlays.js';
import { originIn } from './overlays.js';
import { compileDeclaredWindow } from './dial-window.js';
import { checkTaskRules } from './rules.js';
import { validateTask } from '../generated/validators.js';
import { ajvIssues, formatPath } from '../diagnostics/ajv.js';
import { ValidationError, type Issue } from '../diagnostics/issue.js';
import { parseSource, type PathSegment, type SourceDocument } from '../diagnostics/source.js';
import { mergeLayers, mergeValues, type Layer, type LayerOrigin, type MergedLayers } from '../model/layers.js';
import { dataEqual, isPlain, type Plain } from '../model/settings.js';
import type { DesiredTask } from '../model/task.js';
import { didYouMean } from './environments.js';
import { targetMatcher } from '../plan/targets.js';

/** Where a task is declared: its document, its item's path, and whether a defaults block lies under it. */
export interface TaskDeclaration {
  file: string;
  doc: SourceDocument;
  itemPath: PathSegment[];
  defaults: Plain | null;
  raw: Plain;
}

/** "tasks/a.yaml:12" → "tasks/a.yaml". */
function sourceFile(source: string): string {
  return /^(.*):\d+$/.exec(source)?.[1] ?? source;
}

/** Finds a task's declaration by parsing its file again (only on errors and for `explain`). */
export function findDeclaration(baseDir: string, task: DesiredTask): TaskDeclaration {
  const file = sourceFile(task.source);
  const parsed = parseSource(file, readFileSync(path.resolve(baseDir, file), 'utf8'));
  for (const doc of parsed.documents) {
    const v = doc.value;
    if (!isPlain(v)) continue;
    if (!('tasks' in v)) {
      if (v.userTaskID === task.userTaskID) return { file, doc, itemPath: [], defaults: null, raw: v };
      continue;
    }
    const items = Array.isArray(v.tasks) ? (v.tasks as unknown[]) : [];
    const i = items.findIndex((t) => isPlain(t) && t.userTaskID === task.userTaskID);
    if (i >= 0)
      return {
        file,
        doc,
        itemPath: ['tasks', i],
        defaults: isPlain(v.defaults) ? v.defaults : null,
        raw: items[i] as Plain,
      };
  }
  return { file, doc: { value: undefined, locate: () => undefined }, itemPath: [], defaults: null, raw: {} };
}

/** A declaration found lazily, once (the plan path never needs it unless something is wrong). */
function lazyDeclaration(baseDir: string, task: DesiredTask): () => TaskDeclaration {
  let found: TaskDeclaration | undefined;
  return () => (found ??= findDeclaration(baseDir, task));
}

/** The task as the files declare it (defaults merged, dialWindow compiled): the lowest layer. */
function baseValue(task: DesiredTask): Plain {
  return {
    sceneID: task.sceneID,
    taskCreateSetting: task.taskCreateSetting,
    funcFlag: task.funcFlag,
    lifecycle: task.lifecycle,
  };
}

function baseOrigin(decl: () => TaskDeclaration): LayerOrigin {
  return {
    kind: 'task',
    get file() {
      return decl().file;
    },
    locate(field) {
      const d = decl();
      const at = field.split('.').map((s) => (/^\d+$/.test(s) ? Number(s) : s));
      return (
        d.doc.locate([...d.itemPath, ...at], true) ??
        d.doc.locate(['defaults', ...at], true) ??
        d.doc.locate(d.itemPath)
      );
    },
  };
}

/** The task's own environments.<name> block as a layer (dialWindow compiled), or issues. */
function environmentBlock(
  task: DesiredTask,
  env: string,
  decl: () => TaskDeclaration,
): { layer: Layer | null; issues: Issue[] } {
  const block = task.environments?.[env];
  if (!block) return { layer: null, issues: [] };
  const compiled = compileDeclaredWindow(block as Plain, ['environments', env], {
    get file() {
      return decl().file;
    },
    doc: { value: undefined, locate: (p, ...rest) => decl().doc.locate([...decl().itemPath, ...p], ...rest) },
    prefix: [],
  });
  if (compiled?.issues.length) return { layer: null, issues: [...compiled.issues] };
  const windowFields = compiled?.windowFields ?? [];
  const origin: LayerOrigin = {
    kind: 'environment',
    get file() {
      return decl().file;
    },
    locate(field) {
      const d = decl();
      return originIn('environment', d.file, () => d.doc, [...d.itemPath, 'environments', env], windowFields).locate(
        field,
      );
    },
  };
  return {
    layer: { value: (compiled?.value ?? block) as Plain, origin },
    issues: [],
  };
}

/** The layer that set (or removed) the value at `field`, or that set something below it. */
function winner(merged: MergedLayers, field: string): number | undefined {
  const exact = merged.fields.get(field);
  if (exact) return exact.layer;
  let best: number | undefined;
  for (const [p, e] of merged.fields)
    if (p.startsWith(field + '.') || field.startsWith(p + '.')) best = Math.max(best ?? -1, e.layer);
  for (const r of merged.removed)
    if (r.path === field || field.startsWith(r.path + '.')) best = Math.max(best ?? -1, r.layer);
  return best;
}

/** The layers of each task an environment changed (built on demand): where its values came from. */
const mergedLayers = new WeakMap<DesiredTask, () => Layer[]>();

/**
 * "file:line:col" of the overlay patch or `environments.<name>` block whose value of
 * `field` (dotted) won in this environment's task, or undefined when the task's own
 * declaration (or its defaults) holds it: then the task's `source` says where.
 */
function environmentSourceOf(task: DesiredTask, field: string): string | undefined {
  const layers = mergedLayers.get(task)?.();
  if (!layers) return undefined;
  const won = winner(mergeLayers(layers), field);
  if (won === undefined || won === 0) return undefined;
  const origin = layers[won].origin;
  const at = origin.locate(field) ?? origin.locate(field.split('.').slice(0, -1).join('.'));
  return at ? `${origin.file}:${at.line}:${at.column}` : origin.file;
}

/**
 * Policy violations of an environment's tasks, each at the overlay patch or block whose
 * value it is about, when an environment layer set that value (the task's line otherwise).
 */
export function locateViolations<V extends { userTaskID: string; path?: string; source?: string }>(
  violations: V[],
  tasks: readonly DesiredTask[],
): V[] {
  let byId: Map<string, DesiredTask> | undefined;
  return violations.map((v) => {
    if (!v.path) return v;
    byId ??= new Map(tasks.map((t) => [t.userTaskID, t]));
    const task = byId.get(v.userTaskID);
    const source = task && environmentSourceOf(task, v.path);
    return source ? { ...v, source } : v;
  });
}

/** Issues of a merged task, each at the file:line:col of the layer whose value won (provenance only when needed). */
function mergedIssues(task: DesiredTask, env: string, layers: () => Layer[], candidate: Plain): Issue[] {
  const schemaValid = validateTask(candidate);
  const errors = schemaValid ? [] : [...(validateTask.errors ?? [])];
  const violations = schemaValid ? checkTaskRules(candidate as never) : [];
  if (schemaValid && violations.length === 0) return [];
  const all = layers();
  const merged = mergeLayers(all);
  const at = (segments: PathSegment[]) => {
    const field = segments.filter((s) => typeof s === 'string').join('.');
    return all[winner(merged, field) ?? all.length - 1].origin;
  };
  const label = (i: Issue): Issue => ({ ...i, message: `task ${task.userTaskID} in environment ${env}: ${i.message}` });
  const issues: Issue[] = [];
  for (const err of errors) {
    const rel = err.instancePath.split('/').slice(1);
    const extra = (err.params as { additionalProperty?: string }).additionalProperty;
    const origin = at(extra ? [...rel, extra] : rel);
    const doc: SourceDocument = { value: undefined, locate: (p) => origin.locate(p.join('.')) };
    issues.push(...ajvIssues([err], { file: origin.file, basePath: [], sources: [{ doc, basePath: [] }] }).map(label));
  }
  for (const v of violations) {
    const origin = at(v.path);
    issues.push(
      label({
        file: origin.file,
        position: origin.locate(v.path.join('.')),
        path: formatPath(v.path),
        message: v.message,
        hint: v.hint,
      }),
    );
  }
  return issues;
}

/** Every `environments:` key and `only:` item must name a declared environment. */
export function environmentNameIssues(tasks: DesiredTask[], baseDir: string, names: string[] | null): Issue[] {
  const issues: Issue[] = [];
  for (const task of tasks) {
    if (!task.environments && !task.only) continue;
    const decl = lazyDeclaration(baseDir, task);
    const problem = (at: PathSegment[], message: string, hint: string) =>
      issues.push({
        file: decl().file,
        position:
          decl().doc.locate([...decl().itemPath, ...at], true, true) ?? decl().doc.locate([...decl().itemPath, ...at]),
        path: formatPath(at),
        message,
        hint,
      });
    if (!names) {
      problem(
        [task.environments ? 'environments' : 'only'],
        `task ${task.userTaskID} has per-environment settings, but the settings declare no environments`,
        'declare them under `environments:` in the settings file (docs/environments.md), or remove this block',
      );
      continue;
    }
    const unknown = (name: string) => `unknown environment "${name}" (declared: ${names.join(', ')})`;
    for (const name of Object.keys(task.environments ?? {}))
      if (!names.includes(name))
        problem(
          ['environments', name],
          unknown(name),
          `${didYouMean(name, names)}environment names are the keys of \`environments:\` in the settings file`,
        );
      else if (task.only && !task.only.includes(name))
        problem(
          ['environments', name],
          `task ${task.userTaskID} is not in environment ${name} (only: ${task.only.join(', ')}): this block would never apply`,
          `add ${name} to \`only\`, or remove the block`,
        );
    (task.only ?? []).forEach((name, i) => {
      if (!names.includes(name))
        problem(
          ['only', i],
          unknown(name),
          `${didYouMean(name, names)}environment names are the keys of \`environments:\` in the settings file`,
        );
    });
  }
  return issues;
}

/** The layers of one task in one environment, above its declaration. */
export function patchLayers(
  task: DesiredTask,
  env: string,
  patches: readonly OverlayPatch[],
  decl: () => TaskDeclaration,
): { layers: Layer[]; issues: Issue[] } {
  return matchedLayers(task, env, patchesMatching(patches, task.userTaskID) ?? [], decl);
}

/** The layers of `matching` (the patches that match the task) and the task's own block. */
function matchedLayers(
  task: DesiredTask,
  env: string,
  matching: readonly OverlayPatch[],
  decl: () => TaskDeclaration,
): { layers: Layer[]; issues: Issue[] } {
  const layers: Layer[] = matching.map((p) => ({ value: p.value, origin: p.origin }));
  const block = environmentBlock(task, env, decl);
  if (block.layer) layers.push(block.layer);
  return { layers, issues: block.issues };
}

/**
 * A task with an environment's layers merged in (its environments and only dropped). The
 * fields in the order the loader writes them (load-tasks.ts): one object shape for every task,
 * so the plan's optimised code is not thrown away when an environment's merged tasks come.
 */
function withLayers(task: DesiredTask, value: Plain): DesiredTask {
  return {
    userTaskID: task.userTaskID,
    sceneID: value.sceneID as string,
    taskCreateSetting: value.taskCreateSetting ?? {},
    funcFlag: value.funcFlag ?? {},
    lifecycle: value.lifecycle ?? {},
    source: task.source,
  };
}

/**
 * One environment's tasks: the shared parse (`base`) filtered by `only`, overlays and the
 * tasks' own blocks merged in, the changed tasks validated again. Tasks no layer touches
 * are shared, not copied. Throws one ValidationError with every problem. `someFiles`: `base`
 * holds some of the task files only (validate FILE…), so a patch may match none of its tasks.
 */
const GLOB_HINT =
  'check the userTaskID glob (* and ? are wildcards); a patch that matches nothing is a mistake, not a no-op';

/**
 * A patch that matches no task of the environment, and each glob of a patch's `tasks` list
 * that matches none (a typo next to a good glob must not silently do nothing either).
 */
function unmatchedGlobIssues(
  patches: readonly OverlayPatch[],
  used: ReadonlySet<OverlayPatch>,
  tasks: readonly DesiredTask[],
  env: string,
): Issue[] {
  const issues: Issue[] = [];
  for (const p of patches) {
    if (!used.has(p)) {
      issues.push({
        file: p.file,
        position: p.origin.locate('tasks'),
        path: formatPath(['patches', p.index, 'tasks']),
        message: `patch matches no task in environment ${env}: ${p.globs.map((g) => `"${g}"`).join(', ')}`,
        hint: GLOB_HINT,
      });
      continue;
    }
    if (p.globs.length < 2) continue;
    p.globs.forEach((glob, k) => {
      const matcher = targetMatcher(glob);
      if (tasks.some((t) => matcher.test(t.userTaskID))) return;
      issues.push({
        file: p.file,
        position: p.origin.locate(`tasks.${k}`),
        path: formatPath(['patches', p.index, 'tasks', k]),
        message: `"${glob}" matches no task in environment ${env} (the patch's other globs do)`,
        hint: GLOB_HINT,
      });
    });
  }
  return issues;
}

export function environmentTasks(
  base: LoadedTasks,
  baseDir: string,
  env: string,
  overlays: LoadedOverlays,
  options: { someFiles?: boolean } = {},
): LoadedTasks {
  const issues: Issue[] = [...overlays.issues];
  const used = new Set<OverlayPatch>();
  const { patches } = overlays;
  // Most tasks match no patch and are shared as they are (a short loop over every task);
  // the few an environment changes are merged one by one, each call on its own rather than
  // inlined, at length, into that loop.
  const { placed, toMerge } = placeTasks(base.tasks, env, patches);
  const merged = toMerge.map(({ at, matching }) => mergedTask(placed[at] as DesiredTask, env, matching, baseDir));
  toMerge.forEach(({ at, matching }, i) => {
    for (const p of matching) used.add(p);
    issues.push(...merged[i].issues);
    placed[at] = merged[i].task;
  });
  const tasks = placed.filter((t) => t !== null);
  if (!options.someFiles) issues.push(...unmatchedGlobIssues(patches, used, tasks, env));
  if (issues.length > 0) throw new ValidationError(issues, `environment ${env}`);
  let kept: Set<string> | undefined; // made only when a warning names tasks
  const inEnvironment = (id: string) => (kept ??= new Set(tasks.map((t) => t.userTaskID))).has(id);
  return {
    tasks,
    files: [...base.files, ...overlays.files],
    filesDigest: createHash('sha256').update(`${env}\0${base.filesDigest}\0${overlays.digest}`).digest('hex'),
    warnings: base.warnings.filter((w) => !w.userTaskIDs?.length || w.userTaskIDs.some(inEnvironment)),
  };
}

/**
 * The environment's tasks in order (`only` applied), each shared as declared, and where the
 * ones to merge sit (those a patch matches or that have an `environments` block).
 */
function placeTasks(
  tasks: readonly DesiredTask[],
  env: string,
  patches: readonly OverlayPatch[],
): { placed: Array<DesiredTask | null>; toMerge: Array<{ at: number; matching: OverlayPatch[] }> } {
  const placed: Array<DesiredTask | null> = [];
  const toMerge: Array<{ at: number; matching: OverlayPatch[] }> = [];
  for (const task of tasks) {
    if (task.only && !task.only.includes(env)) continue;
    const matching = patches.length > 0 ? patchesMatching(patches, task.userTaskID) : undefined;
    if (matching || task.environments) {
      toMerge.push({ at: placed.length, matching: matching ?? [] });
      placed.push(task);
    } else placed.push(task.only ? withLayers(task, baseValue(task)) : task);
  }
  return { placed, toMerge };
}

/** The patches whose globs match `userTaskID`, or undefined when none does. */
function patchesMatching(patches: readonly OverlayPatch[], userTaskID: string): OverlayPatch[] | undefined {
  let matching: OverlayPatch[] | undefined;
  for (const p of patches) if (p.matcher.test(userTaskID)) (matching ??= []).push(p);
  return matching;
}

/**
 * A task with the patches that match it and its own block for `env` merged in (null when
 * the merge has issues), and the issues. Layers that restate the declared values change
 * nothing: the task (validated) is shared.
 */
function mergedTask(
  task: DesiredTask,
  env: string,
  matching: OverlayPatch[],
  baseDir: string,
): { task: DesiredTask | null; issues: Issue[] } {
  const decl = lazyDeclaration(baseDir, task);
  const { layers, issues } = matchedLayers(task, env, matching, decl);
  const declared = baseValue(task);
  if (layers.length === 0) return { task: withLayers(task, declared), issues };
  const value = mergeValues(
    declared,
    layers.map((l) => l.value),
  );
  if (dataEqual(value, declared))
    return { task: task.only || task.environments ? withLayers(task, declared) : task, issues };
  const all = () => [{ value: baseValue(task), origin: baseOrigin(decl) }, ...layers];
  const found = mergedIssues(task, env, all, { userTaskID: task.userTaskID, ...value });
  if (found.length > 0) return { task: null, issues: [...issues, ...found] };
  const merged = withLayers(task, value);
  mergedLayers.set(merged, all);
  return { task: merged, issues };
}
