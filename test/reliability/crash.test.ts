/**
 * SIGKILL crash safety: `callform apply` killed at random points (before, during and
 * after its updateTask calls) must never leave a state file that is torn, of an unknown
 * version, or that claims an update the server did not get; a re-run must converge.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { startSimulator, type Simulator } from '../../src/sim/index.js';
import {
  dropDistSnapshot,
  useDistSnapshot,
  createProject,
  describeResult,
  mismatches,
  runCli,
  seededRandom,
  simEnv,
  spawnCli,
  sleep,
  type TempProject,
} from '../support/project.js';

const TASKS = 40;
const RUNS = 50;
const CONVERGE_EVERY = 10;
const PLAN_EVERY = 10;
const SCENE = 'scene-crash-v1';
const id = (i: number) => `crash-task-${String(i).padStart(2, '0')}`;

type Settings = { taskCreateSetting: Record<string, unknown>; funcFlag: Record<string, unknown> };
const asSettings = (t: { taskCreateSetting: object; funcFlag: object }): Settings => ({
  taskCreateSetting: { ...t.taskCreateSetting },
  funcFlag: { ...t.funcFlag },
});

/** Desired files: two collections (even / odd tasks), each with its own defaults. */
interface Desired {
  defaults: Record<'even' | 'odd', Settings>;
  own: Map<string, Settings>;
}

function merged(d: Desired, i: number): Settings {
  const def = d.defaults[i % 2 === 0 ? 'even' : 'odd'];
  const own = d.own.get(id(i))!;
  return {
    taskCreateSetting: { ...def.taskCreateSetting, ...own.taskCreateSetting },
    funcFlag: { ...def.funcFlag, ...own.funcFlag },
  };
}

async function writeDesired(p: TempProject, d: Desired): Promise<void> {
  const coll = (parity: 'even' | 'odd') => ({
    defaults: d.defaults[parity],
    tasks: Array.from({ length: TASKS }, (_, i) => i)
      .filter((i) => (i % 2 === 0) === (parity === 'even'))
      .map((i) => ({ userTaskID: id(i), sceneID: SCENE, ...d.own.get(id(i))! })),
  });
  await p.writeCollections({ even: coll('even'), odd: coll('odd') });
}

describe('SIGKILL during apply', () => {
  let sim: Simulator;
  let p: TempProject;
  let env: Record<string, string | undefined>;

  beforeAll(async () => {
    await useDistSnapshot();
    sim = await startSimulator({
      latencyMs: 20,
      seed: { tasks: Array.from({ length: TASKS }, (_, i) => ({ userTaskID: id(i), sceneID: SCENE, taskStatus: 1 })) },
    });
    p = await createProject({ parallelism: 4, timeoutMs: 5000, retries: 1 }, 'callform-crash-');
    env = simEnv(sim);
  });
  afterAll(async () => {
    await (sim as Simulator | undefined)?.close(); // unset when the setup failed
    await (p as TempProject | undefined)?.cleanup();
    await dropDistSnapshot();
  });

  it('state stays valid and never ahead of the server; re-runs converge', { timeout: 240_000 }, async () => {
    const rng = seededRandom(0xc0ffee);
    const desired: Desired = {
      defaults: {
        even: {
          taskCreateSetting: {
            strategyName: 'even-r0',
            startupType: 1,
            zoneSecond: 28800,
            dialAtWeekDay: '1,2,3,4,5',
            maxRingTime: 30,
          },
          funcFlag: { taskKeep: true, wholeTTS: true },
        },
        odd: {
          taskCreateSetting: {
            strategyName: 'odd-r0',
            startupType: 1,
            zoneSecond: 25200,
            dialAtWeekDay: '1,2,3,4,5,6',
            maxRingTime: 35,
          },
          funcFlag: { taskKeep: false, roundRedial: true },
        },
      },
      own: new Map(
        Array.from({ length: TASKS }, (_, i) => [
          id(i),
          { taskCreateSetting: { taskName: `Crash task ${i} r0`, maxCall: 100 }, funcFlag: {} },
        ]),
      ),
    };
    // Every desired snapshot ever written, per task, oldest first. Values only move
    // forward (round-stamped names, growing maxCall), so a value identifies its round.
    const history = new Map<string, Settings[]>();
    const snapshot = () => {
      for (let i = 0; i < TASKS; i++) {
        const s = merged(desired, i);
        const h = history.get(id(i)) ?? [];
        if (h.length === 0 || JSON.stringify(h[h.length - 1]) !== JSON.stringify(s)) h.push(structuredClone(s));
        history.set(id(i), h);
      }
    };

    const assertConverged = async (label: string) => {
      const state = await p.state();
      expect(state, `${label}: state file`).not.toBeNull();
      expect(state.version).toBe(2);
      for (let i = 0; i < TASKS; i++) {
        const want = merged(desired, i);
        const t = sim.tasks.get(id(i))!;
        expect(
          { taskCreateSetting: t.taskCreateSetting, funcFlag: t.funcFlag },
          `${label}: simulator ${id(i)}`,
        ).toEqual(want);
        const s = state.tasks[id(i)];
        expect(s, `${label}: state entry ${id(i)}`).toBeDefined();
        expect({ taskCreateSetting: s.taskCreateSetting, funcFlag: s.funcFlag }, `${label}: state ${id(i)}`).toEqual(
          want,
        );
        expect(s.sceneID).toBe(SCENE);
        expect(s.taskID).toBe(t.taskID);
      }
      expect(Object.keys(state.tasks).sort()).toEqual(Array.from({ length: TASKS }, (_, i) => id(i)));
    };

    let lagging = 0; // recorded values the server had already moved past (allowed)
    /** The invariant after a kill: whatever the state records, the server got. */
    const assertStateNotAhead = async (label: string) => {
      const state = await p.readState(); // throws (fails the test) on a torn / invalid JSON file
      if (state === null) return;
      expect(state.version, `${label}: state version`).toBe(2);
      expect(typeof state.serial).toBe('number');
      expect(typeof state.lineage).toBe('string');
      for (const [uid, entry] of Object.entries(state.tasks)) {
        const hist = history.get(uid);
        expect(hist, `${label}: state has unknown task ${uid}`).toBeDefined();
        const recorded: Settings = asSettings(entry);
        // The state records a snapshot the files really declared at some point...
        const k = hist!.map((h) => JSON.stringify(h)).lastIndexOf(JSON.stringify(recorded));
        expect(
          k,
          `${label}: state for ${uid} matches no desired snapshot: ${JSON.stringify(recorded)}`,
        ).toBeGreaterThanOrEqual(0);
        // ...and the server holds each recorded value, unless a later update (sent by a
        // run killed before it could record it) has since replaced that value.
        const t = sim.tasks.get(uid)!;
        const server = asSettings(t);
        for (const path of mismatches(server, recorded)) {
          const [section, key] = path.split('.') as [keyof Settings, string];
          const serverValue = JSON.stringify(server[section][key]);
          const laterSent = hist!.slice(k + 1).some((h) => JSON.stringify(h[section][key]) === serverValue);
          expect(
            laterSent,
            `${label}: state claims ${uid} ${path}=${JSON.stringify(recorded[section][key])} but the server has ${serverValue}`,
          ).toBe(true);
          lagging++;
        }
      }
    };

    const apply = async (label: string) => {
      const args = ['apply', '--auto-approve', '--lock-timeout', '15000'];
      const r = await runCli(args, { cwd: p.dir, env, timeoutMs: 40_000 });
      expect(r.code, `${label}\n${describeResult(args, r)}`).toBe(0);
      return r;
    };
    const planClean = async (label: string) => {
      const args = ['plan', '--detailed-exitcode'];
      const r = await runCli(args, { cwd: p.dir, env, timeoutMs: 30_000 });
      expect(r.code, `${label}\n${describeResult(args, r)}`).toBe(0);
    };

    // Round 0: a clean first apply, which also shows when, after spawning, the
    // updateTask calls land on this machine.
    await writeDesired(p, desired);
    snapshot();
    const t0 = Date.now();
    let firstUpdateMs = -1;
    let lastUpdateMs = -1;
    const watch = setInterval(() => {
      const n = sim.stats().updates;
      if (n > 0 && firstUpdateMs < 0) firstUpdateMs = Date.now() - t0;
      if (n >= TASKS && lastUpdateMs < 0) lastUpdateMs = Date.now() - t0;
    }, 5);
    const first = await spawnCli(['apply', '--auto-approve'], { cwd: p.dir, env, timeoutMs: 40_000 }).done;
    clearInterval(watch);
    const fullRunMs = Date.now() - t0;
    expect(first.code, describeResult(['apply', '--auto-approve'], first)).toBe(0);
    await assertConverged('initial apply');
    if (firstUpdateMs < 0) firstUpdateMs = fullRunMs / 2;
    if (lastUpdateMs < 0) lastUpdateMs = fullRunMs;
    // Kill timing: half of the runs are killed 0..~1.5 s after the spawn (stretched on
    // a slow machine so that some kills still land after a run has finished on its own),
    // the other half at a random point after this run's first update landed.
    const maxDelay = Math.max(1500, Math.round(fullRunMs * 1.15));
    const updateSpanMs = Math.round((lastUpdateMs - firstUpdateMs) * 0.6) + 20;

    const outcomes = { beforeAnyUpdate: 0, duringUpdates: 0, finished: 0 };
    const codes: string[] = [];
    for (let run = 1; run <= RUNS; run++) {
      // Change some desired settings: ~half of the tasks get a new name and maxCall,
      // and every 7th round one collection's defaults move too.
      for (let i = 0; i < TASKS; i++) {
        if (rng() < 0.5)
          desired.own.get(id(i))!.taskCreateSetting = { taskName: `Crash task ${i} r${run}`, maxCall: 100 + run };
      }
      if (run % 7 === 0)
        desired.defaults[run % 2 === 0 ? 'even' : 'odd'].taskCreateSetting.strategyName =
          `${run % 2 === 0 ? 'even' : 'odd'}-r${run}`;
      await writeDesired(p, desired);
      snapshot();

      const updatesBefore = sim.stats().updates;
      const targeted = rng() < 0.5;
      const delay = Math.floor(rng() * (targeted ? updateSpanMs : maxDelay));
      const child = spawnCli(['apply', '--auto-approve'], { cwd: p.dir, env, timeoutMs: 30_000 });
      let exited = false as boolean; // set by the exit callback
      void child.done.then(() => (exited = true));
      if (targeted) while (!exited && sim.stats().updates === updatesBefore) await sleep(2);
      await sleep(delay);
      child.child.kill('SIGKILL');
      const r = await child.done;
      const landed = sim.stats().updates - updatesBefore;
      // The lock file is the holder record, so whatever the previous kill left is a lock
      // naming a dead pid, which this run broke at once: "state is locked" never happens.
      expect(r.stderr, describeResult(['apply', '--auto-approve'], r)).not.toMatch(/state is locked/);
      if (r.signal !== 'SIGKILL') {
        outcomes.finished++;
        // Finished on its own before the kill: it must have succeeded.
        expect(r.code, describeResult(['apply', '--auto-approve'], r)).toBe(0);
      } else if (landed === 0) outcomes.beforeAnyUpdate++;
      else outcomes.duringUpdates++;
      codes.push(`${run}:${targeted ? 'u+' : ''}${delay}ms:${r.signal ?? r.code}:${landed}`);

      await assertStateNotAhead(`run ${run} (killed after ${delay} ms, ${landed} updates landed)`);

      if (run % CONVERGE_EVERY === 0 || run === RUNS) {
        await apply(`re-apply after run ${run}`);
        await assertConverged(`after run ${run}`);
        if (run % PLAN_EVERY === 0 || run === RUNS) await planClean(`plan after run ${run}`);
      }
    }
    if (process.env.CALLFORM_TEST_VERBOSE)
      console.log(JSON.stringify({ lagging, fullRunMs, firstUpdateMs, lastUpdateMs, maxDelay, outcomes, codes }));
    // The kills really landed before, during and after the updates.
    expect(outcomes.beforeAnyUpdate, JSON.stringify({ outcomes, codes })).toBeGreaterThan(0);
    expect(outcomes.duringUpdates, JSON.stringify({ outcomes, codes })).toBeGreaterThan(0);
    expect(outcomes.finished, JSON.stringify({ outcomes, codes })).toBeGreaterThan(0);
    // No lock is left behind by the converging runs.
    const files = await p.allFiles();
    expect([...files.keys()].filter((f) => f.includes('.lock'))).toEqual([]);
  });
});
