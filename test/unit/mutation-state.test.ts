/**
 * src/state beyond the apply tests: pure entry transitions, the StateWriter's bookkeeping
 * and write scheduling (injected write, mocked clock: nothing waits on real time), and
 * readState's refusals. Written to kill the mutants `npm run mutate` found alive
 * (docs/testing.md).
 */
import { describe, it, expect, afterEach, vi } from 'vitest';
import { mkdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { withUnconfirmed, appliedEntry } from '../../src/state/entry.js';
import { StateWriter } from '../../src/state/writer.js';
import {
  readState,
  writeStateFile,
  emptyState,
  stateDirectoryHint,
  stateDirectoryProblem,
  STATE_VERSION,
} from '../../src/state/state.js';
import { tempDir } from '../support/temp.js';
import { TOOL_VERSION } from '../../src/version.js';
import { CallformError } from '../../src/errors.js';
import type { CallformState, TaskState } from '../../src/generated/state.js';

const LINEAGE = '00000000-0000-4000-8000-000000000000';
const entry = (over: Partial<TaskState> = {}): TaskState => ({
  sceneID: 's',
  taskID: 'T-a',
  taskCreateSetting: { maxCall: 1 },
  funcFlag: {},
  appliedAt: '2026-01-01T00:00:00.000Z',
  ...over,
});
const state = (over: Partial<CallformState> = {}): CallformState => ({
  version: 1,
  lineage: LINEAGE,
  serial: 1,
  tasks: { a: entry() },
  ...over,
});

describe('state/entry', () => {
  it('withUnconfirmed: a first send marks what was sent, since now', () => {
    expect(withUnconfirmed(entry(), { taskCreateSetting: { maxCall: 2 } }, 'T1')).toEqual({
      ...entry(),
      pending: { since: 'T1', taskCreateSetting: { maxCall: 2 } },
    });
  });

  it('withUnconfirmed: the mark only grows and keeps the oldest time', () => {
    const first = withUnconfirmed(entry(), { funcFlag: { phoneEncrypt: true } }, 'T1');
    const second = withUnconfirmed(
      first,
      { taskCreateSetting: { maxCall: 3 }, funcFlag: { phoneEncrypt: false } },
      'T2',
    );
    expect(second.pending).toEqual({
      since: 'T1',
      funcFlag: { phoneEncrypt: false },
      taskCreateSetting: { maxCall: 3 },
    });
    expect(first.pending).toEqual({ since: 'T1', funcFlag: { phoneEncrypt: true } });
  });

  it('appliedEntry: exactly the applied settings, a taskID only when known', () => {
    const settings = { taskCreateSetting: { maxCall: 2 }, funcFlag: { taskKeep: true } };
    expect(appliedEntry('s', settings, 'T-9', 'T3')).toEqual({
      sceneID: 's',
      taskID: 'T-9',
      taskCreateSetting: { maxCall: 2 },
      funcFlag: { taskKeep: true },
      appliedAt: 'T3',
    });
    expect(appliedEntry('s', settings, undefined, 'T3')).not.toHaveProperty('taskID');
    expect(appliedEntry('s', settings, '', 'T3')).not.toHaveProperty('taskID');
  });
});

/** A writer whose writes are recorded (deep copies) and can be held open. */
function recorder(initial = state()) {
  const written: CallformState[] = [];
  let hold: Promise<void> | null = null;
  let fail: Error | null = null;
  const writer = new StateWriter('/some/dir/callform.state.json', initial, async (p, s) => {
    expect(p).toBe('/some/dir/callform.state.json');
    written.push(structuredClone(s));
    if (hold) await hold;
    if (fail) throw fail;
  });
  return {
    writer,
    written,
    holdWrites: (p: Promise<void>) => {
      hold = p;
    },
    failWrites: (e: Error | null) => {
      fail = e;
    },
  };
}

describe('StateWriter', () => {
  afterEach(() => {
    vi.restoreAllMocks();
    vi.useRealTimers();
  });

  it('owns a copy: the initial state object and its task map are never changed', async () => {
    const initial = state();
    const { writer } = recorder(initial);
    writer.forget('a');
    writer.recordApplied('b', entry());
    await writer.flush();
    expect(initial).toEqual(state());
    expect(writer.current.tasks).toEqual({ b: entry() });
  });

  it('each write bumps the serial and stamps the tool and state versions', async () => {
    const { writer, written } = recorder();
    writer.recordApplied('b', entry({ sceneID: 'x' }));
    await writer.flush();
    expect(written).toHaveLength(1);
    expect(written[0]).toMatchObject({ serial: 2, toolVersion: TOOL_VERSION, version: STATE_VERSION });
    expect(writer.writes).toBe(1);
    writer.forget('b');
    await writer.flush();
    expect(written.map((s) => s.serial)).toEqual([2, 3]);
    expect(written[1].tasks).toEqual({ a: entry() });
    expect(writer.writes).toBe(2);
  });

  it('flush with nothing scheduled writes nothing', async () => {
    const { writer, written } = recorder();
    await writer.flush();
    expect(written).toEqual([]);
    expect(writer.writes).toBe(0);
  });

  it('coalesces: changes made during a write become one more write', async () => {
    const { writer, written, holdWrites } = recorder();
    let open!: () => void;
    holdWrites(new Promise<void>((r) => (open = r)));
    writer.recordApplied('b', entry());
    writer.recordApplied('c', entry());
    writer.recordApplied('d', entry());
    const flushed = writer.flush();
    await vi.waitFor(() => expect(written).toHaveLength(1));
    writer.forget('b');
    writer.forget('c');
    open();
    holdWrites(Promise.resolve());
    await flushed;
    // The first write started at once (with b); c and d landed during it: one more write.
    expect(written.map((s) => Object.keys(s.tasks).sort())).toEqual([
      ['a', 'b'],
      ['a', 'd'],
    ]);
  });

  it('between two writes it pauses nine times as long as the last write took (at most 2 s); flush cuts it short', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const clock = vi.spyOn(performance, 'now');
    clock.mockReturnValueOnce(1000).mockReturnValueOnce(1100); // the first write took 100 ms
    const { writer, written, holdWrites } = recorder();
    let open!: () => void;
    holdWrites(new Promise<void>((r) => (open = r)));
    writer.recordApplied('b', entry());
    await vi.waitFor(() => expect(written).toHaveLength(1));
    writer.recordApplied('c', entry()); // dirty while writing
    holdWrites(Promise.resolve());
    open();
    await vi.advanceTimersByTimeAsync(0);
    expect(vi.getTimerCount()).toBe(1);
    await vi.advanceTimersByTimeAsync(899);
    expect(written).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(written).toHaveLength(2);

    // A slow write (1 s): the pause is capped at 2 s; flush() ends it at once.
    clock.mockReturnValueOnce(0).mockReturnValueOnce(1000);
    holdWrites(new Promise<void>((r) => (open = r)));
    writer.recordApplied('d', entry());
    await vi.waitFor(() => expect(written).toHaveLength(3));
    writer.recordApplied('e', entry());
    holdWrites(Promise.resolve());
    open();
    await vi.advanceTimersByTimeAsync(1999);
    expect(written).toHaveLength(3);
    await vi.advanceTimersByTimeAsync(1);
    expect(written).toHaveLength(4);

    clock.mockReturnValueOnce(0).mockReturnValueOnce(1000);
    holdWrites(new Promise<void>((r) => (open = r)));
    writer.recordApplied('f', entry());
    await vi.waitFor(() => expect(written).toHaveLength(5));
    writer.recordApplied('g', entry());
    holdWrites(Promise.resolve());
    open();
    await vi.advanceTimersByTimeAsync(0);
    await writer.flush(); // no timer advanced: flush woke the pause
    expect(written).toHaveLength(6);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('while flushing, a change made during a write is written without a pause', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    vi.spyOn(performance, 'now').mockReturnValueOnce(0).mockReturnValueOnce(1000);
    const { writer, written, holdWrites } = recorder();
    let open!: () => void;
    holdWrites(new Promise<void>((r) => (open = r)));
    writer.recordApplied('b', entry());
    const flushed = writer.flush();
    await vi.waitFor(() => expect(written).toHaveLength(1));
    writer.recordApplied('c', entry());
    holdWrites(Promise.resolve());
    open();
    await flushed;
    expect(written).toHaveLength(2);
  });

  it('a failed write is rethrown by flush, naming the file, and stays failed', async () => {
    const { writer, failWrites } = recorder();
    failWrites(new Error('disk full'));
    expect(writer.failed).toBe(false);
    writer.recordApplied('b', entry());
    const err = await writer.flush().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CallformError);
    expect((err as Error).message).toBe('could not write state file callform.state.json: disk full');
    expect(writer.failed).toBe(true);
    failWrites(null);
    await expect(writer.flush()).rejects.toThrow('could not write state file callform.state.json: disk full');
  });

  it('markUnconfirmed marks tasks in state only, returns their entries as they were; restore puts one back', async () => {
    const { writer, written } = recorder();
    const earlier = writer.markUnconfirmed(
      [
        { userTaskID: 'a', settings: { taskCreateSetting: { maxCall: 2 } } },
        { userTaskID: 'new', settings: { taskCreateSetting: { maxCall: 3 } } },
      ],
      'T1',
    );
    expect([...earlier.entries()]).toEqual([['a', entry()]]);
    expect(writer.current.tasks).toEqual({
      a: { ...entry(), pending: { since: 'T1', taskCreateSetting: { maxCall: 2 } } },
    });
    await writer.flush();
    expect(written).toHaveLength(1);
    writer.restore('a', earlier.get('a')!);
    await writer.flush();
    expect(written[1].tasks).toEqual({ a: entry() });
  });

  it('tasks named like Object.prototype members are entries of their own: __proto__ is kept, constructor is absent until recorded', async () => {
    const { writer, written } = recorder(state({ tasks: {} }));
    expect(writer.task('constructor')).toBeUndefined();
    expect(writer.task('toString')).toBeUndefined();
    expect(writer.markUnconfirmed([{ userTaskID: 'constructor', settings: {} }], 'T1').size).toBe(0);
    writer.recordApplied('__proto__', entry());
    writer.recordApplied('constructor', entry({ sceneID: 'c' }));
    await writer.flush();
    const last = () => written[written.length - 1];
    expect(Object.keys(last().tasks)).toEqual(['__proto__', 'constructor']);
    expect(Object.getPrototypeOf(writer.current.tasks)).toBe(Object.prototype);
    expect((JSON.parse(JSON.stringify(writer.current)) as CallformState).tasks.__proto__).toEqual(entry());
    expect(writer.task('__proto__')).toEqual(entry());
    writer.forget('__proto__');
    await writer.flush();
    expect(Object.keys(last().tasks)).toEqual(['constructor']);
  });

  it('recordPolicy writes only a change', async () => {
    const { writer, written } = recorder(state({ policyDigest: 'd1' }));
    writer.recordPolicy('d1');
    await writer.flush();
    expect(written).toEqual([]);
    writer.recordPolicy(null);
    await writer.flush();
    expect(written).toHaveLength(1);
    expect(written[0].policyDigest).toBeNull();
    writer.recordPolicy('d2');
    await writer.flush();
    expect(written[1].policyDigest).toBe('d2');
  });

  it('owed resumes: owe, mark paused, clear (the map goes when empty)', async () => {
    const { writer, written } = recorder(state({ owedResumes: { z: { since: 'T0', phase: 'paused' } } }));
    writer.markPaused('a'); // nothing owed: nothing to write
    writer.clearResume('a');
    writer.markPaused('constructor'); // nor for a task named like an Object.prototype member
    writer.clearResume('toString');
    await writer.flush();
    expect(written).toEqual([]);
    writer.oweResume('a', 'T1');
    await writer.flush();
    expect(written[0].owedResumes).toEqual({
      z: { since: 'T0', phase: 'paused' },
      a: { since: 'T1', phase: 'pausing' },
    });
    writer.markPaused('a');
    await writer.flush();
    expect(written[1].owedResumes).toEqual({
      z: { since: 'T0', phase: 'paused' },
      a: { since: 'T1', phase: 'paused' },
    });
    writer.clearResume('a');
    await writer.flush();
    expect(written[2].owedResumes).toEqual({ z: { since: 'T0', phase: 'paused' } });
    writer.clearResume('z');
    await writer.flush();
    expect(written[3]).not.toHaveProperty('owedResumes');
    expect(written).toHaveLength(4);
  });

  it('by default it writes the state file itself', async () => {
    const file = path.join(await tempDir('callform-mut-state-'), 'callform.state.json');
    const writer = new StateWriter(file, state());
    writer.forget('a');
    await writer.flush();
    expect(JSON.parse(await readFile(file, 'utf8'))).toMatchObject({ serial: 2, tasks: {} });
  });

  it('owes a resume in a state that had none', async () => {
    const { writer } = recorder();
    writer.oweResume('a', 'T1');
    await writer.flush();
    expect(writer.current.owedResumes).toEqual({ a: { since: 'T1', phase: 'pausing' } });
  });
});

describe('stateDirectoryProblem (where apply, its lock and doctor need the state file to go)', () => {
  it('none for an existing directory; says which directory is missing, not a directory, or unreadable', async () => {
    const dir = await tempDir('callform-mut-state-');
    expect(await stateDirectoryProblem(path.join(dir, 's.json'))).toBeNull();
    const missing = path.join(dir, 'no');
    expect(await stateDirectoryProblem(path.join(missing, 's.json'))).toBe(
      `the state file's directory ${missing} does not exist`,
    );
    const file = path.join(dir, 'a-file');
    await writeFile(file, '');
    expect(await stateDirectoryProblem(path.join(file, 's.json'))).toBe(
      `${file}, where the state file goes, is not a directory`,
    );
    // Below a file: ENOTDIR, which is "does not exist" as well.
    expect(await stateDirectoryProblem(path.join(file, 'sub', 's.json'))).toBe(
      `the state file's directory ${path.join(file, 'sub')} does not exist`,
    );
    const loop = path.join(dir, 'loop');
    await symlink(loop, loop);
    expect(await stateDirectoryProblem(path.join(loop, 's.json'))).toMatch(
      new RegExp(`^the state file's directory ${loop} cannot be read: ELOOP: `),
    );
    expect(stateDirectoryHint(path.join(missing, 's.json'))).toBe(
      `create the directory (mkdir -p ${missing}), or set "state" in the settings file to a path in an existing directory`,
    );
  });
});

describe('readState / writeStateFile', () => {
  it('no file: an empty state that does not exist yet', async () => {
    const dir = await tempDir('callform-mut-state-');
    const { state: s, exists } = await readState(path.join(dir, 'none.json'));
    expect(exists).toBe(false);
    expect(s).toMatchObject({ version: 2, serial: 0, tasks: {} });
    expect(s.lineage).toMatch(/^[0-9a-f-]{36}$/);
    expect(emptyState().lineage).not.toBe(s.lineage);
    expect(STATE_VERSION).toBe(2);
  });

  it('writes atomically, pretty, ending in a newline, readable back; a large file reads whole', async () => {
    const dir = await tempDir('callform-mut-state-');
    const file = path.join(dir, 's.json');
    const tasks: CallformState['tasks'] = {};
    for (let i = 0; i < 3000; i++) tasks[`task-${i}`] = entry({ taskCreateSetting: { taskName: 'é'.repeat(50) } });
    const big = state({ tasks });
    await writeStateFile(file, big);
    const text = await readFile(file, 'utf8');
    expect(text).toBe(JSON.stringify(big, null, 2) + '\n');
    expect((await stat(file)).size).toBeGreaterThan(512 * 1024);
    expect((await stat(file)).mode & 0o777).toBe(0o644);
    expect(await readState(file)).toEqual({ state: big, exists: true });
  });

  it('refuses a newer version, untouched', async () => {
    const dir = await tempDir('callform-mut-state-');
    const file = path.join(dir, 's.json');
    await writeFile(file, JSON.stringify({ ...state(), version: 3 }));
    await expect(readState(file, 'shown.json')).rejects.toMatchObject({
      message: 'state file shown.json has version 3, written by a newer callform; this one understands version 2',
      hint: 'upgrade callform; the file was left untouched',
    });
  });

  it('refuses an invalid state, listing at most ten problems located in the file', async () => {
    const dir = await tempDir('callform-mut-state-');
    const file = path.join(dir, 's.json');
    const tasks: Record<string, unknown> = {};
    for (let i = 0; i < 12; i++) tasks[`t${i}`] = { sceneID: 5 };
    await writeFile(file, JSON.stringify({ version: 2, lineage: LINEAGE, serial: 1, tasks }, null, 2));
    const err = (await readState(file).catch((e: unknown) => e)) as CallformError;
    expect(err.hint).toBe(
      'it was left untouched; restore it from a backup or version control, or move it aside to start over',
    );
    const lines = err.message.split('\n');
    expect(lines[0]).toBe(`state file ${file} is not a valid callform state:`);
    const issues = lines.slice(1).filter((l) => l.startsWith(`  ${file}:`));
    expect(issues).toHaveLength(10);
    expect(issues[0]).toMatch(new RegExp(`^  ${file.replace(/[.]/g, '\\.')}:\\d+:\\d+: `));
  });

  it('an invalid state shown under a name without .json is still located', async () => {
    const dir = await tempDir('callform-mut-state-');
    const file = path.join(dir, 'state');
    await writeFile(file, '{\n  "version": 2,\n  "serial": "x"\n}\n');
    const err = (await readState(file).catch((e: unknown) => e)) as CallformError;
    expect(err.message).toMatch(new RegExp(`\\n  ${file}:\\d+:\\d+: `));
  });

  it('null or a non-object is refused as not a valid state', async () => {
    const dir = await tempDir('callform-mut-state-');
    const file = path.join(dir, 's.json');
    await writeFile(file, 'null');
    await expect(readState(file)).rejects.toThrow(`state file ${file} is not a valid callform state:`);
  });

  it('broken JSON: where it breaks; a message without a position is kept as is', async () => {
    const dir = await tempDir('callform-mut-state-');
    const file = path.join(dir, 's.json');
    await writeFile(file, '{\n  "a": 1,\n  oops\n}');
    const err = (await readState(file).catch((e: unknown) => e)) as CallformError;
    expect(err.message).toMatch(/^state file .* is not valid JSON \(.* at line 3, column 3\b/);
    expect(err.hint).toMatch(/^it was left untouched/);
    await writeFile(file, '');
    const empty = (await readState(file).catch((e: unknown) => e)) as CallformError;
    expect(empty.message).toBe(`state file ${file} is not valid JSON (Unexpected end of JSON input)`);
    await writeFile(file, '{}\n}');
    const second = (await readState(file).catch((e: unknown) => e)) as CallformError;
    expect(second.message).toMatch(/ at line 2, column 1\b/);
    await writeFile(file, '{} x');
    const first = (await readState(file).catch((e: unknown) => e)) as CallformError;
    expect(first.message).toMatch(/JSON at line 1, column 4\b/);
  });

  it('a state path that cannot be read names the settings key', async () => {
    const dir = await tempDir('callform-mut-state-');
    await mkdir(path.join(dir, 'd.json'));
    const err = (await readState(path.join(dir, 'd.json'), 'shown.json').catch((e: unknown) => e)) as CallformError;
    expect(err.message).toMatch(/^cannot read state file shown\.json: /);
    expect(err.hint).toBe('check "state" in the settings file: it names the state file (default callform.state.json)');
  });
});
