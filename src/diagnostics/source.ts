import { createRequire } from 'node:module';
import type { LineCounter as LineCounterType, Document, Node } from 'yaml';
import type { Issue, SourcePosition } from './issue.js';
import { ParseTrace, type PathSegment } from './trace.js';
import { indexJson, SHALLOW_DEPTH } from './json-index.js';

/** The `yaml` package (positions, precise errors) is loaded only when needed: on errors or to locate. */
let yamlModule: typeof import('yaml') | undefined;
const yaml = (): typeof import('yaml') =>
  (yamlModule ??= createRequire(import.meta.url)('yaml') as typeof import('yaml'));
/** js-yaml through require: the same instance cosmiconfig loads, not a second (ESM) copy. */
const jsYaml = createRequire(import.meta.url)('js-yaml') as typeof import('js-yaml');

/** Larger files are refused: task files are hand-edited settings, not data dumps. */
export const MAX_FILE_BYTES = 16 * 1024 * 1024;
/** YAML alias expansion limit: guards against "billion laughs" documents. */
const MAX_ALIAS_COUNT = 100;

export type { PathSegment };

/** A parsed document with a way back from field paths to line/column. */
export interface SourceDocument {
  value: unknown;
  /**
   * Position of the value at `path` (of its key with `atKey`); when not `exact`,
   * of the nearest ancestor found.
   */
  locate(path: PathSegment[], exact?: boolean, atKey?: boolean): SourcePosition | undefined;
}

export interface ParsedSource {
  documents: SourceDocument[];
  issues: Issue[];
}

export function tooLarge(file: string, size: number): Issue {
  return {
    file,
    message: `file is ${size} bytes, over the ${MAX_FILE_BYTES}-byte limit`,
    hint: 'split the tasks over several files',
  };
}

/** Decodes bytes as strict UTF-8 (BOM dropped); returns an issue for anything else. */
export function decodeUtf8(file: string, bytes: Uint8Array): { text?: string; issue?: Issue } {
  if (bytes.byteLength > MAX_FILE_BYTES) return { issue: tooLarge(file, bytes.byteLength) };
  try {
    const text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
    return { text };
  } catch {
    const offset = firstInvalidUtf8(bytes);
    return {
      issue: {
        file,
        position: positionOfByte(bytes, offset),
        message: `file is not valid UTF-8 (bad byte 0x${bytes.at(offset)?.toString(16).padStart(2, '0')} at offset ${offset})`,
        hint: 're-save the file as UTF-8',
      },
    };
  }
}

function firstInvalidUtf8(bytes: Uint8Array): number {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let lo = 0;
  let hi = bytes.byteLength;
  // Binary search for the shortest prefix that fails to decode.
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    try {
      decoder.decode(bytes.subarray(0, mid + 1));
      lo = mid + 1;
    } catch {
      hi = mid;
    }
  }
  // The failing prefix may end in the middle of a valid sequence; step back to its lead byte.
  let at = Math.min(lo, bytes.byteLength - 1);
  while (at > 0 && (bytes[at] & 0xc0) === 0x80) at--;
  return at;
}

function positionOfByte(bytes: Uint8Array, offset: number): SourcePosition {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset; i++) {
    if (bytes[i] === 0x0a) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}

function locator(doc: Document, lineCounter: LineCounterType): SourceDocument['locate'] {
  const { isMap, isSeq, isScalar, isPair, isAlias } = yaml();
  return (path, exact = false, atKey = false) => {
    let node: unknown = doc.contents;
    let best: number | undefined = (node as Node | null)?.range?.[0];
    // Where an alias (*name) is used: what lies below it is reported there, the place this
    // value is used, not where its anchor was written (a copied task is a duplicate at its alias).
    let aliasAt: number | undefined;
    let found = 0;
    for (const segment of path) {
      if (isAlias(node)) {
        aliasAt ??= node.range?.[0];
        node = node.resolve(doc);
      }
      if (isMap(node)) {
        const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(segment));
        if (!pair) break;
        found++;
        const keyStart = (pair.key as Node).range?.[0];
        const value = pair.value as Node | null;
        const last = found === path.length;
        best = aliasAt ?? (atKey && last ? keyStart : value?.range?.[0]) ?? keyStart ?? best;
        node = value;
      } else if (isSeq(node) && typeof segment === 'number') {
        const item = node.items[segment] as Node | undefined;
        if (!item) break;
        found++;
        best = aliasAt ?? item.range?.[0] ?? best;
        node = item;
      } else {
        break;
      }
    }
    if (best === undefined || (exact && found < path.length)) return undefined;
    const pos = lineCounter.linePos(best);
    return { line: pos.line, column: pos.col };
  };
}

// logLevel error: problems become issues, never stray warnings on stderr.
const YAML_OPTIONS = { uniqueKeys: true, prettyErrors: false, strict: true, logLevel: 'error' } as const;

function yamlIssues(file: string, doc: Document, lineCounter: LineCounterType): Issue[] {
  // Warnings that would silently change a value are errors here: repeated keys, unknown tags.
  const fatalWarnings = doc.warnings.filter((w) => w.code === 'DUPLICATE_KEY' || w.code === 'TAG_RESOLVE_FAILED');
  return [...doc.errors, ...fatalWarnings].map((e) => {
    const pos = lineCounter.linePos(e.pos[0]);
    const firstLine = e.message.split('\n')[0] ?? e.message;
    return {
      file,
      position: { line: pos.line, column: pos.col },
      message: `invalid ${file.endsWith('.json') ? 'JSON' : 'YAML'}: ${firstLine.replace(/ at line \d+, column \d+:?$/, '')}`,
      hint:
        e.code === 'DUPLICATE_KEY'
          ? 'remove or rename the repeated key'
          : e.code === 'TAG_RESOLVE_FAILED'
            ? 'remove the tag: task files use plain YAML values'
            : 'fix the syntax at this position',
    };
  });
}

function toJs(file: string, doc: Document, lineCounter: LineCounterType): { value?: unknown; issue?: Issue } {
  try {
    return { value: doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT }) };
  } catch (err) {
    const pos = doc.contents?.range ? lineCounter.linePos(doc.contents.range[0]) : undefined;
    return {
      issue: {
        file,
        position: pos ? { line: pos.line, column: pos.col } : undefined,
        message: `YAML aliases expand too far (${(err as Error).message})`,
        hint: `use at most ${MAX_ALIAS_COUNT} alias expansions per document; write the values out instead`,
      },
    };
  }
}

/**
 * Text that goes the exact way: anchors and aliases (alias expansion is bounded there) and tags
 * (a node's properties would blur where the trace says it starts).
 */
const MAYBE_PROPERTIES = /(?:^|[\s[{,:-])[&*!]/m;
/**
 * A BOM js-yaml would strip (shifting its offsets), or a lone CR (a line break to js-yaml, not to
 * `yaml`): rare enough to leave to the exact way.
 */
const SHIFTS_POSITIONS = /^\uFEFF|\r(?!\n)/;
/** A line ending in `-` (maybe an empty block sequence item, which js-yaml can mis-nest: see trace.ts). */
const MAYBE_EMPTY_ITEM = /(?:^|[ \t])-[ \t]*(?:#.*)?\r?$/m;

/**
 * The full trace of a text: js-yaml (YAML 1.2 core schema) or JSON.parse for the values, and the
 * trace of a js-yaml parse, every node recorded, for positions (`trace` is absent when it does
 * not fit the documents). Null whenever the exact path must decide: any parse error, duplicate
 * keys, anchors/aliases/tags, so errors are always reported by one parser, `yaml`, with
 * positions. Built only when a position below a file's first levels is asked for.
 */
export function traceSource(file: string, text: string): { values: unknown[]; trace?: ParseTrace } | null {
  return parseWithTrace(file, text, Infinity);
}

/** Text the fast path leaves to the exact one (see MAYBE_PROPERTIES, SHIFTS_POSITIONS). */
function exactOnly(json: boolean, text: string): boolean {
  return (!json && MAYBE_PROPERTIES.test(text)) || SHIFTS_POSITIONS.test(text);
}

function parseWithTrace(
  file: string,
  text: string,
  maxDepth: number,
): { values: unknown[]; trace?: ParseTrace } | null {
  const json = file.toLowerCase().endsWith('.json');
  if (exactOnly(json, text)) return null;
  const trace = new ParseTrace(text, maxDepth);
  try {
    if (json) {
      // JSON.parse decides the values; js-yaml refuses duplicate keys and gives positions.
      const traced = jsYaml.load(text, { schema: jsYaml.JSON_SCHEMA, listener: trace.listener });
      const values = [JSON.parse(text)];
      return trace.fits([traced]) ? { values, trace } : { values };
    }
    const values = jsYaml.loadAll(text, undefined, { schema: jsYaml.CORE_SCHEMA, listener: trace.listener });
    if (MAYBE_EMPTY_ITEM.test(text) && (maxDepth !== Infinity || !trace.sequencesComplete())) return null;
    return trace.fits(values) ? { values, trace } : { values };
  } catch {
    return null;
  }
}

/**
 * The shallow index of a text, the one parse the loader makes: the values, and a trace of the
 * first levels only (a document's root, its keys, the `tasks` items and their keys and values),
 * enough for every task's declaration line. JSON is read by JSON.parse alone, its first levels
 * placed by a scan of the text (json-index.ts); YAML by js-yaml with a listener that records
 * only the first levels. Null where the exact path must decide (as traceSource), and for a text
 * that may hold an empty block sequence item (the full trace checks those).
 */
export function indexSource(file: string, text: string): { values: unknown[]; trace?: ParseTrace } | null {
  const json = file.toLowerCase().endsWith('.json');
  if (!json) return MAYBE_EMPTY_ITEM.test(text) ? traceSource(file, text) : parseWithTrace(file, text, SHALLOW_DEPTH);
  if (exactOnly(json, text)) return null;
  try {
    const value: unknown = JSON.parse(text);
    const trace = indexJson(text, value);
    // Repeated keys: the exact parser reports them.
    return trace ? { values: [value], trace } : null;
  } catch {
    return null;
  }
}

/**
 * The fast path: values and the shallow index from one parse. A position the shallow trace
 * cannot give comes from the full trace (a second, traced parse of the text, made on the first
 * such question), then from `yaml`: each at most once per file.
 */
function parseTraced(file: string, text: string): ParsedSource | null {
  const parsed = indexSource(file, text);
  if (!parsed) return null;
  const { values, trace } = parsed;
  let full: ParseTrace | null | undefined;
  let exact: ExactDocument[] | undefined;
  const answer = (t: ParseTrace | undefined | null, index: number, path: PathSegment[], atKey: boolean) =>
    t ? t.find(index, path, atKey) : 'unsure';
  return {
    issues: [],
    documents: values.map((value, index) => ({
      value,
      locate: (path, exactPath = false, atKey = false) => {
        let t = trace;
        let found = answer(t, index, path, atKey);
        if (found === 'unsure' && trace?.shallow) {
          if (full === undefined) {
            const traced = traceSource(file, text);
            full = traced?.trace && traced.values.length === values.length ? traced.trace : null;
          }
          t = full ?? undefined;
          found = answer(t, index, path, atKey);
        }
        if (found !== 'unsure') return exactPath && found.found < path.length ? undefined : t!.position(found.pos);
        // Same documents for `yaml`, or no answer rather than a wrong one.
        exact ??= exactDocuments(file, text);
        return exact.length === values.length ? exact[index].locate(path, exactPath, atKey) : undefined;
      },
    })),
  };
}

/** Parses YAML (several documents allowed) or JSON text, collecting every syntax problem. */
export function parseSource(file: string, text: string): ParsedSource {
  return parseTraced(file, text) ?? parseSourceExact(file, text);
}

/** One document as `yaml` reads it: its problems, or its value; a locator either way. */
interface ExactDocument {
  value?: unknown;
  issues: Issue[];
  locate: SourceDocument['locate'];
}

/** The exact path (`yaml` package): every syntax problem with its position, bounded aliases. */
export function parseSourceExact(file: string, text: string): ParsedSource {
  const issues: Issue[] = [];
  const documents: SourceDocument[] = [];
  for (const doc of exactDocuments(file, text)) {
    if (doc.issues.length > 0) issues.push(...doc.issues);
    else documents.push({ value: doc.value, locate: doc.locate });
  }
  return { documents, issues };
}

/** Every document of the text as `yaml` reads it, in order. */
function exactDocuments(file: string, text: string): ExactDocument[] {
  if (file.toLowerCase().endsWith('.json')) return [exactJson(file, text)];
  const lineCounter = new (yaml().LineCounter)();
  const docs = yaml().parseAllDocuments(text, { ...YAML_OPTIONS, lineCounter });
  // Not an array: an EmptyStream, a file with only comments or nothing.
  if (!Array.isArray(docs)) return [];
  return docs.map((doc) => {
    const locate = locator(doc, lineCounter);
    const syntax = yamlIssues(file, doc, lineCounter);
    if (syntax.length > 0) return { issues: syntax, locate };
    const { value, issue } = toJs(file, doc, lineCounter);
    return issue ? { issues: [issue], locate } : { value, issues: [], locate };
  });
}

function exactJson(file: string, text: string): ExactDocument {
  let value: unknown;
  let parseError: Error | undefined;
  try {
    value = JSON.parse(text);
  } catch (err) {
    parseError = err as Error;
  }
  // The yaml parser reads JSON too and gives positions, duplicate keys and a locator.
  const lineCounter = new (yaml().LineCounter)();
  const doc = yaml().parseDocument(text, { ...YAML_OPTIONS, lineCounter });
  const locate = locator(doc, lineCounter);
  const syntax = yamlIssues(file, doc, lineCounter);
  if (parseError) {
    if (syntax.length > 0) return { issues: syntax, locate };
    const match = /position (\d+)/.exec(parseError.message);
    const pos = match ? lineCounter.linePos(Number(match[1])) : undefined;
    return {
      issues: [
        {
          file,
          position: pos ? { line: pos.line, column: pos.col } : undefined,
          message: `invalid JSON: ${parseError.message}`,
          hint: 'fix the syntax (JSON allows no comments or trailing commas)',
        },
      ],
      locate,
    };
  }
  const duplicates = syntax.filter((i) => i.hint?.startsWith('remove or rename'));
  if (duplicates.length > 0) return { issues: duplicates, locate };
  return { value, issues: [], locate };
}
