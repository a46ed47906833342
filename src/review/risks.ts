/**
 * Risk callouts: changes a reviewer should look at twice. Table-driven: each detector
 * names one kind of risk and says, for one task of the plan, whether its change is of
 * that kind. A new kind of risk is one more entry in RISK_DETECTORS (and its kind in
 * plan.schema.json's risk enum and RISK_TITLE). Detectors see every task that has field
 * changes, whatever its action.
 */
import type { CallformPlan, PlanRisk, RiskKind, SettingChange, TaskPlan } from '../model/plan.js';
import { getPath, type ManagedSettings } from '../model/settings.js';
import {
  RAW_DIAL_FIELDS,
  describeGroups,
  scheduleKey,
  scheduleMinus,
  scheduleOf,
  type DialSchedule,
} from '../windows/index.js';

export interface RiskDetector {
  kind: RiskKind;
  /** Why the task's change is this kind of risk, or null. `sent` holds the changes it sends, by path. */
  detect(task: TaskPlan, sent: SentChanges): string | null;
}

/** A task's changes that will be sent, by path (an unmanaged field is not sent, so it risks nothing). */
export type SentChanges = ReadonlyMap<string, SettingChange>;

function sentChanges(task: TaskPlan): SentChanges {
  const sent = new Map<string, SettingChange>();
  if (!('changes' in task)) return sent;
  for (const c of task.changes) if (c.kind !== 'unmanage') sent.set(c.path, c);
  // A resync pushes every declared field over values callform cannot see (console edits):
  // a field it re-sends unchanged may still switch the server's value, so it counts as a
  // change from an unknown value. (sendMode declared re-sends what callform last applied
  // and is not a resync: its unchanged fields are not callouts.)
  if (task.action !== 'create' && task.resync && task.payload) {
    for (const path of task.sentFields)
      if (!sent.has(path)) sent.set(path, { path, kind: 'change', after: getPath(task.after, path) });
  }
  return sent;
}

const UNKNOWN = 'callform does not know the previous value';
const DIAL_PATHS = RAW_DIAL_FIELDS.map((f) => `taskCreateSetting.${f}`);
const DELAYED = 'takes effect after about 5 minutes, not for numbers already imported or completed';

/** A boolean switched to `value`, from the opposite or from an unknown value. */
function switchedTo(sent: SentChanges, path: string, value: boolean, what: string): string | null {
  const c = sent.get(path);
  if (!c || c.after !== value || c.before === value) return null;
  return c.before === undefined
    ? `${what} (${path.split('.')[1]} ${value}; ${UNKNOWN})`
    : `${what} (${path.split('.')[1]} ${JSON.stringify(c.before)} → ${value})`;
}

const settingsOf = (task: TaskPlan, side: 'before' | 'after'): ManagedSettings | null => task[side];

function hostOf(url: unknown): string | null {
  if (typeof url !== 'string') return null;
  try {
    return new URL(url).host.toLowerCase();
  } catch {
    return null;
  }
}

const wideningMemo = new Map<string, string | null>();
/** "dialing window widened: adds …", or null when `after` adds no half hour; remembered per pair. */
function widening(before: DialSchedule, after: DialSchedule): string | null {
  const key = `${scheduleKey(before)}-${scheduleKey(after)}`;
  let message = wideningMemo.get(key);
  if (message === undefined) {
    const added = scheduleMinus(after, before);
    message = added.length > 0 ? `dialing window widened: adds ${describeGroups(added)}` : null;
    if (wideningMemo.size < 4096) wideningMemo.set(key, message);
  }
  return message;
}

const ruleCount = (rules: unknown) =>
  Array.isArray(rules) ? `${rules.length} rule${rules.length === 1 ? '' : 's'}` : 'none';

export const RISK_DETECTORS: readonly RiskDetector[] = [
  {
    kind: 'phone-encrypt-off',
    detect: (_t, sent) => {
      const what = switchedTo(sent, 'funcFlag.phoneEncrypt', false, 'number encryption turned off');
      return what && `${what}; ${DELAYED}`;
    },
  },
  {
    kind: 'sms-enabled',
    detect: (_t, sent) => {
      const what = switchedTo(sent, 'funcFlag.smsEnable', true, 'SMS turned on');
      return what && `${what}; ${DELAYED}`;
    },
  },
  {
    kind: 'sms-rules-changed',
    detect: (_t, sent) => {
      const c = sent.get('funcFlag.smsFuncFlag');
      if (!c) return null;
      return `SMS rules ${c.before === undefined ? `set (${ruleCount(c.after)}; ${UNKNOWN})` : `changed (${ruleCount(c.before)} → ${ruleCount(c.after)})`}; ${DELAYED}`;
    },
  },
  {
    kind: 'dial-window-widened',
    detect: (t, sent) => {
      if (!DIAL_PATHS.some((path) => sent.has(path))) return null;
      const before = settingsOf(t, 'before') && scheduleOf(settingsOf(t, 'before')!.taskCreateSetting);
      const after = settingsOf(t, 'after') && scheduleOf(settingsOf(t, 'after')!.taskCreateSetting);
      // Widening is relative: with the previous window unknown there is nothing to compare
      // (absolute limits are what policy dialingHours rules are for).
      return before && after ? widening(before, after) : null;
    },
  },
  {
    kind: 'max-call-raised',
    detect: (_t, sent) => {
      const c = sent.get('taskCreateSetting.maxCall');
      if (!c || typeof c.before !== 'number' || typeof c.after !== 'number') return null;
      if (c.after <= 2 * c.before && c.after - c.before <= 50) return null;
      return `maxCall raised ${c.before} → ${c.after} (${Math.round((c.after / c.before) * 10) / 10}×, +${c.after - c.before} concurrent calls)`;
    },
  },
  {
    kind: 'callback-host-changed',
    detect: (_t, sent) => {
      const c = sent.get('taskCreateSetting.taskCallbackUrl');
      const [before, after] = [hostOf(c?.before), hostOf(c?.after)];
      return before && after && before !== after
        ? `callback host changed: ${before} → ${after} (task status callbacks go to the new host)`
        : null;
    },
  },
  {
    kind: 'startup-immediate',
    detect: (_t, sent) => {
      const c = sent.get('taskCreateSetting.startupType');
      if (!c || c.after !== 3 || c.before === 3) return null;
      return `startupType set to 3: the task starts dialing as soon as it has orders (${c.before === undefined ? UNKNOWN : `was ${JSON.stringify(c.before)}`})`;
    },
  },
  {
    kind: 'new-task',
    detect: (t) =>
      t.action === 'create'
        ? `task does not exist on NXCloud and will be created (sceneID "${t.sceneID}"), then get its ${t.sentFields.length} declared setting${t.sentFields.length === 1 ? '' : 's'}`
        : null,
  },
  {
    kind: 'live-task-paused',
    detect: (t) =>
      t.action === 'pause-update-resume' && t.deferred === null
        ? 'running task will be paused, updated and resumed (it stops dialing for the length of the window)'
        : null,
  },
];

/** Every risk of every task that sends something, in task order, then detector order. */
export function classifyRisks(
  plan: Pick<CallformPlan, 'tasks'>,
  detectors: readonly RiskDetector[] = RISK_DETECTORS,
): PlanRisk[] {
  const risks: PlanRisk[] = [];
  for (const task of plan.tasks) {
    // A task sends something when it has changes, or a payload without any (a resync, sendMode declared).
    if (!('changes' in task) || (task.changes.length === 0 && task.payload === null && task.action !== 'create'))
      continue;
    const sent = sentChanges(task);
    for (const d of detectors) {
      const message = d.detect(task, sent);
      if (message === null) continue;
      const risk: PlanRisk = { userTaskID: task.userTaskID, kind: d.kind, message };
      if (task.source) risk.source = task.source;
      risks.push(risk);
    }
  }
  return risks;
}
