import { createRequire } from 'node:module';
import type { LineCounter as LineCounterType, Document, Node } from 'yaml';
import type { Issue, SourcePosition } from './issue.js';

/** The `yaml` package (positions, precise errors) is loaded only when needed: on errors or to locate. */
let yamlModule: typeof import('yaml') | undefined;
const yaml = (): typeof import('yaml') => (yamlModule ??= createRequire(import.meta.url)('yaml') as typeof import('yaml'));
/** js-yaml through require: the same instance cosmiconfig loads, not a second (ESM) copy. */
const jsYaml = createRequire(import.meta.url)('js-yaml') as typeof import('js-yaml');

/** Larger files are refused: task files are hand-edited settings, not data dumps. */
export const MAX_FILE_BYTES = 16 * 1024 * 1024;
/** YAML alias expansion limit: guards against "billion laughs" documents. */
export const MAX_ALIAS_COUNT = 100;

export type PathSegment = string | number;

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
  return { file, message: `file is ${size} bytes, over the ${MAX_FILE_BYTES}-byte limit`, hint: 'split the tasks over several files' };
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
        message: `file is not valid UTF-8 (bad byte 0x${bytes[offset]?.toString(16).padStart(2, '0')} at offset ${offset})`,
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
  while (at > 0 && (bytes[at]! & 0xc0) === 0x80) at--;
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
  const { isMap, isSeq, isScalar, isPair } = yaml();
  return (path, exact = false, atKey = false) => {
    let node: unknown = doc.contents;
    let best: number | undefined = (node as Node | null)?.range?.[0];
    let found = 0;
    for (const segment of path) {
      if (isMap(node)) {
        const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(segment));
        if (!pair) break;
        found++;
        const keyStart = (pair.key as Node).range?.[0];
        const value = pair.value as Node | null;
        const last = found === path.length;
        best = (atKey && last ? keyStart : value?.range?.[0]) ?? keyStart ?? best;
        node = value;
      } else if (isSeq(node) && typeof segment === 'number') {
        const item = node.items[segment] as Node | undefined;
        if (!item) break;
        found++;
        best = item.range?.[0] ?? best;
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

/** Text that may hold YAML anchors or aliases goes the exact way, which bounds alias expansion. */
const MAYBE_ANCHOR_OR_ALIAS = /(?:^|[\s[{,:-])[&*][^\s,\]}]/m;

/**
 * The fast path: js-yaml (YAML 1.2 core schema) or JSON.parse for the values, with no
 * positions. Returns null whenever the exact path must decide (any parse error, duplicate
 * keys, anchors/aliases), so errors are always reported by one parser, with positions.
 */
function fastValues(file: string, text: string): unknown[] | null {
  try {
    if (file.toLowerCase().endsWith('.json')) {
      const value = JSON.parse(text);
      jsYaml.load(text, { schema: jsYaml.JSON_SCHEMA }); // throws on duplicate keys
      return [value];
    }
    if (MAYBE_ANCHOR_OR_ALIAS.test(text)) return null;
    return jsYaml.loadAll(text, undefined, { schema: jsYaml.CORE_SCHEMA });
  } catch {
    return null;
  }
}

/** Parses YAML (several documents allowed) or JSON text, collecting every syntax problem. */
export function parseSource(file: string, text: string): ParsedSource {
  const values = fastValues(file, text);
  if (!values) return parseSourceExact(file, text);
  let exact: ParsedSource | undefined;
  return {
    issues: [],
    documents: values.map((value, index) => ({
      value,
      // Positions are needed only to report a problem: parse exactly then, once per file.
      locate: (path, exactPath, atKey) => (exact ??= parseSourceExact(file, text)).documents[index]?.locate(path, exactPath, atKey),
    })),
  };
}

/** The exact path (`yaml` package): every syntax problem with its position, bounded aliases. */
export function parseSourceExact(file: string, text: string): ParsedSource {
  if (file.toLowerCase().endsWith('.json')) return parseJson(file, text);
  const lineCounter = new (yaml().LineCounter)();
  const docs = yaml().parseAllDocuments(text, { ...YAML_OPTIONS, lineCounter });
  const issues: Issue[] = [];
  const documents: SourceDocument[] = [];
  // Not an array: an EmptyStream, a file with only comments or nothing.
  if (!Array.isArray(docs)) return { documents, issues };
  for (const doc of docs) {
    const syntax = yamlIssues(file, doc, lineCounter);
    if (syntax.length > 0) {
      issues.push(...syntax);
      continue;
    }
    const { value, issue } = toJs(file, doc, lineCounter);
    if (issue) {
      issues.push(issue);
      continue;
    }
    documents.push({ value, locate: locator(doc, lineCounter) });
  }
  return { documents, issues };
}

function parseJson(file: string, text: string): ParsedSource {
  let value: unknown;
  let parseError: Error | undefined;
  try {
    value = JSON.parse(text);
  } catch (err) {
    parseError = err as Error;
  }
  // The yaml parser reads JSON too and gives positions, duplicate keys and a lazy locator.
  const lineCounter = new (yaml().LineCounter)();
  const doc = yaml().parseDocument(text, { ...YAML_OPTIONS, lineCounter });
  const syntax = yamlIssues(file, doc, lineCounter);
  if (parseError) {
    if (syntax.length > 0) return { documents: [], issues: syntax };
    const match = /position (\d+)/.exec(parseError.message);
    const pos = match ? lineCounter.linePos(Number(match[1])) : undefined;
    return {
      documents: [],
      issues: [
        {
          file,
          position: pos ? { line: pos.line, column: pos.col } : undefined,
          message: `invalid JSON: ${parseError.message}`,
          hint: 'fix the syntax (JSON allows no comments or trailing commas)',
        },
      ],
    };
  }
  const duplicates = syntax.filter((i) => i.hint?.startsWith('remove or rename'));
  if (duplicates.length > 0) return { documents: [], issues: duplicates };
  return { documents: [{ value, locate: locator(doc, lineCounter) }], issues: [] };
}

const USER_TASK_ID_LINE = /^([ \t]*(?:-[ \t]+)?)["']?userTaskID["']?[ \t]*:[ \t]*["']?([^"'#\n]*?)["']?[ \t]*,?[ \t]*(?:#.*)?$/gm;

/**
 * Lines of each `userTaskID: X` in a file (in order), found by scanning the text: cheap enough to run
 * for every file, where a full positional parse is not. IDs in other layouts get no line.
 */
export function userTaskIdLines(text: string): Map<string, SourcePosition[]> {
  const lines = new Map<string, SourcePosition[]>();
  let line = 1;
  let scanned = 0;
  for (const m of text.matchAll(USER_TASK_ID_LINE)) {
    for (let i = text.indexOf('\n', scanned); i !== -1 && i < m.index; i = text.indexOf('\n', i + 1)) line++;
    scanned = m.index;
    const at = { line, column: m[1]!.length + 1 };
    const seen = lines.get(m[2]!);
    if (seen) seen.push(at);
    else lines.set(m[2]!, [at]);
  }
  return lines;
}
