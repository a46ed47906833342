import { describe, it, expect } from 'vitest';
import { applyPlan } from '../../src/apply/apply.js';
import { buildPlan } from '../../src/plan/plan.js';
import { StateWriter } from '../../src/state/writer.js';
import { ApiError } from '../../src/api/errors.js';
import type { CallformState, TaskState } from '../../src/generated/state.js';
import { WriteGate, settle } from '../support/gated-writer.js';

const OLD = { taskCreateSetting: { maxCall: 1 }, funcFlag: {} };
const NEW = { taskCreateSetting: { maxCall: 2 }, funcFlag: {} };
const at0 = '2026-01-01T00:00:00.000Z';

function setup(pending?: TaskState['pending'], write?: (p: string, s: CallformState) => Promise<void>) {
  const state: CallformState = {
    version: 1,
    lineage: '00000000-0000-4000-8000-000000000000',
    serial: 1,
    tasks: {
      a: {
        sceneID: 's',
        taskID: 'T-a',
        ...OLD,
        appliedAt: '2026-01-01T00:00:00.000Z',
        ...(pending ? { pending } : {}),
      },
    },
  };
  const plan = buildPlan({
    desired: [{ userTaskID: 'a', sceneID: 's', ...NEW, lifecycle: {}, source: 'tasks/a.yaml:1' }],
    state,
    stateExists: true,
    remote: new Map([['a', { userTaskID: 'a', taskID: 'T-a', sceneID: 's', taskStatus: 1, createTs: 0 }]]),
    targets: null,
    filesDigest: 'f'.repeat(64),
    toolVersion: 'test',
    now: new Date(),
  });
  const written: CallformState[] = [];
  const writer = new StateWriter('/unused', state, write ?? (async (_p, s) => void written.push(structuredClone(s))));
  return { plan, writer, written };
}

const run = (plan: ReturnType<typeof setup>['plan'], writer: StateWriter, updateTask: () => Promise<object>) =>
  applyPlan(plan, { client: { updateTask } as never, state: writer, parallelism: 2 });

describe('applyPlan and unconfirmed sends', () => {
  it('writes the pending mark before the call, and replaces the entry once confirmed', async () => {
    const gate = new WriteGate();
    const { plan, writer } = setup(undefined, gate.write);
    const durableAtCall: Array<CallformState | undefined> = [];
    const applying = run(plan, writer, async () => {
      durableAtCall.push(structuredClone(gate.durable));
      return { retCode: 0, taskID: 'T-a' };
    });
    await settle();
    // The mark's write is in flight and held: no call may start before it completes.
    expect(gate.held.map((h) => h.snapshot.tasks.a.pending)).toEqual([
      expect.objectContaining({ taskCreateSetting: { maxCall: 2 } }),
    ]);
    expect(durableAtCall, 'updateTask started before the pending mark was written').toEqual([]);
    gate.open();
    const result = await applying;
    expect(result.counts.applied).toBe(1);
    expect(durableAtCall).toHaveLength(1);
    expect(durableAtCall[0]?.tasks.a?.pending).toMatchObject({ taskCreateSetting: { maxCall: 2 } });
    expect(
      gate.released.every((w) => w.version === 2),
      'a version 1 state is written back as version 2',
    ).toBe(true);
    expect(writer.current.tasks.a).toMatchObject({ ...NEW, taskID: 'T-a' });
    expect(writer.current.tasks.a.pending).toBeUndefined();
    expect(gate.durable?.tasks.a).toEqual(writer.current.tasks.a);
  });

  it('keeps the mark when the outcome is unknown (network error, unverifiable answer)', async () => {
    for (const kind of ['network', 'signature'] as const) {
      const { plan, writer } = setup();
      await run(plan, writer, async () => {
        throw new ApiError('updateTask', kind, 'lost', { attempts: 1 });
      });
      expect(writer.current.tasks.a.pending, kind).toMatchObject({ taskCreateSetting: { maxCall: 2 } });
      expect(writer.current.tasks.a.taskCreateSetting).toEqual(OLD.taskCreateSetting);
    }
  });

  it('a verified refusal on the only attempt restores the earlier mark (or none)', async () => {
    const refuse = async () => {
      throw new ApiError('updateTask', 'retcode', 'retCode 1: task status 2 cannot be modified', {
        retCode: 1,
        attempts: 1,
      });
    };
    const fresh = setup();
    await run(fresh.plan, fresh.writer, refuse);
    expect(fresh.writer.current.tasks.a.pending).toBeUndefined();

    const earlier = { since: '2026-01-02T00:00:00.000Z', funcFlag: { phoneEncrypt: true } };
    const again = setup(earlier);
    await run(again.plan, again.writer, refuse);
    expect(again.writer.current.tasks.a.pending).toEqual(earlier);
  });

  it('a refusal after retries keeps the mark: an earlier attempt may have landed', async () => {
    const { plan, writer } = setup();
    await run(plan, writer, async () => {
      throw new ApiError('updateTask', 'retcode', 'retCode 1', { retCode: 1, attempts: 3 });
    });
    expect(writer.current.tasks.a.pending).toBeDefined();
  });
});

describe('uncertain fields stay uncertain until a confirmed send covers them (issue 9, v1 lost update)', () => {
  const lineage = '00000000-0000-4000-8000-000000000000';
  const at = '2026-01-01T00:00:00.000Z';
  const lost = async () => {
    throw new ApiError('updateTask', 'network', 'socket hang up', { attempts: 2 });
  };
  const ok = async () => ({ retCode: 0, taskID: 'T-a' });

  function planFor(state: CallformState, taskCreateSetting: object, funcFlag: object) {
    return buildPlan({
      desired: [
        { userTaskID: 'a', sceneID: 's', taskCreateSetting, funcFlag, lifecycle: {}, source: 'tasks/a.yaml:1' },
      ],
      state,
      stateExists: true,
      remote: new Map([['a', { userTaskID: 'a', taskID: 'T-a', sceneID: 's', taskStatus: 1 }]]),
      targets: null,
      filesDigest: 'f'.repeat(64),
      toolVersion: 'test',
      now: new Date(),
    });
  }
  async function apply(state: CallformState, tcs: object, ff: object, updateTask: () => Promise<object>) {
    const writer = new StateWriter('/unused', state, async () => undefined);
    const plan = planFor(state, tcs, ff);
    await applyPlan(plan, { client: { updateTask } as never, state: writer, parallelism: 1 });
    return { plan, state: writer.current };
  }

  it('the sequence from the issue re-sends phoneEncrypt: false', async () => {
    // 1. confirmed state holds phoneEncrypt: false
    let state: CallformState = {
      version: 1,
      lineage,
      serial: 1,
      tasks: {
        a: { sceneID: 's', taskCreateSetting: { maxCall: 1 }, funcFlag: { phoneEncrypt: false }, appliedAt: at },
      },
    };
    // 2. files set it to true; the update lands but the answer is lost
    ({ state } = await apply(state, { maxCall: 1 }, { phoneEncrypt: true }, lost));
    // 3. files stop declaring funcFlag and change another field; again the answer is lost
    ({ state } = await apply(state, { maxCall: 2 }, {}, lost));
    expect(state.tasks.a.pending).toMatchObject({
      funcFlag: { phoneEncrypt: true },
      taskCreateSetting: { maxCall: 2 },
    });
    // 4. files declare phoneEncrypt: false again: it must be sent
    const { plan } = await apply(state, { maxCall: 2 }, { phoneEncrypt: false }, ok);
    const t = plan.tasks[0];
    expect(t.action === 'update' && t.payload?.funcFlag).toEqual({ phoneEncrypt: false });
  });

  it('a confirmed send clears the mark; an uncertain field that left management stays unknown', async () => {
    let state: CallformState = {
      version: 1,
      lineage,
      serial: 1,
      tasks: {
        a: { sceneID: 's', taskCreateSetting: { maxCall: 1 }, funcFlag: { phoneEncrypt: false }, appliedAt: at },
      },
    };
    ({ state } = await apply(state, { maxCall: 1 }, { phoneEncrypt: true }, lost));
    ({ state } = await apply(state, { maxCall: 3 }, {}, ok));
    expect(state.tasks.a).toMatchObject({ taskCreateSetting: { maxCall: 3 }, funcFlag: {} });
    expect(state.tasks.a.pending).toBeUndefined();
    const { plan } = await apply(state, { maxCall: 3 }, { phoneEncrypt: false }, ok);
    const t = plan.tasks[0];
    expect(t.action === 'update' && t.payload?.funcFlag).toEqual({ phoneEncrypt: false });
  });
});

describe('a failed state write', () => {
  const lineage = '00000000-0000-4000-8000-000000000000';
  const ids = ['a', 'b', 'c', 'd'];

  /** updateTask calls whose answers the test gives, one by one. */
  function heldClient() {
    const sent: string[] = [];
    const answers: Array<() => void> = [];
    const updateTask = (p: { userTaskID: string }) => {
      sent.push(p.userTaskID);
      return new Promise<object>((resolve) =>
        answers.push(() => resolve({ retCode: 0, retMsg: 'ok', taskID: `T-${p.userTaskID}` })),
      );
    };
    return { sent, answers, updateTask };
  }

  it('stops all further sends: no call starts once a write failed, and apply fails naming the state file', async () => {
    const state: CallformState = {
      version: 2,
      lineage,
      serial: 1,
      tasks: Object.fromEntries(ids.map((id) => [id, { sceneID: 's', taskID: `T-${id}`, ...OLD, appliedAt: at0 }])),
    };
    const plan = buildPlan({
      desired: ids.map((id) => ({ userTaskID: id, sceneID: 's', ...NEW, lifecycle: {}, source: `tasks/${id}.yaml:1` })),
      state,
      stateExists: true,
      remote: new Map(ids.map((id) => [id, { userTaskID: id, taskID: `T-${id}`, sceneID: 's', taskStatus: 1 }])),
      targets: null,
      filesDigest: 'f'.repeat(64),
      toolVersion: 'test',
      now: new Date(),
    });
    const gate = new WriteGate();
    const writer = new StateWriter('/dir/callform.state.json', state, gate.write);
    const api = heldClient();
    const applying = applyPlan(plan, {
      client: { updateTask: api.updateTask } as never,
      state: writer,
      parallelism: 1,
    });
    const outcome = applying.then(
      () => 'resolved',
      (err: Error) => err.message,
    );
    await settle();
    gate.held[0].release(); // the pending marks
    await settle();
    expect(api.sent).toEqual(['a']);
    api.answers[0](); // a is confirmed: its write starts (and is held), b is sent meanwhile
    await settle();
    expect(api.sent).toEqual(['a', 'b']);
    expect(gate.held).toHaveLength(1);
    gate.held[0].fail(new Error('EIO: i/o error, write'));
    await settle();
    gate.open(); // later writes may succeed: the failure still stops the run
    api.answers[1](); // b's answer arrives after the failure
    await settle();
    expect(api.sent, 'a call started after a state write failed').toEqual(['a', 'b']);
    expect(await outcome).toBe('could not write state file callform.state.json: EIO: i/o error, write');
    // c and d were never sent: their marks stay, nothing claims they landed
    expect(writer.current.tasks.c).toMatchObject({ ...OLD, pending: { taskCreateSetting: { maxCall: 2 } } });
  });
});
