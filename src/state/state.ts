import { open, stat, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import type { CallformState } from '../generated/state.js';
import { validateState } from '../generated/validators.js';
import { CallformError, fsProblem } from '../errors.js';
import { ajvIssues } from '../diagnostics/ajv.js';
import { parseSource } from '../diagnostics/source.js';
import { formatIssue } from '../diagnostics/issue.js';
import { readStateChunked } from './read-chunked.js';
import { holdsProofs, readStateExpecting, type ExpectedSettings } from './read-expected.js';

export type { CallformState };
/** The version this callform writes; it reads this and every earlier one (1: no owedResumes). */
export const STATE_VERSION = 2;

export function emptyState(): CallformState {
  return { version: STATE_VERSION, lineage: randomUUID(), serial: 0, tasks: {} };
}

export interface LoadedState {
  state: CallformState;
  /** False when no state file existed yet (nothing has been applied). */
  exists: boolean;
}

const KEEP = 'it was left untouched; restore it from a backup or version control, or move it aside to start over';

/**
 * The last read's buffer, for the next read (an environment's state after another's): a fresh
 * 8 MB buffer is 2,000 first-touched pages, and page faults are most of reading it. Weak: an
 * idle process does not keep it.
 */
let spare: WeakRef<Buffer> | undefined;

/**
 * The whole file in one read: fs.promises.readFile(…, 'utf8') reads a large file in 512 KiB
 * chunks through a StringDecoder, measurably slower on a 10,000-task (8 MB) state. The
 * caller gives the buffer back (`release`) when nothing it made refers to it.
 */
async function readBytes(handle: FileHandle, size: number): Promise<Buffer> {
  const reused = spare?.deref();
  spare = undefined;
  // Never from Buffer's shared pool: a reused buffer must be this file's alone.
  const bytes = reused && reused.length >= size ? reused : Buffer.allocUnsafeSlow(size);
  let filled = 0;
  while (filled < size) {
    const { bytesRead } = await handle.read(bytes, filled, size - filled, filled);
    if (bytesRead === 0) break;
    filled += bytesRead;
  }
  return bytes.subarray(0, filled);
}

/** Only a large buffer is kept: a small one is cheap to make. */
const SPARE_FROM = 1 << 20;

function release(bytes: Buffer): void {
  if (bytes.buffer.byteLength >= SPARE_FROM) spare = new WeakRef(Buffer.from(bytes.buffer));
}

/** V8's "… at position N" as "… at line L, column C": a person opens the file in an editor. */
function jsonErrorAt(text: string, message: string): string {
  const m = / at position (\d+)/.exec(message);
  if (!m) return message;
  const before = text.slice(0, Number(m[1]));
  const line = before.split('\n').length;
  const column = before.length - before.lastIndexOf('\n');
  return message.replace(m[0], ` at line ${line}, column ${column}`);
}

/**
 * Why the state file cannot be written where the settings put it: its directory does not
 * exist, or is not a directory; null when it can be. (Reading a missing state is fine: no
 * state yet. Writing it, and taking its lock, needs the directory.)
 */
export async function stateDirectoryProblem(statePath: string): Promise<string | null> {
  const dir = path.dirname(statePath);
  try {
    return (await stat(dir)).isDirectory() ? null : `${dir}, where the state file goes, is not a directory`;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return `the state file's directory ${dir} does not exist`;
    return `the state file's directory ${dir} cannot be read: ${fsProblem(err)}`;
  }
}

export const stateDirectoryHint = (statePath: string) =>
  `create the directory (mkdir -p ${path.dirname(statePath)}), or set "state" in the settings file to a path in an existing directory`;

/** From this size (about 40,000 tasks) the state file is read in pieces. */
const CHUNKED_FROM = 48 * 1024 * 1024;

/**
 * Reads the state file; a corrupt or unknown-version file is refused, never overwritten.
 * `expected`: the settings a plan expects the entries to record (read-expected.ts), awaited
 * after the file is read; the value read is the same with or without it, only cheaper. Its
 * settings objects must never be changed afterwards: the state read shares them, and later
 * reads compare their entries with the bytes these objects were found as.
 */
export async function readState(
  statePath: string,
  displayPath = statePath,
  expected?: Promise<ExpectedSettings | null>,
): Promise<LoadedState> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(statePath, 'r');
    const { size } = await handle.stat();
    // A large state in pieces (read-chunked.ts) where the layout allows: never its whole text and
    // its objects at once. A smaller one in one piece, knowing what to expect when the plan says.
    const value = size >= CHUNKED_FROM ? await readStateChunked(handle, size) : null;
    if (value !== null && checkedState(value)) return { state: value, exists: true };
    const bytes = await readBytes(handle, size);
    try {
      const known = size < CHUNKED_FROM && expected ? await expected : null;
      const decoded = known ? readStateExpecting(bytes, known, STATE_VERSION) : null;
      if (decoded !== null) return { state: decoded, exists: true };
      // Anything else (another layout, a problem to report) the whole text decides, as always.
      return { state: parseState(bytes.toString('utf8'), displayPath), exists: true };
    } finally {
      // What was read from it are copies (strings, parsed values), unless proofs point into it.
      if (!holdsProofs(bytes)) release(bytes);
    }
  } catch (err) {
    if (err instanceof CallformError) throw err;
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { state: emptyState(), exists: false };
    throw new CallformError(
      `cannot read state file ${displayPath}: ${fsProblem(err)}`,
      'check "state" in the settings file: it names the state file (default callform.state.json)',
    );
  } finally {
    await handle?.close();
  }
}

/** True when a parsed value is a state this callform reads (else parseState words the problem). */
function checkedState(value: unknown): value is CallformState {
  const version = (value as { version?: unknown } | null)?.version;
  return !(typeof version === 'number' && version > STATE_VERSION) && validateState(value);
}

/** A state's JSON text, checked: a corrupt or unknown-version state is refused (the store is left untouched). */
export function parseState(text: string, displayPath: string, what = 'state file'): CallformState {
  // A BOM (an editor's) is not part of the JSON: drop it, as task and settings files do.
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new CallformError(
      `${what} ${displayPath} is not valid JSON (${jsonErrorAt(text, (err as Error).message)})`,
      KEEP,
    );
  }
  const version = (value as { version?: unknown } | null)?.version;
  if (typeof version === 'number' && version > STATE_VERSION) {
    throw new CallformError(
      `${what} ${displayPath} has version ${version}, written by a newer callform; this one understands version ${STATE_VERSION}`,
      'upgrade callform; the file was left untouched',
    );
  }
  if (!validateState(value)) {
    const doc = parseSource(displayPath.endsWith('.json') ? displayPath : `${displayPath}.json`, text).documents.at(0);
    const issues = ajvIssues(validateState.errors, {
      file: displayPath,
      basePath: [],
      sources: doc ? [{ doc, basePath: [] }] : [],
    });
    throw new CallformError(
      `${what} ${displayPath} is not a valid callform state:\n${issues
        .slice(0, 10)
        .map((i) => '  ' + formatIssue(i))
        .join('\n')}`,
      KEEP,
    );
  }
  return value as CallformState;
}

/** Atomic replace: temp file in the same directory, fsync, rename. Readers see old or new, never torn. */
export async function writeStateFile(statePath: string, state: CallformState): Promise<void> {
  const text = JSON.stringify(state, null, 2) + '\n'; // snapshot before any await
  const { default: writeFileAtomic } = await import('write-file-atomic'); // not needed by read-only commands
  await writeFileAtomic(statePath, text, { fsync: true, mode: 0o644 });
}
