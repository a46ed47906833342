/**
 * Guaranteed resume under kills and faults. Running tasks opted in to pause → update →
 * resume are changed every round; `apply` is SIGKILLed at random points (or hit by 30%
 * injected faults on every endpoint). After every run: a task callform paused is running
 * again or recorded as owed in the state. After the next complete apply: every such task
 * runs again, no task a person paused was ever resumed, and every update landed.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { startSimulator, FAULT_KINDS, type Simulator } from '../../src/sim/index.js';
import {
  createProject,
  describeResult,
  dropDistSnapshot,
  runCli,
  seededRandom,
  simEnv,
  sleep,
  spawnCli,
  useDistSnapshot,
  type TempProject,
} from '../support/project.js';

const RUNNING = Array.from({ length: 6 }, (_, i) => `live-run-${i}`);
const PERSON = ['live-person-0', 'live-person-1'];
const ALL = [...RUNNING, ...PERSON];
const KILLS = 50;

function seed() {
  return { tasks: ALL.map((id) => ({ userTaskID: id, sceneID: 's', taskStatus: PERSON.includes(id) ? 5 : 2 })) };
}

async function writeRound(p: TempProject, round: number) {
  await p.write('tasks/live.yaml', {
    defaults: { lifecycle: { whenRunning: 'pause' } },
    tasks: ALL.map((id) => ({ userTaskID: id, sceneID: 's', taskCreateSetting: { maxCall: 100 + round } })),
  });
}

/** No start was ever sent for a task a person paused (callform never resumes what it did not pause). */
function expectPersonTasksNeverResumed(sim: Simulator, label: string) {
  for (const id of PERSON) {
    const starts = sim.history(id).calls.filter((c) => c.endpoint === 'mgrTaskStatus' && c.taskOperate === 1);
    expect(starts, `${label}: ${id} was resumed`).toEqual([]);
    expect(sim.tasks.get(id)!.taskStatus, `${label}: ${id}`).toBe(5);
  }
}

/** After any run, even a killed one: a task of ours that is (or may become) paused is recorded as owed. */
async function expectPausedOnesOwed(sim: Simulator, p: TempProject, label: string) {
  const owed = (await p.readState())?.owedResumes ?? {};
  for (const id of RUNNING) {
    const h = sim.history(id);
    const paused = sim.tasks.get(id)!.taskStatus === 5 || h.pendingPause !== null;
    if (paused) expect(owed[id], `${label}: ${id} is paused (or about to be) and not recorded as owed`).toBeDefined();
  }
}

/** After a complete apply: ours run again with the round's settings, nothing is owed. */
async function expectConverged(sim: Simulator, p: TempProject, round: number, label: string) {
  for (const id of RUNNING)
    expect(sim.tasks.get(id), `${label}: ${id}`).toMatchObject({
      taskStatus: 2,
      taskCreateSetting: { maxCall: 100 + round },
    });
  for (const id of PERSON) expect(sim.tasks.get(id)!.taskCreateSetting.maxCall, `${label}: ${id}`).toBe(100 + round);
  expect((await p.readState())?.owedResumes, label).toBeUndefined();
  expectPersonTasksNeverResumed(sim, label);
}

describe('guaranteed resume', () => {
  beforeAll(async () => {
    await useDistSnapshot();
  });
  afterAll(async () => {
    await dropDistSnapshot();
  });

  it(`SIGKILL at random points of ${KILLS} pause → update → resume applies`, { timeout: 240_000 }, async () => {
    const seedValue = Number(process.env.CALLFORM_LIVE_SEED ?? 0x11fe);
    const rng = seededRandom(seedValue);
    const sim = await startSimulator({ seed: seed(), latencyMs: 8, pauseDelayMs: 30 });
    const p = await createProject(
      { parallelism: 3, timeoutMs: 3000, retries: 1, pauseTimeoutMs: 600 },
      'callform-live-kill-',
    );
    const env = simEnv(sim);
    const apply = async (label: string) => {
      const args = ['apply', '--auto-approve'];
      const r = await runCli(args, { cwd: p.dir, env, timeoutMs: 60_000 });
      expect(r.code, `${label} (seed ${seedValue})\n${describeResult(args, r)}`).toBe(0);
    };
    const outcomes = { killedInWindow: 0, killedOutside: 0, finished: 0 };
    const inWindow = () =>
      RUNNING.some((id) => sim.tasks.get(id)!.taskStatus === 5 || sim.history(id).pendingPause !== null);
    try {
      await writeRound(p, 0);
      const t0 = Date.now();
      await apply('first apply');
      // Kill delays scale with this machine's speed: up to a little past a whole run.
      const maxDelay = Math.max(900, Math.round((Date.now() - t0) * 1.2));
      await expectConverged(sim, p, 0, 'first apply');
      for (let round = 1; round <= KILLS; round++) {
        await writeRound(p, round);
        const child = spawnCli(['apply', '--auto-approve'], { cwd: p.dir, env, timeoutMs: 60_000 });
        let exited = false as boolean; // set by the exit callback
        void child.done.then(() => (exited = true));
        // Half of the kills aim at a pause window (shortly after one opens), half land anywhere.
        if (rng() < 0.5) {
          while (!exited && !inWindow()) await sleep(2);
          await sleep(Math.floor(rng() * 150));
        } else {
          await sleep(Math.floor(rng() * maxDelay));
        }
        const windowOpen = inWindow();
        child.child.kill('SIGKILL');
        const r = await child.done;
        if (r.signal !== 'SIGKILL') outcomes.finished++;
        else if (windowOpen) outcomes.killedInWindow++;
        else outcomes.killedOutside++;
        const label = `round ${round} (seed ${seedValue})`;
        await expectPausedOnesOwed(sim, p, label);
        expectPersonTasksNeverResumed(sim, label);
        if (round % 3 === 0 || round === KILLS) {
          await apply(`${label}: the next apply`);
          await expectConverged(sim, p, round, `${label}: after the next apply`);
        }
      }
      // The kills really landed inside pause windows, outside them, and after the end.
      expect(outcomes.killedInWindow, JSON.stringify(outcomes)).toBeGreaterThan(0);
      expect(outcomes.killedOutside + outcomes.finished, JSON.stringify(outcomes)).toBeGreaterThan(0);
    } finally {
      await sim.close();
      await p.cleanup();
    }
  });

  it(
    '30% faults on every endpoint: never a task left paused unrecorded, never a person-paused task resumed, then convergence',
    { timeout: 120_000 },
    async () => {
      const sim = await startSimulator({
        seed: seed(),
        latencyMs: 2,
        pauseDelayMs: 20,
        faultRate: 0.3,
        faultKinds: [...FAULT_KINDS],
        faultSeed: 7,
        timeoutFaultMs: 400,
      });
      const p = await createProject(
        { parallelism: 3, timeoutMs: 300, retries: 2, pauseTimeoutMs: 2000 },
        'callform-live-faults-',
      );
      const env = simEnv(sim);
      try {
        for (let round = 0; round < 8; round++) {
          await writeRound(p, round);
          const r = await runCli(['apply', '--auto-approve'], { cwd: p.dir, env, timeoutMs: 60_000 });
          expect([0, 1], describeResult(['apply'], r)).toContain(r.code); // faults may fail tasks, never crash
          await expectPausedOnesOwed(sim, p, `faulty round ${round}`);
          expectPersonTasksNeverResumed(sim, `faulty round ${round}`);
        }
        sim.setFaults({ faultRate: 0 });
        const r = await runCli(['apply', '--auto-approve'], { cwd: p.dir, env, timeoutMs: 60_000 });
        expect(r.code, describeResult(['apply'], r)).toBe(0);
        await expectConverged(sim, p, 7, 'after faults');
        // The rounds really met every kind of fault (the counters start at 0 for each kind).
        const faults = sim.stats().faults;
        for (const kind of FAULT_KINDS) expect(faults[kind], `${kind} faults injected`).toBeGreaterThan(0);
      } finally {
        await sim.close();
        await p.cleanup();
      }
    },
  );
});
