/**
 * Byte-level matching of JSON text as callform writes it (`JSON.stringify(value, null, 2)`),
 * without decoding or parsing it: does this value's text sit at this offset? The state
 * reader (read-expected.ts) uses it to recognise entries that record the declared settings.
 * Plain loops over the bytes: most comparisons are short, and a call into C++ costs more.
 * Also JSON.parse's meaning of members, for the readers that assemble objects from pieces.
 */
import {
  BACKSLASH,
  COLON,
  COMMA,
  LBRACE,
  LBRACKET,
  LF,
  QUOTE,
  RBRACE,
  RBRACKET,
  SPACE,
} from '../diagnostics/char-codes.js';

/** True when bytes[at…] holds `part`. */
export function holds(bytes: Buffer, at: number, part: Uint8Array): boolean {
  if (at + part.length > bytes.length) return false;
  for (let i = 0; i < part.length; i++) if (bytes[at + i] !== part[i]) return false;
  return true;
}

/**
 * True when a[aAt…aAt+length) and b[bAt…bAt+length) hold the same bytes (both in range).
 * A loop here: a call of Buffer#compare costs about as much as the few hundred bytes it compares.
 */
export function sameBytes(a: Uint8Array, aAt: number, b: Uint8Array, bAt: number, length: number): boolean {
  if (aAt + length > a.length || bAt + length > b.length) return false;
  for (let i = 0; i < length; i++) if (a[aAt + i] !== b[bAt + i]) return false;
  return true;
}

/**
 * Where the JSON string whose text starts at `from` ends (its closing quote), when it has no
 * escape and no control character (its text is then its value); -1 otherwise.
 */
export function plainStringEnd(bytes: Buffer, from: number): number {
  for (let i = from; i < bytes.length; i++) {
    const c = bytes[i];
    if (c === QUOTE) return i;
    if (c === BACKSLASH || c < SPACE) return -1;
  }
  return -1;
}

/** True when bytes[at…] is `count` spaces. */
function spaces(bytes: Buffer, at: number, count: number): boolean {
  for (let i = 0; i < count; i++) if (bytes[at + i] !== SPACE) return false;
  return true;
}

/**
 * Where the JSON string `"text"` written at `at` ends, or -1 when the bytes differ. A string
 * JSON.stringify would escape (a quote, a backslash, a control character, a lone surrogate)
 * is never matched: its entry is parsed instead.
 */
export function matchString(bytes: Buffer, at: number, text: string): number {
  if (bytes[at++] !== QUOTE) return -1;
  for (let i = 0; i < text.length; i++) {
    let c = text.charCodeAt(i);
    if (c < 0x80) {
      if (c === QUOTE || c === BACKSLASH || c < SPACE || bytes[at++] !== c) return -1;
      continue;
    }
    // UTF-8, as the writer's file holds it.
    if (c >= 0xd800 && c <= 0xdfff) {
      const low = text.charCodeAt(i + 1);
      if (c > 0xdbff || !(low >= 0xdc00 && low <= 0xdfff)) return -1;
      c = 0x10000 + ((c - 0xd800) << 10) + (low - 0xdc00);
      i++;
    }
    const n = c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
    if (bytes[at++] !== (n === 2 ? 0xc0 | (c >> 6) : n === 3 ? 0xe0 | (c >> 12) : 0xf0 | (c >> 18))) return -1;
    for (let k = n - 2; k >= 0; k--) if (bytes[at++] !== (0x80 | ((c >> (6 * k)) & 0x3f))) return -1;
  }
  return bytes[at] === QUOTE ? at + 1 : -1;
}

/** Where `text` (ASCII) written at `at` ends, or -1. */
function matchAscii(bytes: Buffer, at: number, text: string): number {
  for (let i = 0; i < text.length; i++) if (bytes[at + i] !== text.charCodeAt(i)) return -1;
  return at + text.length;
}

/** True for an object as JSON.parse makes them (YAML's too): a null-prototype one is parsed instead. */
function isPlainObject(value: object): value is Record<string, unknown> {
  return Object.getPrototypeOf(value) === Object.prototype;
}

/**
 * Where JSON.stringify(value, null, 2), written `depth` levels deep, ends at `at`, or -1 when
 * the bytes are not that text, or when parsing that text would not give `value` back (an
 * undefined member, a non-finite number, -0, a date, an array hole or extra property). Symbol
 * keys and non-enumerable properties are not looked at: the task loaders (YAML, JSON) make none.
 */
export function matchValue(bytes: Buffer, at: number, value: unknown, depth: number): number {
  switch (typeof value) {
    case 'string':
      return matchString(bytes, at, value);
    case 'boolean':
      return matchAscii(bytes, at, value ? 'true' : 'false');
    case 'number':
      return Number.isFinite(value) && !Object.is(value, -0) ? matchAscii(bytes, at, String(value)) : -1;
    case 'object':
      if (value === null) return matchAscii(bytes, at, 'null');
      return Array.isArray(value) ? matchArray(bytes, at, value, depth) : matchObject(bytes, at, value, depth);
    case 'undefined':
    case 'bigint':
    case 'function':
    case 'symbol':
      return -1; // nothing JSON.parse gives back
  }
}

/** The line break and indentation before a member or element `depth` levels deep. */
function matchIndent(bytes: Buffer, at: number, depth: number): number {
  return bytes[at] === LF && spaces(bytes, at + 1, 2 * depth) ? at + 1 + 2 * depth : -1;
}

function matchArray(bytes: Buffer, at: number, value: unknown[], depth: number): number {
  // An array as JSON.parse makes them: no other own properties (JSON would drop them).
  if (Object.getPrototypeOf(value) !== Array.prototype || Object.keys(value).length !== value.length) return -1;
  if (bytes[at++] !== LBRACKET) return -1;
  if (value.length === 0) return bytes[at] === RBRACKET ? at + 1 : -1;
  for (let i = 0; i < value.length; i++) {
    if (!(i in value)) return -1;
    if (i > 0 && bytes[at++] !== COMMA) return -1;
    at = matchIndent(bytes, at, depth + 1);
    if (at < 0 || (at = matchValue(bytes, at, value[i], depth + 1)) < 0) return -1;
  }
  at = matchIndent(bytes, at, depth);
  return at >= 0 && bytes[at] === RBRACKET ? at + 1 : -1;
}

function matchObject(bytes: Buffer, at: number, value: object, depth: number): number {
  if (!isPlainObject(value) || bytes[at++] !== LBRACE) return -1;
  let members = 0;
  for (const key in value) {
    if (!Object.hasOwn(value, key)) return -1;
    if (members++ > 0 && bytes[at++] !== COMMA) return -1;
    at = matchIndent(bytes, at, depth + 1);
    if (at < 0 || (at = matchString(bytes, at, key)) < 0) return -1;
    if (bytes[at] !== COLON || bytes[at + 1] !== SPACE) return -1;
    if ((at = matchValue(bytes, at + 2, value[key], depth + 1)) < 0) return -1;
  }
  if (members === 0) return bytes[at] === RBRACE ? at + 1 : -1;
  at = matchIndent(bytes, at, depth);
  return at >= 0 && bytes[at] === RBRACE ? at + 1 : -1;
}

/** `into[key] = value` as JSON.parse defines members: "__proto__" is an own key, not the prototype. */
export function putMember(into: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__')
    Object.defineProperty(into, key, { value, enumerable: true, writable: true, configurable: true });
  else into[key] = value;
}

/**
 * The members of `from` (a piece parsed as an object) copied into `into` in order, as if the
 * piece were part of the same object (a later key wins): how many there were.
 */
export function mergeMembers(into: Record<string, unknown>, from: Record<string, unknown>): number {
  let members = 0;
  for (const key in from) {
    members++;
    putMember(into, key, from[key]);
  }
  return members;
}
