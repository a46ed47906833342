import deepDiff from 'deep-diff';
import type { ManagedSettings, SettingChange } from '../generated/plan.js';
import type { TaskCreateSetting, FuncFlag } from '../generated/task.js';

export type { ManagedSettings, SettingChange };

/** Arrays the API replaces whole: a change anywhere inside sends the full array. */
const WHOLE_VALUE_PATHS = ['funcFlag.smsFuncFlag'];

type Plain = Record<string, unknown>;
const isPlain = (v: unknown): v is Plain => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Deep equality for parsed JSON/YAML data (plain objects, arrays, scalars), key order
 * ignored. Unlike general-purpose deep-equals it needs no prototype methods, so
 * null-prototype objects compare like any other.
 */
export function dataEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  // Plain loops: this runs for every task on every plan, mostly before the JIT warms up.
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!dataEqual(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  for (const k of ka) if (!Object.hasOwn(b, k) || !dataEqual((a as Plain)[k], (b as Plain)[k])) return false;
  return true;
}

function wholeValuePath(path: string): string | undefined {
  return WHOLE_VALUE_PATHS.find((p) => path === p || path.startsWith(p + '.'));
}

function leaves(value: unknown, prefix: string, out: Array<[string, unknown]>): void {
  if (isPlain(value) && !WHOLE_VALUE_PATHS.includes(prefix) && Object.keys(value).length > 0) {
    for (const [k, v] of Object.entries(value)) leaves(v, `${prefix}.${k}`, out);
  } else {
    out.push([prefix, value]);
  }
}

function getPath(root: unknown, path: string): unknown {
  let node = root;
  for (const key of path.split('.')) node = isPlain(node) ? node[key] : undefined;
  return node;
}

function setPath(root: Plain, path: string, value: unknown): void {
  const keys = path.split('.');
  let node = root;
  for (const key of keys.slice(0, -1)) {
    if (!isPlain(node[key])) node[key] = {};
    node = node[key] as Plain;
  }
  node[keys[keys.length - 1]!] = structuredClone(value);
}

/**
 * Field-level changes from the last-applied settings to the desired ones. `before`
 * null means never applied: everything declared is an addition. Keys removed from
 * the files become `unmanage` (not sent: the server keeps its value).
 */
export function diffSettings(before: ManagedSettings | null, after: ManagedSettings): SettingChange[] {
  const lhs = before ?? { taskCreateSetting: {}, funcFlag: {} };
  // Most tasks are unchanged on a typical run: a plain-data deep-equal answers that cheaply.
  if (dataEqual(lhs, after)) return [];
  const raw = deepDiff.diff(lhs, after) ?? [];
  const byPath = new Map<string, SettingChange>();
  const put = (c: SettingChange) => {
    if (!byPath.has(c.path)) byPath.set(c.path, c);
  };
  for (const d of raw) {
    const path = (d.path ?? []).join('.');
    const whole = wholeValuePath(path);
    if (whole) {
      const b = getPath(lhs, whole);
      const a = getPath(after, whole);
      put(a === undefined ? { path: whole, kind: 'unmanage', before: b } : { path: whole, kind: b === undefined ? 'add' : 'change', before: b, after: a });
      continue;
    }
    if (d.kind === 'N') {
      const out: Array<[string, unknown]> = [];
      leaves(d.rhs, path, out);
      for (const [p, v] of out) put({ path: p, kind: 'add', after: v });
    } else if (d.kind === 'D') {
      const out: Array<[string, unknown]> = [];
      leaves(d.lhs, path, out);
      for (const [p, v] of out) put({ path: p, kind: 'unmanage', before: v });
    } else if (d.kind === 'E') {
      put({ path, kind: 'change', before: d.lhs, after: d.rhs });
    } else {
      // 'A' (array element) outside a whole-value path: not produced by the task schema,
      // but handled safely by replacing the containing array.
      put({ path, kind: 'change', before: getPath(lhs, path), after: getPath(after, path) });
    }
  }
  return [...byPath.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

export interface PayloadSettings {
  taskCreateSetting?: TaskCreateSetting;
  funcFlag?: FuncFlag;
}

/** The partial settings to send: only added or changed values (arrays whole). */
export function payloadSettings(changes: SettingChange[], after: ManagedSettings): PayloadSettings | null {
  const out: Plain = {};
  for (const c of changes) {
    if (c.kind === 'unmanage') continue;
    setPath(out, c.path, getPath(after, c.path));
  }
  return Object.keys(out).length > 0 ? (out as PayloadSettings) : null;
}

/**
 * The last-applied settings minus the leaves an apply sent without confirmation: those
 * are unknown on the server, so diffing against this makes the plan send them again.
 */
export function withoutUnconfirmed(before: ManagedSettings, pending: PayloadSettings): ManagedSettings {
  const out = structuredClone(before) as unknown as Plain;
  const strip = (target: Plain, sent: Plain, prefix: string) => {
    for (const [k, v] of Object.entries(sent)) {
      const path = prefix ? `${prefix}.${k}` : k;
      if (isPlain(v) && isPlain(target[k]) && !WHOLE_VALUE_PATHS.includes(path)) strip(target[k] as Plain, v, path);
      else delete target[k];
    }
  };
  strip(out, pending as Plain, '');
  return out as unknown as ManagedSettings;
}
