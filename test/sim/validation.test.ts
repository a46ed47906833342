import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { startSimulator, validateSeed, type Simulator } from '../../src/sim/index.js';
import { pickError, fieldPath, schemaError } from '../../src/sim/validate.js';
import { validateUpdateTaskRequest, validateRequestFuncFlag, type AjvError } from '../../src/generated/validators.js';
import { call, seedCopy } from './helpers.js';

let sim: Simulator;
beforeAll(async () => {
  sim = await startSimulator({ seed: seedCopy() });
});
afterAll(async () => {
  await sim.close();
});

const update = (extra: Record<string, unknown>) =>
  call(sim, 'updateTask', { productID: 'callbot', userTaskID: 'task-c', sceneID: 'scene-1', ...extra });
const list = (qc: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
  call(sim, 'listTask', { productID: 'callbot', page: 1, size: 10, queryConditions: qc, ...extra });
const many = (n: number, f: (i: number) => unknown = (i) => `x${i}`) => Array.from({ length: n }, (_, i) => f(i));

describe('request validation derived from schemas/api.schema.json', () => {
  // [body extra for updateTask, retCode, message]
  const updateCases: Array<[Record<string, unknown>, number, string | RegExp]> = [
    // 2: missing
    [{ funcFlag: { smsFuncFlag: [{ intentID: ['a'] }] } }, 2, 'funcFlag.smsFuncFlag[0].smsID is required'],
    // 3: type, unknown field, pattern, format
    [{ taskCreateSetting: { maxCall: '3' } }, 3, 'taskCreateSetting.maxCall must be an integer (got string "3")'],
    [
      { taskCreateSetting: { manualCallSetting: { ratioCallRate: true } } },
      3,
      'taskCreateSetting.manualCallSetting.ratioCallRate must be a number (got boolean)',
    ],
    [{ funcFlag: { smsFuncFlag: 'all' } }, 3, 'funcFlag.smsFuncFlag must be an array (got string "all")'],
    [{ funcFlag: null }, 3, /^funcFlag must be an object \(got null\)$/],
    [{ taskCreateSetting: { maxcall: 3 } }, 3, 'taskCreateSetting.maxcall is not a known field'],
    [
      { funcFlag: { smsFuncFlag: [{ smsID: 's', intentId: ['a'] }] } },
      3,
      'funcFlag.smsFuncFlag[0].intentId is not a known field',
    ],
    [{ extra: 1 }, 3, 'extra is not a known field'],
    [
      { taskCreateSetting: { dialAtWeekDay: '1,8' } },
      3,
      /^taskCreateSetting\.dialAtWeekDay has the wrong format \(got "1,8"\): Comma-separated days 1\.\.7/,
    ],
    [
      { taskCreateSetting: { taskCallbackUrl: 'ftp://x' } },
      3,
      /^taskCreateSetting\.taskCallbackUrl has the wrong format \(got "ftp:\/\/x"\)/,
    ],
    [
      { taskCreateSetting: { taskCallbackUrl: 'http://a b' } },
      3,
      'taskCreateSetting.taskCallbackUrl is not a valid uri (got "http://a b")',
    ],
    // 4: enum, const, minimum/maximum, multipleOf, length, uniqueItems
    [{ taskCreateSetting: { startupType: 0 } }, 4, 'taskCreateSetting.startupType must be one of 1, 2, 3 (got 0)'],
    [{ productID: 'callcenter' }, 4, 'productID must be "callbot" (got "callcenter")'],
    [{ taskCreateSetting: { maxCall: 0 } }, 4, 'taskCreateSetting.maxCall must be >= 1 (got 0)'],
    [{ taskCreateSetting: { maxRingTime: 0 } }, 4, 'taskCreateSetting.maxRingTime must be > 0 (got 0)'],
    [{ taskCreateSetting: { zoneSecond: 100 } }, 4, 'taskCreateSetting.zoneSecond must be a multiple of 900 (got 100)'],
    [{ taskCreateSetting: { zoneSecond: 51300 } }, 4, 'taskCreateSetting.zoneSecond must be <= 50400 (got 51300)'],
    [{ taskCreateSetting: { taskName: '' } }, 4, 'taskCreateSetting.taskName must not be empty'],
    [
      { taskCreateSetting: { taskName: 'n'.repeat(300) } },
      4,
      'taskCreateSetting.taskName must be at most 256 characters long (got 300)',
    ],
    [
      { funcFlag: { smsFuncFlag: [{ smsID: 's', intentID: ['a', 'a'] }] } },
      4,
      'funcFlag.smsFuncFlag[0].intentID has a repeated element (elements 0 and 1 are equal)',
    ],
    // 4001: too many elements (the 1000 cap is maxItems in the schema)
    [
      { funcFlag: { smsFuncFlag: many(1001, (i) => ({ smsID: `s${i}` })) } },
      4001,
      'funcFlag.smsFuncFlag has 1001 elements; at most 1000 allowed',
    ],
    [
      { funcFlag: { smsFuncFlag: [{ smsID: 's', intentName: many(1001) }] } },
      4001,
      'funcFlag.smsFuncFlag[0].intentName has 1001 elements; at most 1000 allowed',
    ],
  ];
  for (const [extra, retCode, msg] of updateCases) {
    it(`updateTask ${JSON.stringify(extra).slice(0, 90)} -> ${retCode}`, async () => {
      const r = await update(extra);
      expect(r.json?.retCode).toBe(retCode);
      if (typeof msg === 'string') expect(r.json?.retMsg).toBe(msg);
      else expect(r.json?.retMsg).toMatch(msg);
      expect(r.verified).toBe(true);
      expect(sim.tasks.get('task-c')!.taskCreateSetting).toEqual({});
      expect(sim.tasks.get('task-c')!.funcFlag).toEqual({});
    });
  }

  it('exactly 1000 elements are accepted', async () => {
    const r = await update({ funcFlag: { smsFuncFlag: [{ smsID: 's', intentID: many(1000) }] } });
    expect(r.json?.retCode).toBe(0);
    await update({ funcFlag: { smsFuncFlag: [] } });
  });

  it('listTask: null and empty filters match everything; arrays are capped at 1000; unknown filters are refused', async () => {
    const all = await list({ taskStatus: null, userTaskID: [], sceneID: null, startTs: null });
    expect(all.json).toMatchObject({ retCode: 0, total: 6 });
    const big = await list({ userTaskID: many(1001) });
    expect(big.json).toMatchObject({
      retCode: 4001,
      retMsg: 'queryConditions.userTaskID has 1001 elements; at most 1000 allowed',
    });
    expect((await list({ userTaskID: many(1000) })).json?.retCode).toBe(0);
    expect((await list({ taskStatus: [1, 'two'] })).json).toMatchObject({
      retCode: 3,
      retMsg: 'queryConditions.taskStatus[1] must be an integer (got string "two")',
    });
    expect((await list({ startTs: 1.5 })).json).toMatchObject({
      retCode: 3,
      retMsg: 'queryConditions.startTs must be an integer or null (got non-integer number 1.5)',
    });
    expect((await list({ status: [1] })).json).toMatchObject({
      retCode: 3,
      retMsg: 'queryConditions.status is not a known field',
    });
    expect((await list({}, { page: 0 })).json).toMatchObject({ retCode: 4, retMsg: 'page must be >= 1 (got 0)' });
    expect((await call(sim, 'listTask', { productID: 'callbot', page: 1, size: 1 })).json).toMatchObject({
      retCode: 2,
      retMsg: 'queryConditions is required',
    });
  });

  it('mgrTaskStatus and ping bodies', async () => {
    const mgr = (body: Record<string, unknown>) =>
      call(sim, 'mgrTaskStatus', { productID: 'callbot', userTaskID: 'task-c', ...body });
    expect((await mgr({})).json).toMatchObject({ retCode: 2, retMsg: 'taskOperate is required' });
    expect((await mgr({ taskOperate: 9 })).json).toMatchObject({
      retCode: 4,
      retMsg: 'taskOperate must be one of 1, 2, 3 (got 9)',
    });
    expect((await mgr({ taskOperate: 1, delCall: '0' })).json).toMatchObject({
      retCode: 3,
      retMsg: 'delCall must be an integer (got string "0")',
    });
    expect((await mgr({ taskOperate: 1, force: true })).json).toMatchObject({
      retCode: 3,
      retMsg: 'force is not a known field',
    });
    expect(sim.tasks.get('task-c')!.taskStatus).toBe(1);
    // ping ignores other fields (only data is documented, and callers echo what they like)
    expect((await call(sim, 'ping', { data: 'x', other: 1 })).json?.code).toBe(0);
    expect((await call(sim, 'ping', { data: null })).json).toMatchObject({
      retCode: 3,
      code: 3,
      msg: 'data must be a string (got null)',
    });
  });

  it('several problems: unknown field, then missing, then too many, then type, then value', async () => {
    // A misspelt key is reported rather than the "missing" it causes.
    expect((await update({ funcFlag: { smsFuncFlag: [{ smsId: 'a' }] } })).json).toMatchObject({
      retCode: 3,
      retMsg: 'funcFlag.smsFuncFlag[0].smsId is not a known field',
    });
    // missing userTaskID (2) beats a wrong productID (4)
    const r = await call(sim, 'updateTask', { productID: 'x', sceneID: 'scene-1' });
    expect(r.json).toMatchObject({ retCode: 2, retMsg: 'userTaskID is required' });
    // too many elements beats the bad elements inside
    const big = await update({ funcFlag: { smsFuncFlag: many(1001, () => 5) } });
    expect(big.json?.retCode).toBe(4001);
    // wrong type beats wrong value
    expect((await update({ taskCreateSetting: { startupType: 0, maxCall: 'x' } })).json).toMatchObject({
      retCode: 3,
      retMsg: 'taskCreateSetting.maxCall must be an integer (got string "x")',
    });
  });
});

describe('validate.ts helpers', () => {
  it('fieldPath formats JSON pointers below a base path', () => {
    expect(fieldPath('', '/funcFlag/smsFuncFlag/0/smsID')).toBe('funcFlag.smsFuncFlag[0].smsID');
    expect(fieldPath('', '', 'extra')).toBe('extra');
    expect(fieldPath('', '')).toBe('body');
    expect(fieldPath('tasks[2].funcFlag', '/smsFuncFlag/1', 'smsID')).toBe('tasks[2].funcFlag.smsFuncFlag[1].smsID');
    expect(fieldPath('', '/a~1b/c~0d')).toBe('a/b.c~d');
  });

  it('pickError skips combinator wrappers and ranks by class', () => {
    const e = (keyword: string): AjvError => ({ keyword, instancePath: '', schemaPath: '', params: {} });
    expect(pickError([e('allOf'), e('enum'), e('type')])!.keyword).toBe('type');
    expect(pickError([e('type'), e('required'), e('additionalProperties')])!.keyword).toBe('additionalProperties');
    expect(pickError([e('minimum'), e('maxItems')])!.keyword).toBe('maxItems');
    expect(pickError([e('allOf')])).toBeUndefined();
  });

  it('schemaError returns undefined for valid values', () => {
    expect(
      schemaError(validateUpdateTaskRequest, { productID: 'callbot', userTaskID: 'a', sceneID: 's' }),
    ).toBeUndefined();
    expect(schemaError(validateRequestFuncFlag, { wholeTTS: 1 }, 'x.funcFlag')!.message).toBe(
      'x.funcFlag.wholeTTS must be a boolean (got number)',
    );
  });
});

describe('seed settings use the same definitions', () => {
  const seedWith = (settings: Record<string, unknown>) => ({ tasks: [{ userTaskID: 'a', sceneID: 's', ...settings }] });
  it.each([
    [
      { taskCreateSetting: { zoneSecond: 100 } },
      'seed: tasks[0].taskCreateSetting.zoneSecond must be a multiple of 900 (got 100)',
    ],
    [
      { taskCreateSetting: { dialAtUpHour: '24' } },
      /^seed: tasks\[0\]\.taskCreateSetting\.dialAtUpHour has the wrong format \(got "24"\)/,
    ],
    [{ taskCreateSetting: 'x' }, 'seed: tasks[0].taskCreateSetting must be an object (got string "x")'],
    [{ funcFlag: { smsFuncFlag: [{}] } }, 'seed: tasks[0].funcFlag.smsFuncFlag[0].smsID is required'],
    [{ funcFlag: { phoneEncrypt: 'no' } }, 'seed: tasks[0].funcFlag.phoneEncrypt must be a boolean (got string "no")'],
  ])('%j', (settings, msg) => {
    const run = () => validateSeed(seedWith(settings));
    if (typeof msg === 'string') expect(run).toThrow(msg);
    else expect(run).toThrow(msg);
  });

  it('valid settings and null (= absent) pass', () => {
    const seed = validateSeed(
      seedWith({ taskCreateSetting: { maxCall: 2, manualCallSetting: { dispatchType: 0 } }, funcFlag: null }),
    );
    expect(seed.tasks[0]).toEqual({
      userTaskID: 'a',
      sceneID: 's',
      taskCreateSetting: { maxCall: 2, manualCallSetting: { dispatchType: 0 } },
    });
  });
});
