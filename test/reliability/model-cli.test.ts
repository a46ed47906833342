/**
 * The model-based reconcile test through the real CLI (dist/cli.js) with real SIGKILLs:
 * random task-file edits, then `apply --auto-approve` killed at a request the simulator
 * receives (the N-th of the run, N from the seed) or hit by injected faults. After every step the state may only claim what the server holds; each
 * sequence ends with a clean apply, then the server equals the files and
 * `plan --detailed-exitcode` exits 0. Fewer sequences than the in-process model test
 * (each CLI run costs a process start), the same model and invariant.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import fc from 'fast-check';
import { startSimulator, FAULT_KINDS, type Simulator } from '../../src/sim/index.js';
import { knownSettings } from '../../src/plan/plan.js';
import { getPath, leaves } from '../../src/model/settings.js';
import type { CallformState } from '../../src/generated/state.js';
import {
  createProject,
  describeResult,
  dropDistSnapshot,
  runCli,
  simEnv,
  spawnCli,
  useDistSnapshot,
  type TempProject,
} from '../support/project.js';
import {
  FIELD_VALUES,
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
import { dropSchema, freshSchema, pgEnv, pgStateSetting, storedState } from '../support/pg-state.js';

const RUNS = Number(process.env.CALLFORM_MODEL_CLI_RUNS ?? 8);
/** The same property with the state in PostgreSQL (the suite's server): its own, smaller count. */
const PG_RUNS = Number(process.env.CALLFORM_MODEL_CLI_PG_RUNS ?? 2);
const BACKENDS = [
  { backend: 'file', runs: RUNS },
  { backend: 'postgres', runs: PG_RUNS },
] as const;

/**
 * Requests a killed apply is sure to make: the status read (one listTask page for three
 * tasks, fault-free: faults start with the second request), then at least one request
 * per task, since a kill step changes every task (see {@link forceChanges}).
 */
const SURE_REQUESTS = 1 + TASK_IDS.length;

interface Step {
  edits: Edit[];
  /** SIGKILL the apply when the simulator receives its request number 1 + killAt mod SURE_REQUESTS (null: let it finish). */
  killAt: number | null;
  faultRate: number;
  faultSeed: number;
}

const stepArb: fc.Arbitrary<Step> = fc.record({
  edits: fc.array(editArb, { minLength: 1, maxLength: 3 }),
  killAt: fc.option(fc.nat(1_000), { freq: 3, nil: null }),
  faultRate: fc.constantFrom(0, 0, 0.3),
  faultSeed: fc.nat(),
});

const killRequest = (s: Step) => (s.killAt === null ? null : 1 + (s.killAt % SURE_REQUESTS));
const describeStep = (s: Step) =>
  `[${s.edits.map(describeEdit).join(', ')}] apply${s.killAt === null ? '' : ` SIGKILL@request ${killRequest(s)}`}${s.faultRate ? ` faults ${s.faultRate}` : ''}`;

/** Kills planned and fired over the property run (printed as a one-line summary). */
const kills = { planned: 0, fired: 0 };

/** Every task's own maxCall becomes a value neither the files nor the state's last-applied entry holds. */
function forceChanges(files: Files, state: CallformState | null): Edit[] {
  return TASK_IDS.map((id) => {
    const held = [
      getPath(state?.tasks[id]?.taskCreateSetting, 'maxCall'),
      getPath(files.tasks[id], 'taskCreateSetting.maxCall'),
    ];
    const value = FIELD_VALUES['taskCreateSetting.maxCall'].find((v) => !held.includes(v));
    return { kind: 'set', scope: id, path: 'taskCreateSetting.maxCall', value };
  });
}

describe.each(BACKENDS)(
  'model-based through the CLI ($backend state): edits × SIGKILL × faults, then one clean apply',
  ({ backend, runs }) => {
    const schema = freshSchema('model');
    let sequence = 0;
    beforeAll(async () => {
      await useDistSnapshot();
    });
    afterAll(async () => {
      await dropDistSnapshot();
      if (backend === 'postgres') await dropSchema(schema);
    });

    it(
      `converges and never claims what the server does not hold (${runs} sequences)`,
      { timeout: 240_000 },
      async () => {
        const property = fc.asyncProperty(fc.array(stepArb, { minLength: 2, maxLength: 4 }), async (steps) => {
          const name = `seq-${++sequence}`;
          const store = backend === 'postgres' ? { state: pgStateSetting(schema, name) } : {};
          const sim: Simulator = await startSimulator({
            seed: { tasks: structuredClone(SEED_TASKS) },
            latencyMs: 15,
            timeoutFaultMs: 300,
          });
          // A short pause window: the simulator pauses at once, and the apply after a kill
          // between the owed-resume write and the pause waits out the window of that pause.
          // A short request timeout, so the simulator's timeout faults (held 300 ms) are timeouts.
          const faultSettings = {
            ...store,
            tasks: 'tasks/*.yaml',
            timeoutMs: 250,
            retries: 1,
            parallelism: 2,
            pauseTimeoutMs: 1_500,
          };
          // The first and the clean apply inject no faults: a slow answer on a busy machine is not one.
          const cleanSettings = { ...faultSettings, timeoutMs: 10_000, retries: 3 };
          const p: TempProject = await createProject(cleanSettings, 'callform-model-cli-');
          const env = { ...simEnv(sim), ...(backend === 'postgres' ? pgEnv() : {}) };
          const readState = () => (backend === 'postgres' ? storedState(schema, name) : p.readState());
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
            const state = await readState();
            return Object.entries(state?.tasks ?? {}).flatMap(([id, e]) =>
              leaves({ ...e.pending, since: undefined }, '')
                .filter(([k]) => k !== 'since')
                .map(([k]) => [id as Scope, k] as [Scope, string]),
            );
          };
          const expectStateSound = async () => {
            const state = await readState();
            for (const [id, entry] of Object.entries(state?.tasks ?? {})) {
              const t = sim.tasks.get(id)!;
              expect(
                serverMismatches(
                  { taskCreateSetting: t.taskCreateSetting, funcFlag: t.funcFlag },
                  knownSettings(entry),
                ),
                `state of ${id} after ${log.join(' → ')}`,
              ).toEqual([]);
            }
          };
          try {
            await writeFiles();
            await apply('first apply');
            await p.writeSettings(faultSettings);
            for (const step of steps) {
              for (const e of step.edits) {
                const concrete = resolveEdit(files, e, await uncertain());
                history.push(files);
                files = applyEdit(files, history, concrete);
              }
              if (step.killAt !== null) {
                for (const e of forceChanges(files, await readState())) {
                  history.push(files);
                  files = applyEdit(files, history, e);
                }
              }
              await writeFiles();
              log.push(describeStep(step));
              // Faults start with the second request: the status read before them is clean.
              const faults = { faultRate: step.faultRate, faultKinds: [...FAULT_KINDS], faultSeed: step.faultSeed };
              sim.setFaults({ faultRate: 0 });
              const killAt = killRequest(step);
              let requests = 0;
              // Called as each request arrives, before the simulator handles it: the kill lands at
              // that exact request (it still lands on the server, as one already sent would).
              sim.onRequest = () => {
                requests++;
                if (requests === 2) sim.setFaults(faults); // before the second request is handled: the first is clean
                if (requests === killAt) child.child.kill('SIGKILL');
              };
              const child = spawnCli(['apply', '--auto-approve', '--lock-timeout', '15000'], {
                cwd: p.dir,
                env,
                timeoutMs: 60_000,
              });
              const r = await child.done;
              sim.onRequest = undefined;
              if (killAt !== null) {
                kills.planned++;
                if (r.signal === 'SIGKILL') kills.fired++;
                expect(
                  r.signal,
                  `the kill at request ${killAt} never fired (${requests} requests), after ${log.join(' → ')}\n${describeResult(['apply'], r)}`,
                ).toBe('SIGKILL');
              }
              await expectStateSound();
            }
            sim.setFaults({ faultRate: 0 });
            await p.writeSettings(cleanSettings);
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
        kills.planned = 0;
        kills.fired = 0;
        await fc.assert(property, { numRuns: runs, seed, endOnFailure: true });
        console.log(`model-cli kills (${backend}): ${kills.fired}/${kills.planned} fired`);
      },
    );
  },
);
