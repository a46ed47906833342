/**
 * Overlay files: `{ patches: [{ tasks: GLOB…, <task keys> }] }`, one environment's small
 * changes to many tasks. Loaded and checked here (file:line:col); merged by model/layers.ts.
 */
import { readFile, stat } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { glob } from 'tinyglobby';
import { fsProblem } from '../errors.js';
import type { Issue } from '../diagnostics/issue.js';
import { ajvIssues, formatPath } from '../diagnostics/ajv.js';
import {
  decodeUtf8,
  parseSource,
  tooLarge,
  MAX_FILE_BYTES,
  type PathSegment,
  type SourceDocument,
} from '../diagnostics/source.js';
import { compileDeclaredWindow } from './dial-window.js';
import { isPlain, type Plain } from '../model/settings.js';
import type { LayerOrigin } from '../model/layers.js';
import { anyGlobMatcher } from '../plan/targets.js';

/** One patch of an overlay file, its dialWindow compiled to raw fields. */
export interface OverlayPatch {
  file: string;
  /** Its index in the file's `patches`. */
  index: number;
  /** The userTaskID globs it applies to. */
  globs: string[];
  /**
   * The IDs it applies to: its globs as one expression (plain data, not a function per
   * patch: the merge loop's compiled code calls one `test` for every environment's patches).
   */
  matcher: RegExp;
  value: Plain;
  origin: LayerOrigin;
}

export interface LoadedOverlays {
  files: string[];
  patches: OverlayPatch[];
  /** SHA-256 over the files' paths and bytes (a saved plan is stale when they move). */
  digest: string;
  issues: Issue[];
}

/** `locate` for a field path (dotted) under `base` in `doc`; raw dial fields compiled from a dialWindow point at it. */
export function originIn(
  kind: LayerOrigin['kind'],
  file: string,
  doc: () => SourceDocument,
  base: PathSegment[],
  windowFields: readonly string[] = [],
): LayerOrigin {
  return {
    kind,
    file,
    locate(field) {
      const [head, leaf] = [field.split('.')[0], field.split('.').slice(1).join('.')];
      if (head === 'taskCreateSetting' && windowFields.includes(leaf))
        return doc().locate([...base, 'taskCreateSetting', 'dialWindow']);
      const segments = field.split('.').map((s) => (/^\d+$/.test(s) ? Number(s) : s));
      return doc().locate([...base, ...segments], true) ?? doc().locate([...base, ...segments]);
    },
  };
}

function patchesOf(file: string, doc: SourceDocument, value: Plain): { patches: OverlayPatch[]; issues: Issue[] } {
  const patches: OverlayPatch[] = [];
  const issues: Issue[] = [];
  (value.patches as Plain[]).forEach((written, index) => {
    const at: PathSegment[] = ['patches', index];
    const hoisted = hoistDialWindow(file, doc, written, at);
    if ('issue' in hoisted) {
      issues.push(hoisted.issue);
      return;
    }
    const { raw, doc: patchDoc } = hoisted;
    const compiled = compileDeclaredWindow(raw, at, { file, doc: patchDoc, prefix: [] });
    if (compiled?.issues.length) {
      issues.push(...compiled.issues);
      return;
    }
    const { tasks, ...rest } = compiled?.value ?? raw;
    const globs = Array.isArray(tasks) ? (tasks as string[]) : [tasks as string];
    patches.push({
      file,
      index,
      globs,
      matcher: anyGlobMatcher(globs),
      value: rest,
      origin: originIn('overlay', file, () => patchDoc, at, compiled?.windowFields ?? []),
    });
  });
  return { patches, issues };
}

/**
 * A patch's top-level `dialWindow` (the issue's own example writes it there) moved to
 * `taskCreateSetting.dialWindow`, where tasks declare it, with a document that locates the
 * moved window where it is written. Both at once is an error.
 */
function hoistDialWindow(
  file: string,
  doc: SourceDocument,
  raw: Plain,
  at: PathSegment[],
): { raw: Plain; doc: SourceDocument } | { issue: Issue } {
  if (!('dialWindow' in raw)) return { raw, doc };
  const { dialWindow, ...rest } = raw;
  const tcs = isPlain(rest.taskCreateSetting) ? rest.taskCreateSetting : {};
  if ('dialWindow' in tcs || rest.taskCreateSetting === null)
    return {
      issue: {
        file,
        position: doc.locate([...at, 'dialWindow'], true, true),
        path: formatPath([...at, 'dialWindow']),
        message:
          rest.taskCreateSetting === null
            ? 'dialWindow with taskCreateSetting: null: the null removes every dialing field the window would set'
            : 'dialWindow is set twice: at the patch level and in its taskCreateSetting',
        hint: 'keep one of them',
      },
    };
  const from = [...at, 'taskCreateSetting', 'dialWindow'];
  const to = [...at, 'dialWindow'];
  const moved = (path: PathSegment[]) =>
    path.length >= from.length && from.every((s, i) => path[i] === s) ? [...to, ...path.slice(from.length)] : path;
  return {
    raw: { ...rest, taskCreateSetting: { ...tcs, dialWindow } },
    doc: { value: doc.value, locate: (path, exact, atKey) => doc.locate(moved(path), exact, atKey) },
  };
}

/** One overlay file: its patches, or the issues that stop it. */
async function loadOverlayFile(
  baseDir: string,
  file: string,
): Promise<{ digest: string; patches: OverlayPatch[]; issues: Issue[] }> {
  const abs = path.resolve(baseDir, file);
  const size = await stat(abs).then((s) => s.size);
  if (size > MAX_FILE_BYTES) return { digest: '', patches: [], issues: [tooLarge(file, size)] };
  const bytes = await readFile(abs);
  const digest = createHash('sha256').update(`${file}\0${bytes.byteLength}\0`).update(bytes).digest('hex');
  const { text, issue } = decodeUtf8(file, bytes);
  if (issue || text === undefined) return { digest, patches: [], issues: issue ? [issue] : [] };
  const parsed = parseSource(file, text);
  if (parsed.issues.length > 0) return { digest, patches: [], issues: parsed.issues };
  if (parsed.documents.length !== 1)
    return {
      digest,
      patches: [],
      issues: [
        {
          file,
          message: `an overlay file holds one document; found ${parsed.documents.length}`,
          hint: 'put every patch in one `patches:` list',
        },
      ],
    };
  const doc = parsed.documents[0];
  const value = doc.value;
  const rawPatches: unknown[] = isPlain(value) && Array.isArray(value.patches) ? value.patches : [];
  const issues = rawPatches.flatMap((p, i) => patchShapeIssues(file, doc, p, i));
  const { validateOverlay } = await import('../generated/overlay-validator.js');
  if (!validateOverlay(value))
    issues.push(
      // userTaskID has its own message above, rather than "unknown field".
      ...ajvIssues(validateOverlay.errors, { file, basePath: [], sources: [{ doc, basePath: [] }] }).filter(
        (i) => !(/^patches\[\d+\]\.userTaskID$/.test(i.path ?? '') && i.message.startsWith('unknown field')),
      ),
    );
  if (issues.length > 0) return { digest, patches: [], issues };
  return { digest, ...patchesOf(file, doc, value as Plain) };
}

/**
 * What the schema cannot word well about one patch: a userTaskID (what a patch selects by,
 * never what it changes), and a patch that sets nothing, which, like one that matches
 * nothing, is a mistake rather than a no-op (a setting indented under the wrong key).
 */
function patchShapeIssues(file: string, doc: SourceDocument, p: unknown, i: number): Issue[] {
  if (!isPlain(p)) return [];
  if ('userTaskID' in p)
    return [
      {
        file,
        position: doc.locate(['patches', i, 'userTaskID'], true, true),
        path: formatPath(['patches', i, 'userTaskID']),
        message: 'a patch cannot set userTaskID',
        hint: 'select tasks with `tasks:` (userTaskID globs); a task is renamed in its task file',
      },
    ];
  if ('tasks' in p && Object.keys(p).length === 1)
    return [
      {
        file,
        position: doc.locate(['patches', i, 'tasks'], true, true),
        path: formatPath(['patches', i]),
        message: 'the patch sets nothing: it has only `tasks`',
        hint: 'add what it changes (taskCreateSetting, funcFlag, lifecycle or sceneID) at the same indentation as `tasks:`, or delete the patch',
      },
    ];
  return [];
}

/** Every overlay file the patterns match, in glob (sorted path) order; each pattern must match a file. */
export async function loadOverlays(baseDir: string, patterns: string[], settingsFile: string): Promise<LoadedOverlays> {
  const issues: Issue[] = [];
  const files = new Set<string>();
  for (const pattern of patterns) {
    const found = await glob(pattern, { cwd: baseDir, onlyFiles: true, dot: false, expandDirectories: false });
    if (found.length === 0)
      issues.push({
        file: settingsFile,
        message: `overlays pattern "${pattern}" matches no file`,
        hint: 'check the pattern (relative to the settings file), or create the overlay file',
      });
    for (const f of found) files.add(f);
  }
  const sorted = [...files].sort();
  const results = await Promise.all(
    sorted.map((f) =>
      loadOverlayFile(baseDir, f).catch((err: unknown) => ({
        digest: '',
        patches: [],
        issues: [{ file: f, message: fsProblem(err) }] as Issue[],
      })),
    ),
  );
  const digest = createHash('sha256');
  for (const r of results) digest.update(r.digest);
  return {
    files: sorted,
    patches: results.flatMap((r) => r.patches),
    digest: digest.digest('hex'),
    issues: [...issues, ...results.flatMap((r) => r.issues)],
  };
}
