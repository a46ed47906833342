import type { SettingChange } from '../model/plan.js';
import { dataEqual, getPath, isPlain, leaves, setPath, wholeValuePathOf, EMPTY_SETTINGS, type ManagedSettings, type Plain } from '../model/settings.js';
import type { TaskCreateSetting, FuncFlag } from '../model/task.js';

export interface PayloadSettings {
  taskCreateSetting?: TaskCreateSetting;
  funcFlag?: FuncFlag;
}

const byPath = (a: SettingChange, b: SettingChange) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0);

/**
 * Field-level changes from the last-applied settings to the desired ones. `before`
 * null means never applied: everything declared is an addition. Keys removed from
 * the files become `unmanage` (not sent: the server keeps its value).
 */
export function diffSettings(before: ManagedSettings | null, after: ManagedSettings): SettingChange[] {
  const lhs = before ?? EMPTY_SETTINGS;
  // Most tasks are unchanged on a typical run: a plain-data deep-equal answers that cheaply.
  if (dataEqual(lhs, after)) return [];
  const changes: SettingChange[] = [];
  diffInto(lhs, after, '', changes);
  return changes.sort(byPath);
}

/**
 * The changes under `path` (both sides present there): plain objects are compared key by key;
 * a whole-value path (smsFuncFlag), an array or a change of type is one change of the whole
 * value; a key on one side only is added or unmanaged leaf by leaf.
 */
function diffInto(lhs: unknown, rhs: unknown, path: string, out: SettingChange[]): void {
  if (dataEqual(lhs, rhs)) return;
  if (!isPlain(lhs) || !isPlain(rhs) || (path !== '' && wholeValuePathOf(path) === path)) {
    out.push({ path, kind: 'change', before: lhs, after: rhs });
    return;
  }
  for (const key of Object.keys(lhs)) {
    const sub = path ? `${path}.${key}` : key;
    if (!Object.hasOwn(rhs, key)) {
      if (wholeValuePathOf(sub) === sub) out.push({ path: sub, kind: 'unmanage', before: lhs[key] });
      else for (const [p, v] of leaves(lhs[key], sub)) out.push({ path: p, kind: 'unmanage', before: v });
    } else {
      diffInto(lhs[key], rhs[key], sub, out);
    }
  }
  for (const key of Object.keys(rhs)) {
    if (Object.hasOwn(lhs, key)) continue;
    const sub = path ? `${path}.${key}` : key;
    if (wholeValuePathOf(sub) === sub) out.push({ path: sub, kind: 'add', after: rhs[key] });
    else for (const [p, v] of leaves(rhs[key], sub)) out.push({ path: p, kind: 'add', after: v });
  }
}

/** The partial settings holding the values of `after` at `paths` (arrays whole), or null when none. */
export function pickSettings(after: ManagedSettings, paths: readonly string[]): PayloadSettings | null {
  const out: Plain = {};
  for (const path of paths) setPath(out, path, getPath(after, path));
  return Object.keys(out).length > 0 ? (out as PayloadSettings) : null;
}

/** The partial settings to send: only added or changed values (arrays whole). */
export function payloadSettings(changes: SettingChange[], after: ManagedSettings): PayloadSettings | null {
  return pickSettings(after, changes.filter((c) => c.kind !== 'unmanage').map((c) => c.path));
}
