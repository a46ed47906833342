/**
 * Output contracts of the built CLI: a reader of stdout that goes away (`| head`) stops
 * apply like SIGINT (calls in flight finish, state saved, lock released, exit 141) and ends
 * read-only commands quietly (exit 141), never with a stack trace; `apply --format json`
 * reports every task's outcome whatever the run's status; an interrupted or failed apply
 * says so in its last line, and lists skipped tasks once; FORCE_COLOR=0/false turn colours off.
 */
import { describe, it, expect, afterEach } from 'vitest';
import { spawn } from 'node:child_process';
import { startSimulator, type Simulator } from '../../src/sim/index.js';
import {
  cliEnv,
  cliPath,
  createProject,
  describeResult,
  mismatches,
  runCli,
  simEnv,
  spawnCli,
  waitFor,
  type CliResult,
  type TempProject,
} from '../support/project.js';
import { lockLeftovers } from '../support/cli-case.js';

const EXIT_OUTPUT_CLOSED = 141;
/** What Node prints for an unhandled error: an 'error' event, a stack frame, the EPIPE itself. */
const CRASH = /Unhandled 'error' event|^\s+at .+:\d+:\d+\)?$|EPIPE|unexpected failure/m;

/** The part of `apply --format json` these tests read. */
interface ApplyReport {
  status: string;
  counts: Record<string, number>;
  results: Array<{ userTaskID: string; outcome: string; message?: string }>;
}

let sim: Simulator | undefined;
let project: TempProject | undefined;

afterEach(async () => {
  await sim?.close();
  await project?.cleanup();
  sim = undefined;
  project = undefined;
});

type Spec = {
  userTaskID: string;
  sceneID: string;
  taskCreateSetting: { taskName: string; maxCall: number };
  lifecycle?: { whenMissing: 'error' };
};
/** A task missing on the server fails (is not created): the tests below use it as a failing task. */
const failWhenMissing = (tasks: Spec[]): Spec[] => tasks.map((t) => ({ ...t, lifecycle: { whenMissing: 'error' } }));

function specs(count: number, prefix = 'out'): Spec[] {
  return Array.from({ length: count }, (_, i) => ({
    userTaskID: `${prefix}-${String(i).padStart(3, '0')}`,
    sceneID: 's',
    taskCreateSetting: { taskName: `${prefix} ${i}`, maxCall: 3 + (i % 20) },
  }));
}

async function setup(
  tasks: Spec[],
  options: { latencyMs?: number; seed?: Array<{ userTaskID: string; sceneID: string; taskStatus: number }> } = {},
) {
  sim = await startSimulator({
    latencyMs: options.latencyMs ?? 0,
    seed: { tasks: options.seed ?? tasks.map((t) => ({ userTaskID: t.userTaskID, sceneID: 's', taskStatus: 1 })) },
  });
  project = await createProject({ parallelism: 1, timeoutMs: 10_000, retries: 1 }, 'callform-out-');
  await project.writeCollections({ all: { tasks } });
  return { sim, p: project, env: simEnv(sim) };
}

/**
 * Runs the CLI with its stdout (or stderr) read by a reader that goes away: after the first
 * chunk (`| head`-like), or at once, before anything is written (`| head -0`). `stdout` and
 * `stderr` of the result hold what the other stream carried in full, and the first chunk.
 */
function runWithClosingReader(
  args: string[],
  options: {
    cwd: string;
    env?: Record<string, string | undefined>;
    closeAt: 'first-chunk' | 'start';
    stream?: 'stdout' | 'stderr';
  },
): Promise<CliResult & { firstChunk: string }> {
  const child = spawn(process.execPath, [cliPath(), ...args], {
    cwd: options.cwd,
    env: cliEnv(options.env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const closing = options.stream === 'stderr' ? child.stderr : child.stdout;
  const other = options.stream === 'stderr' ? child.stdout : child.stderr;
  let firstChunk = '';
  let full = '';
  if (options.closeAt === 'start') closing.destroy();
  else
    closing.once('data', (d: Buffer) => {
      firstChunk = d.toString('utf8');
      closing.destroy();
    });
  other.setEncoding('utf8').on('data', (d: string) => (full += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const [stdout, stderr] = options.stream === 'stderr' ? [full, firstChunk] : [firstChunk, full];
      resolve({ code, signal, stdout, stderr, timedOut: false, firstChunk });
    });
  });
}

describe('a reader of stdout or stderr that goes away', () => {
  it('apply stops as on SIGINT: no new calls, the call in flight recorded, lock released, exit 141, no stack trace', async () => {
    const tasks = specs(8);
    const { sim, p, env } = await setup(tasks, { latencyMs: 300 });
    const args = ['apply', '--auto-approve', '-p', '1'];
    const r = await runWithClosingReader(args, { cwd: p.dir, env, closeAt: 'first-chunk' });
    const where = describeResult(args, r);
    expect(r.firstChunk, where).toContain('callform will perform these actions');
    expect(r.code, where).toBe(EXIT_OUTPUT_CLOSED);
    expect(r.stderr, where).not.toMatch(CRASH);
    expect(r.stderr, where).toContain('stdout closed (its reader went away): finishing the calls in flight');
    expect(await lockLeftovers(p.dir)).toEqual([]);

    const state = (await p.readState()) as { tasks?: Record<string, unknown> } | null;
    const landed = sim.stats().updates;
    expect(landed, where).toBeGreaterThan(0);
    expect(landed, where).toBeLessThan(tasks.length); // stopped: not every task was sent
    // The state is true to the server: a task is recorded exactly when its update landed.
    for (const t of tasks) {
      const onServer = mismatches(sim.tasks.get(t.userTaskID)?.taskCreateSetting, t.taskCreateSetting).length === 0;
      expect(state?.tasks?.[t.userTaskID] !== undefined, `${where}\n${t.userTaskID}`).toBe(onServer);
    }
    expect(Object.keys(state?.tasks ?? {})).toHaveLength(landed);

    // The next apply sends the rest.
    const again = await runCli(['apply', '--auto-approve'], { cwd: p.dir, env });
    expect(again.code, describeResult(['apply'], again)).toBe(0);
    expect(again.stdout).toContain(`${tasks.length - landed} applied`);
  });

  it('a closed stderr stops apply --format json before its first call: cancelled, nothing sent, the report on stdout, exit 141', async () => {
    const tasks = specs(3);
    const { sim, p, env } = await setup(tasks);
    const args = ['apply', '--auto-approve', '--format', 'json'];
    const r = await runWithClosingReader(args, { cwd: p.dir, env, closeAt: 'start', stream: 'stderr' });
    const where = describeResult(args, r);
    expect(r.code, where).toBe(EXIT_OUTPUT_CLOSED);
    const report = JSON.parse(r.stdout) as ApplyReport & { exit_code: number };
    expect(report.status, where).toBe('cancelled');
    expect(report.exit_code).toBe(EXIT_OUTPUT_CLOSED);
    expect(report.results.map((x) => x.outcome)).toEqual(['skipped', 'skipped', 'skipped']);
    expect(sim.stats().updates).toBe(0);
    expect(await p.readState()).toBeNull();
    expect(await lockLeftovers(p.dir)).toEqual([]);
  });

  describe('read-only commands exit quietly with 141', () => {
    // Big enough that the JSON outlasts the pipe's buffer and the first chunk read (`| head`).
    const many = specs(400, 'big');

    it.each([
      [['plan', '--offline', '--format', 'json'], 'first-chunk'],
      [['show', 'saved.cfplan', '--format', 'json'], 'first-chunk'],
      [['plan', '--offline', '--format', 'markdown'], 'start'],
      [['show', 'saved.cfplan'], 'start'],
    ] as const)('%j, the reader closing at its %s', async (args, closeAt) => {
      project = await createProject({}, 'callform-out-');
      await project.writeCollections({ all: { tasks: many } });
      const saved = await runCli(['plan', '--offline', '--out', 'saved.cfplan'], { cwd: project.dir });
      expect(saved.code, describeResult(['plan', '--out'], saved)).toBe(0);
      const r = await runWithClosingReader([...args], { cwd: project.dir, closeAt });
      expect(r.code, describeResult([...args], r)).toBe(EXIT_OUTPUT_CLOSED);
      expect(r.stderr, describeResult([...args], r)).not.toMatch(CRASH);
    });

    it('validate | head -0', async () => {
      project = await createProject({}, 'callform-out-');
      await project.writeCollections({ all: { tasks: specs(2) } });
      const r = await runWithClosingReader(['validate'], { cwd: project.dir, closeAt: 'start' });
      expect(r.code, describeResult(['validate'], r)).toBe(EXIT_OUTPUT_CLOSED);
      expect(r.stderr).toBe('');
    });
  });
});

describe('apply --format json reports every task, whatever the status', () => {
  it('nothing applicable (only blocked and missing tasks): each task with its outcome and reason; exit 1', async () => {
    const tasks = failWhenMissing(specs(3, 'na'));
    const { p, env } = await setup(tasks, {
      seed: [
        { userTaskID: 'na-000', sceneID: 's', taskStatus: 2 }, // running, not opted in: blocked
        { userTaskID: 'na-001', sceneID: 's', taskStatus: 3 }, // finished: blocked
        // na-002 is not on the server: error
      ],
    });
    const args = ['apply', '--auto-approve', '--format', 'json'];
    const r = await runCli(args, { cwd: p.dir, env });
    expect(r.code, describeResult(args, r)).toBe(1);
    const report = JSON.parse(r.stdout) as ApplyReport;
    expect(report).toMatchObject({ status: 'nothing-applicable', exit_code: 1, update_calls: 0 });
    expect(report.counts).toMatchObject({ blocked: 2, failed: 1, applied: 0 });
    expect(report.results.map((x) => [x.userTaskID, x.outcome])).toEqual([
      ['na-000', 'blocked'],
      ['na-001', 'blocked'],
      ['na-002', 'failed'],
    ]);
    for (const x of report.results) expect(x.message, JSON.stringify(x)).toMatch(/\S/);
    expect(await lockLeftovers(p.dir)).toEqual([]);
  });

  it('nothing applicable, blocked only: exit 3; no changes: every task unchanged, exit 0', async () => {
    const tasks = specs(2, 'nb');
    const { sim, p, env } = await setup(tasks);
    const args = ['apply', '--auto-approve', '--format', 'json'];
    expect((await runCli(['apply', '--auto-approve', '--target', 'nb-001'], { cwd: p.dir, env })).code).toBe(0);
    sim.setStatus('nb-000', 2);
    const blocked = await runCli(args, { cwd: p.dir, env });
    expect(blocked.code, describeResult(args, blocked)).toBe(3);
    const report = JSON.parse(blocked.stdout) as ApplyReport;
    expect(report).toMatchObject({
      status: 'nothing-applicable',
      exit_code: 3,
      results: [
        { userTaskID: 'nb-000', outcome: 'blocked' },
        { userTaskID: 'nb-001', outcome: 'unchanged' },
      ],
    });
    expect(report.results[0]?.message).toMatch(/running/);
    sim.setStatus('nb-000', 1);
    expect((await runCli(['apply', '--auto-approve'], { cwd: p.dir, env })).code).toBe(0);
    const none = await runCli(args, { cwd: p.dir, env });
    expect(none.code, describeResult(args, none)).toBe(0);
    expect(JSON.parse(none.stdout) as ApplyReport).toMatchObject({
      status: 'no-changes',
      exit_code: 0,
      results: [
        { userTaskID: 'nb-000', outcome: 'unchanged' },
        { userTaskID: 'nb-001', outcome: 'unchanged' },
      ],
    });
  });
});

describe("apply's last line says how it ended", () => {
  it('a task failed: "Apply failed", exit 1', async () => {
    const tasks = failWhenMissing(specs(2, 'af'));
    const { p, env } = await setup(tasks, { seed: [{ userTaskID: 'af-000', sceneID: 's', taskStatus: 1 }] });
    const r = await runCli(['apply', '--auto-approve'], { cwd: p.dir, env });
    expect(r.code, describeResult(['apply'], r)).toBe(1);
    const last = r.stdout.trimEnd().split('\n').at(-1);
    expect(last).toMatch(/^Apply failed: 1 applied, 0 blocked, 1 failed/);
    expect(r.stdout).not.toContain('Apply complete');
  });

  it('SIGINT: "Apply interrupted", each skipped task listed once, exit 130', async () => {
    const tasks = specs(10, 'ai');
    const { sim, p, env } = await setup(tasks, { latencyMs: 200 });
    const args = ['apply', '--auto-approve', '-p', '1'];
    const run = spawnCli(args, { cwd: p.dir, env });
    await waitFor(() => sim.stats().updates >= 1, { timeoutMs: 20_000, what: 'the first update to land' });
    run.child.kill('SIGINT');
    const r = await run.done;
    const where = describeResult(args, r);
    expect(r.code, where).toBe(130);
    expect(r.stdout.trimEnd().split('\n').at(-1), where).toMatch(/^Apply interrupted: \d+ applied, .*skipped/);
    expect(r.stdout, where).not.toContain('Apply complete');
    const skipped = [...r.stdout.matchAll(/^- (\S+) skipped: not attempted: apply was interrupted$/gm)].map(
      (m) => m[1],
    );
    expect(skipped.length, where).toBeGreaterThan(0);
    for (const id of skipped)
      expect(
        r.stdout.split('\n').filter((l) => l.includes(`${id} skipped`)),
        where,
      ).toHaveLength(1);
  });
});

describe('colours', () => {
  // A plan with changes has coloured task headings when colours are on.
  const ESC = '\x1b[';
  it.each([
    ['0', false],
    ['false', false],
    ['1', true],
    ['', true],
  ])('FORCE_COLOR=%j → colours %s', async (value, on) => {
    project = await createProject({}, 'callform-out-');
    await project.writeCollections({ all: { tasks: specs(1) } });
    const r = await runCli(['plan', '--offline'], {
      cwd: project.dir,
      env: { NO_COLOR: undefined, FORCE_COLOR: value },
    });
    expect(r.code, describeResult(['plan'], r)).toBe(0);
    expect(r.stdout.includes(ESC)).toBe(on);
  });
});
