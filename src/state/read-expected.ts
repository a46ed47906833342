/**
 * Reads a state file knowing what a plan expects each task's entry to record: the settings
 * declared in the files. After an apply almost every entry records exactly those, as the
 * writer put them (`JSON.stringify(state, null, 2)`). Such an entry is recognised by its
 * bytes (json-match.ts) and built around the declared objects themselves: its settings are
 * neither decoded nor parsed nor allocated, the plan's deep-equal meets the same objects,
 * and their schema check is made once per object, however many environments record them.
 * `plan --all-envs` reads one 10,000-task state per environment; what this saves is mostly
 * memory (fresh pages and garbage collection), which is most of reading a state.
 *
 * Exact, as read-chunked.ts: such an entry is taken only when its every byte is the writer's
 * layout with plain strings; every other entry is parsed (runs of them at once); the text
 * around the `tasks` object is parsed with a marker object in its place; the result is used
 * only when every part parses and the whole passes the state schema. Then, by the JSON
 * grammar, the whole text is valid JSON and its value is the one built here (members in
 * order, a repeated key keeping its first place and its last value, "__proto__" an own key,
 * as JSON.parse does). Anything else returns null, and the caller reads the whole text as
 * before, with its exact error messages. test/unit/state-read-expected.test.ts checks this
 * against JSON.parse on random states, settings and one-byte edits.
 *
 * The declared objects become part of the state: neither side is ever changed in place
 * (entries are replaced whole), so sharing them is safe.
 */
import { randomUUID } from 'node:crypto';
import type { ManagedSettings } from '../model/settings.js';
import { holds, matchString, matchValue, mergeMembers, plainStringEnd, putMember, sameBytes } from './json-match.js';
import type { CallformState } from '../generated/state.js';
import {
  validateAppliedAt,
  validateRecordedFlags,
  validateRecordedSetting,
  validateState,
} from '../generated/validators.js';

/** What a plan expects each task's entry to record: the declared settings, by userTaskID. */
export type ExpectedSettings = ReadonlyMap<string, ManagedSettings>;

type Plain = Record<string, unknown>;

const ascii = (text: string) => Buffer.from(text, 'latin1');
const OPEN = ascii('\n  "tasks": {');
const CLOSE = ascii('\n  }');
/** Between two entries: a comma, then the next entry's key line. */
const NEXT = ascii(',\n    "');
// An entry as the state writer puts it (appliedEntry, under JSON.stringify(state, null, 2)):
//   \n    "KEY": {\n      "sceneID": "S",[\n      "taskID": "T",]\n      "taskCreateSetting": {…},
//   \n      "funcFlag": {…},\n      "appliedAt": "A"\n    }
const KEY_LINE = ascii('\n    "');
const SCENE = ascii('": {\n      "sceneID": "');
const TASK_ID = ascii('",\n      "taskID": "');
const SETTING = ascii('",\n      "taskCreateSetting": ');
const FLAGS = ascii(',\n      "funcFlag": ');
const APPLIED = ascii(',\n      "appliedAt": "');
const ENTRY_END = ascii('"\n    }');
/** The text of bytes[start…end), reusing the last one when the bytes are the same (a scene, an apply's time). */
class RecentText {
  private start = 0;
  private end = 0;
  private text = '';

  constructor(private readonly bytes: Buffer) {}

  of(start: number, end: number): string {
    const { bytes } = this;
    let same = end - start === this.end - this.start && this.text !== '';
    for (let i = 0; same && i < end - start; i++) same = bytes[start + i] === bytes[this.start + i];
    if (!same) {
      this.text = bytes.toString('utf8', start, end);
      this.start = start;
      this.end = end;
    }
    return this.text;
  }
}

/**
 * Finds an entry's key among the expected userTaskIDs. Entries usually come in the order the
 * tasks are declared (an apply writes them in plan order): the ID after the last one found
 * is tried first, by comparing bytes, which makes no string and needs no index. Otherwise
 * the key is decoded and looked up, and the guessing goes on from there.
 */
class KeyFinder {
  private readonly ids: string[];
  private next = 0;
  private positions: Map<string, number> | undefined;

  constructor(private readonly expected: ExpectedSettings) {
    this.ids = [...expected.keys()];
  }

  /** The expected ID whose JSON string is the quoted bytes[start…end), if any. */
  find(bytes: Buffer, start: number, end: number): string | undefined {
    const guess = this.ids.at(this.next);
    if (guess !== undefined && matchString(bytes, start - 1, guess) === end + 1) {
      this.next++;
      return guess;
    }
    const key = bytes.toString('utf8', start, end);
    if (!this.expected.has(key)) return undefined;
    this.positions ??= new Map(this.ids.map((id, i) => [id, i]));
    this.next = (this.positions.get(key) as number) + 1;
    return key;
  }
}

/**
 * Settings whose text an earlier read found: the bytes that matched them exactly (their
 * writer's text three levels deep, `taskCreateSetting` through `funcFlag`). A value's text in
 * that layout is unique, so an entry of a later read holds them exactly when it holds those
 * bytes: one compare of bytes instead of a walk over the values. `plan --all-envs` reads one
 * state per environment, and each records mostly the same declared objects (the tasks its
 * overlays leave alone). A proof is kept only for settings valid as a state records them.
 * Only one read's buffer holds proofs; state.ts never reuses it for another file.
 */
interface Proof {
  bytes: Buffer;
  start: number;
  end: number;
}
const proofs = new WeakMap<ManagedSettings, Proof>();
let proofSource: WeakRef<ArrayBufferLike> | undefined;

/** True when proofs point into `bytes`: its buffer must not be reused for another file. */
export function holdsProofs(bytes: Buffer): boolean {
  return proofSource?.deref() === bytes.buffer;
}

/** The next read keeps proofs again, whatever buffer holds the earlier ones (they stay true): for tests. */
export function forgetProofSource(): void {
  proofSource = undefined;
}

/** Whether a read of `bytes` may keep proofs: when no other live buffer holds some (proofs keep theirs alive). */
function mayProve(bytes: Buffer): boolean {
  const source = proofSource?.deref();
  return source === undefined || source === bytes.buffer;
}

class EntryReader {
  readonly tasks: Plain = {};
  /** The entries not taken from the declared settings, as parsed: the state schema checks them. */
  readonly others: Plain = {};
  /** Members put into `tasks`, counting every piece: more than its keys when a key repeats. */
  members = 0;
  /** Whether each distinct appliedAt is a valid time (an apply writes one for many entries). */
  private readonly times = new Map<string, boolean>();
  /** A run of entries not taken from the declared settings: parsed at once when it ends. */
  private runFrom = -1;
  private readonly scene: RecentText;
  private readonly appliedAt: RecentText;

  private readonly keys: KeyFinder;
  private readonly proving: boolean;

  constructor(
    private readonly bytes: Buffer,
    private readonly expected: ExpectedSettings,
  ) {
    this.keys = new KeyFinder(expected);
    this.proving = mayProve(bytes);
    this.scene = new RecentText(bytes);
    this.appliedAt = new RecentText(bytes);
  }

  /**
   * The entry after the separator at `sep`, built from the declared settings when it is
   * exactly the writer's layout with their bytes for settings, and valid as the state schema
   * says: where it ends (the next separator, or the line closing the tasks object), or -1 when
   * it is not such an entry (it is then parsed, and the schema check words any problem).
   */
  takeDeclared(sep: number): number {
    const { bytes } = this;
    const keyStart = sep + 1 + KEY_LINE.length;
    if (!holds(bytes, sep + 1, KEY_LINE)) return -1;
    const keyEnd = plainStringEnd(bytes, keyStart);
    if (keyEnd < 0 || !holds(bytes, keyEnd, SCENE)) return -1;
    const key = this.keys.find(bytes, keyStart, keyEnd);
    if (key === undefined || key === '__proto__') return -1;
    const settings = this.expected.get(key) as ManagedSettings;
    const sceneStart = keyEnd + SCENE.length;
    const sceneEnd = plainStringEnd(bytes, sceneStart);
    if (sceneEnd < 0) return -1;
    let taskID: string | undefined;
    let settingAt = sceneEnd;
    if (holds(bytes, sceneEnd, TASK_ID)) {
      const idStart = sceneEnd + TASK_ID.length;
      settingAt = plainStringEnd(bytes, idStart);
      if (settingAt < 0) return -1;
      taskID = bytes.toString('utf8', idStart, settingAt);
    }
    if (!holds(bytes, settingAt, SETTING)) return -1;
    const applied = this.settingsEnd(settingAt + SETTING.length, settings);
    if (applied < 0 || !holds(bytes, applied, APPLIED)) return -1;
    const appliedStart = applied + APPLIED.length;
    const appliedEnd = plainStringEnd(bytes, appliedStart);
    if (appliedEnd < 0 || !holds(bytes, appliedEnd, ENTRY_END)) return -1;
    const end = appliedEnd + ENTRY_END.length;
    if (!holds(bytes, end, NEXT) && !holds(bytes, end, CLOSE)) return -1;
    const appliedAt = this.appliedAt.of(appliedStart, appliedEnd);
    if (!this.timely(appliedAt)) return -1;
    this.endRun(sep);
    const entry: Plain = { sceneID: this.scene.of(sceneStart, sceneEnd) };
    if (taskID !== undefined) entry.taskID = taskID;
    entry.taskCreateSetting = settings.taskCreateSetting;
    entry.funcFlag = settings.funcFlag;
    entry.appliedAt = appliedAt;
    putMember(this.tasks, key, entry);
    this.members++;
    return end;
  }

  private timely(appliedAt: string): boolean {
    let valid = this.times.get(appliedAt);
    if (valid === undefined) this.times.set(appliedAt, (valid = validateAppliedAt(appliedAt)));
    return valid;
  }

  /**
   * Where the text of `settings` (taskCreateSetting, then funcFlag) that starts at `from`
   * ends, or -1 when the bytes are not that text or the settings are not valid in a state:
   * compared with the bytes of a proof when an earlier read found them, else matched value by
   * value and checked (and the match kept as a proof).
   */
  private settingsEnd(from: number, settings: ManagedSettings): number {
    const { bytes } = this;
    const proof = proofs.get(settings);
    if (proof) {
      const length = proof.end - proof.start;
      return sameBytes(bytes, from, proof.bytes, proof.start, length) ? from + length : -1;
    }
    // The settings, three levels deep: the entry's members are at depth 3.
    const flags = matchValue(bytes, from, settings.taskCreateSetting, 3);
    if (flags < 0 || !holds(bytes, flags, FLAGS)) return -1;
    const end = matchValue(bytes, flags + FLAGS.length, settings.funcFlag, 3);
    if (end < 0) return -1;
    if (!validSection(settings.taskCreateSetting, validateRecordedSetting)) return -1;
    if (!validSection(settings.funcFlag, validateRecordedFlags)) return -1;
    if (this.proving) {
      if (proofSource?.deref() !== bytes.buffer) proofSource = new WeakRef(bytes.buffer);
      proofs.set(settings, { bytes, start: from, end });
    }
    return end;
  }

  /** An entry that is not the declared settings' joins the run of such entries. */
  keep(sep: number): void {
    if (this.runFrom < 0) this.runFrom = sep;
  }

  /** Parses the run that ends at the separator `sep`: its members, in order. Throws when they do not parse. */
  endRun(sep: number): void {
    if (this.runFrom < 0) return;
    const run = JSON.parse(`{${this.bytes.toString('utf8', this.runFrom + 1, sep)}}`) as Plain;
    const members = mergeMembers(this.tasks, run);
    if (members === 0) throw new SyntaxError('a run of entries without members');
    mergeMembers(this.others, run);
    this.members += members;
    this.runFrom = -1;
  }
}

/**
 * The next separator after an entry that was not taken: the comma before the next key line,
 * or the line closing the tasks object when that comes first; -1 when there is neither.
 * (Searched within the entry: the closing line is near the end of the file.)
 */
function separatorAfter(bytes: Buffer, sep: number): number {
  const next = bytes.indexOf(NEXT, sep + 1);
  const close = bytes.subarray(sep + 1, next < 0 ? bytes.length : next).indexOf(CLOSE);
  return close >= 0 ? sep + 1 + close : next;
}

/** A state decoded: its value, and the entries the schema has yet to check (those not taken from declared settings). */
interface Decoded {
  value: Plain & { tasks: Plain };
  others: Plain;
}

/**
 * The state value of `bytes` (a whole state file), or null when the text is not in callform's
 * layout or not valid JSON (the caller then parses it whole). Its declared entries are
 * checked here; the rest of the schema check is the caller's.
 */
function decodeStateExpecting(bytes: Buffer, expected: ExpectedSettings): Decoded | null {
  if (bytes[0] !== 0x7b) return null; // a BOM, or not an object: the whole-text path decides
  const open = bytes.indexOf(OPEN);
  if (open < 0) return null;
  const brace = open + OPEN.length - 1;
  if (holds(bytes, brace + 1, CLOSE)) return null; // no entries: nothing to gain
  const marker = `callform-${randomUUID()}`;
  const reader = new EntryReader(bytes, expected);
  try {
    // Entries run from a separator (the object's `{`, then each `,` before a key line) to the
    // next, up to the first line that closes an object two spaces in.
    let sep = brace;
    for (;;) {
      let end = reader.takeDeclared(sep);
      if (end < 0) {
        reader.keep(sep);
        end = separatorAfter(bytes, sep);
        if (end < 0) return null;
      }
      if (holds(bytes, end, CLOSE)) {
        sep = end;
        break;
      }
      sep = end;
    }
    const closeBrace = sep + CLOSE.length - 1;
    reader.endRun(closeBrace);
    const outer = JSON.parse(
      `${bytes.toString('utf8', 0, brace)}{"${marker}":0}${bytes.toString('utf8', closeBrace + 1)}`,
    ) as { tasks?: unknown } | null;
    if (typeof outer !== 'object' || outer === null || Array.isArray(outer)) return null;
    const placed = outer.tasks as Plain | undefined;
    if (!placed || Object.keys(placed).length !== 1 || !Object.hasOwn(placed, marker)) return null;
    outer.tasks = reader.tasks;
    // A repeated key (callform never writes one) keeps its last value: the others are then sorted out again.
    const repeated = Object.keys(reader.tasks).length !== reader.members;
    return { value: outer as Decoded['value'], others: repeated ? undeclared(reader.tasks, expected) : reader.others };
  } catch {
    return null;
  }
}

/** The entries that do not hold the declared settings objects (those were taken, and checked, by the reader). */
function undeclared(tasks: Plain, expected: ExpectedSettings): Plain {
  const others: Plain = {};
  for (const id in tasks) {
    const entry = tasks[id];
    // Typed as the loader makes them (objects); a library caller may pass anything.
    const declared = expected.get(id)?.taskCreateSetting as unknown;
    // Only a taken entry holds a declared object (a valid section is an object): a parsed one
    // is made of new objects, and an equal null, string or missing section proves nothing.
    const taken =
      typeof declared === 'object' &&
      declared !== null &&
      typeof entry === 'object' &&
      entry !== null &&
      (entry as Plain).taskCreateSetting === declared;
    if (!taken) putMember(others, id, entry);
  }
  return others;
}

/** Whether each settings object is valid as a state entry records it: checked once per object. */
const validSections = new WeakMap<object, boolean>();
function validSection(section: unknown, validate: (value: unknown) => boolean): boolean {
  if (typeof section !== 'object' || section === null) return validate(section);
  let valid = validSections.get(section);
  if (valid === undefined) {
    valid = validate(section);
    validSections.set(section, valid);
  }
  return valid;
}

/**
 * The state in `bytes`, read knowing the settings each entry is expected to record, and
 * checked against the state schema: the entries that hold declared settings objects part by
 * part (each object once, however many environments record it), the rest as a whole. Null
 * when it is not in callform's layout, not valid, or of another version: the whole-text
 * path then reads it, or words the problem.
 */
export function readStateExpecting(bytes: Buffer, expected: ExpectedSettings, version: number): CallformState | null {
  try {
    const decoded = decodeStateExpecting(bytes, expected);
    if (decoded === null) return null;
    const { value, others } = decoded;
    if (typeof value.version === 'number' && value.version > version) return null;
    return validateState({ ...value, tasks: others }) ? (value as unknown as CallformState) : null;
  } catch {
    return null; // whatever went wrong here, the whole-text path reads the file and words its problem
  }
}
