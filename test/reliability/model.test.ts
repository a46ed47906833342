/**
 * Model-based test of the reconcile loop, driven in-process (library + simulator): random
 * sequences of task-file edits (set, remove and re-add fields, whole sections, reverts)
 * and applies that hit injected faults of every kind or are "killed" at a random event
 * (a request leaving, an answer arriving, a state write). A kill is modelled faithfully:
 * from that instant nothing more reaches the disk or the server, while a request already
 * sent may still land. Each sequence ends with one clean apply; then every declared field
 * on the server must equal the files and a new plan must have nothing to do.
 * The running task is opted in to pause → update → resume, the person-paused one must
 * never be resumed: nothing callform paused may stay paused (unrecorded), ever.
 * This is the test that would have caught the v1 lost update (issue 9).
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { startSimulator, FAULT_KINDS, type FaultKind, type Simulator } from '../../src/sim/index.js';
import { NxCloudClient, NetworkError, gotTransport, type HttpPost } from '../../src/api/client.js';
import { loadTasks } from '../../src/config/load-tasks.js';
import { buildPlan, knownSettings } from '../../src/plan/plan.js';
import { readRemoteTasks } from '../../src/remote/statuses.js';
import { applyPlan } from '../../src/apply/apply.js';
import { StateWriter } from '../../src/state/writer.js';
import { emptyState } from '../../src/state/state.js';
import { isChange, planHasChanges, type CallformPlan } from '../../src/model/plan.js';
import { validateState } from '../../src/generated/validators.js';
import type { CallformState } from '../../src/generated/state.js';
import { getPath, leaves } from '../../src/model/settings.js';
import { parseJson } from '../support/json.js';
import {
  FIELD_VALUES,
  PERSON_PAUSED_TASK,
  RUNNING_TASK,
  SEED_TASKS,
  TASK_IDS,
  applyEdit,
  resolveEdit,
  declared,
  describeEdit,
  editArb,
  initialFiles,
  filesYaml,
  serverMismatches,
  type Edit,
  type Files,
  type Scope,
} from '../support/reconcile-model.js';

// 150, not 200: every kill now fires (and costs a real recovery), so 150 sequences take
// the time 200 took when 45% of the kills never fired, and fire more kills than 200 did.
const RUNS = Number(process.env.CALLFORM_MODEL_RUNS ?? 150);

/** How an apply goes: clean, with faults, or killed at an event (with or without faults). */
/** Faults from the first request on, or only once the statuses are read (so more of them hit updateTask). */
type Faults = { rate: number; kinds: FaultKind[]; seed: number; fromApply: boolean };
/**
 * A kill at an event (a request leaving, an answer or error arriving, a state write) that
 * the run is sure to reach, so every planned kill fires: during the status read
 * (duringPlan) at its request or its answer (`after` mod 2), else at event `after` mod
 * the number of events the plan's calls are sure to cause (see {@link sureEvents}).
 */
type Mode =
  { kind: 'clean' } | ({ kind: 'faults' } & Faults) | ({ kind: 'kill'; after: number; duringPlan: boolean } & Faults);

/** Fault mixes from one kind (e.g. only lost answers: badsign) to all of them. */
const faultsArb = fc.record({
  rate: fc.constantFrom(0.3, 0.6, 1),
  kinds: fc.subarray([...FAULT_KINDS], { minLength: 1 }),
  seed: fc.nat(),
  fromApply: fc.boolean(),
});
const lostAnswersArb = fc
  .nat()
  .map((seed): Mode => ({ kind: 'faults', rate: 0.5, kinds: ['badsign'], seed, fromApply: true }));
// Faults start with the apply: the status read before a kill point always succeeds.
const killArb = fc
  .tuple(fc.nat(1_000), fc.boolean(), faultsArb, fc.boolean())
  .map(([after, duringPlan, f, withFaults]): Mode => ({
    kind: 'kill',
    after,
    duringPlan,
    ...f,
    fromApply: true,
    rate: withFaults ? f.rate : 0,
  }));
const modeArb: fc.Arbitrary<Mode> = fc.oneof(
  { weight: 1, arbitrary: fc.constant<Mode>({ kind: 'clean' }) },
  { weight: 1, arbitrary: faultsArb.map((f): Mode => ({ kind: 'faults', ...f })) },
  // Lost answers only: the update lands, its answer never verifies.
  { weight: 2, arbitrary: lostAnswersArb },
  { weight: 2, arbitrary: killArb },
);

interface Real {
  sim: Simulator;
  dir: string;
  transport: HttpPost;
  /** The state file's bytes, as a killed process would have left them (null: none yet). */
  disk: string | null;
  files: Files;
  history: Files[];
  log: string[];
}

/** Short timeouts while timeout faults are injected (they hold the answer 60 ms); generous ones otherwise. */
function client(real: Real, transport: HttpPost, retries: number, timeoutMs: number): NxCloudClient {
  return new NxCloudClient({
    endpoint: real.sim.url,
    uuid: real.sim.uuid,
    secretKey: real.sim.secret,
    algorithm: 'MD5',
    timeoutMs,
    retries,
    transport,
    sleep: async () => undefined,
  });
}

/**
 * Events the apply phase of `plan` is sure to cause whatever the faults: the write of the
 * unconfirmed marks, then for each task with a call at least one request and its answer
 * (or error). Every call is attempted: the model's state writes never fail and nothing
 * stops the run.
 */
function sureEvents(plan: CallformPlan, state: CallformState): number {
  const calls = plan.tasks.filter((t) => isChange(t) && t.deferred === null && t.payload !== null);
  return (calls.some((t) => t.userTaskID in state.tasks) ? 1 : 0) + 2 * calls.length;
}

/** Kills planned and fired in the current property run (printed as a one-line summary). */
const kills = { planned: 0, fired: 0 };

/** One `apply --auto-approve`, as the CLI runs it (status read, plan, apply), under `mode`. */
async function applyOnce(real: Real, mode: Mode, retries: number, parallelism = 1): Promise<CallformPlan | null> {
  let events = 0;
  /** The event index the kill comes at (null: not known yet, or no kill). */
  let target: number | null = mode.kind === 'kill' && mode.duringPlan ? mode.after % 2 : null;
  let killed = false;
  const tick = () => {
    if (target !== null && events++ >= target) killed = true;
  };
  const fired = () => {
    if (mode.kind !== 'kill') return;
    kills.planned++;
    if (killed) kills.fired++;
    expect(killed, `the planned kill (${JSON.stringify(mode)}) never fired, after: ${real.log.join(' → ')}`).toBe(true);
  };
  const transport: HttpPost = async (url, req) => {
    tick();
    if (killed) throw new NetworkError('killed before the request left');
    let res;
    try {
      res = await real.transport(url, req);
    } finally {
      tick(); // an answer or an error arrived
    }
    if (killed as boolean) throw new NetworkError('killed before the answer was read');
    return res;
  };
  const faults =
    mode.kind === 'clean' ? { faultRate: 0 } : { faultRate: mode.rate, faultKinds: mode.kinds, faultSeed: mode.seed };
  real.sim.setFaults(mode.kind !== 'clean' && mode.fromApply ? { faultRate: 0 } : faults);
  const api = client(
    real,
    transport,
    mode.kind === 'clean' ? 3 : retries,
    mode.kind !== 'clean' && mode.kinds.includes('timeout') ? 40 : 5_000,
  );
  const tasks = await loadTasks({ baseDir: real.dir, patterns: ['tasks/*.yaml'] });
  const state: CallformState = real.disk ? parseJson<CallformState>(real.disk) : emptyState();
  let remote;
  try {
    remote = await readRemoteTasks(
      api,
      tasks.tasks.map((t) => t.userTaskID),
      1,
    );
  } catch {
    // The status read failed (faults, the kill, or a 40 ms client timeout on a loaded machine):
    // apply stops before any change. A kill planned for the apply phase never got its chance,
    // so it is not counted as planned (it is not a kill that failed to fire).
    if (mode.kind === 'kill' && !mode.duringPlan) return null;
    fired();
    return null;
  }
  const input = {
    desired: tasks.tasks,
    state,
    stateExists: real.disk !== null,
    remote,
    targets: null,
    filesDigest: tasks.filesDigest,
    toolVersion: 'model',
    now: new Date(),
  };
  const plan = buildPlan(input);
  real.sim.setFaults(faults);
  if (mode.kind === 'kill' && !mode.duringPlan) {
    const sure = sureEvents(plan, state);
    expect(sure, `a kill step planned no call, after: ${real.log.join(' → ')}`).toBeGreaterThan(0);
    events = 0;
    target = mode.after % sure;
  }
  const writer = new StateWriter('/in-memory', state, async (_path, s) => {
    const text = JSON.stringify(s); // the snapshot a real write would take
    tick();
    if (!killed) real.disk = text;
  });
  // Short pause windows: the simulator pauses at once, so a confirmation never needs long.
  await applyPlan(plan, {
    client: api,
    state: writer,
    parallelism,
    pauseTimeoutMs: 150,
    pollMs: 5,
    sleep: (ms) => new Promise((r) => setTimeout(r, Math.min(ms, 5))),
  });
  fired();
  if (real.disk) expect(validateState(JSON.parse(real.disk)), JSON.stringify(validateState.errors)).toBe(true);
  return plan;
}

/** [task, field] pairs the state marks as sent without confirmation. */
function uncertainPaths(real: Real): Array<[Scope, string]> {
  if (!real.disk) return [];
  const state = JSON.parse(real.disk) as CallformState;
  return Object.entries(state.tasks).flatMap(([id, entry]) => {
    const { since: _since, ...sent } = entry.pending ?? { since: '' };
    return leaves(sent, '').map(([p]) => [id as Scope, p] as [Scope, string]);
  });
}

/**
 * The invariant behind "never lose an update", checked after every apply (killed or not):
 * every value the state claims to know (last applied, minus the unconfirmed mark) is what
 * the server holds. A field the server may hold differently must be marked or absent.
 */
function expectStateSound(real: Real): void {
  const starts = real.sim
    .history(PERSON_PAUSED_TASK)
    .calls.filter((c) => c.endpoint === 'mgrTaskStatus' && c.taskOperate === 1);
  expect(starts, `callform resumed a task a person paused, after: ${real.log.join(' → ')}`).toEqual([]);
  if (!real.disk) return;
  const state = JSON.parse(real.disk) as CallformState;
  const running =
    real.sim.tasks.get(RUNNING_TASK)!.taskStatus === 2 && real.sim.history(RUNNING_TASK).pendingPause === null;
  expect(
    running || state.owedResumes?.[RUNNING_TASK] !== undefined,
    `${RUNNING_TASK} is paused (or about to be) and no resume is owed, after: ${real.log.join(' → ')}`,
  ).toBe(true);
  for (const [id, entry] of Object.entries(state.tasks)) {
    const t = real.sim.tasks.get(id)!;
    const wrong = serverMismatches(
      { taskCreateSetting: t.taskCreateSetting, funcFlag: t.funcFlag },
      knownSettings(entry),
    );
    expect(wrong, `state of ${id} claims values the server does not hold, after: ${real.log.join(' → ')}`).toEqual([]);
  }
}

/** Edits the files (and writes them) as a person would between two applies. */
async function edit(real: Real, e: Edit): Promise<void> {
  const concrete = resolveEdit(real.files, e, uncertainPaths(real));
  const next = applyEdit(real.files, real.history, concrete);
  real.history.push(real.files);
  real.files = next;
  await writeFile(path.join(real.dir, 'tasks', 'model.yaml'), filesYaml(real.files));
  real.log.push(describeEdit(concrete));
}

class EditCommand implements fc.AsyncCommand<object, Real> {
  constructor(readonly edit: Edit) {}
  check = () => true;
  run = (_m: object, real: Real) => edit(real, this.edit);
  toString = () => describeEdit(this.edit);
}

/** Some edits, then an apply under `mode` (an apply without edits re-runs after a failure). */
/**
 * Makes sure the apply has a call for a kill to hit: the task's own maxCall becomes a value
 * that neither the files nor the state's last-applied entry holds.
 */
async function forceChange(real: Real, task: (typeof TASK_IDS)[number]): Promise<void> {
  const state = real.disk ? (JSON.parse(real.disk) as CallformState) : null;
  const held = [
    getPath(state?.tasks[task]?.taskCreateSetting, 'maxCall'),
    getPath(real.files.tasks[task], 'taskCreateSetting.maxCall'),
  ];
  const value = FIELD_VALUES['taskCreateSetting.maxCall'].find((v) => !held.includes(v));
  await edit(real, { kind: 'set', scope: task, path: 'taskCreateSetting.maxCall', value });
}

class StepCommand implements fc.AsyncCommand<object, Real> {
  constructor(
    readonly edits: Edit[],
    readonly mode: Mode,
    readonly retries: number,
    readonly parallelism = 1,
    /** For a kill step: the task whose change the apply is sure to send (null: the edits make one). */
    readonly force: (typeof TASK_IDS)[number] | null = null,
  ) {}
  check = () => true;
  async run(_m: object, real: Real): Promise<void> {
    for (const e of this.edits) await edit(real, e);
    if (this.mode.kind === 'kill' && this.force) await forceChange(real, this.force);
    real.log.push(`apply(${JSON.stringify(this.mode)}, retries ${this.retries}, parallelism ${this.parallelism})`);
    await applyOnce(real, this.mode, this.retries, this.parallelism);
    expectStateSound(real);
  }
  toString = () =>
    `step([${this.edits.map(describeEdit).join(', ')}], ${JSON.stringify(this.mode)}, retries ${this.retries}, parallelism ${this.parallelism}${this.mode.kind === 'kill' && this.force ? `, force ${this.force}` : ''})`;
}

const stepArb = fc
  .tuple(
    fc.array(editArb, { maxLength: 3 }),
    modeArb,
    fc.nat(2),
    fc.constantFrom(1, 1, 2, 4),
    fc.constantFrom(...TASK_IDS),
  )
  .map(([edits, mode, retries, parallelism, force]) => new StepCommand(edits, mode, retries, parallelism, force));
const commandsArb = fc.commands([stepArb], { maxCommands: 10, size: '+1' });

describe('model-based: edits × faults × kills, then one clean apply', () => {
  let transport: HttpPost;
  let base: string;
  beforeAll(async () => {
    transport = await gotTransport(4);
    base = await mkdtemp(path.join(tmpdir(), 'callform-model-'));
  });
  afterAll(async () => {
    await rm(base, { recursive: true, force: true });
  });

  /** A fresh simulator and project; runs the commands, one clean apply, then checks the invariant. */
  async function runSequence(cmds: Iterable<fc.AsyncCommand<object, Real>>, label: string): Promise<void> {
    const dir = path.join(base, label);
    await mkdir(path.join(dir, 'tasks'), { recursive: true });
    const sim = await startSimulator({ seed: { tasks: structuredClone(SEED_TASKS) }, timeoutFaultMs: 60 });
    const real: Real = { sim, dir, transport, disk: null, files: initialFiles(), history: [], log: [] };
    try {
      await writeFile(path.join(dir, 'tasks', 'model.yaml'), filesYaml(real.files));
      expect(await applyOnce(real, { kind: 'clean' }, 0), 'the first apply').not.toBeNull();
      await fc.asyncModelRun(() => ({ model: {}, real }), cmds);
      const final = await applyOnce(real, { kind: 'clean' }, 0);
      expect(final, 'the clean apply could read statuses').not.toBeNull();
      for (const id of TASK_IDS) {
        const t = sim.tasks.get(id)!;
        const wrong = serverMismatches(
          { taskCreateSetting: t.taskCreateSetting, funcFlag: t.funcFlag },
          declared(real.files, id),
        );
        expect(wrong, `${id} after: ${real.log.join(' → ')}`).toEqual([]);
      }
      expect(sim.tasks.get(RUNNING_TASK)!.taskStatus, 'nothing callform paused is left paused').toBe(2);
      expect(sim.tasks.get(PERSON_PAUSED_TASK)!.taskStatus, 'a task a person paused stays paused').toBe(5);
      // The strong invariant: the state equals the files exactly, with nothing left uncertain or owed.
      const finalState = JSON.parse(real.disk!) as CallformState;
      expect(finalState.owedResumes, `no resume is owed, after: ${real.log.join(' → ')}`).toBeUndefined();
      expect(Object.keys(finalState.tasks).sort()).toEqual([...TASK_IDS].sort());
      for (const id of TASK_IDS) {
        const entry = finalState.tasks[id];
        expect(entry.pending, `${id} keeps a pending mark, after: ${real.log.join(' → ')}`).toBeUndefined();
        expect(
          { taskCreateSetting: entry.taskCreateSetting, funcFlag: entry.funcFlag },
          `state of ${id} is not the files, after: ${real.log.join(' → ')}`,
        ).toEqual(declared(real.files, id));
      }
      const again = await applyOnce(real, { kind: 'clean' }, 0);
      expect(
        again && planHasChanges(again),
        `plan after the clean apply: ${JSON.stringify(again?.tasks.filter((t) => t.action !== 'noop'))}`,
      ).toBe(false);
    } finally {
      await sim.close();
      await rm(dir, { recursive: true, force: true });
    }
  }

  it("the issue's sequence: an uncertain field survives a second lost answer and leaving management", async () => {
    const lostAnswer: Mode = {
      kind: 'kill',
      after: 2,
      duringPlan: false,
      rate: 0,
      kinds: ['badsign'],
      seed: 0,
      fromApply: false,
    }; // mark write, update request, update answer
    const set = (path: string, value: unknown): Edit => ({ kind: 'set', scope: 'model-a', path, value });
    await runSequence(
      [
        new StepCommand([set('funcFlag.phoneEncrypt', false)], { kind: 'clean' }, 0),
        new StepCommand([set('funcFlag.phoneEncrypt', true)], lostAnswer, 0),
        new StepCommand(
          [{ kind: 'remove', scope: 'model-a', path: 'funcFlag' }, set('taskCreateSetting.maxCall', 2)],
          lostAnswer,
          0,
        ),
        new EditCommand(set('funcFlag.phoneEncrypt', false)),
      ],
      'issue-sequence',
    );
  });

  it(
    `every declared field reaches the server and the next plan is empty (${RUNS} sequences)`,
    { timeout: 240_000 },
    async () => {
      let sequence = 0;
      kills.planned = 0;
      kills.fired = 0;
      const property = fc.asyncProperty(commandsArb, (cmds) => runSequence(cmds, String(sequence++)));
      const seed = process.env.CALLFORM_MODEL_SEED ? Number(process.env.CALLFORM_MODEL_SEED) : undefined;
      await fc.assert(property, { numRuns: RUNS, seed, endOnFailure: false });
      console.log(`model kills: ${kills.fired}/${kills.planned} fired`);
    },
  );
});
