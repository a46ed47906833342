/**
 * The state lock: a concurrent apply is refused with the holder named; a lock left by a
 * dead process does not block the next run; force-unlock needs the right lock ID; and
 * SIGINT / SIGTERM stop an apply cleanly (exit 130 / 143, state true to the server).
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, utimes } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { startSimulator, type Simulator } from '../../src/sim/index.js';
import {
  createProject,
  describeResult,
  distDir,
  dropDistSnapshot,
  mismatches,
  runCli,
  simEnv,
  spawnCli,
  useDistSnapshot,
  waitFor,
  type TempProject,
} from '../support/project.js';

const SCENE = 'scene-lock';
type Settings = { taskCreateSetting: Record<string, unknown>; funcFlag: Record<string, unknown> };

function specs(prefix: string, count: number) {
  return Array.from({ length: count }, (_, i) => ({
    userTaskID: `${prefix}-${String(i).padStart(2, '0')}`,
    sceneID: SCENE,
    taskCreateSetting: { taskName: `${prefix} ${i}`, maxCall: 3 + i, startupType: 1 },
    funcFlag: { taskKeep: true },
  }));
}

async function setup(prefix: string, count: number, latencyMs: number, parallelism: number): Promise<{ sim: Simulator; p: TempProject; tasks: ReturnType<typeof specs>; env: Record<string, string | undefined> }> {
  const tasks = specs(prefix, count);
  const sim = await startSimulator({ latencyMs, seed: { tasks: tasks.map((t) => ({ userTaskID: t.userTaskID, sceneID: SCENE, taskStatus: 1 })) } });
  const p = await createProject({ parallelism, timeoutMs: 10_000, retries: 1 }, `callform-${prefix}-`);
  await p.writeCollections({ all: { tasks } });
  return { sim, p, tasks, env: simEnv(sim) };
}

const settingsOf = (t: { taskCreateSetting: object; funcFlag: object }): Settings => ({ taskCreateSetting: { ...t.taskCreateSetting }, funcFlag: { ...t.funcFlag } });

/** Takes the state lock with the library function in a child process, then SIGKILLs it. */
async function leaveDeadLock(statePath: string): Promise<{ pid: number; info: any }> {
  const lockModule = pathToFileURL(path.join(distDir(), 'state', 'lock.js')).href;
  const script = `
    const { acquireStateLock } = await import(${JSON.stringify(lockModule)});
    const lock = await acquireStateLock(${JSON.stringify(statePath)}, { operation: 'apply', timeoutMs: 0 });
    process.stdout.write('locked ' + lock.info.id + '\\n');
    setInterval(() => {}, 1000);
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
  try {
    await waitFor(() => out.includes('locked '), { timeoutMs: 15_000, what: `the lock holder child (stderr: ${err})` });
  } catch (e) {
    child.kill('SIGKILL');
    throw e;
  }
  child.kill('SIGKILL');
  await exited;
  const info = JSON.parse(await readFile(`${statePath}.lock.info`, 'utf8'));
  expect(info.id).toBe(/locked (\S+)/.exec(out)![1]);
  return { pid: child.pid!, info };
}

beforeAll(async () => {
  await useDistSnapshot();
});
afterAll(async () => {
  await dropDistSnapshot();
});

describe('state lock', () => {
  it('(a) a second apply during a running one exits 1 and names the holder', { timeout: 60_000 }, async () => {
    const { sim, p, env } = await setup('lka', 6, 300, 1);
    try {
      const first = spawnCli(['apply', '--auto-approve'], { cwd: p.dir, env });
      // The lock info appears once the first run holds the lock.
      const info = await waitFor(async () => (existsSync(p.lockInfoPath) ? JSON.parse(await readFile(p.lockInfoPath, 'utf8')) : null), { timeoutMs: 15_000, what: 'the first apply to take the lock' });
      expect(info.pid).toBe(first.pid);

      const args = ['apply', '--auto-approve', '--lock-timeout', '200'];
      const second = await runCli(args, { cwd: p.dir, env });
      const where = describeResult(args, second);
      expect(second.code, where).toBe(1);
      expect(second.stderr, where).toMatch(/state is locked/);
      expect(second.stderr, where).toContain(`pid ${first.pid}`);
      expect(second.stderr, where).toContain(`on ${hostname()}`);
      expect(second.stderr, where).toContain(`since ${info.since}`);
      expect(second.stderr, where).toMatch(/since \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d/);
      expect(second.stderr, where).toContain(`lock ID ${info.id}`);
      expect(second.stderr, where).toContain(`force-unlock ${info.id}`);
      expect(sim.stats().updates).toBeLessThan(6); // the first run is still going: the check was made while locked

      const r = await first.done;
      expect(r.code, describeResult(['apply', '--auto-approve'], r)).toBe(0);
      expect(existsSync(p.lockDir)).toBe(false);
      expect(existsSync(p.lockInfoPath)).toBe(false);
    } finally {
      await sim.close();
      await p.cleanup();
    }
  });

  it('(b) a lock left by a process killed with SIGKILL does not block the next apply', { timeout: 60_000 }, async () => {
    const { sim, p, tasks, env } = await setup('lkb', 3, 0, 2);
    try {
      const { pid, info } = await leaveDeadLock(p.statePath);
      expect(info.pid).toBe(pid);
      expect(info.host).toBe(hostname());
      expect(existsSync(p.lockDir)).toBe(true);

      const args = ['apply', '--auto-approve'];
      const r = await runCli(args, { cwd: p.dir, env });
      expect(r.code, describeResult(args, r)).toBe(0);
      expect(r.stdout).toMatch(/3 applied/);
      const state = await p.readState();
      for (const t of tasks) expect(settingsOf(state.tasks[t.userTaskID])).toEqual(settingsOf(t));
      expect(existsSync(p.lockDir)).toBe(false);
      expect(existsSync(p.lockInfoPath)).toBe(false);
    } finally {
      await sim.close();
      await p.cleanup();
    }
  });

  it('(c) force-unlock refuses a wrong ID and removes the lock with the right one', { timeout: 60_000 }, async () => {
    const p = await createProject({}, 'callform-lkc-');
    try {
      await p.writeCollections({ all: { tasks: specs('lkc', 1) } });
      // Nothing locked yet.
      const none = await runCli(['force-unlock', 'whatever'], { cwd: p.dir });
      expect(none.code, describeResult(['force-unlock', 'whatever'], none)).toBe(1);
      expect(none.stderr).toMatch(/not locked/);

      const { info } = await leaveDeadLock(p.statePath);
      const wrongArgs = ['force-unlock', '00000000-0000-4000-8000-000000000000'];
      const wrong = await runCli(wrongArgs, { cwd: p.dir });
      expect(wrong.code, describeResult(wrongArgs, wrong)).toBe(1);
      expect(wrong.stderr).toMatch(/does not match/);
      expect(wrong.stderr).toContain(info.id); // names the current holder so the user can retry
      expect(existsSync(p.lockDir)).toBe(true);
      expect(existsSync(p.lockInfoPath)).toBe(true);

      const rightArgs = ['force-unlock', info.id];
      const right = await runCli(rightArgs, { cwd: p.dir });
      expect(right.code, describeResult(rightArgs, right)).toBe(0);
      expect(right.stdout).toContain(`Removed lock ${info.id}`);
      expect(existsSync(p.lockDir)).toBe(false);
      expect(existsSync(p.lockInfoPath)).toBe(false);
    } finally {
      await p.cleanup();
    }
  });

  it('(e) a lock with no holder record (killed between taking the lock and writing .lock.info) is explained and expires', { timeout: 60_000 }, async () => {
    const { sim, p, env } = await setup('lke', 2, 0, 2);
    try {
      // What a SIGKILL between proper-lockfile's mkdir and the .lock.info write leaves behind.
      await mkdir(p.lockDir);
      const args = ['apply', '--auto-approve'];
      const blocked = await runCli(args, { cwd: p.dir, env });
      expect(blocked.code, describeResult(args, blocked)).toBe(1);
      expect(blocked.stderr).toMatch(/state is locked: an unknown process/);
      expect(blocked.stderr).toMatch(/no holder record/);
      expect(blocked.stderr).not.toMatch(/force-unlock <ID>/); // there is no ID to pass
      const fu = await runCli(['force-unlock', 'anything'], { cwd: p.dir });
      expect(fu.code, describeResult(['force-unlock', 'anything'], fu)).toBe(1);
      expect(fu.stderr).toMatch(/no holder record/);
      expect(sim.stats().updates).toBe(0);

      // Once stale (no refresh for 10 s; aged here instead of waiting) the next apply takes it over.
      const past = new Date(Date.now() - 11_000);
      await utimes(p.lockDir, past, past);
      const r = await runCli(args, { cwd: p.dir, env });
      expect(r.code, describeResult(args, r)).toBe(0);
      expect(r.stdout).toMatch(/2 applied/);
      expect(existsSync(p.lockDir)).toBe(false);
    } finally {
      await sim.close();
      await p.cleanup();
    }
  });

  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    it(`(d) ${signal} during apply: exit ${code}, calls in flight finish, state valid and true to the server`, { timeout: 60_000 }, async () => {
      const { sim, p, tasks, env } = await setup(`lk${signal === 'SIGINT' ? 'i' : 't'}`, 10, 300, 2);
      try {
        const args = ['apply', '--auto-approve'];
        const run = spawnCli(args, { cwd: p.dir, env });
        // Interrupt once the first updates have landed, well before the last.
        await waitFor(() => sim.stats().updates >= 2, { timeoutMs: 20_000, what: 'the first updates to land' });
        run.child.kill(signal);
        const r = await run.done;
        const where = describeResult(args, r);
        expect(r.code, where).toBe(code);
        expect(r.stderr, where).toContain(`${signal}: finishing the calls in flight`);
        expect(r.stdout, where).toMatch(/skipped: not attempted: apply was interrupted/);

        const state = await p.readState(); // valid JSON
        expect(state, where).not.toBeNull();
        expect(state.version).toBe(1);
        const recorded = Object.keys(state.tasks);
        expect(recorded.length, where).toBeGreaterThan(0);
        expect(recorded.length, where).toBeLessThan(tasks.length);
        // Consistent with the simulator: a task is recorded exactly when its update landed.
        for (const t of tasks) {
          const simTask = sim.tasks.get(t.userTaskID)!;
          const onServer = mismatches({ taskCreateSetting: simTask.taskCreateSetting, funcFlag: simTask.funcFlag }, settingsOf(t)).length === 0;
          const inState = state.tasks[t.userTaskID] !== undefined;
          expect(inState, `${where}\n${t.userTaskID}: in state ${inState}, on server ${onServer}`).toBe(onServer);
          if (inState) expect(settingsOf(state.tasks[t.userTaskID])).toEqual(settingsOf(t));
        }
        expect(sim.stats().updates).toBe(recorded.length);
        expect(existsSync(p.lockDir)).toBe(false);
        expect(existsSync(p.lockInfoPath)).toBe(false);

        // The next apply finishes the rest.
        sim.setFaults({ latencyMs: 0 });
        const again = await runCli(args, { cwd: p.dir, env });
        expect(again.code, describeResult(args, again)).toBe(0);
        expect(again.stdout).toContain(`${tasks.length - recorded.length} applied`);
      } finally {
        await sim.close();
        await p.cleanup();
      }
    });
  }
});
