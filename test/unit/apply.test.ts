import { describe, it, expect } from 'vitest';
import { applyPlan } from '../../src/apply/apply.js';
import { buildPlan } from '../../src/plan/plan.js';
import { StateWriter } from '../../src/state/state.js';
import { ApiError } from '../../src/api/errors.js';
import type { CallformState, TaskState } from '../../src/generated/state.js';

const OLD = { taskCreateSetting: { maxCall: 1 }, funcFlag: {} };
const NEW = { taskCreateSetting: { maxCall: 2 }, funcFlag: {} };

function setup(pending?: TaskState['pending']) {
  const state: CallformState = {
    version: 1,
    lineage: '00000000-0000-4000-8000-000000000000',
    serial: 1,
    tasks: { a: { sceneID: 's', taskID: 'T-a', ...OLD, appliedAt: '2026-01-01T00:00:00.000Z', ...(pending ? { pending } : {}) } },
  };
  const plan = buildPlan({
    desired: [{ userTaskID: 'a', sceneID: 's', ...NEW, source: 'tasks/a.yaml:1' }],
    state,
    stateExists: true,
    remote: new Map([['a', { userTaskID: 'a', taskID: 'T-a', sceneID: 's', taskStatus: 1, createTs: 0 }]]),
    targets: null,
    filesDigest: 'f'.repeat(64),
    toolVersion: 'test',
    now: new Date(),
  });
  const written: CallformState[] = [];
  const writer = new StateWriter('/unused', state, async (_p, s) => void written.push(structuredClone(s)));
  return { plan, writer, written };
}

const run = (plan: ReturnType<typeof setup>['plan'], writer: StateWriter, updateTask: () => Promise<object>) =>
  applyPlan(plan, { client: { updateTask } as never, state: writer, parallelism: 2 });

describe('applyPlan and unconfirmed sends', () => {
  it('writes the pending mark before the call, and replaces the entry once confirmed', async () => {
    const { plan, writer, written } = setup();
    let seenBeforeCall: CallformState | undefined;
    const result = await run(plan, writer, async () => {
      seenBeforeCall = structuredClone(written[written.length - 1]);
      return { retCode: 0, taskID: 'T-a' };
    });
    expect(result.counts.applied).toBe(1);
    expect(seenBeforeCall!.tasks.a!.pending).toMatchObject({ taskCreateSetting: { maxCall: 2 } });
    expect(writer.current.tasks.a).toMatchObject({ ...NEW, taskID: 'T-a' });
    expect(writer.current.tasks.a!.pending).toBeUndefined();
  });

  it('keeps the mark when the outcome is unknown (network error, unverifiable answer)', async () => {
    for (const kind of ['network', 'signature'] as const) {
      const { plan, writer } = setup();
      await run(plan, writer, async () => {
        throw new ApiError('updateTask', kind, 'lost', { attempts: 1 });
      });
      expect(writer.current.tasks.a!.pending, kind).toMatchObject({ taskCreateSetting: { maxCall: 2 } });
      expect(writer.current.tasks.a!.taskCreateSetting).toEqual(OLD.taskCreateSetting);
    }
  });

  it('a verified refusal on the only attempt restores the earlier mark (or none)', async () => {
    const refuse = async () => {
      throw new ApiError('updateTask', 'retcode', 'retCode 1: task status 2 cannot be modified', { retCode: 1, attempts: 1 });
    };
    const fresh = setup();
    await run(fresh.plan, fresh.writer, refuse);
    expect(fresh.writer.current.tasks.a!.pending).toBeUndefined();

    const earlier = { since: '2026-01-02T00:00:00.000Z', funcFlag: { phoneEncrypt: true } };
    const again = setup(earlier);
    await run(again.plan, again.writer, refuse);
    expect(again.writer.current.tasks.a!.pending).toEqual(earlier);
  });

  it('a refusal after retries keeps the mark: an earlier attempt may have landed', async () => {
    const { plan, writer } = setup();
    await run(plan, writer, async () => {
      throw new ApiError('updateTask', 'retcode', 'retCode 1', { retCode: 1, attempts: 3 });
    });
    expect(writer.current.tasks.a!.pending).toBeDefined();
  });
});
