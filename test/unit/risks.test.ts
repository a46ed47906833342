import { describe, it, expect } from 'vitest';
import { classifyRisks, RISK_DETECTORS, type RiskDetector } from '../../src/review/index.js';
import type { SettingChange, TaskPlan, UpdateTaskPlan } from '../../src/model/plan.js';
import type { ManagedSettings } from '../../src/model/settings.js';
import { reviewedPlan } from '../support/review-plan.js';

/** An update task with the given field changes; before/after hold the changed values. */
function update(changes: SettingChange[], base: Partial<ManagedSettings['taskCreateSetting']> = {}): UpdateTaskPlan {
  const before: ManagedSettings = { taskCreateSetting: { ...base }, funcFlag: {} };
  const after: ManagedSettings = { taskCreateSetting: { ...base }, funcFlag: {} };
  for (const c of changes) {
    const [group, key] = c.path.split('.') as ['taskCreateSetting' | 'funcFlag', string];
    if (c.before !== undefined) (before[group] as Record<string, unknown>)[key] = c.before;
    if (c.after !== undefined) (after[group] as Record<string, unknown>)[key] = c.after;
  }
  return {
    userTaskID: 't',
    sceneID: 's',
    action: 'update',
    remote: null,
    warnings: [],
    before,
    after,
    changes,
    payload: null,
    resync: false,
    sendMode: 'changed',
    sentFields: [],
    deferred: null,
  };
}
const risks = (t: TaskPlan) => classifyRisks({ tasks: [t] }).map((r) => `${r.kind}: ${r.message}`);
const change = (path: string, before: unknown, after: unknown): SettingChange => ({
  path,
  kind: before === undefined ? 'add' : 'change',
  ...(before === undefined ? {} : { before }),
  after,
});

describe('risk classifier', () => {
  it('number encryption off: from true, or from an unknown value; never for turning it on or unmanaging it', () => {
    expect(risks(update([change('funcFlag.phoneEncrypt', true, false)]))).toEqual([
      'phone-encrypt-off: number encryption turned off (phoneEncrypt true → false); takes effect after about 5 minutes, not for numbers already imported or completed',
    ]);
    expect(risks(update([change('funcFlag.phoneEncrypt', undefined, false)]))[0]).toMatch(
      /phoneEncrypt false; callform does not know the previous value/,
    );
    expect(risks(update([change('funcFlag.phoneEncrypt', false, true)]))).toEqual([]);
    expect(risks(update([{ path: 'funcFlag.phoneEncrypt', kind: 'unmanage', before: true }]))).toEqual([]);
  });

  it('SMS: turned on, and rules changed', () => {
    expect(risks(update([change('funcFlag.smsEnable', false, true)]))).toEqual([
      'sms-enabled: SMS turned on (smsEnable false → true); takes effect after about 5 minutes, not for numbers already imported or completed',
    ]);
    expect(risks(update([change('funcFlag.smsEnable', true, false)]))).toEqual([]);
    expect(risks(update([change('funcFlag.smsFuncFlag', [{ smsID: 'a' }], [{ smsID: 'a' }, { smsID: 'b' }])]))).toEqual(
      [
        'sms-rules-changed: SMS rules changed (1 rule → 2 rules); takes effect after about 5 minutes, not for numbers already imported or completed',
      ],
    );
  });

  it('dialing window: widened means a half hour added; narrowing or an unknown previous window is not', () => {
    const base = { dialAtWeekDay: '1,2,3,4,5', dialAtUpHour: '9,10', dialAtDownHour: '9,10' };
    expect(risks(update([change('taskCreateSetting.dialAtWeekDay', '1,2,3,4,5', '1,2,3,4,5,6')], base))).toEqual([
      'dial-window-widened: dialing window widened: adds Sat 09:00–11:00',
    ]);
    expect(risks(update([change('taskCreateSetting.dialAtDownHour', '9,10', '8,9,10')], base))).toEqual([
      'dial-window-widened: dialing window widened: adds Mon–Fri 08:30–09:00',
    ]);
    // More days, fewer hours: still widened (Saturday is new).
    expect(
      risks(
        update(
          [
            change('taskCreateSetting.dialAtWeekDay', '1,2,3,4,5', '6'),
            change('taskCreateSetting.dialAtUpHour', '9,10', '9'),
          ],
          base,
        ),
      ),
    ).toEqual(['dial-window-widened: dialing window widened: adds Sat 09:00–10:00, 10:30–11:00']);
    expect(risks(update([change('taskCreateSetting.dialAtUpHour', '9,10', '9')], base))).toEqual([]);
    expect(
      risks(
        update([change('taskCreateSetting.dialAtUpHour', undefined, '9,10,11')], {
          dialAtWeekDay: '1',
          dialAtDownHour: '9',
        }),
      ),
    ).toEqual([]);
  });

  it('maxCall: more than 2× or more than +50', () => {
    expect(risks(update([change('taskCreateSetting.maxCall', 10, 21)]))).toEqual([
      'max-call-raised: maxCall raised 10 → 21 (2.1×, +11 concurrent calls)',
    ]);
    expect(risks(update([change('taskCreateSetting.maxCall', 10, 20)]))).toEqual([]);
    expect(risks(update([change('taskCreateSetting.maxCall', 100, 151)]))).toEqual([
      'max-call-raised: maxCall raised 100 → 151 (1.5×, +51 concurrent calls)',
    ]);
    expect(risks(update([change('taskCreateSetting.maxCall', 100, 150)]))).toEqual([]);
    expect(risks(update([change('taskCreateSetting.maxCall', 50, 5)]))).toEqual([]);
  });

  it('callback host changed (hosts only: credentials never in a callout)', () => {
    expect(
      risks(
        update([
          change('taskCreateSetting.taskCallbackUrl', 'https://u:pw@a.example.com/x', 'https://u:pw@b.example.com/x'),
        ]),
      ),
    ).toEqual([
      'callback-host-changed: callback host changed: a.example.com → b.example.com (task status callbacks go to the new host)',
    ]);
    expect(
      risks(
        update([change('taskCreateSetting.taskCallbackUrl', 'https://a.example.com/x', 'https://A.example.com/y')]),
      ),
    ).toEqual([]);
  });

  it('startupType changed to 3', () => {
    expect(risks(update([change('taskCreateSetting.startupType', 2, 3)]))).toEqual([
      'startup-immediate: startupType set to 3: the task starts dialing as soon as it has orders (was 2)',
    ]);
    expect(risks(update([change('taskCreateSetting.startupType', 3, 1)]))).toEqual([]);
  });

  it('a running task that will be paused, updated and resumed (live-task lifecycle)', () => {
    const u = update([change('taskCreateSetting.maxCall', 2, 3)]);
    const payload = { productID: 'callbot' as const, userTaskID: 't', sceneID: 's', taskCreateSetting: { maxCall: 3 } };
    const windowed: TaskPlan = {
      ...u,
      action: 'pause-update-resume',
      pauseResume: true,
      payload,
      remote: { taskID: 'T', taskStatus: 2, sceneID: 's' },
    };
    expect(risks(windowed)).toEqual([
      'live-task-paused: running task will be paused, updated and resumed (it stops dialing for the length of the window)',
    ]);
    expect(risks({ ...windowed, deferred: { reason: 'error', code: 'scene-mismatch', message: 'x' } })).toEqual([]);
    expect(risks(u)).toEqual([]);
    // A resync (or sendMode declared) of a running task sends fields without a diff: the task is still paused.
    const resynced: TaskPlan = { ...windowed, changes: [], resync: true, sentFields: ['taskCreateSetting.maxCall'] };
    expect(risks(resynced)).toEqual([
      'live-task-paused: running task will be paused, updated and resumed (it stops dialing for the length of the window)',
    ]);
  });

  it('a resync re-sends declared values over unknown server values: absolute kinds are callouts; sendMode declared is not', () => {
    const u = update([change('taskCreateSetting.taskName', 'a', 'b')], { maxCall: 5 });
    u.before!.funcFlag = { phoneEncrypt: false, smsEnable: true };
    u.after.funcFlag = { phoneEncrypt: false, smsEnable: true };
    const payload = {
      productID: 'callbot' as const,
      userTaskID: 't',
      sceneID: 's',
      taskCreateSetting: { taskName: 'b', maxCall: 5 },
      funcFlag: { phoneEncrypt: false, smsEnable: true },
    };
    const sentFields = [
      'taskCreateSetting.taskName',
      'taskCreateSetting.maxCall',
      'funcFlag.phoneEncrypt',
      'funcFlag.smsEnable',
    ];
    expect(risks({ ...u, payload, sentFields, resync: true })).toEqual([
      'phone-encrypt-off: number encryption turned off (phoneEncrypt false; callform does not know the previous value); takes effect after about 5 minutes, not for numbers already imported or completed',
      'sms-enabled: SMS turned on (smsEnable true; callform does not know the previous value); takes effect after about 5 minutes, not for numbers already imported or completed',
    ]);
    expect(risks({ ...u, payload, sentFields, sendMode: 'declared' })).toEqual([]);
  });

  it('is a table: one more detector is one more kind of callout', () => {
    const live: RiskDetector = {
      kind: 'startup-immediate',
      detect: (t) => (t.remote?.taskStatus === 2 ? 'stand-in for a new kind' : null),
    };
    const running = {
      ...update([change('taskCreateSetting.taskName', 'a', 'b')]),
      remote: { taskID: 'T', taskStatus: 2, sceneID: 's' },
    };
    expect(classifyRisks({ tasks: [running] }, [...RISK_DETECTORS, live]).map((r) => r.message)).toEqual([
      'stand-in for a new kind',
    ]);
    expect(classifyRisks({ tasks: [running] })).toEqual([]);
  });

  it('classifies a whole plan in task order, held-back tasks included', () => {
    expect(reviewedPlan().risks!.map((r) => `${r.userTaskID} ${r.kind}`)).toEqual([
      'collections-east phone-encrypt-off',
      'collections-west dial-window-widened',
      'reminders-sms sms-enabled',
      'reminders-sms sms-rules-changed',
      'renewals-launch startup-immediate',
      'renewals-north max-call-raised',
      'renewals-south callback-host-changed',
      'vip-callbacks max-call-raised',
    ]);
  });
});
