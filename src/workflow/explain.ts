/**
 * `callform explain`: a task's final settings in one environment, each field with the
 * file:line that set it and the values it overrode. Reads the same layers and the same
 * merge (model/layers.ts) as the plan, so what it shows is what the plan sends.
 */
import { CallformError } from '../errors.js';
import { compileDeclaredWindow } from '../config/dial-window.js';
import { findDeclaration, patchLayers, type TaskDeclaration } from '../config/environment-tasks.js';
import { originIn } from '../config/overlays.js';
import { didYouMean } from '../config/environments.js';
import { mergeLayers, type Layer, type LayerOrigin } from '../model/layers.js';
import { leaves } from '../model/settings.js';
import type { Project } from './project.js';

export interface ExplainedSource {
  kind: LayerOrigin['kind'];
  file: string;
  line: number | null;
}

interface ExplainedValue {
  value: unknown;
  from: ExplainedSource;
}

interface ExplainedField extends ExplainedValue {
  /** Dotted field path, e.g. taskCreateSetting.maxCall. */
  path: string;
  /** The values it overrode, most recent first. */
  overrode: ExplainedValue[];
}

export interface Explanation {
  userTaskID: string;
  environment: string;
  /** file:line of the task's declaration. */
  source: string;
  fields: ExplainedField[];
  /** Fields a `null` removed (they leave management in this environment). */
  removed: Array<{ path: string; by: ExplainedSource; overrode: ExplainedValue[] }>;
}

const OWN_KEYS = new Set(['userTaskID', '$schema', 'environments', 'only']);

/** The defaults block and the task item as the lowest layers, each with its dialWindow compiled. */
function declaredLayers(decl: TaskDeclaration): Layer[] {
  const layers: Layer[] = [];
  const ctx = { file: decl.file, doc: decl.doc, prefix: [] };
  if (decl.defaults) {
    const compiled = compileDeclaredWindow(decl.defaults, ['defaults'], ctx);
    layers.push({
      value: compiled?.value ?? decl.defaults,
      origin: originIn('defaults', decl.file, () => decl.doc, ['defaults'], compiled?.windowFields ?? []),
    });
  }
  const compiled = compileDeclaredWindow(decl.raw, decl.itemPath, ctx);
  const own = Object.fromEntries(Object.entries(compiled?.value ?? decl.raw).filter(([k]) => !OWN_KEYS.has(k)));
  layers.push({
    value: own,
    origin: originIn('task', decl.file, () => decl.doc, decl.itemPath, compiled?.windowFields ?? []),
  });
  return layers;
}

export async function explainTask(project: Project, userTaskID: string): Promise<Explanation> {
  const env = project.environment;
  if (!env)
    throw new CallformError(
      'explain needs a declared environment',
      'declare environments in the settings file and pass --env NAME',
    );
  // The environment must load cleanly first: explain describes a valid configuration.
  await env.tasks();
  const [declared, overlays] = await Promise.all([env.declared(), env.overlays()]);
  const task = declared.tasks.find((t) => t.userTaskID === userTaskID);
  if (!task)
    throw new CallformError(
      `no task "${userTaskID}" in the task files`,
      `${didYouMean(
        userTaskID,
        declared.tasks.map((t) => t.userTaskID),
      )}check the userTaskID (callform validate lists the files read)`,
    );
  if (task.only && !task.only.includes(env.name))
    throw new CallformError(
      `task ${userTaskID} is not in environment ${env.name} (only: ${task.only.join(', ')})`,
      `explain it in one of its environments: --env ${task.only[0]}`,
    );
  const decl = findDeclaration(project.settings.baseDir, task);
  const patches = patchLayers(task, env.name, overlays.patches, () => decl);
  const layers = [...declaredLayers(decl), ...patches.layers];
  const merged = mergeLayers(layers);
  const source = (layer: number, path: string): ExplainedSource => {
    const o = layers[layer].origin;
    return { kind: o.kind, file: o.file, line: o.locate(path)?.line ?? null };
  };
  const history = (path: string, values: Array<{ value: unknown; layer: number }>) =>
    values.map((v) => ({ value: v.value, from: source(v.layer, path) })).reverse();
  // Fields in the order the merged task lists them.
  const order = leaves(merged.value, '').map(([p]) => p);
  const fields = order.flatMap((path) => {
    const f = merged.fields.get(path);
    return f ? [{ path, value: f.value, from: source(f.layer, path), overrode: history(path, f.overrode) }] : [];
  });
  return {
    userTaskID,
    environment: env.name,
    source: task.source,
    fields,
    removed: merged.removed.map((r) => ({
      path: r.path,
      by: source(r.layer, r.path),
      overrode: history(r.path, r.overrode),
    })),
  };
}
