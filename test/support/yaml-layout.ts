/**
 * Writes a plain value as YAML in a random, hand-written-looking layout: block and flow
 * collections, plain / single- / double-quoted scalars, keys quoted or not (or explicit: `? key`),
 * values on the next line, empty values, zero-indented sequences, comments (some that look like `userTaskID: x`),
 * blank lines, tabs after separators, CRLF line ends, several documents per file. Or as JSON
 * with random indentation. The layout is drawn from a seed, so a failing case replays.
 */
type Plain = Record<string, unknown>;
const isPlain = (v: unknown): v is Plain => typeof v === 'object' && v !== null && !Array.isArray(v);

class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  /** mulberry32 */
  next(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)];
  }
  shuffle<T>(xs: T[]): T[] {
    const out = [...xs];
    for (let i = out.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [out[i], out[j]] = [out[j], out[i]];
    }
    return out;
  }
}

/** Characters YAML forbids raw (or that the two parsers treat as line breaks): escaped in "…", never plain or '…'. */
const NEEDS_ESCAPE =
  /[\p{Cc}\u2028\u2029\ufeff\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/u;
const NEEDS_ESCAPE_G = new RegExp(NEEDS_ESCAPE.source, 'gu');
/** Plain scalars that would resolve to something other than a string in the YAML 1.2 core schema (or look like one). */
const NOT_A_PLAIN_STRING =
  /^(?:~|null|Null|NULL|true|True|TRUE|false|False|FALSE|[-+]?[.0-9].*|\.(?:inf|Inf|INF|nan|NaN|NAN)|<<)$/;

function doubleQuoted(s: string): string {
  return (
    '"' +
    s
      .replace(/[\\"]/g, (c) => '\\' + c)
      .replace(NEEDS_ESCAPE_G, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0')) +
    '"'
  );
}

function singleQuotable(s: string): boolean {
  return !NEEDS_ESCAPE.test(s);
}

function plainable(s: string, flow: boolean): boolean {
  if (s === '' || NEEDS_ESCAPE.test(s) || NOT_A_PLAIN_STRING.test(s)) return false;
  if (/^[\s\-?:,[\]{}#&*!|>'"%@`]/.test(s) || /\s$/.test(s)) return false;
  if (/: |:$| #|\t/.test(s)) return false;
  if (flow && /[,[\]{}:]/.test(s)) return false;
  return true;
}

export interface Layout {
  text: string;
}

class YamlWriter {
  lines: string[] = [];
  constructor(
    private readonly rng: Rng,
    private readonly step: number,
  ) {}

  private comment(): string {
    if (!this.rng.chance(0.15)) return '';
    return (
      this.rng.pick([' ', '  ', '\t']) +
      '#' +
      this.rng.pick(['', ' c', ' userTaskID: fake', ' a: "b"', ' - x', ' 中文 😀', '#'])
    );
  }

  /** Blank lines and whole-line comments between entries. */
  private filler(indent: number): void {
    while (this.rng.chance(0.1)) {
      this.lines.push(
        this.rng.chance(0.5)
          ? ''
          : ' '.repeat(this.rng.chance(0.5) ? indent : this.rng.int(indent + 3)) +
              '# ' +
              this.rng.pick(['note', 'userTaskID: x', 'tasks:', '"quoted"']),
      );
    }
  }

  private sep(): string {
    return this.rng.chance(0.05) ? ' \t' : this.rng.chance(0.1) ? '  ' : ' ';
  }

  key(k: string, flow: boolean): string {
    const r = this.rng.next();
    if (r < 0.6 && plainable(k, flow)) return k;
    if (r < 0.8 && singleQuotable(k)) return `'${k.replace(/'/g, "''")}'`;
    return doubleQuoted(k);
  }

  scalar(v: unknown, flow: boolean): string {
    if (v === null) return this.rng.pick(['~', 'null', 'Null', 'NULL']);
    if (typeof v === 'boolean') return String(v);
    if (typeof v === 'number')
      return Number.isInteger(v) ? String(v) : this.rng.chance(0.5) ? String(v) : JSON.stringify(v);
    const s = typeof v === 'string' ? v : JSON.stringify(v); // the scalars left are strings
    const r = this.rng.next();
    if (r < 0.4 && plainable(s, flow)) return s;
    if (r < 0.7 && singleQuotable(s)) return `'${s.replace(/'/g, "''")}'`;
    return doubleQuoted(s);
  }

  /** A flow-style value; continuation lines (when it breaks lines) are indented to `indent`. */
  flow(v: unknown, indent: number): string {
    // Line breaks inside the collection, with a comment after an opening bracket or a comma
    // (not before a closing one: `{ a: # c\n }` is a documented case the trace leaves to `yaml`).
    const br = (comment: boolean) =>
      this.rng.chance(0.15)
        ? (comment && this.rng.chance(0.3) ? ' # in flow, a: b' : '') + '\n' + ' '.repeat(indent)
        : this.rng.pick(['', ' ']);
    const comma = () => ',' + this.rng.pick([' ', '', '  ']) + br(true);
    if (Array.isArray(v)) {
      if (v.length === 0) return this.rng.pick(['[]', '[ ]']);
      return '[' + br(true) + v.map((x) => this.flow(x, indent)).join(comma()) + br(false) + ']';
    }
    if (isPlain(v)) {
      const entries = Object.entries(v);
      if (entries.length === 0) return this.rng.pick(['{}', '{ }']);
      const pair = ([k, x]: [string, unknown]) =>
        x === null && this.rng.chance(0.2)
          ? `${this.key(k, true)}:`
          : `${this.key(k, true)}:${this.sep()}${this.flow(x, indent)}`;
      return '{' + br(true) + entries.map(pair).join(comma()) + br(false) + '}';
    }
    return this.scalar(v, true);
  }

  /** A block mapping at `indent`; `lead` replaces the first line's indentation (e.g. "  - "). */
  map(obj: Plain, indent: number, lead?: string): void {
    Object.entries(obj).forEach(([k, v], i) => {
      if (i > 0 || lead === undefined) this.filler(indent);
      const prefix = i === 0 && lead !== undefined ? lead : ' '.repeat(indent);
      const key = this.key(k, false);
      if (isPlain(v) && Object.keys(v).length > 0 && this.rng.chance(0.75)) {
        this.lines.push(`${prefix}${key}:${this.comment()}`);
        this.map(v, indent + this.step);
      } else if (Array.isArray(v) && v.length > 0 && this.rng.chance(0.7)) {
        this.lines.push(`${prefix}${key}:${this.comment()}`);
        this.seq(v, indent + (this.rng.chance(0.3) ? 0 : this.step));
      } else if (v === null && this.rng.chance(0.5)) {
        this.lines.push(`${prefix}${key}:${this.rng.pick(['', ' ', '   '])}${this.comment()}`);
      } else if (!isPlain(v) && !Array.isArray(v) && this.rng.chance(0.04)) {
        // explicit key: `? key` then `: value`
        this.lines.push(`${prefix}? ${key}${this.comment()}`);
        this.lines.push(`${' '.repeat(indent)}:${this.sep()}${this.scalar(v, false)}${this.comment()}`);
      } else if (!isPlain(v) && !Array.isArray(v) && this.rng.chance(0.12)) {
        this.lines.push(`${prefix}${key}:${this.comment()}`);
        // (a comment line in between sits at the value's indentation: `yaml` refuses a shallower one)
        if (this.rng.chance(0.1)) this.lines.push(' '.repeat(indent + this.step) + '# before the value');
        this.lines.push(' '.repeat(indent + this.step) + this.scalar(v, false) + this.comment());
      } else {
        const value = isPlain(v) || Array.isArray(v) ? this.flow(v, indent + this.step) : this.scalar(v, false);
        this.lines.push(`${prefix}${key}:${this.sep()}${value}${this.comment()}`);
      }
    });
  }

  seq(arr: unknown[], indent: number): void {
    const pad = ' '.repeat(indent);
    for (const item of arr) {
      this.filler(indent);
      if (isPlain(item) && Object.keys(item).length > 0 && this.rng.chance(0.8)) {
        if (this.rng.chance(0.8)) {
          const gap = this.rng.pick([' ', ' ', '   ']);
          this.map(item, indent + 1 + gap.length, `${pad}-${gap}`);
        } else {
          this.lines.push(`${pad}-${this.comment()}`);
          this.map(item, indent + this.step);
        }
      } else if (Array.isArray(item) && item.length > 0 && this.rng.chance(0.5)) {
        this.lines.push(`${pad}-${this.comment()}`);
        this.seq(item, indent + this.step);
      } else if (item === null && this.rng.chance(0.3)) {
        this.lines.push(`${pad}-${this.comment()}`);
      } else {
        const value =
          isPlain(item) || Array.isArray(item) ? this.flow(item, indent + this.step) : this.scalar(item, false);
        this.lines.push(`${pad}- ${value}${this.comment()}`);
      }
    }
  }

  document(value: unknown): void {
    if (isPlain(value) && Object.keys(value).length > 0 && this.rng.chance(0.85)) this.map(value, 0);
    else if (Array.isArray(value) && value.length > 0 && this.rng.chance(0.7)) this.seq(value, 0);
    else
      this.lines.push(isPlain(value) || Array.isArray(value) ? this.flow(value, this.step) : this.scalar(value, false));
  }
}

/** YAML text for the documents (one or more), in a layout drawn from `seed`. */
export function yamlLayout(documents: unknown[], seed: number): Layout {
  const rng = new Rng(seed);
  const w = new YamlWriter(rng, rng.pick([1, 2, 2, 2, 3, 4]));
  if (rng.chance(0.3)) w.lines.push(rng.pick(['# callform tasks', '# userTaskID: nope', '']));
  documents.forEach((doc, i) => {
    if (i > 0 || documents.length > 1 || rng.chance(0.2)) {
      if (i > 0 && rng.chance(0.2)) w.lines.push('...');
      w.lines.push(rng.pick(['---', '---', '--- # doc']));
    }
    w.document(doc);
  });
  let text = w.lines.join('\n') + (rng.chance(0.9) ? '\n' : '');
  if (rng.chance(0.15)) text = text.replace(/\n/g, '\r\n');
  return { text };
}

/** JSON text for one value, with random indentation (and sometimes CRLF line ends). */
export function jsonLayout(value: unknown, seed: number): string {
  const rng = new Rng(seed);
  let text = JSON.stringify(value, null, rng.pick([0, 1, 2, 4, '\t']));
  if (rng.chance(0.3)) text = text.replace(/":/g, () => rng.pick(['":', '" :', '":  ']));
  if (rng.chance(0.2)) text = text.replace(/\n/g, '\r\n');
  return rng.chance(0.5) ? text + '\n' : text;
}
