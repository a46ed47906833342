/**
 * apply's confirmation prompt on a real terminal (a pseudo-terminal, test/support/pty.ts):
 * "yes" applies; any other answer, Ctrl-C, Ctrl-D or a SIGINT at the prompt cancels with
 * "Apply cancelled.", sends nothing and releases the lock (exit 1, or 130 for Ctrl-C and
 * SIGINT). And on a terminal the per-task lines stay on screen once the progress line is cleared.
 */
import { describe, it, expect, afterEach } from 'vitest';
import { startSimulator, type Simulator } from '../../src/sim/index.js';
import { createProject, describeResult, simEnv, type TempProject } from '../support/project.js';
import { lockLeftovers } from '../support/cli-case.js';
import { spawnCliInPty, terminalLines } from '../support/pty.js';

const PROMPT = 'Only "yes" is accepted: ';
const IDS = ['pr-a', 'pr-b', 'pr-c'];

let sim: Simulator | undefined;
let project: TempProject | undefined;

async function setup(): Promise<{ sim: Simulator; p: TempProject; env: Record<string, string | undefined> }> {
  sim = await startSimulator({ seed: { tasks: IDS.map((id) => ({ userTaskID: id, sceneID: 's', taskStatus: 1 })) } });
  project = await createProject({ parallelism: 2, timeoutMs: 5000, retries: 1 }, 'callform-prompt-');
  await project.writeCollections({
    all: { tasks: IDS.map((id) => ({ userTaskID: id, sceneID: 's', taskCreateSetting: { maxCall: 7 } })) },
  });
  // CI unset: the terminal gets the live progress line.
  return { sim, p: project, env: simEnv(sim, { CI: undefined }) };
}

afterEach(async () => {
  await sim?.close();
  await project?.cleanup();
  sim = undefined;
  project = undefined;
});

describe('the confirmation prompt on a terminal', () => {
  it('"yes" applies every change; the task lines stay on screen after the progress line is cleared', async () => {
    const { sim, p, env } = await setup();
    const cli = spawnCliInPty(['apply'], { cwd: p.dir, env });
    await cli.waitFor(PROMPT);
    cli.type('yes\r');
    const r = await cli.done;
    expect(r.code, describeResult(['apply'], r)).toBe(0);
    expect(sim.stats().updates).toBe(3);
    const screen = terminalLines(r.stdout);
    for (const id of IDS) expect(screen, r.stdout).toContainEqual(expect.stringMatching(`^\\[\\d/3\\] ${id} applied$`));
    expect(screen.at(-1)).toMatch(/^Apply complete: 3 applied/);
    expect(
      screen.some((l) => l.includes('failed so far')),
      'the progress line is cleared',
    ).toBe(false);
    expect(await lockLeftovers(p.dir)).toEqual([]);
  });

  for (const [what, keys, code] of [
    ['any answer but "yes"', 'no\r', 1],
    ['Ctrl-C', '\x03', 130],
    ['Ctrl-D (end of input)', '\x04', 1],
  ] as const) {
    it(`${what} cancels: "Apply cancelled.", nothing sent, lock released, exit ${code}`, async () => {
      const { sim, p, env } = await setup();
      const cli = spawnCliInPty(['apply'], { cwd: p.dir, env });
      await cli.waitFor(PROMPT);
      cli.type(keys);
      const r = await cli.done;
      expect(r.code, describeResult(['apply'], r)).toBe(code);
      expect(r.stdout).toContain('Apply cancelled.');
      expect(r.stdout).not.toMatch(/unexpected failure|Aborted with Ctrl\+C|at .*\.js:\d+/);
      expect(sim.stats().updates).toBe(0);
      expect(await p.readState()).toBeNull();
      expect(await lockLeftovers(p.dir)).toEqual([]);
    });
  }

  it('a SIGINT delivered at the prompt ends it: cancelled, exit 130, not left waiting for input', async () => {
    const { sim, p, env } = await setup();
    const cli = spawnCliInPty(['apply'], { cwd: p.dir, env });
    await cli.waitFor(PROMPT);
    cli.signal('SIGINT');
    const r = await cli.done; // nothing is typed: the prompt must end by itself
    expect(r.code, describeResult(['apply'], r)).toBe(130);
    expect(r.stdout).toContain('Apply cancelled.');
    expect(r.stdout).not.toContain('finishing the calls in flight');
    expect(sim.stats().updates).toBe(0);
    expect(await lockLeftovers(p.dir)).toEqual([]);
  });
});
