/**
 * Model-based test of task creation, in-process (library + simulator): random sequences
 * that add tasks to the files and remove them again, with applies that are clean, hit
 * injected faults (createTask included) or are "killed" at a random event (a request
 * leaving, an answer arriving, a state write: between createTask and updateTask too). A
 * kill is modelled as in model.test.ts: from that instant nothing more reaches the disk or
 * the server, while a request already sent may still land. Each sequence ends with one
 * clean apply; then the server holds every declared task exactly once (createTask
 * succeeded once per task, whatever was retried) with the files' values, the state has no
 * mark left, and a new plan has nothing to do (plan --detailed-exitcode would exit 0).
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { startSimulator, FAULT_KINDS, type FaultKind, type Simulator } from '../../src/sim/index.js';
import { NxCloudClient, NetworkError, gotTransport, type HttpPost } from '../../src/api/client.js';
import { loadTasks } from '../../src/config/load-tasks.js';
import { buildPlan, knownSettings } from '../../src/plan/plan.js';
import { readRemoteTasks } from '../../src/remote/statuses.js';
import { applyPlan } from '../../src/apply/apply.js';
import { StateWriter } from '../../src/state/writer.js';
import { emptyState } from '../../src/state/state.js';
import { isChange, isCreate, planHasChanges, type CallformPlan } from '../../src/model/plan.js';
import { validateState } from '../../src/generated/validators.js';
import type { CallformState } from '../../src/generated/state.js';
import { parseJson } from '../support/json.js';
import { serverMismatches } from '../support/reconcile-model.js';

const RUNS = Number(process.env.CALLFORM_MODEL_CREATE_RUNS ?? 40);
const EXISTING = 'existing-1';
const POOL = ['new-1', 'new-2', 'new-3', 'new-4'] as const;
type NewId = (typeof POOL)[number];
const SCENE = 'scene-m';

interface DeclaredTask {
  maxCall: number;
  taskKeep: boolean;
  taskName?: string;
}
/** The files: the one seeded task, and the new ones currently declared. */
type Files = Partial<Record<NewId, DeclaredTask>>;

type Mode =
  | { kind: 'clean' }
  | { kind: 'faults'; rate: number; kinds: FaultKind[]; seed: number }
  | { kind: 'kill'; after: number; rate: number; kinds: FaultKind[]; seed: number };

interface Real {
  sim: Simulator;
  dir: string;
  transport: HttpPost;
  disk: string | null;
  files: Files;
  log: string[];
}

/** Counts over the whole property run (printed once, for the report). */
const counts = {
  sequences: 0,
  applies: 0,
  creates: 0,
  killsPlanned: 0,
  killsFired: 0,
  killsMidCreate: 0,
  createFaults: 0,
  faults: 0,
};

function declared(t: DeclaredTask) {
  return {
    taskCreateSetting: { maxCall: t.maxCall, ...(t.taskName ? { taskName: t.taskName } : {}) },
    funcFlag: { taskKeep: t.taskKeep },
  };
}

async function writeFiles(real: Real): Promise<void> {
  const tasks = [
    { userTaskID: EXISTING, sceneID: SCENE, taskCreateSetting: { maxCall: 2 } },
    ...POOL.flatMap((id) => {
      const t = real.files[id];
      return t ? [{ userTaskID: id, sceneID: SCENE, ...declared(t) }] : [];
    }),
  ];
  await writeFile(path.join(real.dir, 'tasks', 'model.yaml'), stringify({ tasks }));
}

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

/** A createTask attempt that did not come back as a verified-looking success (fault, duplicate, kill). */
const failedCreate = (url: string, res: { statusCode: number; body: string } | null) =>
  url.endsWith('/createTask') && (res === null || res.statusCode !== 200 || !res.body.includes('"retCode":0'));

/**
 * Events the apply of `plan` is sure to cause, whatever the faults: the write of the
 * unconfirmed marks (when an update has a state entry), the write of the creating marks,
 * and an answer (or error) for each createTask and each update call.
 */
function sureEvents(plan: CallformPlan, state: CallformState): number {
  const creates = plan.tasks.filter((t) => isCreate(t) && t.deferred === null);
  const updates = plan.tasks.filter((t) => isChange(t) && t.deferred === null && t.payload !== null);
  const marked = updates.some((t) => t.userTaskID in state.tasks) ? 1 : 0;
  return marked + (creates.length > 0 ? 1 : 0) + creates.length + updates.length;
}

/** One apply as the CLI runs it (status read, plan, apply), under `mode`. */
async function applyOnce(real: Real, mode: Mode, retries: number, parallelism: number): Promise<CallformPlan | null> {
  counts.applies++;
  let events = 0;
  let killed = false;
  /** Set once the plan is made: the kill comes at the apply's event `after`. */
  let target: number | null = null;
  const tick = () => {
    if (target !== null && events++ >= target) killed = true;
  };
  const transport: HttpPost = async (url, req) => {
    if (killed) throw new NetworkError('killed before the request left');
    let res = null;
    try {
      res = await real.transport(url, req);
    } finally {
      if (failedCreate(url, res)) counts.createFaults++;
      tick(); // an answer or an error arrived
    }
    if (killed as boolean) throw new NetworkError('killed before the answer was read');
    return res;
  };
  const api = client(real, transport, retries, mode.kind !== 'clean' && mode.kinds.includes('timeout') ? 40 : 5_000);
  real.sim.setFaults({ faultRate: 0 });
  const tasks = await loadTasks({ baseDir: real.dir, patterns: ['tasks/*.yaml'] });
  const state: CallformState = real.disk ? parseJson<CallformState>(real.disk) : emptyState();
  const remote = await readRemoteTasks(
    api,
    tasks.tasks.map((t) => t.userTaskID),
    1,
  );
  const plan = buildPlan({
    desired: tasks.tasks,
    state,
    stateExists: real.disk !== null,
    remote,
    targets: null,
    filesDigest: tasks.filesDigest,
    toolVersion: 'model',
    now: new Date(),
  });
  const faultsSoFar = () => Object.values(real.sim.stats().faults).reduce((a, b) => a + b, 0);
  const faultsBefore = faultsSoFar();
  if (mode.kind !== 'clean') real.sim.setFaults({ faultRate: mode.rate, faultKinds: mode.kinds, faultSeed: mode.seed });
  const sure = sureEvents(plan, state);
  if (mode.kind === 'kill' && sure > 0) {
    counts.killsPlanned++;
    target = mode.after % sure;
  }
  const writer = new StateWriter('/in-memory', state, async (_path, s) => {
    const text = JSON.stringify(s);
    tick();
    if (!killed) real.disk = text;
  });
  await applyPlan(plan, { client: api, state: writer, parallelism });
  if (mode.kind === 'kill' && sure > 0) {
    expect(killed, `the planned kill never fired, after: ${real.log.join(' → ')}`).toBe(true);
    counts.killsFired++;
    // Killed with a creating mark on disk: between createTask (or its mark) and the update.
    const onDisk = real.disk ? (JSON.parse(real.disk) as CallformState) : null;
    if (Object.values(onDisk?.tasks ?? {}).some((e) => e.creating)) counts.killsMidCreate++;
  }
  counts.faults += faultsSoFar() - faultsBefore;
  real.sim.setFaults({ faultRate: 0 });
  if (real.disk) expect(validateState(JSON.parse(real.disk)), JSON.stringify(validateState.errors)).toBe(true);
  return plan;
}

/**
 * After every apply, killed or not: what the state claims to know is on the server; a task
 * whose entry has no creating mark exists there; a task to create exists at most once.
 */
function expectStateSound(real: Real): void {
  if (!real.disk) return;
  const state = JSON.parse(real.disk) as CallformState;
  for (const [id, entry] of Object.entries(state.tasks)) {
    const t = real.sim.tasks.get(id);
    if (entry.creating?.phase === 'requested') continue; // may or may not exist: the next plan looks it up
    expect(
      t,
      `state has ${id} (${JSON.stringify(entry)}) but the server does not, after: ${real.log.join(' → ')}`,
    ).toBeDefined();
    const wrong = serverMismatches(
      { taskCreateSetting: t!.taskCreateSetting, funcFlag: t!.funcFlag },
      knownSettings(entry),
    );
    expect(wrong, `state of ${id} claims values the server does not hold, after: ${real.log.join(' → ')}`).toEqual([]);
  }
  const created = POOL.filter((id) => real.sim.tasks.has(id)).length;
  expect(
    real.sim.stats().creates,
    `createTask succeeded more often than tasks exist, after: ${real.log.join(' → ')}`,
  ).toBe(created);
}

class AddCommand implements fc.AsyncCommand<object, Real> {
  constructor(
    readonly id: NewId,
    readonly task: DeclaredTask,
  ) {}
  check = () => true;
  async run(_m: object, real: Real): Promise<void> {
    real.files = { ...real.files, [this.id]: this.task };
    real.log.push(this.toString());
    await writeFiles(real);
  }
  toString = () => `add(${this.id} ${JSON.stringify(this.task)})`;
}

class RemoveCommand implements fc.AsyncCommand<object, Real> {
  constructor(readonly id: NewId) {}
  check = () => true;
  async run(_m: object, real: Real): Promise<void> {
    const { [this.id]: _gone, ...rest } = real.files;
    real.files = rest;
    real.log.push(this.toString());
    await writeFiles(real);
  }
  toString = () => `remove(${this.id})`;
}

class ApplyCommand implements fc.AsyncCommand<object, Real> {
  constructor(
    readonly mode: Mode,
    readonly retries: number,
    readonly parallelism: number,
  ) {}
  check = () => true;
  async run(_m: object, real: Real): Promise<void> {
    real.log.push(this.toString());
    await applyOnce(real, this.mode, this.retries, this.parallelism);
    expectStateSound(real);
  }
  toString = () => `apply(${JSON.stringify(this.mode)}, retries ${this.retries}, parallelism ${this.parallelism})`;
}

const faultsArb = fc.record({
  rate: fc.constantFrom(0.3, 0.6, 1),
  kinds: fc.subarray([...FAULT_KINDS], { minLength: 1 }),
  seed: fc.nat(),
});
const modeArb: fc.Arbitrary<Mode> = fc.oneof(
  { weight: 1, arbitrary: fc.constant<Mode>({ kind: 'clean' }) },
  { weight: 2, arbitrary: faultsArb.map((f): Mode => ({ kind: 'faults', ...f })) },
  // A kill at one of the events the apply is sure to cause (see sureEvents): every planned kill fires.
  {
    weight: 3,
    arbitrary: fc
      .tuple(fc.nat(1_000), faultsArb, fc.boolean())
      .map(([after, f, withFaults]): Mode => ({ kind: 'kill', after, ...f, rate: withFaults ? f.rate : 0 })),
  },
);
const addArb = fc
  .tuple(
    fc.constantFrom(...POOL),
    fc.record({
      maxCall: fc.integer({ min: 1, max: 9 }),
      taskKeep: fc.boolean(),
      taskName: fc.constantFrom(undefined, 'Campaign'),
    }),
  )
  .map(([id, t]) => new AddCommand(id, t.taskName ? t : { maxCall: t.maxCall, taskKeep: t.taskKeep }));
const commandsArb = fc.commands(
  [
    addArb,
    addArb,
    fc.constantFrom(...POOL).map((id) => new RemoveCommand(id)),
    fc
      .tuple(modeArb, fc.nat(2), fc.constantFrom(1, 2, 4))
      .map(([mode, retries, parallelism]) => new ApplyCommand(mode, retries, parallelism)),
  ],
  { maxCommands: 10, size: '+1' },
);

describe('model-based: adding and removing tasks × faults × kills, then one clean apply', () => {
  let transport: HttpPost;
  let base: string;
  beforeAll(async () => {
    transport = await gotTransport(4);
    base = await mkdtemp(path.join(tmpdir(), 'callform-model-create-'));
  });
  afterAll(async () => {
    await rm(base, { recursive: true, force: true });
  });

  async function runSequence(cmds: Iterable<fc.AsyncCommand<object, Real>>, label: string): Promise<void> {
    counts.sequences++;
    const dir = path.join(base, label);
    await mkdir(path.join(dir, 'tasks'), { recursive: true });
    const sim = await startSimulator({
      seed: { tasks: [{ userTaskID: EXISTING, sceneID: SCENE }] },
      timeoutFaultMs: 60,
    });
    const real: Real = { sim, dir, transport, disk: null, files: {}, log: [] };
    try {
      await writeFiles(real);
      await fc.asyncModelRun(() => ({ model: {}, real }), cmds);
      real.log.push('final clean apply');
      await applyOnce(real, { kind: 'clean' }, 0, 2);
      expectStateSound(real);
      const after = real.log.join(' → ');
      const state = JSON.parse(real.disk!) as CallformState;
      for (const id of POOL) {
        const want = real.files[id];
        if (!want) continue;
        const t = sim.tasks.get(id);
        expect(t, `${id} is declared but not on the server, after: ${after}`).toBeDefined();
        expect(t!.sceneID).toBe(SCENE);
        expect(
          serverMismatches({ taskCreateSetting: t!.taskCreateSetting, funcFlag: t!.funcFlag }, declared(want)),
          `${id}, after: ${after}`,
        ).toEqual([]);
        expect(state.tasks[id], `${id}: state entry, after: ${after}`).toMatchObject({
          ...declared(want),
          taskID: t!.taskID,
        });
        expect(state.tasks[id].creating, `${id} keeps its creating mark, after: ${after}`).toBeUndefined();
        expect(state.tasks[id].pending, `${id} keeps a pending mark, after: ${after}`).toBeUndefined();
      }
      counts.creates += sim.stats().creates;
      const again = await applyOnce(real, { kind: 'clean' }, 0, 1);
      expect(
        again && planHasChanges(again),
        `plan after the clean apply: ${JSON.stringify(again?.tasks.filter((t) => t.action !== 'noop'))}, after: ${after}`,
      ).toBe(false);
    } finally {
      await sim.close();
      await rm(dir, { recursive: true, force: true });
    }
  }

  it('a kill between createTask and updateTask: the next plan finds the task and sends its settings', async () => {
    // Events: the creating mark's write (0), createTask's answer (1): killed as it arrives.
    const seen: CallformPlan[] = [];
    const check: fc.AsyncCommand<object, Real> = {
      check: () => true,
      async run(_m, real) {
        const state = JSON.parse(real.disk!) as CallformState;
        expect(state.tasks['new-1'].creating).toMatchObject({ phase: 'requested' });
        expect(real.sim.tasks.get('new-1')?.taskCreateSetting).toEqual({ startupType: 1, maxCall: 1 });
        const plan = await applyOnce(real, { kind: 'clean' }, 0, 1);
        seen.push(plan!);
      },
      toString: () => 'check',
    };
    await runSequence(
      [
        new AddCommand('new-1', { maxCall: 4, taskKeep: true }),
        new ApplyCommand({ kind: 'kill', after: 1, rate: 0, kinds: ['badsign'], seed: 0 }, 0, 1),
        check,
      ],
      'kill-after-create',
    );
    expect(seen[0].tasks.find((t) => t.userTaskID === 'new-1')).toMatchObject({
      action: 'update',
      created: true,
      sentFields: ['funcFlag.taskKeep', 'taskCreateSetting.maxCall'],
    });
  });

  it(
    `every declared task exists once with the files' values and the next plan is empty (${RUNS} sequences)`,
    { timeout: 120_000 },
    async () => {
      let sequence = 0;
      const property = fc.asyncProperty(commandsArb, (cmds) => runSequence(cmds, `p${sequence++}`));
      const seed = process.env.CALLFORM_MODEL_SEED ? Number(process.env.CALLFORM_MODEL_SEED) : undefined;
      await fc.assert(property, { numRuns: RUNS, seed, endOnFailure: false });
      console.log(
        `model-create: ${counts.sequences} sequences, ${counts.applies} applies, ${counts.creates} tasks created, kills: ${counts.killsFired}/${counts.killsPlanned} fired (${counts.killsMidCreate} with a creating mark left on disk), ${counts.faults} faults injected, ${counts.createFaults} createTask attempts failed or unanswered`,
      );
      expect(counts.killsFired).toBeGreaterThan(5);
      expect(counts.createFaults).toBeGreaterThan(0);
      expect(counts.killsMidCreate).toBeGreaterThan(0);
    },
  );
});
