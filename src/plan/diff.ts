import { createRequire } from 'node:module';
import type { SettingChange } from '../model/plan.js';
import {
  dataEqual,
  getPath,
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
  for (const d of deepDiff().diff(lhs, after) ?? []) {
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
