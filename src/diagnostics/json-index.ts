/**
 * Positions for a JSON task file without a second parse: one scan of the text, after
 * `JSON.parse` has read its value, feeds a shallow {@link ParseTrace} the nodes of the first
 * levels (a document's root, its keys, the `tasks` items and their keys: enough for every
 * task's declaration line) exactly as the js-yaml listener would, and counts every key of the
 * text. `JSON.parse` keeps the last of repeated keys silently; callform refuses them, so when
 * the text holds more keys than the value, the caller leaves the file to the exact parser,
 * which reports each repeated key where it is.
 *
 * The text is valid JSON (`JSON.parse` read it), so the scan needs no error handling: strings
 * are jumped over with indexOf, and below the recorded levels only brackets and `:` count.
 */
import { ParseTrace } from './trace.js';
import { BACKSLASH, COLON, COMMA, LBRACE, LBRACKET, QUOTE, RBRACE, RBRACKET } from './char-codes.js';

/** Depth of the deepest recorded node (js-yaml's count: the root is 1): a task item's keys and values. */
export const SHALLOW_DEPTH = 4;

/** What matters inside a skipped value. */
const STRUCTURE = /["{}[\]:]/g;

const isSpace = (c: number) => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;

class Scanner {
  pos = 0;
  /** Keys met in the text, at every depth. */
  keys = 0;
  constructor(
    readonly text: string,
    readonly trace: ParseTrace,
  ) {}

  private skipSpace(): number {
    const { text } = this;
    let c = text.charCodeAt(this.pos);
    while (isSpace(c)) c = text.charCodeAt(++this.pos);
    return c;
  }

  /** Offset just past the string that starts (with its quote) at `from`. */
  private stringEnd(from: number): number {
    const { text } = this;
    for (let q = text.indexOf('"', from + 1); ; q = text.indexOf('"', q + 1)) {
      let slashes = 0;
      while (text.charCodeAt(q - 1 - slashes) === BACKSLASH) slashes++;
      if (slashes % 2 === 0) return q + 1;
    }
  }

  /** One state object for every event, as js-yaml passes its own: no allocation per node. */
  private readonly state = { position: 0, result: undefined as unknown, depth: 0 };

  private event(kind: 'open' | 'close', position: number, result: unknown, depth: number): void {
    const { state } = this;
    state.position = position;
    state.result = result;
    state.depth = depth;
    this.trace.listener(kind, state);
  }

  /** A value at `depth` whose parsed form is `value`, recorded when shallow enough. */
  value(value: unknown, depth: number): void {
    const c = this.skipSpace();
    if (depth > SHALLOW_DEPTH) {
      this.skipValue(c);
      return;
    }
    const start = this.pos;
    this.event('open', start, undefined, depth);
    if (c === LBRACE) this.object(value as Record<string, unknown>, depth);
    else if (c === LBRACKET) this.array(value as unknown[], depth);
    else this.skipValue(c);
    this.event('close', this.pos, value, depth);
  }

  private object(value: Record<string, unknown>, depth: number): void {
    const { text } = this;
    this.pos++;
    if (this.skipSpace() === RBRACE) {
      this.pos++;
      return;
    }
    for (;;) {
      this.skipSpace();
      const keyStart = this.pos;
      this.pos = this.stringEnd(keyStart);
      this.keys++;
      const raw = text.slice(keyStart + 1, this.pos - 1);
      const key = raw.includes('\\') ? (JSON.parse(text.slice(keyStart, this.pos)) as string) : raw;
      this.event('open', keyStart, undefined, depth + 1);
      this.event('close', this.pos, key, depth + 1);
      this.skipSpace(); // then the colon
      this.pos++;
      this.value(value[key], depth + 1);
      const c = this.skipSpace();
      this.pos++;
      if (c !== COMMA) return; // the closing brace
    }
  }

  private array(value: unknown[], depth: number): void {
    this.pos++;
    if (this.skipSpace() === RBRACKET) {
      this.pos++;
      return;
    }
    for (let i = 0; ; i++) {
      this.value(value[i], depth + 1);
      const c = this.skipSpace();
      this.pos++;
      if (c !== COMMA) return; // the closing bracket
    }
  }

  /** Past a value starting at the current offset (character `c`), counting the keys inside. */
  private skipValue(c: number): void {
    const { text } = this;
    if (c === QUOTE) {
      this.pos = this.stringEnd(this.pos);
      return;
    }
    if (c !== LBRACE && c !== LBRACKET) {
      // A number, true, false or null: up to the next delimiter.
      let p = this.pos;
      for (let ch = c; p < text.length && !isSpace(ch) && ch !== COMMA && ch !== RBRACE && ch !== RBRACKET;)
        ch = text.charCodeAt(++p);
      this.pos = p;
      return;
    }
    // Below the recorded levels only strings (jumped over), brackets and colons matter: a
    // regular expression finds the next one (a loop over every character is slower until optimised).
    let open = 0;
    STRUCTURE.lastIndex = this.pos;
    for (;;) {
      const p = STRUCTURE.exec(text)!.index;
      const ch = text.charCodeAt(p);
      if (ch === QUOTE) STRUCTURE.lastIndex = this.stringEnd(p);
      else if (ch === COLON) this.keys++;
      else if (ch === LBRACE || ch === LBRACKET) open++;
      else if (--open === 0) {
        this.pos = p + 1;
        return;
      }
    }
  }
}

/** Own keys of a parsed JSON value, at every depth. */
function keyCount(value: unknown): number {
  if (typeof value !== 'object' || value === null) return 0;
  let n = 0;
  if (Array.isArray(value)) {
    for (const item of value) n += keyCount(item);
    return n;
  }
  const object = value as Record<string, unknown>;
  for (const k in object) {
    n++;
    n += keyCount(object[k]);
  }
  return n;
}

/**
 * The shallow trace of a JSON text whose value `JSON.parse` gave, or null when the text repeats
 * a key (the value lost one: only the exact parser can say where).
 */
export function indexJson(text: string, value: unknown): ParseTrace | null {
  const trace = new ParseTrace(text, SHALLOW_DEPTH);
  const scanner = new Scanner(text, trace);
  scanner.value(value, 1);
  return scanner.keys === keyCount(value) && trace.fits([value]) ? trace : null;
}
