import { describe, it, expect } from 'vitest';
import path from 'node:path';
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
