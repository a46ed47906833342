/**
 * Fault injection: HTTP 500/503, connection resets, timeouts, busy retCodes and bad
 * response signatures, with few retries. Repeated applies must converge without ever
 * losing a landed setting, every failure must be reported with its reason, and a
 * response that does not verify must never be recorded in the state.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { startSimulator, FAULT_KINDS, type Simulator } from '../../src/sim/index.js';
import {
  createProject,
  describeResult,
  dropDistSnapshot,
  mismatches,
  runCli,
  simEnv,
  useDistSnapshot,
  type CliResult,
  type TempProject,
} from '../support/project.js';

type Settings = { taskCreateSetting: Record<string, unknown>; funcFlag: Record<string, unknown> };
const asSettings = (t: { taskCreateSetting: object; funcFlag: object }): Settings => ({
  taskCreateSetting: { ...t.taskCreateSetting },
  funcFlag: { ...t.funcFlag },
});

const DEFAULTS: Settings = {
  taskCreateSetting: {
    strategyName: 'faults-default',
    startupType: 1,
    zoneSecond: 28800,
    dialAtWeekDay: '1,2,3,4,5',
    maxRingTime: 30,
    routeID: 'route-faults',
  },
  funcFlag: { taskKeep: true, wholeTTS: false },
};

function taskSpecs(prefix: string, count: number, scene: string) {
  return Array.from({ length: count }, (_, i) => {
    const userTaskID = `${prefix}-${String(i).padStart(3, '0')}`;
    const own: Settings = {
      taskCreateSetting: { taskName: `${prefix} task ${i}`, maxCall: 1 + (i % 40) },
      funcFlag: i % 3 === 0 ? { roundRedial: true } : {},
    };
    const merged: Settings = {
      taskCreateSetting: { ...DEFAULTS.taskCreateSetting, ...own.taskCreateSetting },
      funcFlag: { ...DEFAULTS.funcFlag, ...own.funcFlag },
    };
    return { userTaskID, sceneID: scene, own, merged };
  });
}

async function writeTasks(p: TempProject, specs: ReturnType<typeof taskSpecs>, perFile = 50): Promise<void> {
  const files: Record<string, { defaults: Settings; tasks: Array<Record<string, unknown>> }> = {};
  for (let i = 0; i < specs.length; i += perFile) {
    files[`batch-${i / perFile}`] = {
      defaults: DEFAULTS,
      tasks: specs.slice(i, i + perFile).map((s) => ({ userTaskID: s.userTaskID, sceneID: s.sceneID, ...s.own })),
    };
  }
  await p.writeCollections(files);
}

const simSettings = (sim: Simulator, id: string): Settings => {
  const t = sim.tasks.get(id)!;
  return asSettings(t);
};

/** `x <id> failed: <reason>` lines of the apply summary. */
function failedLines(stdout: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of stdout.matchAll(/^x (\S+) failed: (.*)$/gm)) out.set(m[1], m[2]);
  return out;
}

beforeAll(async () => {
  await useDistSnapshot();
});
afterAll(async () => {
  await dropDistSnapshot();
});

describe('fault injection', () => {
  let sim: Simulator;
  let p: TempProject;
  const SCENE = 'scene-faults';
  const specs = taskSpecs('flt', 200, SCENE);

  beforeAll(async () => {
    sim = await startSimulator({
      seed: { tasks: specs.map((s) => ({ userTaskID: s.userTaskID, sceneID: SCENE, taskStatus: 1 })) },
      faultRate: 0.3,
      faultKinds: [...FAULT_KINDS],
      faultSeed: 4242,
      timeoutFaultMs: 300,
    });
    p = await createProject({ parallelism: 8, timeoutMs: 500, retries: 2 }, 'callform-faults-');
    await writeTasks(p, specs);
  });
  afterAll(async () => {
    await (sim as Simulator | undefined)?.close(); // unset when the setup failed
    await (p as TempProject | undefined)?.cleanup();
  });

  it(
    'repeated applies converge; nothing landed is ever lost; every failure is reported with a reason',
    { timeout: 120_000 },
    async () => {
      const env = simEnv(sim);
      const args = ['apply', '--auto-approve'];
      const landed = new Set<string>(); // tasks whose simulator settings reached the desired values
      const runs: CliResult[] = [];
      let converged = false as boolean; // set inside the loop
      let failuresReported = 0;
      const reasons = new Set<string>();
      for (let run = 1; run <= 15 && !converged; run++) {
        const r = await runCli(args, { cwd: p.dir, env, timeoutMs: 60_000 });
        runs.push(r);
        const where = `run ${run}\n${describeResult(args, r)}`;
        expect(r.signal, where).toBeNull();
        expect([0, 1], where).toContain(r.code);

        // The state file is always valid and never claims what the simulator does not hold.
        const state = await p.readState();
        if (state) {
          expect(state.version).toBe(2);
          for (const [id, entry] of Object.entries(state.tasks)) {
            expect(
              mismatches(simSettings(sim, id), {
                taskCreateSetting: entry.taskCreateSetting,
                funcFlag: entry.funcFlag,
              }),
              `${where}\nstate vs simulator for ${id}`,
            ).toEqual([]);
          }
        }
        // Nothing that landed is lost by a later run (a partial or faulty one included).
        for (const s of specs) {
          const ok = mismatches(simSettings(sim, s.userTaskID), s.merged).length === 0;
          if (landed.has(s.userTaskID)) expect(ok, `${where}\n${s.userTaskID} lost its settings`).toBe(true);
          if (ok) landed.add(s.userTaskID);
        }

        if (r.code === 0) {
          converged = true;
          expect(r.stdout).toMatch(/Apply complete: \d+ applied, 0 blocked, 0 failed/);
          break;
        }
        const summary = /Apply (?:complete|failed): (\d+) applied, (\d+) blocked, (\d+) failed/.exec(r.stdout);
        if (!summary) {
          // The plan itself could not be made (listTask failed after its retries): a clear error, no changes.
          expect(r.stderr, where).toMatch(/^Error: listTask: /m);
          continue;
        }
        // Every failed task is printed once in the summary, with a reason.
        const failed = failedLines(r.stdout);
        expect(failed.size, where).toBe(Number(summary[3]));
        expect(failed.size, where).toBeGreaterThan(0);
        for (const [id, reason] of failed) {
          expect(reason.trim().length, `${where}\nno reason for ${id}`).toBeGreaterThan(0);
          expect(reason, where).toMatch(/^updateTask: /);
          expect(
            state?.tasks[id] &&
              mismatches(
                state.tasks[id].taskCreateSetting,
                specs.find((s) => s.userTaskID === id)!.merged.taskCreateSetting,
              ).length === 0,
            `${where}\nfailed task ${id} recorded as applied`,
          ).toBeFalsy();
          reasons.add(reason.replace(/"[0-9a-f]{32}"/g, '"…"'));
          failuresReported++;
        }
        // ...and every task that did not land (not recorded in the state) is among them.
        for (const s of specs) {
          const recorded = state?.tasks[s.userTaskID];
          const done = recorded && mismatches(recorded, s.merged).length === 0;
          if (!done)
            expect(failed.has(s.userTaskID), `${where}\n${s.userTaskID} neither applied nor reported as failed`).toBe(
              true,
            );
        }
      }
      expect(
        converged,
        `did not converge in 15 runs:\n${runs.map((r, i) => `run ${i + 1}: ${r.code}\n${r.stderr.slice(0, 500)}`).join('\n')}`,
      ).toBe(true);
      // The faults really happened, of every kind, and some surfaced as reported task failures.
      const faults = sim.stats().faults;
      for (const k of FAULT_KINDS) expect(faults[k], `fault ${k} injected`).toBeGreaterThan(0);
      expect(failuresReported).toBeGreaterThan(0);
      expect([...reasons].join('\n')).toMatch(/signature/);

      // Final: simulator == desired files == state.
      const state = await p.state();
      for (const s of specs) {
        expect(simSettings(sim, s.userTaskID), s.userTaskID).toEqual(s.merged);
        expect({
          taskCreateSetting: state.tasks[s.userTaskID].taskCreateSetting,
          funcFlag: state.tasks[s.userTaskID].funcFlag,
        }).toEqual(s.merged);
      }
      expect(Object.keys(state.tasks)).toHaveLength(specs.length);

      sim.setFaults({ faultRate: 0 });
      const plan = await runCli(['plan', '--detailed-exitcode'], { cwd: p.dir, env, timeoutMs: 30_000 });
      expect(plan.code, describeResult(['plan', '--detailed-exitcode'], plan)).toBe(0);
      expect(plan.stdout).toMatch(/No changes\. 200 tasks match the state\./);
    },
  );
});

describe('bad response signatures', () => {
  it('are reported as a signature failure and the task is not recorded in the state', { timeout: 60_000 }, async () => {
    const SCENE = 'scene-badsign';
    const specs = taskSpecs('bsg', 4, SCENE);
    const victim = specs[1].userTaskID;
    const sim = await startSimulator({
      seed: { tasks: specs.map((s) => ({ userTaskID: s.userTaskID, sceneID: SCENE, taskStatus: 1 })) },
    });
    const p = await createProject({ parallelism: 2, timeoutMs: 5000, retries: 2 }, 'callform-badsign-');
    try {
      await writeTasks(p, specs);
      // Only the victim's updateTask answers carry a corrupted signature (decided per request).
      sim.onRequest = (endpoint, body) => {
        const hit = endpoint === 'updateTask' && (body as { userTaskID?: string } | null)?.userTaskID === victim;
        sim.setFaults({ faultRate: hit ? 1 : 0, faultKinds: ['badsign'] });
      };
      const env = simEnv(sim);
      const args = ['apply', '--auto-approve'];
      const r = await runCli(args, { cwd: p.dir, env });
      const where = describeResult(args, r);
      expect(r.code, where).toBe(1);
      expect(sim.stats().faults.badsign, where).toBeGreaterThan(0);
      const failed = failedLines(r.stdout);
      expect([...failed.keys()], where).toEqual([victim]);
      expect(failed.get(victim), where).toMatch(/signature/i);
      expect(r.stdout, where).toMatch(/3 applied, 0 blocked, 1 failed/);
      // A response that does not verify is not trusted: not recorded, and not retried blindly.
      const state = await p.state();
      expect(state.tasks[victim], where).toBeUndefined();
      for (const s of specs)
        if (s.userTaskID !== victim)
          expect({
            taskCreateSetting: state.tasks[s.userTaskID].taskCreateSetting,
            funcFlag: state.tasks[s.userTaskID].funcFlag,
          }).toEqual(s.merged);

      // Once the answers verify again, the next apply re-sends the victim and records it.
      sim.onRequest = undefined;
      sim.setFaults({ faultRate: 0 });
      const again = await runCli(args, { cwd: p.dir, env });
      expect(again.code, describeResult(args, again)).toBe(0);
      expect(again.stdout).toMatch(/1 applied, 0 blocked, 0 failed, 3 unchanged/);
      const after = await p.state();
      expect({
        taskCreateSetting: after.tasks[victim].taskCreateSetting,
        funcFlag: after.tasks[victim].funcFlag,
      }).toEqual(specs[1].merged);
      expect(simSettings(sim, victim)).toEqual(specs[1].merged);

      // A badsign on the read (listTask) fails the whole run before any change, naming the signature.
      sim.setFaults({ faultRate: 1, faultKinds: ['badsign'] });
      const plan = await runCli(['plan'], { cwd: p.dir, env });
      expect(plan.code, describeResult(['plan'], plan)).toBe(1);
      expect(plan.stderr).toMatch(/signature/i);
    } finally {
      await sim.close();
      await p.cleanup();
    }
  });
});
