/**
 * The `yaml` library's node ranges as the reference for positions, and the check that every
 * position callform reports for a text agrees with them (test/hostile/positions.fuzz.test.ts).
 */
import { expect } from 'vitest';
import jsYaml from 'js-yaml';
import YAML, { LineCounter, isMap, isSeq, isScalar, isPair, type Node } from 'yaml';
import { indexSource, parseSource, traceSource, type PathSegment } from '../../src/diagnostics/source.js';
import { formatPath } from '../../src/diagnostics/ajv.js';
import type { SourcePosition } from '../../src/diagnostics/issue.js';

const isPlain = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The `yaml` library's reference: the range start of the node at `path` (of its key with `atKey`). */
export class Reference {
  readonly docs: YAML.Document[];
  private readonly lc = new LineCounter();
  constructor(text: string) {
    const docs = YAML.parseAllDocuments(text, { lineCounter: this.lc, uniqueKeys: true });
    this.docs = Array.isArray(docs) ? docs : [];
  }
  errors(): string[] {
    return this.docs.flatMap((d) => d.errors.map((e) => e.message));
  }
  values(): unknown[] {
    return this.docs.map((d): unknown => d.toJS());
  }
  position(doc: number, path: PathSegment[], atKey = false): SourcePosition | undefined {
    let node: unknown = this.docs[doc].contents;
    let at: number | undefined = (node as Node).range?.[0];
    for (const [i, seg] of path.entries()) {
      if (isMap(node)) {
        const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(seg));
        if (!pair) return undefined;
        at = (atKey && i === path.length - 1 ? (pair.key as Node) : (pair.value as Node)).range![0];
        node = pair.value;
      } else if (isSeq(node) && typeof seg === 'number') {
        node = node.items[seg];
        if (!node) return undefined;
        at = (node as Node).range![0];
      } else {
        return undefined;
      }
    }
    if (at === undefined) return undefined;
    const { line, col } = this.lc.linePos(at);
    return { line, column: col };
  }
}

/** Every path into a value: each key (with its value) and each item, depth first. */
function paths(value: unknown, prefix: PathSegment[] = [], out: PathSegment[][] = []): PathSegment[][] {
  if (Array.isArray(value))
    value.forEach((v: unknown, i) => {
      out.push([...prefix, i]);
      paths(v, [...prefix, i], out);
    });
  else if (isPlain(value))
    for (const [k, v] of Object.entries(value)) {
      out.push([...prefix, k]);
      paths(v, [...prefix, k], out);
    }
  return out;
}

/**
 * Why the js-yaml fast path may decline a text (traceSource returns null), as its contract
 * states it: a BOM or a lone CR (offsets would shift), anchors/aliases/tags (or what may look
 * like them), a line ending in `-` (maybe an empty sequence item), or js-yaml refusing it.
 * Null when none applies: then declining is a failure, not a reason to skip the trace check.
 */
function declineReason(file: string, text: string): string | null {
  if (/^\uFEFF|\r(?!\n)/.test(text)) return 'a BOM or a lone CR';
  const json = file.toLowerCase().endsWith('.json');
  if (!json && /(?:^|[\s[{,:-])[&*!]/m.test(text)) return 'maybe anchors, aliases or tags';
  if (!json && /(?:^|[ \t])-[ \t]*(?:#.*)?\r?$/m.test(text)) return 'maybe an empty sequence item';
  try {
    if (json) jsYaml.load(text, { schema: jsYaml.JSON_SCHEMA });
    else jsYaml.loadAll(text, undefined, { schema: jsYaml.CORE_SCHEMA });
  } catch (err) {
    return `js-yaml refuses it (${(err as Error).message.split('\n')[0]})`;
  }
  return null;
}

/**
 * Checks (a) for one text: the loader's locator and the trace against `yaml`'s ranges for every
 * path. Says whether the trace was checked ('traced') or the fast path declined the text for
 * a reason {@link declineReason} names ('declined'); a decline without one fails.
 */
export function checkAllPositions(file: string, text: string, expected: unknown[]): 'traced' | 'declined' {
  // Every message carries the text, so a failure shows the document it is about.
  const about = (what: string) => `${what}\n--- ${file} ---\n${text}\n---`;
  const ref = new Reference(text);
  expect(ref.errors(), about('yaml reads the layout')).toEqual([]);
  expect(ref.values(), about('the layout writes the intended values (yaml)')).toEqual(expected);
  const parsed = parseSource(file, text);
  expect(parsed.issues, about('no issues')).toEqual([]);
  expect(
    parsed.documents.map((d) => d.value),
    about('callform reads the intended values'),
  ).toEqual(expected);
  // Where js-yaml parses (no tags, anchors, aliases, lone CRs, mis-nested empty items), its trace
  // must fit the documents and answer for every path: `yaml` is only the fallback.
  const traced = traceSource(file, text);
  if (traced) expect(traced.trace, about('the trace fits the documents')).toBeDefined();
  else
    expect(declineReason(file, text), about('the js-yaml fast path declined the text without a reason')).not.toBeNull();
  // The loader's one parse (shallow index): wherever the full trace fits, it fits too, and it agrees
  // with `yaml` wherever it answers. For JSON it answers for every task's declaration (its
  // userTaskID key); a YAML item js-yaml reads one level deeper (a flow mapping in a block
  // sequence) is left to the full trace.
  const shallow = indexSource(file, text);
  if (traced?.trace) expect(shallow?.trace, about('the shallow index fits the documents')).toBeDefined();
  const declarations = (value: unknown): PathSegment[][] => {
    if (!isPlain(value)) return [];
    if (!Array.isArray(value.tasks)) return 'userTaskID' in value ? [['userTaskID']] : [];
    return value.tasks.flatMap((t: unknown, j) =>
      isPlain(t) && 'userTaskID' in t ? [['tasks', j, 'userTaskID']] : [],
    );
  };
  parsed.documents.forEach((doc, i) => {
    const index = shallow?.trace;
    if (!index) return;
    if (file.endsWith('.json'))
      for (const path of declarations(expected[i]))
        expect(index.find(i, path, true), about(`shallow index answers for ${formatPath(path)}`)).not.toBe('unsure');
    for (const path of [[], ...paths(expected[i])]) {
      for (const atKey of [false, true]) {
        const answer = index.find(i, path, atKey);
        if (answer === 'unsure') continue;
        expect(answer.found, about(`shallow index finds ${formatPath(path)}`)).toBe(path.length);
        expect(
          index.position(answer.pos),
          about(`shallow index at ${formatPath(path)}${atKey ? ' (key)' : ''}`),
        ).toEqual(ref.position(i, path, atKey));
      }
    }
  });
  parsed.documents.forEach((doc, i) => {
    for (const path of [[], ...paths(expected[i])]) {
      const want = ref.position(i, path);
      const wantKey = ref.position(i, path, true);
      expect(doc.locate(path, true), about(`value at ${formatPath(path)}`)).toEqual(want);
      expect(doc.locate(path, true, true), about(`key at ${formatPath(path)}`)).toEqual(wantKey);
      const trace = traced?.trace;
      if (trace) {
        for (const [atKey, w] of [
          [false, want],
          [true, wantKey],
        ] as const) {
          const answer = trace.find(i, path, atKey);
          expect(answer, about(`trace answers for ${formatPath(path)}`)).not.toBe('unsure');
          if (answer !== 'unsure')
            expect(trace.position(answer.pos), about(`trace at ${formatPath(path)}${atKey ? ' (key)' : ''}`)).toEqual(
              w,
            );
        }
      }
    }
  });
  return traced ? 'traced' : 'declined';
}
