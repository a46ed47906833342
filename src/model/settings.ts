/**
 * The managed settings of a task (`taskCreateSetting` + `funcFlag`) as plain data, and the
 * path arithmetic the diff, the payload and the unconfirmed-send bookkeeping share.
 * Paths are dotted (`taskCreateSetting.manualCallSetting.agentGroup`).
 */
import type { ManagedSettings } from '../generated/plan.js';

export type { ManagedSettings };

/** Arrays the API replaces whole: a change anywhere inside sends (and is tracked as) the full array. */
export const WHOLE_VALUE_PATHS: readonly string[] = ['funcFlag.smsFuncFlag'];

export type Plain = Record<string, unknown>;
export const isPlain = (v: unknown): v is Plain => typeof v === 'object' && v !== null && !Array.isArray(v);

export const EMPTY_SETTINGS: ManagedSettings = Object.freeze({
  taskCreateSetting: {},
  funcFlag: {},
});

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
  // for-in rather than Object.keys: no key arrays, and V8 reads a[k] through the enum cache
  // (about 2.5x faster on a cold 10,000-task plan). Only own keys count, as with Object.keys.
  let count = 0;
  for (const k in a) {
    if (!Object.hasOwn(a, k)) continue;
    if (!Object.hasOwn(b, k) || !dataEqual((a as Plain)[k], (b as Plain)[k])) return false;
    count++;
  }
  for (const k in b) if (Object.hasOwn(b, k)) count--;
  return count === 0;
}

export function isWholeValuePath(path: string): boolean {
  return WHOLE_VALUE_PATHS.includes(path);
}

/** The whole-value path that contains `path`, if any. */
export function wholeValuePathOf(path: string): string | undefined {
  return WHOLE_VALUE_PATHS.find((p) => path === p || path.startsWith(p + '.'));
}

/** Every leaf under `value` as [path, value]; whole-value paths and empty objects are leaves. */
export function leaves(value: unknown, prefix: string, out: Array<[string, unknown]> = []): Array<[string, unknown]> {
  if (isPlain(value) && !isWholeValuePath(prefix) && Object.keys(value).length > 0) {
    for (const [k, v] of Object.entries(value)) leaves(v, prefix ? `${prefix}.${k}` : k, out);
  } else if (prefix) {
    out.push([prefix, value]);
  }
  return out;
}

export function getPath(root: unknown, path: string): unknown {
  let node = root;
  for (const key of path.split('.')) node = isPlain(node) ? node[key] : undefined;
  return node;
}

/** Sets `path` in `root` (creating objects on the way) to a copy of `value`. */
export function setPath(root: Plain, path: string, value: unknown): void {
  const keys = path.split('.');
  let node = root;
  for (const key of keys.slice(0, -1)) {
    if (!isPlain(node[key])) node[key] = {};
    node = node[key] as Plain;
  }
  // Scalars need no copy (structuredClone of a number costs as much as of a small object).
  node[keys[keys.length - 1]] = typeof value === 'object' && value !== null ? structuredClone(value) : value;
}

/**
 * A copy of `settings` without the leaves named in `paths`: those values are unknown on
 * the server. Removing a path also removes what lies below it.
 */
export function withoutLeaves<T extends object>(settings: T, paths: Iterable<string>): T {
  const out = structuredClone(settings) as Plain;
  for (const path of paths) {
    const keys = path.split('.');
    let node: unknown = out;
    for (const key of keys.slice(0, -1)) node = isPlain(node) ? node[key] : undefined;
    if (isPlain(node)) delete node[keys[keys.length - 1]];
  }
  return out as T;
}

/**
 * Union of two partial settings objects, leaf by leaf: every path that either covers stays
 * covered (a leaf also covers what lies below it); where both hold the same leaf, `newer`
 * wins. Used to accumulate what was sent without confirmation across runs.
 */
export function mergeLeaves<T extends object>(older: T | undefined, newer: T): T {
  const out: Plain = older ? (structuredClone(older) as Plain) : {};
  for (const [path, value] of leaves(newer, '')) {
    if (!coveredByAncestor(out, path)) setPath(out, path, value);
  }
  return out as T;
}

/** True when a proper prefix of `path` is already a leaf of `root` (and so covers `path`). */
function coveredByAncestor(root: Plain, path: string): boolean {
  const keys = path.split('.');
  let node: unknown = root;
  for (let i = 0; i < keys.length - 1; i++) {
    node = (node as Plain)[keys[i]];
    if (node === undefined) return false;
    if (!isPlain(node) || Object.keys(node).length === 0 || isWholeValuePath(keys.slice(0, i + 1).join('.')))
      return true;
  }
  return false;
}
