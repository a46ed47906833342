/**
 * The model-based reconcile test through the real CLI (dist/cli.js) with real SIGKILLs:
 * random task-file edits, then `apply --auto-approve` killed at a random moment or hit by
 * injected faults. After every step the state may only claim what the server holds; each
 * sequence ends with a clean apply, then the server equals the files and
 * `plan --detailed-exitcode` exits 0. Fewer sequences than the in-process model test
 * (each CLI run costs a process start), the same model and invariant.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import fc from 'fast-check';
import { startSimulator, FAULT_KINDS, type Simulator } from '../../src/sim/index.js';
import { knownSettings } from '../../src/plan/plan.js';
import { leaves } from '../../src/model/settings.js';
import type { CallformState } from '../../src/generated/state.js';
import {
  createProject,
  describeResult,
  dropDistSnapshot,
  runCli,
  simEnv,
  sleep,
  spawnCli,
  useDistSnapshot,
  type TempProject,
} from '../support/project.js';
import {
  SEED_TASKS,
  TASK_IDS,
  applyEdit,
  declared,
  describeEdit,
  editArb,
  filesYaml,
  initialFiles,
  resolveEdit,
  serverMismatches,
  type Edit,
  type Files,
  type Scope,
} from '../support/reconcile-model.js';

const RUNS = Number(process.env.CALLFORM_MODEL_CLI_RUNS ?? 8);

interface Step {
  edits: Edit[];
  /** ms after the spawn to SIGKILL the apply, or null to let it finish. */
  killAfterMs: number | null;
  faultRate: number;
  faultSeed: number;
}

const stepArb: fc.Arbitrary<Step> = fc.record({
  edits: fc.array(editArb, { minLength: 1, maxLength: 3 }),
  killAfterMs: fc.option(fc.integer({ min: 0, max: 600 }), { freq: 3, nil: null }),
  faultRate: fc.constantFrom(0, 0, 0.3),
  faultSeed: fc.nat(),
});

const describeStep = (s: Step) =>
  `[${s.edits.map(describeEdit).join(', ')}] apply${s.killAfterMs === null ? '' : ` SIGKILL@${s.killAfterMs}ms`}${s.faultRate ? ` faults ${s.faultRate}` : ''}`;

describe('model-based through the CLI: edits × SIGKILL × faults, then one clean apply', () => {
  beforeAll(async () => {
    await useDistSnapshot();
  });
  afterAll(async () => {
    await dropDistSnapshot();
  });

  it(`converges and never claims what the server does not hold (${RUNS} sequences)`, { timeout: 240_000 }, async () => {
    const property = fc.asyncProperty(fc.array(stepArb, { minLength: 2, maxLength: 4 }), async (steps) => {
      const sim: Simulator = await startSimulator({
        seed: { tasks: structuredClone(SEED_TASKS) },
        latencyMs: 15,
        timeoutFaultMs: 300,
      });
      const p: TempProject = await createProject(
        { tasks: 'tasks/*.yaml', timeoutMs: 250, retries: 1, parallelism: 2 },
        'callform-model-cli-',
      );
      const env = simEnv(sim);
      let files: Files = initialFiles();
      const history: Files[] = [];
      const log: string[] = [];
      const writeFiles = () => p.write('tasks/model.yaml', filesYaml(files));
      const apply = async (label: string) => {
        const args = ['apply', '--auto-approve', '--lock-timeout', '15000'];
        const r = await runCli(args, { cwd: p.dir, env, timeoutMs: 60_000 });
        expect(r.code, `${label} after ${log.join(' → ')}\n${describeResult(args, r)}`).toBe(0);
      };
      const uncertain = async (): Promise<Array<[Scope, string]>> => {
        const state = (await p.readState()) as CallformState | null;
        return Object.entries(state?.tasks ?? {}).flatMap(([id, e]) =>
          leaves({ ...e.pending, since: undefined }, '')
            .filter(([k]) => k !== 'since')
            .map(([k]) => [id as Scope, k] as [Scope, string]),
        );
      };
      const expectStateSound = async () => {
        const state = (await p.readState()) as CallformState | null;
        for (const [id, entry] of Object.entries(state?.tasks ?? {})) {
          const t = sim.tasks.get(id)!;
          expect(
            serverMismatches({ taskCreateSetting: t.taskCreateSetting, funcFlag: t.funcFlag }, knownSettings(entry)),
            `state of ${id} after ${log.join(' → ')}`,
          ).toEqual([]);
        }
      };
      try {
        await writeFiles();
        await apply('first apply');
        for (const step of steps) {
          for (const e of step.edits) {
            const concrete = resolveEdit(files, e, await uncertain());
            history.push(files);
            files = applyEdit(files, history, concrete);
          }
          await writeFiles();
          log.push(describeStep(step));
          sim.setFaults({ faultRate: step.faultRate, faultKinds: [...FAULT_KINDS], faultSeed: step.faultSeed });
          const child = spawnCli(['apply', '--auto-approve', '--lock-timeout', '15000'], {
            cwd: p.dir,
            env,
            timeoutMs: 60_000,
          });
          if (step.killAfterMs !== null) {
            await sleep(step.killAfterMs);
            child.child.kill('SIGKILL');
          }
          await child.done;
          await expectStateSound();
        }
        sim.setFaults({ faultRate: 0 });
        await apply('clean apply');
        for (const id of TASK_IDS) {
          const t = sim.tasks.get(id)!;
          expect(
            serverMismatches({ taskCreateSetting: t.taskCreateSetting, funcFlag: t.funcFlag }, declared(files, id)),
            `${id} after ${log.join(' → ')}`,
          ).toEqual([]);
        }
        const args = ['plan', '--detailed-exitcode'];
        const plan = await runCli(args, { cwd: p.dir, env, timeoutMs: 60_000 });
        expect(plan.code, `plan after ${log.join(' → ')}\n${describeResult(args, plan)}`).toBe(0);
      } finally {
        await sim.close();
        await p.cleanup();
      }
    });
    const seed = process.env.CALLFORM_MODEL_SEED ? Number(process.env.CALLFORM_MODEL_SEED) : undefined;
    await fc.assert(property, { numRuns: RUNS, seed, endOnFailure: true });
  });
});
