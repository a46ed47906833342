import { describe, it, expect } from 'vitest';
import path from 'node:path';
import { open } from 'node:fs/promises';
import { readStateChunked } from '../../src/state/read-chunked.js';
import { readState } from '../../src/state/state.js';
import { tempTree } from '../support/temp.js';

const STATE = { version: 2, lineage: '11111111-2222-4333-8444-555555555555', serial: 3, tasks: {} };

async function stateFile(text: string): Promise<string> {
  return path.join(await tempTree({ 'callform.state.json': text }, 'callform-state-read-'), 'callform.state.json');
}

describe('readState', () => {
  it('reads a state an editor saved with a UTF-8 BOM', async () => {
    const loaded = await readState(await stateFile('\uFEFF' + JSON.stringify(STATE)));
    expect(loaded).toEqual({ state: STATE, exists: true });
  });

  it('says where broken JSON breaks as line and column', async () => {
    const file = await stateFile('{\n  "version": 2,\n  "lineage": "x\n');
    await expect(readState(file, 'callform.state.json')).rejects.toThrow(
      /state file callform\.state\.json is not valid JSON \(.* at line 3, column 16\)/,
    );
  });
});

describe('readStateChunked (a large state in entry-aligned pieces)', () => {
  /** Parses `text` in pieces of about `block` bytes; the value must be JSON.parse's, or null (the whole-text path). */
  async function chunked(text: string, block: number): Promise<unknown> {
    const file = await stateFile(text);
    const handle = await open(file, 'r');
    try {
      return await readStateChunked(handle, (await handle.stat()).size, block);
    } finally {
      await handle.close();
    }
  }
  const entry = (i: number) => ({
    sceneID: `scene-${i % 3}`,
    taskID: `T${i}`,
    taskCreateSetting: { taskName: `Kampagne ${i} – Ü中😀`, maxCall: i, dialAtUpHour: '9,10' },
    funcFlag: { smsFuncFlag: [{ smsID: `sms-${i}`, intentID: ['a', 'b'] }] },
    appliedAt: '2026-12-06T08:00:00.000Z',
  });
  const big = {
    ...STATE,
    tasks: Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`task-${i}`, entry(i)])),
    owedResumes: { 'task-1': { since: '2026-12-06T08:00:00.000Z', phase: 'paused' } },
  };

  it('gives exactly what JSON.parse gives for callform’s layout, whatever the piece size', async () => {
    const text = JSON.stringify(big, null, 2) + '\n';
    for (const block of [64, 1000, 7777, 1 << 20]) expect(await chunked(text, block)).toEqual(JSON.parse(text));
  });

  it('keeps JSON.parse’s meaning of a repeated entry (first place, last value) and a "__proto__" entry', async () => {
    const text = JSON.stringify(big, null, 2).replace(
      '\n    "task-299": {',
      '\n    "__proto__": {"taskID": "P"},\n    "task-0": {"taskID": "again"},\n    "task-299": {',
    );
    const value = (await chunked(text, 500)) as { tasks: Record<string, { taskID: string }> };
    const want = JSON.parse(text) as typeof value;
    expect(value).toEqual(want);
    expect(Object.keys(value.tasks)).toEqual(Object.keys(want.tasks));
    expect(value.tasks['task-0'].taskID).toBe('again');
    expect(Object.getPrototypeOf(value.tasks)).toBe(Object.prototype);
    expect(Object.hasOwn(value.tasks, '__proto__')).toBe(true);
  });

  it('declines, never misreads, another layout or broken JSON (the whole text decides then)', async () => {
    const pretty = JSON.stringify(big, null, 2);
    for (const text of [
      JSON.stringify(big), // minified: no entry lines
      JSON.stringify({ ...big, tasks: {} }, null, 2), // empty: the object's own `}` is not on its line
      pretty.replace('"maxCall": 7,', '"maxCall": 7, "n": {\n  }, "m": 0,'), // valid, but a line inside an entry looks like the end
      pretty.replace('"maxCall": 7,', '"maxCall": 7,,'), // a syntax error in one piece
      pretty.replace('\n  "tasks": {', '\n  "tasks": {\n    "a": 1\n  },\n  "tasks": {'), // a second "tasks" wins
    ])
      expect(await chunked(text, 900)).toBeNull();
  });
});
