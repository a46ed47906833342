import { createRequire } from 'node:module';
import type { SettingChange } from '../model/plan.js';
import {
  dataEqual,
  getPath,
  isPlain,
  leaves,
  setPath,
  wholeValuePathOf,
  EMPTY_SETTINGS,
  type ManagedSettings,
  type Plain,
} from '../model/settings.js';
import type { TaskCreateSetting, FuncFlag } from '../model/task.js';

export interface PayloadSettings {
  taskCreateSetting?: TaskCreateSetting;
  funcFlag?: FuncFlag;
}

type DeepDiff = typeof import('deep-diff');
type DiffEdit = import('deep-diff').Diff<unknown>;
let deepDiffModule: DeepDiff | undefined;
/** Loaded at the first task with changes: a plan where nothing changed never loads it. */
const deepDiff = (): DeepDiff => (deepDiffModule ??= createRequire(import.meta.url)('deep-diff') as DeepDiff);

const byPath = (a: SettingChange, b: SettingChange) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0);

/**
 * Field-level changes from the last-applied settings to the desired ones, from deep-diff's
 * edit list (the design card's diff library). `before` null means never applied:
 * everything declared is an addition. Keys removed from the files become `unmanage` (not
 * sent: the server keeps its value). Whole-value paths (smsFuncFlag) change as one value.
 */
export function diffSettings(before: ManagedSettings | null, after: ManagedSettings): SettingChange[] {
  const lhs = before ?? EMPTY_SETTINGS;
  // Most tasks are unchanged on a typical run: a plain-data deep-equal answers that cheaply.
  if (dataEqual(lhs, after)) return [];
  const changes = new Map<string, SettingChange>();
  const put = (c: SettingChange) => {
    if (!changes.has(c.path)) changes.set(c.path, c);
  };
  for (const d of edits(lhs, after)) {
    const path = (d.path ?? []).join('.');
    const whole = wholeValuePathOf(path);
    if (whole) {
      const b = getPath(lhs, whole);
      const a = getPath(after, whole);
      put(
        a === undefined
          ? { path: whole, kind: 'unmanage', before: b }
          : { path: whole, kind: b === undefined ? 'add' : 'change', before: b, after: a },
      );
    } else if (d.kind === 'N') {
      for (const [p, v] of leaves(d.rhs, path)) put({ path: p, kind: 'add', after: v });
    } else if (d.kind === 'D') {
      for (const [p, v] of leaves(d.lhs, path)) put({ path: p, kind: 'unmanage', before: v });
    } else if (d.kind === 'E') {
      put({ path, kind: 'change', before: d.lhs, after: d.rhs });
    } else {
      // 'A' (array element) outside a whole-value path: not produced by the task schema,
      // but handled safely by replacing the containing array.
      put({ path, kind: 'change', before: getPath(lhs, path), after: getPath(after, path) });
    }
  }
  return [...changes.values()].sort(byPath);
}

/** Own keys of `a`, then those of `b` that `a` lacks. */
function unionKeys(a: Plain, b: Plain): string[] {
  const keys = Object.keys(a);
  for (const k of Object.keys(b)) if (!Object.hasOwn(a, k)) keys.push(k);
  return keys;
}

/** `{ key: value }`, or `{}` when the value is absent (deep-diff counts an own undefined as present). */
const single = (key: string, value: unknown): Plain => (value === undefined ? {} : { [key]: value });

/**
 * deep-diff's edit list of `lhs` → `rhs`, computed field by field: only the fields of each
 * section that differ (by a cheap deep-equal) go through deep-diff, so a changed task costs
 * the fields that changed rather than a walk (and paths) of all of them. Same edits.
 */
function edits(lhs: ManagedSettings, rhs: ManagedSettings): DiffEdit[] {
  const out: DiffEdit[] = [];
  const a = lhs as unknown as Plain;
  const b = rhs as unknown as Plain;
  for (const section of unionKeys(a, b)) {
    const l = a[section];
    const r = b[section];
    if (dataEqual(l, r)) continue;
    if (!isPlain(l) || !isPlain(r)) {
      out.push(...(deepDiff().diff(single(section, l), single(section, r)) ?? []));
      continue;
    }
    for (const key of unionKeys(l, r)) {
      if (dataEqual(l[key], r[key])) continue;
      for (const d of deepDiff().diff(single(key, l[key]), single(key, r[key])) ?? [])
        out.push({ ...d, path: [section, ...((d.path ?? []) as unknown[])] });
    }
  }
  return out;
}

/** The partial settings holding the values of `after` at `paths` (arrays whole), or null when none. */
export function pickSettings(after: ManagedSettings, paths: readonly string[]): PayloadSettings | null {
  const out: Plain = {};
  for (const path of paths) setPath(out, path, getPath(after, path));
  return Object.keys(out).length > 0 ? out : null;
}

/** The partial settings to send: only added or changed values (arrays whole). */
export function payloadSettings(changes: SettingChange[], after: ManagedSettings): PayloadSettings | null {
  return pickSettings(
    after,
    changes.filter((c) => c.kind !== 'unmanage').map((c) => c.path),
  );
}
