/**
 * dialWindow in task files: compiled to the API's three raw fields as each file is
 * loaded, so plans, payloads and the state only ever see raw fields; plus the lint
 * warnings about raw hour lists that leave lone half-hour slots.
 *
 * Defaults and tasks are compiled each on their own, then merged field by field as
 * for every other setting: a task's own value of a field wins over the defaults',
 * whichever form either declared it in. Both forms in one object are an error.
 */
import type { SourceDocument, PathSegment } from '../diagnostics/source.js';
import type { Issue, SourcePosition } from '../diagnostics/issue.js';
import { ajvIssues, formatPath } from '../diagnostics/ajv.js';
import { validateDialWindow } from '../generated/validators.js';
import {
  ALL_DAYS,
  RAW_DIAL_FIELDS,
  compileDialWindow,
  clock,
  formatDays,
  loneHalfHours,
  maskOfList,
  slotsOf,
  type DialWindowForm,
  type HalfHours,
  type RawDialField,
  type RawDialFields,
} from '../windows/index.js';

type Plain = Record<string, unknown>;
const isPlain = (v: unknown): v is Plain => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Where a document's problems are reported: its file, positions and path labels. */
export interface DocContext {
  file: string;
  doc: SourceDocument;
  /** Label prefix of every path: ["document 2"] in multi-document files, else []. */
  prefix: PathSegment[];
}

const label = (ctx: DocContext, path: PathSegment[]) => formatPath([...ctx.prefix, ...path]) || undefined;

/** An object (defaults or a task) with its dialWindow compiled to raw fields. */
export interface CompiledDial<T> {
  value: T;
  /** The raw fields its dialWindow produced (none when it declared no dialWindow). */
  windowFields: readonly RawDialField[];
  issues: readonly Issue[];
}

const NONE: readonly never[] = Object.freeze([]);

function problemIssue(ctx: DocContext, at: PathSegment[], message: string, hint?: string): Issue {
  return { file: ctx.file, position: ctx.doc.locate(at), path: label(ctx, at), message, hint };
}

/**
 * `owner` (defaults or a task item, at `path` in the document) with its dialWindow
 * replaced by the raw fields it stands for, or null when it has no dialWindow (the common
 * case: nothing is allocated). The object is copied, never changed.
 */
export function compileDeclaredWindow<T>(owner: T, path: PathSegment[], ctx: DocContext): CompiledDial<T> | null {
  const tcs = isPlain(owner) ? owner.taskCreateSetting : undefined;
  if (!isPlain(tcs) || !('dialWindow' in tcs)) return null;
  const at = [...path, 'taskCreateSetting', 'dialWindow'];
  const { dialWindow, ...rest } = tcs;
  const without = { value: { ...owner, taskCreateSetting: rest }, windowFields: NONE };
  // A collection item is schema-checked only after the merge: check the window's shape first.
  if (!validateDialWindow(dialWindow)) {
    return {
      ...without,
      issues: ajvIssues(validateDialWindow.errors, {
        file: ctx.file,
        basePath: [...ctx.prefix, ...at],
        sources: [{ doc: ctx.doc, basePath: at }],
      }),
    };
  }
  const clash = RAW_DIAL_FIELDS.filter((f) => f in rest);
  if (clash.length > 0) {
    const issue = problemIssue(
      ctx,
      at,
      `dialWindow and ${clash.join(', ')} both set the dialing window`,
      'use one form: either dialWindow or the raw fields dialAtWeekDay / dialAtUpHour / dialAtDownHour',
    );
    return { ...without, issues: [{ ...issue, position: ctx.doc.locate(at, false, true) ?? issue.position }] };
  }
  const compiled = compileDialWindow(dialWindow as DialWindowForm);
  const issues = compiled.problems.map((p) => problemIssue(ctx, [...at, ...p.at], p.message, p.hint));
  return {
    value: { ...owner, taskCreateSetting: { ...rest, ...compiled.fields } },
    windowFields: RAW_DIAL_FIELDS.filter((f) => f in compiled.fields),
    issues,
  };
}

/** A warning, located only when shown: finding a line needs a positional parse of the file. */
export interface LintWarning {
  file: string;
  /** The tasks it concerns (a defaults value warns once for all its tasks); set by the task loader. */
  userTaskIDs?: string[];
  path?: string;
  message: string;
  hint?: string;
  locate(): SourcePosition | undefined;
}

export function warningIssue(w: LintWarning): Issue {
  return { file: w.file, position: w.locate(), path: w.path, message: w.message, hint: w.hint };
}

interface DialOrigin {
  /** Path of the object that set the field: a task item or ['defaults']. */
  owner: PathSegment[];
  byTask: boolean;
  form: 'raw' | 'window';
}

/** An object as declared (raw) and its compiled dialWindow, if it had one. */
export interface DialDeclaration {
  raw: unknown;
  compiled: CompiledDial<unknown> | null;
}

const declares = (d: DialDeclaration | undefined, field: RawDialField) => {
  const value = d?.compiled ? d.compiled.value : d?.raw;
  const tcs = isPlain(value) ? value.taskCreateSetting : undefined;
  return isPlain(tcs) && field in tcs;
};

/** Which object (the task or its defaults) set a field of the merged task, and how. */
function originOf(
  field: RawDialField,
  own: DialDeclaration,
  defaults: DialDeclaration | undefined,
  itemPath: PathSegment[],
): DialOrigin {
  const byTask = declares(own, field);
  const from = byTask ? own : defaults;
  return {
    owner: byTask ? itemPath : ['defaults'],
    byTask,
    form: from?.compiled?.windowFields.includes(field) ? 'window' : 'raw',
  };
}

const loneMemo = new Map<string, number[]>();
/** loneHalfHours, remembered per (up, down, across midnight): tasks share a few windows. */
function loneSlots(slots: HalfHours, acrossMidnight: boolean): number[] {
  const key = `${slots.up}:${slots.down}:${acrossMidnight}`;
  let lone = loneMemo.get(key);
  if (!lone) loneMemo.set(key, (lone = loneHalfHours(slots, acrossMidnight)));
  return lone;
}

const plural = (n: number, one: string, many: string) => (n === 1 ? one : many);

/**
 * Lone half-hour slots in a task's effective window, when raw hour lists made them (a
 * dialWindow says what it means, so its half hours are taken as intended). One warning
 * per list that holds the extra hours, located at that list's declaration.
 */
export function dialWindowWarnings(
  task: { taskCreateSetting?: RawDialFields },
  ownRaw: unknown,
  ownCompiled: CompiledDial<unknown> | null,
  defaults: DialDeclaration | undefined,
  itemPath: PathSegment[],
  ctx: DocContext,
): LintWarning[] {
  const tcs = task.taskCreateSetting ?? {};
  const slots = slotsOf(tcs);
  // Midnight joins 23:30 to the next day's 00:00 only when every day dials (or no day list is declared).
  const everyDay = !tcs.dialAtWeekDay || maskOfList(tcs.dialAtWeekDay) >>> 1 === ALL_DAYS;
  const lone = slots ? loneSlots(slots, everyDay) : NONE;
  if (lone.length === 0) return NONE as never[];
  const own: DialDeclaration = { raw: ownRaw, compiled: ownCompiled };
  const up = originOf('dialAtUpHour', own, defaults, itemPath);
  const down = originOf('dialAtDownHour', own, defaults, itemPath);
  if (up.form === 'window' && down.form === 'window') return [];
  const days = tcs.dialAtWeekDay ? ` on ${formatDays(maskOfList(tcs.dialAtWeekDay) >>> 1)}` : '';
  const warnings: LintWarning[] = [];
  const declaredAt = (field: RawDialField, origin: DialOrigin) =>
    origin.form === 'window'
      ? [...origin.owner, 'taskCreateSetting', 'dialWindow', 'hours']
      : [...origin.owner, 'taskCreateSetting', field];
  for (const [field, other, origin, otherOrigin, parity] of [
    ['dialAtUpHour', 'dialAtDownHour', up, down, 0],
    ['dialAtDownHour', 'dialAtUpHour', down, up, 1],
  ] as const) {
    const mine = lone.filter((s) => s % 2 === parity);
    if (mine.length === 0) continue;
    const hours = mine.map((s) => s >> 1);
    // A task that sets one list over the defaults' other made the combination: warn at the task.
    const byTask = otherOrigin.byTask && !origin.byTask;
    const at = byTask ? declaredAt(other, otherOrigin) : declaredAt(field, origin);
    warnings.push({
      file: ctx.file,
      path: label(ctx, at),
      message: `${mine.map((s) => `${clock(s)}–${clock(s + 1)}`).join(', ')}${days}: ${plural(mine.length, 'a lone half-hour slot', 'lone half-hour slots')} (${plural(hours.length, 'hour', 'hours')} ${hours.join(', ')} in ${field} but not in ${other}, nothing dialable next to ${plural(mine.length, 'it', 'them')})`,
      hint: `to dial whole hours, add ${hours.join(',')} to ${other}; or declare dialWindow with explicit ranges (e.g. hours: ["${clock(mine[0] & ~1)}-${clock((mine[0] & ~1) + 2)}"])`,
      locate: () => ctx.doc.locate(at),
    });
  }
  return warnings;
}
