// A saved plan is written atomically (a temp file renamed over the target), so the target
// must be a new path or a regular file: renaming over a device or a named pipe replaced it
// (found by a hostile tryout: `plan --out /dev/full` left a regular file in /dev).
import { execFileSync } from 'node:child_process';
import { mkdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { InvalidArgumentError } from 'commander';
import { describe, expect, it } from 'vitest';
import { writeSavedPlan } from '../../src/plan/saved-plan.js';
import { planOutFile } from '../../src/cli/options.js';
import type { CallformPlan } from '../../src/model/plan.js';
import { tempDir } from '../support/temp.js';

const plan = { format_version: '2.1', tasks: [] } as unknown as CallformPlan;

describe('writeSavedPlan: the target', () => {
  it('refuses a named pipe and leaves it a pipe', async () => {
    const dir = await tempDir('callform-plan-target-');
    const fifo = path.join(dir, 'ff');
    execFileSync('mkfifo', [fifo]);
    await expect(writeSavedPlan(fifo, plan)).rejects.toThrow(/it is a named pipe, and saving would replace it/);
    expect((await stat(fifo)).isFIFO()).toBe(true);
  });

  it('refuses a directory with words, not a raw EISDIR', async () => {
    const dir = await tempDir('callform-plan-target-');
    await mkdir(path.join(dir, 'tasks'));
    await expect(writeSavedPlan(path.join(dir, 'tasks'), plan)).rejects.toThrow(/it is a directory/);
  });

  it('refuses a symbolic link to a named pipe (the write would follow it)', async () => {
    // Never a real device here: without the fix, the test itself would replace it.
    const dir = await tempDir('callform-plan-target-');
    const fifo = path.join(dir, 'ff');
    execFileSync('mkfifo', [fifo]);
    await symlink(fifo, path.join(dir, 'link.cfplan'));
    await expect(writeSavedPlan(path.join(dir, 'link.cfplan'), plan)).rejects.toThrow(/it is a named pipe/);
    expect((await stat(fifo)).isFIFO()).toBe(true);
  });

  it('writes a new path and replaces an existing plan file', async () => {
    const dir = await tempDir('callform-plan-target-');
    const file = path.join(dir, 'x.cfplan');
    await writeSavedPlan(file, plan);
    await writeFile(file, 'old');
    await writeSavedPlan(file, plan);
    expect(JSON.parse(await readFile(file, 'utf8'))).toMatchObject({ kind: 'callform-saved-plan' });
  });
});

describe('plan --out: the value', () => {
  it('refuses an empty name and "-" (a saved plan is always a file)', () => {
    for (const v of ['', '  ', '-']) expect(() => planOutFile(v)).toThrow(InvalidArgumentError);
    expect(() => planOutFile('-')).toThrow(/"-" is not a file to save the plan to/);
    expect(planOutFile('plan.cfplan')).toBe('plan.cfplan');
  });
});
