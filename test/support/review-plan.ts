/**
 * A fixed plan exercising the review layer (risks, dialing windows, policy results), for
 * golden files and risk tests: pure data, no files, no server.
 */
import { buildPlan } from '../../src/plan/plan.js';
import { reviewPlan, policySubjects } from '../../src/review/index.js';
import { compileRules, policyReport, type Policy, type PolicyRule } from '../../src/policy/index.js';
import type { DesiredTask, RemoteTask } from '../../src/model/task.js';
import type { CallformState } from '../../src/generated/state.js';

const NOW = new Date('2026-11-25T12:00:00Z');
const LINEAGE = '11111111-2222-4333-8444-555555555555';

const BASE = {
  zoneSecond: 28800,
  dialAtWeekDay: '1,2,3,4,5',
  dialAtUpHour: '10,11,15,16,17',
  dialAtDownHour: '10,11,15,16,17',
  maxCall: 20,
  startupType: 1 as const,
  taskCallbackUrl: 'https://ops:s3cret@hooks.example.com/callbot/task-status',
};

function desired(
  id: string,
  tcs: Partial<DesiredTask['taskCreateSetting']> = {},
  ff: DesiredTask['funcFlag'] = {},
): DesiredTask {
  return {
    userTaskID: id,
    sceneID: 'scene-renewal-v3',
    taskCreateSetting: { ...BASE, taskName: `Renewals ${id}`, ...tcs },
    funcFlag: { wholeTTS: true, ...ff },
    lifecycle: {},
    source: `tasks/${id}.yaml:3`,
  };
}

const REVIEW_RULES: PolicyRule[] = [
  {
    name: 'robot-concurrency',
    kind: 'maxCall',
    severity: 'error',
    message: 'the telephony contract allows 50 concurrent calls per task',
    max: 50,
    exempt: [{ tasks: 'vip-*', reason: 'VIP line has its own trunk (ops approval CHG-2291, until 2027-03)' }],
  },
  {
    name: 'calling-hours',
    kind: 'dialingHours',
    severity: 'error',
    message: 'no calls before 08:00 or after 21:00 local time',
    between: '08:00-21:00',
  },
  {
    name: 'encrypt-numbers',
    kind: 'requiredFuncFlags',
    severity: 'warn',
    message: 'agents should see masked numbers',
    funcFlag: { phoneEncrypt: true },
    tasks: 'collections-*',
  },
  {
    name: 'callback-hosts',
    kind: 'callbackUrl',
    severity: 'error',
    message: 'callbacks go to our hooks service only',
    hosts: ['hooks.example.com'],
  },
];

export function reviewPolicy(): Policy {
  const { rules, problems } = compileRules(REVIEW_RULES);
  if (problems.length > 0) throw new Error(JSON.stringify(problems));
  return { rules, sources: ['policies/base.yaml'], digest: 'ab'.repeat(32) };
}

/** Tasks as declared now and as last applied, one per kind of review finding. */
function reviewInput() {
  const files = [
    // The example: up hours widened, down hours unchanged: evenings gain lone half hours.
    desired('collections-west', { dialAtUpHour: '8,9,10,11,15,16,17,18,19,20,21' }, { phoneEncrypt: true }),
    desired('collections-east', {}, { phoneEncrypt: false }),
    desired('renewals-north', { maxCall: 80 }),
    desired('renewals-south', { taskCallbackUrl: 'https://hooks.partner-crm.example.net/callbot' }),
    desired('renewals-launch', { startupType: 3 }),
    desired('vip-callbacks', { maxCall: 120 }),
    desired(
      'reminders-sms',
      {},
      { smsEnable: true, smsFuncFlag: [{ smsID: 'sms-pay-link', intentID: ['agree-to-pay'] }] },
    ),
    desired('renewals-narrower', { dialAtWeekDay: '1,2,3', dialAtUpHour: '10,11', dialAtDownHour: '10,11' }),
  ];
  const applied = (
    t: DesiredTask,
    tcs: Partial<DesiredTask['taskCreateSetting']> = {},
    ff: DesiredTask['funcFlag'] = {},
  ) => ({
    sceneID: t.sceneID,
    taskID: `T-${t.userTaskID}`,
    taskCreateSetting: { ...t.taskCreateSetting, ...tcs },
    funcFlag: { ...t.funcFlag, ...ff },
    appliedAt: NOW.toISOString(),
  });
  const [west, east, north, south, launch, vip, , narrower] = files as [
    DesiredTask,
    DesiredTask,
    DesiredTask,
    DesiredTask,
    DesiredTask,
    DesiredTask,
    DesiredTask,
    DesiredTask,
  ];
  const state: CallformState = {
    version: 1,
    lineage: LINEAGE,
    serial: 7,
    tasks: {
      'collections-west': applied(west, { dialAtUpHour: '10,11,15,16,17' }),
      'collections-east': applied(east, {}, { phoneEncrypt: true }),
      'renewals-north': applied(north, { maxCall: 20 }),
      'renewals-south': applied(south, { taskCallbackUrl: BASE.taskCallbackUrl }),
      'renewals-launch': applied(launch, { startupType: 1 }),
      'vip-callbacks': applied(vip, { maxCall: 40 }),
      'renewals-narrower': applied(narrower, { ...BASE }),
      // reminders-sms: never applied, so every value is new to callform.
    },
  };
  const remote = new Map<string, RemoteTask>(
    files.map((t) => [
      t.userTaskID,
      {
        userTaskID: t.userTaskID,
        taskID: `T-${t.userTaskID}`,
        sceneID: t.sceneID,
        taskStatus: t.userTaskID === 'renewals-south' ? 2 : 5,
      },
    ]),
  );
  return { desired: files, state, remote };
}

export function reviewedPlan(policy: Policy | null = reviewPolicy()) {
  const { desired: tasks, state, remote } = reviewInput();
  const plan = buildPlan({
    desired: tasks,
    state,
    stateExists: true,
    remote,
    targets: null,
    filesDigest: 'f'.repeat(64),
    toolVersion: '0.1.0',
    now: NOW,
  });
  return reviewPlan(plan, policy && policyReport(policy, policySubjects(plan)));
}
