/**
 * Node positions taken from the js-yaml parse itself, through its `listener` option: js-yaml
 * reports `open` when it starts composing a node (its read position) and `close` when the node
 * is done (read position after it, and the value it built). Nodes are numbered in document
 * order, so a node's children are the nodes opened before it closes.
 *
 * Why this and not the `yaml` package's node ranges (the reference for positions): on the
 * benchmark's 10,000 tasks (200 files, 2 MB of YAML) js-yaml alone takes ~0.12 s and js-yaml +
 * this trace ~0.14 s, while `yaml.parseAllDocuments` takes ~0.95 s (its CST parser alone
 * ~0.7 s): most of the whole 1 s plan budget. The trace is exact by construction where it answers, and
 * test/hostile/positions.fuzz.test.ts checks it against `yaml`'s ranges on random documents:
 *
 * - A node's start is js-yaml's open position advanced over separation space (blanks, comments,
 *   line breaks) the way js-yaml's own `skipSeparationSpace` advances it before reading content.
 *   An empty node (`key:` with no value) is placed where `yaml` places it: right after its
 *   indicator and the blanks that follow.
 * - Before a container is used, its children are matched against the value js-yaml built: a
 *   mapping must have exactly one key node and one value node per own key, in pairs, each value
 *   node holding (===) the mapping's value for that key; a sequence one node per item, holding
 *   that item. Layouts where that does not hold (an explicit `? key` with no value, `[a: b]` pairs inside
 *   flow sequences, `{a, b}` keys without values, empty block sequence items) are *not* guessed
 *   at: the caller is told and asks the `yaml` package instead. So is it for an empty node in a
 *   flow collection with a comment between it and its `:` (`{ a: # c\n }`): the trace cannot see
 *   where that indicator is.
 *
 * Documents with tags, anchors or aliases never come here (the caller parses those with `yaml`):
 * the start of a node with properties would be ambiguous, and aliases are bounded there.
 */
import type { SourcePosition } from './issue.js';
import { COLON, CR, HASH, LF, SPACE, TAB } from './char-codes.js';

export type PathSegment = string | number;

/** What a lookup through the trace can say: a position, nothing at that path, or "ask `yaml`". */
export type TraceAnswer = { pos: number; found: number } | 'unsure';

const isObject = (v: unknown): v is object => typeof v === 'object' && v !== null;

export class ParseTrace {
  /** js-yaml's read position when it opened each node. */
  private readonly start: number[] = [];
  /** Read position when it closed each node. */
  private readonly end: number[] = [];
  /** One past the last node of each node's subtree. */
  private readonly after: number[] = [];
  /** The value js-yaml built for each node. */
  private readonly result: unknown[] = [];
  /** The root node of each document, in order. */
  readonly roots: number[] = [];
  private readonly open: number[] = [];
  /** Matched children per container node: [key, value, key, value, …] or items; null when unmatched. */
  private readonly matched = new Map<number, number[] | null>();
  /** True when deeper nodes were left out: an 'unsure' answer may mean "ask a full trace". */
  readonly shallow: boolean;
  private lineStarts: number[] | undefined;
  /** Lines counted so far, for offsets asked in increasing order (a file's declarations): no array of every line. */
  private counted = { upTo: 0, line: 1, lineStart: 0 };
  /** The text as js-yaml reads it: it adds a final line break when there is none. */
  private readonly input: string;

  /**
   * @param maxDepth nodes deeper than this (js-yaml's depth: a document's root is 1) are not
   *   recorded: a shallow trace answers for the first levels only (declarations) and says
   *   'unsure' below them, where the caller asks a full trace.
   */
  constructor(
    private readonly text: string,
    private readonly maxDepth = Infinity,
  ) {
    this.shallow = maxDepth !== Infinity;
    const last = text.charCodeAt(text.length - 1);
    this.input = text.length === 0 || last === LF || last === CR ? text : text + '\n';
  }

  /** For js-yaml's `listener` option (js-yaml's state has `depth`, its types do not say so). */
  readonly listener = (event: 'open' | 'close', state: { position: number; result: unknown; depth?: number }): void => {
    if ((state.depth ?? 0) > this.maxDepth) return;
    const { start, end, after, result, open } = this;
    if (event === 'open') {
      const node = start.length;
      start.push(state.position);
      end.push(-1);
      after.push(-1);
      result.push(undefined);
      if (open.length === 0) this.roots.push(node);
      open.push(node);
    } else {
      const node = open.pop()!;
      end[node] = state.position;
      after[node] = start.length;
      result[node] = state.result;
    }
  };

  /** True when the trace holds one complete root node per document, holding that document's value. */
  fits(documents: unknown[]): boolean {
    return (
      this.open.length === 0 &&
      this.roots.length === documents.length &&
      documents.every((d, i) => Object.is(this.result[this.roots[i]], d))
    );
  }

  /**
   * False when some block sequence has an item js-yaml read without a node: an empty item (`-`
   * and a line break). js-yaml mis-nests those (`-\n  -\n-` reads as [[null, null]], not
   * [[null], null]), so such documents are left to `yaml`.
   */
  sequencesComplete(): boolean {
    for (let node = 0; node < this.result.length; node++) {
      const value = this.result[node];
      if (Array.isArray(value) && this.holder(node) === node && this.children(node).length !== value.length)
        return false;
    }
    return true;
  }

  private children(node: number): number[] {
    const out: number[] = [];
    for (let c = node + 1; c < this.after[node]; c = this.after[c]!) out.push(c);
    return out;
  }

  /**
   * The node that holds a container's entries: js-yaml sometimes reads a collection as a nested
   * node of the same value (a flow collection first tried as a block mapping key).
   */
  private holder(node: number): number {
    // Exactly one child (its subtree ends where the node's does), holding the same object.
    while (
      isObject(this.result[node]) &&
      this.after[node] > node + 1 &&
      this.after[node + 1] === this.after[node] &&
      this.result[node + 1] === this.result[node]
    )
      node++;
    return node;
  }

  /** The container's entries matched against its value, or null when they do not line up. */
  private entries(node: number): number[] | null {
    const cached = this.matched.get(node);
    if (cached !== undefined) return cached;
    const value = this.result[node];
    const kids = this.children(node);
    let ok = false;
    if (Array.isArray(value)) {
      ok = kids.length === value.length;
      for (let i = 0; ok && i < kids.length; i++) ok = Object.is(this.result[kids[i]], value[i]);
    } else if (isObject(value)) {
      const own = value as Record<string, unknown>;
      let size = 0;
      for (const k in own) if (Object.hasOwn(own, k)) size++;
      // A block mapping ends with js-yaml trying one more key where the next line (a `---`, say)
      // holds none: a node that read nothing.
      const last = kids[kids.length - 1];
      if (kids.length === 2 * size + 1 && this.end[last] === this.start[last] && this.result[last] === null) kids.pop();
      ok = kids.length === 2 * size;
      for (let i = 0; ok && i < kids.length; i += 2) {
        const key = this.result[kids[i]];
        const name = String(key);
        ok = !isObject(key) && Object.hasOwn(own, name) && Object.is(own[name], this.result[kids[i + 1]]);
      }
    }
    const out = ok ? kids : null;
    this.matched.set(node, out);
    return out;
  }

  /** Where a node's content starts (see the module comment), or null when the trace cannot tell. */
  private startOf(node: number): number | null {
    const text = this.input;
    const s = this.start[node];
    let p = s;
    for (;;) {
      let ch = text.charCodeAt(p);
      while (ch === SPACE || ch === TAB) ch = text.charCodeAt(++p);
      if (ch === HASH) while (p < text.length && ch !== LF && ch !== CR) ch = text.charCodeAt(++p);
      if (ch === LF || ch === CR) p++;
      else break;
    }
    if (this.end[node] > p) return p;
    // Empty: right after its indicator and the blanks that follow on that line. In a flow
    // collection js-yaml opens the node after the separation space, which may span lines: back
    // over it to the `:` (a comment in between leaves the indicator unseen: null).
    let q = s;
    let lineBreak = false;
    for (
      let ch = text.charCodeAt(q - 1);
      q > 0 && (ch === SPACE || ch === TAB || ch === LF || ch === CR);
      ch = text.charCodeAt(--q - 1)
    ) {
      if (ch === LF || ch === CR) lineBreak = true;
    }
    if (q === 0 || (lineBreak && text.charCodeAt(q - 1) !== COLON)) return null;
    while (text.charCodeAt(q) === SPACE || text.charCodeAt(q) === TAB) q++;
    return q;
  }

  /**
   * Offset of the value at `path` in document `doc` (of its key with `atKey`), or of the deepest
   * ancestor found, with how many segments were found; 'unsure' when the trace cannot answer.
   */
  find(doc: number, path: PathSegment[], atKey: boolean): TraceAnswer {
    let node = this.roots.at(doc);
    if (node === undefined) return 'unsure';
    let keyNode: number | undefined;
    let found = 0;
    for (const segment of path) {
      const holder = this.holder(node);
      const value = this.result[holder];
      if (!isObject(value)) break;
      const entries = this.entries(holder);
      if (!entries) return 'unsure';
      let next: number | undefined;
      keyNode = undefined;
      if (Array.isArray(value)) {
        if (typeof segment !== 'number') break;
        next = entries[segment];
      } else {
        const name = String(segment);
        for (let i = 0; i < entries.length; i += 2) {
          if (String(this.result[entries[i]]) === name) {
            keyNode = entries[i]!;
            next = entries[i + 1]!;
            break;
          }
        }
      }
      if (next === undefined) break;
      found++;
      node = next;
    }
    // Only the deepest node found is placed: the node itself, or its key.
    const pos = this.startOf(atKey && found === path.length && keyNode !== undefined ? keyNode : node);
    return pos === null ? 'unsure' : { pos, found };
  }

  /** 1-based line and column of an offset, counting lines the way `yaml`'s LineCounter does (at "\n"). */
  position(offset: number): SourcePosition {
    const c = this.counted;
    if (!this.lineStarts && offset >= c.upTo) {
      // Forward from the last offset asked: each line break is looked at once.
      for (let i = this.text.indexOf('\n', c.upTo); i !== -1 && i < offset; i = this.text.indexOf('\n', i + 1)) {
        c.line++;
        c.lineStart = i + 1;
      }
      c.upTo = offset;
      return { line: c.line, column: offset - c.lineStart + 1 };
    }
    const starts = (this.lineStarts ??= lineStartsOf(this.text));
    let low = 0;
    let high = starts.length;
    while (low < high) {
      const mid = (low + high) >> 1;
      if (starts[mid] <= offset) low = mid + 1;
      else high = mid;
    }
    return { line: low, column: offset - starts[low - 1] + 1 };
  }
}

function lineStartsOf(text: string): number[] {
  const starts = [0];
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) starts.push(i + 1);
  return starts;
}
