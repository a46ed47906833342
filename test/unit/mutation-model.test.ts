/**
 * The domain model's small functions, one by one (src/model). Written to kill the mutants
 * `npm run mutate` found alive (docs/testing.md): every boundary and every branch.
 */
import { describe, it, expect } from 'vitest';
import {
  TaskStatus,
  TASK_STATUS_LABEL,
  isTaskStatus,
  describeStatus,
  isUpdatableStatus,
  isFinishedStatus,
} from '../../src/model/status.js';
import {
  RetCode,
  RET_CODE_MEANING,
  TRANSIENT_RET_CODES,
  THROTTLE_RET_CODES,
  AUTH_RET_CODES,
} from '../../src/model/retcode.js';
import { byUserTaskID, PRODUCT_ID } from '../../src/model/task.js';
import { maskUrlCredentials, maskPhones, maskValue } from '../../src/model/redact.js';
import {
  WHOLE_VALUE_PATHS,
  EMPTY_SETTINGS,
  isPlain,
  dataEqual,
  isWholeValuePath,
  wholeValuePathOf,
  leaves,
  getPath,
  setPath,
  withoutLeaves,
  mergeLeaves,
} from '../../src/model/settings.js';
import {
  PLAN_FORMAT_VERSION,
  deferralOf,
  isChange,
  summaryKey,
  summarize,
  planHasChanges,
  planHasWork,
  type CallformPlan,
  type TaskPlan,
  type OwedResumePlan,
  type PlanSummary,
} from '../../src/model/plan.js';

describe('model/status', () => {
  it('labels every documented status, and only those', () => {
    expect(TaskStatus).toEqual({ NotStarted: 1, Running: 2, Completed: 3, CompletedFailed: 4, Paused: 5 });
    expect(TASK_STATUS_LABEL).toEqual({
      1: 'not started',
      2: 'running',
      3: 'completed',
      4: 'completed (failed)',
      5: 'paused',
    });
  });

  it('isTaskStatus accepts the five codes and nothing else', () => {
    for (const s of [1, 2, 3, 4, 5]) expect(isTaskStatus(s)).toBe(true);
    for (const s of [0, 6, -1, 1.5, '1', null, undefined, NaN]) expect(isTaskStatus(s)).toBe(false);
  });

  it('describeStatus names known and unknown codes', () => {
    expect(describeStatus(2)).toBe('2 (running)');
    expect(describeStatus(9)).toBe('9 (unknown)');
  });

  it('only not started and paused tasks are updatable; only completed ones are finished', () => {
    expect([1, 2, 3, 4, 5].map(isUpdatableStatus)).toEqual([true, false, false, false, true]);
    expect([1, 2, 3, 4, 5].map(isFinishedStatus)).toEqual([false, false, true, true, false]);
  });
});

describe('model/retcode', () => {
  it('names every documented retCode', () => {
    expect(RetCode).toEqual({
      Success: 0,
      GenericError: 1,
      ParameterMissing: 2,
      ParameterFormat: 3,
      ParameterValue: 4,
      ContentTooLarge: 4001,
      Maintenance: 5,
      InternalError: 5001,
      SignatureIncorrect: 6,
      SignatureMissing: 6001,
      AccountNotFound: 6002,
      NoPermission: 6003,
      SystemBusy: 7,
    });
    expect(RET_CODE_MEANING).toEqual({
      0: 'success',
      1: 'generic error',
      2: 'parameter missing',
      3: 'parameter format wrong',
      4: 'parameter value wrong',
      4001: 'parameter content too large',
      5: 'server under maintenance',
      5001: 'internal server error',
      6: 'signature incorrect',
      6001: 'signature missing',
      6002: 'account does not exist',
      6003: 'user has no permission',
      7: 'system busy',
    });
  });

  it('classifies transient, throttling and authentication codes', () => {
    expect([...TRANSIENT_RET_CODES].sort()).toEqual([5, 7]);
    expect([...THROTTLE_RET_CODES]).toEqual([7]);
    expect([...AUTH_RET_CODES].sort()).toEqual([6, 6001, 6002, 6003]);
  });
});

describe('model/task', () => {
  it('byUserTaskID orders by userTaskID, equal ids compare 0', () => {
    expect(byUserTaskID({ userTaskID: 'a' }, { userTaskID: 'b' })).toBe(-1);
    expect(byUserTaskID({ userTaskID: 'b' }, { userTaskID: 'a' })).toBe(1);
    expect(byUserTaskID({ userTaskID: 'a' }, { userTaskID: 'a' })).toBe(0);
    expect(PRODUCT_ID).toBe('callbot');
  });
});

describe('model/redact', () => {
  it('masks URL credentials, user alone or user:password, any scheme, any case', () => {
    expect(maskUrlCredentials('https://bob:s3cret@hooks.example.com/x')).toBe('https://***:***@hooks.example.com/x');
    expect(maskUrlCredentials('see HTTP://bob@h.example/x and ftp+s://a:b@c')).toBe(
      'see HTTP://***:***@h.example/x and ftp+s://***:***@c',
    );
    expect(maskUrlCredentials('https://bob:@h/x')).toBe('https://***:***@h/x');
    expect(maskUrlCredentials('https://hooks.example.com/x?a=b@c')).toBe('https://hooks.example.com/x?a=b@c');
    expect(maskUrlCredentials('mail bob@example.com')).toBe('mail bob@example.com');
  });

  it('masks phone-like runs of 7 to 15 digits, keeping the last 4', () => {
    expect(maskPhones('call +8613800138000 now')).toBe('call +*********8000 now');
    expect(maskPhones('1234567')).toBe('***4567');
    expect(maskPhones('123456')).toBe('123456');
    expect(maskPhones('123456789012345')).toBe('***********2345');
    expect(maskPhones('1234567890123456')).toBe('1234567890123456');
    expect(maskPhones('a1234567 1234567b 1.2345678 12345678.5')).toBe('a1234567 1234567b 1.2345678 12345678.5');
  });

  it('leaves times readable: keys ending in Ts or At, and timestamp', () => {
    const text = '{"createTs": 1700000000000, "startupAt":1700000000, "timestamp" : 1700000000, "phone": 13800138000}';
    expect(maskPhones(text)).toBe(
      '{"createTs": 1700000000000, "startupAt":1700000000, "timestamp" : 1700000000, "phone": *******8000}',
    );
    expect(maskPhones('{"Ts": 13800138000}')).toBe('{"Ts": 13800138000}');
    expect(maskPhones('{"stamp": 13800138000}')).toBe('{"stamp": *******8000}');
  });

  it('maskValue masks every string inside arrays and objects, and copies', () => {
    const value = { a: 'https://u:p@h/x', b: ['x', 'http://u@h'], c: { d: 5, e: null, f: true } };
    const masked = maskValue(value);
    expect(masked).toEqual({ a: 'https://***:***@h/x', b: ['x', 'http://***:***@h'], c: { d: 5, e: null, f: true } });
    expect(masked).not.toBe(value);
    expect(masked.c).not.toBe(value.c);
    expect(value.a).toBe('https://u:p@h/x');
    expect(maskValue(null)).toBeNull();
    expect(maskValue(7)).toBe(7);
  });
});

describe('model/settings', () => {
  it('constants', () => {
    expect(WHOLE_VALUE_PATHS).toEqual(['funcFlag.smsFuncFlag']);
    expect(EMPTY_SETTINGS).toEqual({ taskCreateSetting: {}, funcFlag: {} });
    expect(Object.isFrozen(EMPTY_SETTINGS)).toBe(true);
  });

  it('isPlain: objects only, not arrays or null', () => {
    expect(isPlain({})).toBe(true);
    expect(isPlain([])).toBe(false);
    expect(isPlain(null)).toBe(false);
    expect(isPlain('x')).toBe(false);
  });

  it('dataEqual compares parsed data deeply, key order ignored', () => {
    expect(dataEqual({ a: 1, b: [1, { c: 2 }] }, { b: [1, { c: 2 }], a: 1 })).toBe(true);
    expect(dataEqual(Object.assign(Object.create(null), { a: 1 }), { a: 1 })).toBe(true);
    expect(dataEqual({ a: 1 }, { a: 2 })).toBe(false);
    expect(dataEqual({ a: 1 }, { a: 1, b: 2 })).toBe(false);
    expect(dataEqual({ a: 1, b: 2 }, { a: 1 })).toBe(false);
    expect(dataEqual({ a: undefined }, { b: undefined })).toBe(false);
    expect(dataEqual([1, 2], [1, 2, 3])).toBe(false);
    expect(dataEqual([1, 2], [1, 3])).toBe(false);
    expect(dataEqual([1], { 0: 1 })).toBe(false);
    expect(dataEqual({ 0: 1 }, [1])).toBe(false);
    expect(dataEqual({}, [])).toBe(false);
    expect(dataEqual([], {})).toBe(false);
    expect(dataEqual(null, {})).toBe(false);
    expect(dataEqual({}, null)).toBe(false);
    expect(dataEqual(1, '1')).toBe(false);
    expect(dataEqual(1, 2)).toBe(false);
    expect(dataEqual(5, {})).toBe(false);
    expect(dataEqual({}, 5)).toBe(false);
    expect(dataEqual(true, false)).toBe(false);
    expect(dataEqual('a', 'a')).toBe(true);
    expect(dataEqual(null, null)).toBe(true);
    expect(dataEqual([], [])).toBe(true);
  });

  it('dataEqual counts own keys only', () => {
    const proto = { inherited: 1 };
    const a = Object.assign(Object.create(proto) as object, { x: 1 });
    expect(dataEqual(a, { x: 1 })).toBe(true);
    expect(dataEqual({ x: 1 }, a)).toBe(true);
    expect(dataEqual(a, { x: 1, inherited: 1 })).toBe(false);
  });

  it('whole-value paths and what lies inside them', () => {
    expect(isWholeValuePath('funcFlag.smsFuncFlag')).toBe(true);
    expect(isWholeValuePath('funcFlag.smsFuncFlag.0')).toBe(false);
    expect(wholeValuePathOf('funcFlag.smsFuncFlag')).toBe('funcFlag.smsFuncFlag');
    expect(wholeValuePathOf('funcFlag.smsFuncFlag.0.smsID')).toBe('funcFlag.smsFuncFlag');
    expect(wholeValuePathOf('funcFlag.smsFuncFlagX')).toBeUndefined();
    expect(wholeValuePathOf('funcFlag.smsEnable')).toBeUndefined();
  });

  it('leaves: nested paths; whole values, arrays and empty objects are leaves', () => {
    const value = {
      taskCreateSetting: { maxCall: 5, manualCallSetting: { agentGroup: 'g' }, empty: {} },
      funcFlag: { smsFuncFlag: [{ smsID: 's' }], list: [1] },
    };
    expect(leaves(value, '')).toEqual([
      ['taskCreateSetting.maxCall', 5],
      ['taskCreateSetting.manualCallSetting.agentGroup', 'g'],
      ['taskCreateSetting.empty', {}],
      ['funcFlag.smsFuncFlag', [{ smsID: 's' }]],
      ['funcFlag.list', [1]],
    ]);
    expect(leaves(5, '')).toEqual([]);
    expect(leaves({}, '')).toEqual([]);
    expect(leaves({ a: 1 }, 'p')).toEqual([['p.a', 1]]);
  });

  it('getPath walks plain objects only', () => {
    const root = { a: { b: { c: 1 } }, arr: [{ x: 1 }] };
    expect(getPath(root, 'a.b.c')).toBe(1);
    expect(getPath(root, 'a.x.c')).toBeUndefined();
    expect(getPath(root, 'arr.0')).toBeUndefined();
    expect(getPath(null, 'a')).toBeUndefined();
  });

  it('setPath creates objects on the way, replaces non-objects, and copies the value', () => {
    const root: Record<string, unknown> = { a: 5, keep: { k: 1 } };
    const value = { deep: [1] };
    setPath(root, 'a.b.c', value);
    setPath(root, 'keep.z', 2);
    setPath(root, 'top', 3);
    expect(root).toEqual({ a: { b: { c: { deep: [1] } } }, keep: { k: 1, z: 2 }, top: 3 });
    expect((root.a as { b: { c: unknown } }).b.c).not.toBe(value);
  });

  it('withoutLeaves drops the named leaves and what lies below, on a copy', () => {
    const settings = { taskCreateSetting: { maxCall: 5, m: { a: 1, b: 2 } }, funcFlag: { x: true } };
    const out = withoutLeaves(settings, [
      'taskCreateSetting.m.a',
      'funcFlag',
      'nowhere.deep.x',
      'taskCreateSetting.maxCall.x',
    ]);
    expect(out).toEqual({ taskCreateSetting: { maxCall: 5, m: { b: 2 } } });
    expect(settings.taskCreateSetting.m).toEqual({ a: 1, b: 2 });
    expect(withoutLeaves(settings, [])).not.toBe(settings);
  });

  it('mergeLeaves: union leaf by leaf, newer wins, a leaf covers what lies below it', () => {
    expect(mergeLeaves(undefined, { a: { b: 1 } })).toEqual({ a: { b: 1 } });
    const older = { a: { b: 1, c: 2 }, s: { list: [1] }, e: {} };
    const merged = mergeLeaves<Record<string, unknown>>(older, {
      a: { b: 9, d: 3 },
      s: { list: { x: 1 } },
      e: { f: 1 },
    });
    expect(merged).toEqual({ a: { b: 9, c: 2, d: 3 }, s: { list: [1] }, e: {} });
    expect(older).toEqual({ a: { b: 1, c: 2 }, s: { list: [1] }, e: {} });
    // A whole-value path is a leaf even when it holds an object.
    const sms = mergeLeaves<Record<string, unknown>>(
      { funcFlag: { smsFuncFlag: { smsID: 's' } } },
      { funcFlag: { smsFuncFlag: [{ smsID: 't' }] } },
    );
    expect(sms).toEqual({ funcFlag: { smsFuncFlag: [{ smsID: 't' }] } });
    const inside = mergeLeaves<Record<string, unknown>>(
      { funcFlag: { smsFuncFlag: { smsID: 's' } } },
      { funcFlag: { smsFuncFlag: { smsID: 't' } } },
    );
    expect(inside).toEqual({ funcFlag: { smsFuncFlag: { smsID: 't' } } });
    const below = mergeLeaves<Record<string, unknown>>({ a: 1 }, { a: { b: { c: 2 } } });
    expect(below).toEqual({ a: 1 });
    const deeper = mergeLeaves<Record<string, unknown>>({ a: { b: 1 } }, { a: { b: { c: 2 } } });
    expect(deeper).toEqual({ a: { b: 1 } });
  });
});

const summaryOf = (s: Partial<PlanSummary>): CallformPlan =>
  ({ summary: { update: 0, noop: 0, blocked: 0, forget: 0, error: 0, resume: 0, ...s } }) as CallformPlan;

describe('model/plan', () => {
  const deferred = { reason: 'blocked', code: 'task-status', message: 'm' } as const;
  const noop = { action: 'noop', deferred: null } as unknown as TaskPlan;
  const update = { action: 'update', deferred: null } as unknown as TaskPlan;
  const create = { action: 'create', deferred: null } as unknown as TaskPlan;
  const pur = { action: 'pause-update-resume', deferred: null } as unknown as TaskPlan;
  const blocked = { action: 'update', deferred } as unknown as TaskPlan;
  const failed = {
    action: 'noop',
    deferred: { reason: 'error', code: 'task-missing', message: 'm' },
  } as unknown as TaskPlan;
  const forget = { action: 'forget', deferred } as unknown as TaskPlan;

  it('format version', () => {
    expect(PLAN_FORMAT_VERSION).toBe('2.2');
  });

  it('deferralOf: a forget is never held back', () => {
    expect(deferralOf(blocked)).toBe(deferred);
    expect(deferralOf(forget)).toBeNull();
    expect(deferralOf(update)).toBeNull();
  });

  it('isChange: update and pause-update-resume', () => {
    expect([noop, update, pur, forget].map(isChange)).toEqual([false, true, true, false]);
  });

  it('summaryKey and summarize', () => {
    expect([create, noop, update, pur, blocked, failed, forget].map(summaryKey)).toEqual([
      'create',
      'noop',
      'update',
      'update',
      'blocked',
      'error',
      'forget',
    ]);
    const resumes = [{}, {}] as OwedResumePlan[];
    expect(summarize([noop, update, pur, blocked, failed, forget, update, create], resumes)).toEqual({
      create: 1,
      update: 3,
      noop: 1,
      blocked: 1,
      forget: 1,
      error: 1,
      resume: 2,
    });
  });

  it('planHasChanges: anything but noops; planHasWork: updates, forgets and resumes', () => {
    expect(planHasChanges(summaryOf({ noop: 3 }))).toBe(false);
    for (const k of ['create', 'update', 'blocked', 'forget', 'error', 'resume'] as const)
      expect(planHasChanges(summaryOf({ [k]: 1 })), k).toBe(true);
    expect(planHasWork(summaryOf({ noop: 3, blocked: 1, error: 1 }))).toBe(false);
    for (const k of ['create', 'update', 'forget', 'resume'] as const)
      expect(planHasWork(summaryOf({ [k]: 1 })), k).toBe(true);
  });
});
