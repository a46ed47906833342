import { describe, it, expect } from 'vitest';
import { diffSettings, payloadSettings } from '../../src/plan/diff.js';
import type { ManagedSettings } from '../../src/generated/plan.js';

const base: ManagedSettings = {
  taskCreateSetting: {
    taskName: 'A',
    maxCall: 5,
    manualCallSetting: { dispatchType: 1, ratioCallRate: 1.5, agentGroup: 'g1' },
  },
  funcFlag: {
    taskKeep: true,
    smsEnable: true,
    smsFuncFlag: [
      { smsID: 's1', intentID: ['i1'] },
      { smsID: 's2', intentID: ['i2'] },
    ],
  },
};
const clone = (s: ManagedSettings): ManagedSettings => structuredClone(s);

describe('diffSettings / payloadSettings', () => {
  it('finds nothing when nothing changed', () => {
    expect(diffSettings(base, clone(base))).toEqual([]);
    expect(payloadSettings([], base)).toBeNull();
  });

  it('sends only the changed leaf', () => {
    const after = clone(base);
    after.taskCreateSetting.maxCall = 9;
    const changes = diffSettings(base, after);
    expect(changes).toEqual([{ path: 'taskCreateSetting.maxCall', kind: 'change', before: 5, after: 9 }]);
    expect(payloadSettings(changes, after)).toEqual({ taskCreateSetting: { maxCall: 9 } });
  });

  it('sends a changed manualCallSetting leaf without its siblings', () => {
    const after = clone(base);
    after.taskCreateSetting.manualCallSetting!.ratioCallRate = 2;
    expect(payloadSettings(diffSettings(base, after), after)).toEqual({
      taskCreateSetting: { manualCallSetting: { ratioCallRate: 2 } },
    });
  });

  it('replaces smsFuncFlag whole when any part of it changes', () => {
    const after = clone(base);
    after.funcFlag.smsFuncFlag![1].intentID = ['i2', 'i3'];
    const changes = diffSettings(base, after);
    expect(changes).toHaveLength(1);
    expect(changes[0]).toMatchObject({ path: 'funcFlag.smsFuncFlag', kind: 'change' });
    expect(payloadSettings(changes, after)).toEqual({ funcFlag: { smsFuncFlag: after.funcFlag.smsFuncFlag } });
  });

  it('a removed field is unmanaged and not sent', () => {
    const after = clone(base);
    delete after.taskCreateSetting.taskName;
    const changes = diffSettings(base, after);
    expect(changes).toEqual([{ path: 'taskCreateSetting.taskName', kind: 'unmanage', before: 'A' }]);
    expect(payloadSettings(changes, after)).toBeNull();
  });

  it('a removed smsFuncFlag is unmanaged, not sent as empty', () => {
    const after = clone(base);
    delete after.funcFlag.smsFuncFlag;
    after.funcFlag.smsEnable = false;
    const changes = diffSettings(base, after);
    expect(changes.map((c) => `${c.kind} ${c.path}`)).toEqual([
      'change funcFlag.smsEnable',
      'unmanage funcFlag.smsFuncFlag',
    ]);
    expect(payloadSettings(changes, after)).toEqual({ funcFlag: { smsEnable: false } });
  });

  it('never applied: everything declared is sent', () => {
    const changes = diffSettings(null, base);
    expect(changes.every((c) => c.kind === 'add')).toBe(true);
    expect(payloadSettings(changes, base)).toEqual(base);
  });

  it('a newly added nested object is expanded into its leaves', () => {
    const before = clone(base);
    delete before.taskCreateSetting.manualCallSetting;
    const changes = diffSettings(before, base);
    expect(changes.map((c) => c.path)).toEqual([
      'taskCreateSetting.manualCallSetting.agentGroup',
      'taskCreateSetting.manualCallSetting.dispatchType',
      'taskCreateSetting.manualCallSetting.ratioCallRate',
    ]);
    expect(payloadSettings(changes, base)).toEqual({
      taskCreateSetting: { manualCallSetting: base.taskCreateSetting.manualCallSetting },
    });
  });

  it('does not share references with the desired settings', () => {
    const after = clone(base);
    after.funcFlag.smsFuncFlag = [{ smsID: 'x' }];
    const payload = payloadSettings(diffSettings(base, after), after)!;
    payload.funcFlag!.smsFuncFlag![0].smsID = 'mutated';
    expect(after.funcFlag.smsFuncFlag[0].smsID).toBe('x');
  });
});

describe('dataEqual', () => {
  it('ignores key order and works on null-prototype objects', async () => {
    const { dataEqual } = await import('../../src/model/settings.js');
    const bare = Object.assign(Object.create(null) as object, { b: [1, { c: 2 }], a: 'x' });
    expect(dataEqual({ a: 'x', b: [1, { c: 2 }] }, bare)).toBe(true);
    expect(dataEqual({ a: 'x', b: [1, { c: 3 }] }, bare)).toBe(false);
    expect(dataEqual({ a: undefined }, { b: undefined })).toBe(false);
    expect(dataEqual([1, 2], { 0: 1, 1: 2 })).toBe(false);
  });
});
