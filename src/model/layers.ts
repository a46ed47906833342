/**
 * Per-environment settings: a task's layers merged in precedence order, with provenance
 * (which layer set each field, and what it overrode). Pure: the plan path, validation and
 * `callform explain` all read this one merge.
 *
 * Rules: maps merge deeply; arrays and scalars replace whole (never patched by position);
 * `null` removes the field (it leaves management, as when deleted from a file).
 */
import { isPlain, isWholeValuePath, type Plain } from './settings.js';

/** What set a value: a file and where in it, for messages and `explain`. */
export interface LayerOrigin {
  /** "task", "defaults", "overlay", "environment block". */
  kind: 'defaults' | 'task' | 'overlay' | 'environment';
  file: string;
  /** file:line:col of the value at a dotted field path in this layer (undefined: not locatable). */
  locate(path: string): { line: number; column: number } | undefined;
}

export interface Layer {
  origin: LayerOrigin;
  /** A partial task: sceneID, taskCreateSetting, funcFlag, lifecycle; null values remove. */
  value: Plain;
}

interface Setting {
  value: unknown;
  /** Index of the layer that set it. */
  layer: number;
}

export interface FieldProvenance extends Setting {
  /** Values it replaced, oldest first. */
  overrode: Setting[];
}

interface RemovedField {
  path: string;
  /** The layer whose null removed it. */
  layer: number;
  overrode: Setting[];
}

export interface MergedLayers {
  value: Plain;
  /** Dotted leaf path → provenance, for every field the merged value holds. */
  fields: Map<string, FieldProvenance>;
  removed: RemovedField[];
}

const join = (prefix: string, key: string) => (prefix ? `${prefix}.${key}` : key);

/** A "__proto__" key stays an own (and so rejected) field: assignment would set the prototype. */
function setKey(target: Plain, key: string, value: unknown): void {
  if (key === '__proto__')
    Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  else target[key] = value;
}

/** Entries at `path`, under it, or at an ancestor of it (a leaf that a map now replaces). */
function takeCovered(fields: Map<string, FieldProvenance>, path: string): Setting[] {
  const out: Setting[] = [];
  for (const [p, entry] of fields) {
    if (p === path || p.startsWith(path + '.') || path.startsWith(p + '.')) {
      out.push(...entry.overrode, { value: entry.value, layer: entry.layer });
      fields.delete(p);
    }
  }
  return out;
}

function applyLayer(target: Plain, patch: Plain, prefix: string, layer: number, merged: MergedLayers): void {
  for (const [key, v] of Object.entries(patch)) {
    const path = join(prefix, key);
    if (v === null) {
      if (Object.hasOwn(target, key)) {
        merged.removed.push({ path, layer, overrode: takeCovered(merged.fields, path) });
        delete target[key];
      }
    } else if (isPlain(v) && !isWholeValuePath(path)) {
      const fresh = !(Object.hasOwn(target, key) && isPlain(target[key]));
      if (fresh) {
        const replaced = Object.hasOwn(target, key) ? takeCovered(merged.fields, path) : [];
        setKey(target, key, {});
        if (Object.keys(v).length === 0) merged.fields.set(path, { value: {}, layer, overrode: replaced });
      }
      applyLayer(target[key] as Plain, v, path, layer, merged);
    } else {
      const overrode = takeCovered(merged.fields, path);
      const value = structuredClone(v);
      merged.fields.set(path, { value, layer, overrode });
      setKey(target, key, structuredClone(v));
    }
  }
}

/** Merges `layers` in order (the first is the lowest), recording who set what. */
export function mergeLayers(layers: readonly Layer[]): MergedLayers {
  const merged: MergedLayers = { value: {}, fields: new Map(), removed: [] };
  layers.forEach((l, i) => applyLayer(merged.value, l.value, '', i, merged));
  // A field removed and set again later is not removed.
  merged.removed = merged.removed.filter((r) => !merged.fields.has(r.path));
  return merged;
}

/** Scalars as they are; arrays (the only other leaves) copied, so no two tasks share one. */
const copy = (v: unknown): unknown => (typeof v === 'object' && v !== null ? structuredClone(v) : v);

/** Just the merged value, without provenance: the plan path's fast merge (same rules). */
export function mergeValues(base: Plain, patches: readonly Plain[]): Plain {
  let out = base;
  for (const patch of patches) out = mergeOne(out, patch, '');
  return out;
}

function mergeOne(base: Plain, patch: Plain, prefix: string): Plain {
  const out: Plain = { ...base };
  for (const [key, v] of Object.entries(patch)) {
    const path = join(prefix, key);
    if (v === null) delete out[key];
    else if (isPlain(v) && !isWholeValuePath(path))
      setKey(out, key, mergeOne(Object.hasOwn(out, key) && isPlain(out[key]) ? out[key] : {}, v, path));
    else setKey(out, key, copy(v));
  }
  return out;
}
