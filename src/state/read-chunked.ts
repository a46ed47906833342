/**
 * Reads a large state file without ever holding its whole text: a 100,000-task state is
 * 120 MB of JSON, and its bytes, its text and its parsed objects at once were most of
 * `plan`'s peak memory. The file is read in blocks; the `tasks` object, as callform writes it
 * (`JSON.stringify(state, null, 2)`: one task entry per `\n    "id": {` line), is cut at entry
 * boundaries into pieces of about a block, and each piece is parsed on its own.
 *
 * Exact, not a guess about the layout: the result is used only when every piece parses as the
 * members of an object (`{` + piece + `}`) and the text around the `tasks` object parses with
 * a marker object in its place, the marker landing on the top-level `tasks`. Then, by the JSON
 * grammar, the whole text is valid JSON whose value is exactly this one (members merged in
 * order, a repeated key keeping its first place and its last value, as JSON.parse does).
 * Anything else (another layout, a BOM, a syntax error) returns null, and the caller reads the
 * whole text as before, with its exact error messages.
 */
import type { FileHandle } from 'node:fs/promises';
import { randomUUID } from 'node:crypto';
import { LBRACE, RBRACE } from '../diagnostics/char-codes.js';
import { mergeMembers } from './json-match.js';

const BLOCK = 1 << 20;
/** Where the `tasks` object is not found in the first bytes, the layout is not callform's. */
const HEAD_BLOCKS = 4;
const OPEN = Buffer.from('\n  "tasks": {');
/** The boundary between two task entries: a comma, then the next entry's key line. */
const NEXT = Buffer.from(',\n    "');
const CLOSE = Buffer.from('\n  }');

type Plain = Record<string, unknown>;

/**
 * Parses `bytes[0..end]` as an object, its first byte (the `{` of the tasks object or the comma
 * before an entry) and its last (the comma after the piece, or the closing brace) written over
 * with braces: no copy of the piece to add them. Copies the members into `into` (later keys
 * win, "__proto__" stays an own key); false when there is none.
 */
function mergePiece(into: Plain, bytes: Buffer, end: number): boolean {
  bytes[0] = LBRACE;
  bytes[end] = RBRACE;
  return mergeMembers(into, JSON.parse(bytes.toString('utf8', 0, end + 1)) as Plain) > 0;
}

/** The parsed state value, or null when the text is not in callform's layout (or not valid JSON). */
export async function readStateChunked(handle: FileHandle, size: number, block = BLOCK): Promise<unknown> {
  let pending = Buffer.alloc(0);
  let offset = 0;
  const more = async (): Promise<boolean> => {
    if (offset >= size) return false;
    const bytes = Buffer.allocUnsafe(Math.min(block, size - offset));
    const { bytesRead } = await handle.read(bytes, 0, bytes.length, offset);
    if (bytesRead === 0) return false;
    offset += bytesRead;
    pending =
      pending.length > 0 ? Buffer.concat([pending, bytes.subarray(0, bytesRead)]) : bytes.subarray(0, bytesRead);
    return true;
  };
  // The head: everything before the `tasks` object's opening brace.
  let open = -1;
  while (open < 0) {
    if (!(await more()) || pending.length > HEAD_BLOCKS * block) return null;
    open = pending.indexOf(OPEN);
  }
  if (pending[0] === 0xef) return null; // a BOM: the whole-text path drops it
  const head = pending.toString('utf8', 0, open + OPEN.length - 1);
  // From the tasks object's `{`; then from the comma before the next entry.
  pending = pending.subarray(open + OPEN.length - 1);
  const tasks: Plain = {};
  try {
    // The entries, a block's worth at a time, up to the line that closes the object.
    for (;;) {
      const close = pending.indexOf(CLOSE, 1);
      if (close >= 0) {
        const brace = close + CLOSE.length - 1;
        if (!mergePiece(tasks, pending, brace)) return null;
        pending = pending.subarray(brace + 1);
        break;
      }
      const cut = pending.lastIndexOf(NEXT);
      if (cut > 0) {
        if (!mergePiece(tasks, pending, cut)) return null;
        pending = pending.subarray(cut);
      }
      if (!(await more())) return null;
    }
    while (await more());
    const marker = `callform-${randomUUID()}`;
    const value = JSON.parse(`${head}{"${marker}":0}${pending.toString('utf8')}`) as unknown;
    const outer = value as { tasks?: unknown } | null;
    if (typeof outer !== 'object' || outer === null || Array.isArray(outer)) return null;
    const placed = outer.tasks as Plain | undefined;
    if (!placed || Object.keys(placed).length !== 1 || !Object.hasOwn(placed, marker)) return null;
    outer.tasks = tasks;
    return value;
  } catch {
    return null;
  }
}
