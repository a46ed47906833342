/**
 * Hostile-input corpus: every case under test/fixtures/bad must make the CLI exit 1
 * with a located, human message, no stack trace, the state file untouched and no lock
 * left behind.
 */
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { describe, it, expect, beforeAll } from 'vitest';
import { existsSync } from 'node:fs';
import { CLI, listCases, lockLeftovers, materialise, readExpect, runCase, STACK_TRACE } from '../support/cli-case.js';

const cases = await listCases();

describe('bad-input corpus (test/fixtures/bad)', () => {
  beforeAll(() => {
    if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first`);
  });

  it('has at least 45 cases', () => {
    expect(cases.length).toBeGreaterThanOrEqual(45);
  });

  it.concurrent.each(cases)('%s', async (name) => {
    const spec = await readExpect(name);
    const dir = await materialise(name, spec);
    try {
      const statePath = path.join(dir, 'callform.state.json');
      const stateBefore = existsSync(statePath) ? await readFile(statePath) : null;
      const locksBefore = await lockLeftovers(dir); // only a case that sets up a foreign lock has any

      const r = await runCase(spec.args, dir, spec.env);
      const context = `args: ${JSON.stringify(spec.args)}\n--- stderr ---\n${r.stderr}\n--- stdout ---\n${r.stdout}`;

      expect(r.signal, context).toBeNull();
      expect(r.code, context).toBe(spec.exitCode ?? 1);
      for (const fragment of spec.stderr) expect(r.stderr, context).toContain(fragment);
      for (const out of [r.stderr, r.stdout]) {
        expect(out, context).not.toMatch(STACK_TRACE);
        expect(out, context).not.toContain('node:internal');
        expect(out, context).not.toContain('unexpected failure');
      }

      if (stateBefore === null) expect(existsSync(statePath), 'no state file may be created').toBe(false);
      else expect((await readFile(statePath)).equals(stateBefore), 'state file must be byte-identical').toBe(true);
      expect(await lockLeftovers(dir), 'no lock left behind (and a foreign one kept)').toEqual(locksBefore);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
