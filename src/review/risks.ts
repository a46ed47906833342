/**
 * Risk callouts: changes a reviewer should look at twice. Table-driven: each detector
 * names one kind of risk and says, for one task of the plan, whether its change is of
 * that kind. A new kind of risk (for a new plan action, say) is one more entry.
 */
import type { CallformPlan, PlanRisk, RiskKind, SettingChange, TaskPlan } from '../model/plan.js';
import type { ManagedSettings } from '../model/settings.js';
import { RAW_DIAL_FIELDS, cellsMinus, cellsOf, describeCells, scheduleOf, widens } from '../windows/index.js';

export interface RiskDetector {
  kind: RiskKind;
  /** Why the task's change is this kind of risk, or null. */
  detect(task: TaskPlan): string | null;
}

/** Changes that will be sent (an unmanaged field is not sent, so it risks nothing). */
function sentChanges(task: TaskPlan): SettingChange[] {
  return 'changes' in task ? task.changes.filter((c) => c.kind !== 'unmanage') : [];
}

function sent(task: TaskPlan, path: string): SettingChange | undefined {
  return sentChanges(task).find((c) => c.path === path);
}

const UNKNOWN = 'callform does not know the previous value';
const DELAYED = 'takes effect after about 5 minutes, not for numbers already imported or completed';

/** A boolean switched to `value`, from the opposite or from an unknown value. */
function switchedTo(task: TaskPlan, path: string, value: boolean, what: string): string | null {
  const c = sent(task, path);
  if (!c || c.after !== value || c.before === value) return null;
  return c.before === undefined ? `${what} (${path.split('.')[1]} ${value}; ${UNKNOWN})` : `${what} (${path.split('.')[1]} ${c.before} → ${value})`;
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

const ruleCount = (rules: unknown) => (Array.isArray(rules) ? `${rules.length} rule${rules.length === 1 ? '' : 's'}` : 'none');

export const RISK_DETECTORS: readonly RiskDetector[] = [
  {
    kind: 'phone-encrypt-off',
    detect: (t) => {
      const what = switchedTo(t, 'funcFlag.phoneEncrypt', false, 'number encryption turned off');
      return what && `${what}; ${DELAYED}`;
    },
  },
  {
    kind: 'sms-enabled',
    detect: (t) => {
      const what = switchedTo(t, 'funcFlag.smsEnable', true, 'SMS turned on');
      return what && `${what}; ${DELAYED}`;
    },
  },
  {
    kind: 'sms-rules-changed',
    detect: (t) => {
      const c = sent(t, 'funcFlag.smsFuncFlag');
      if (!c) return null;
      return `SMS rules ${c.before === undefined ? `set (${ruleCount(c.after)}; ${UNKNOWN})` : `changed (${ruleCount(c.before)} → ${ruleCount(c.after)})`}; ${DELAYED}`;
    },
  },
  {
    kind: 'dial-window-widened',
    detect: (t) => {
      if (!RAW_DIAL_FIELDS.some((f) => sent(t, `taskCreateSetting.${f}`))) return null;
      const before = settingsOf(t, 'before') && scheduleOf(settingsOf(t, 'before')!.taskCreateSetting);
      const after = settingsOf(t, 'after') && scheduleOf(settingsOf(t, 'after')!.taskCreateSetting);
      // Widening is relative: with the previous window unknown there is nothing to compare
      // (absolute limits are what policy dialingHours rules are for).
      if (!before || !after || !widens(before, after)) return null;
      return `dialing window widened: adds ${describeCells(cellsMinus(cellsOf(after), cellsOf(before)))}`;
    },
  },
  {
    kind: 'max-call-raised',
    detect: (t) => {
      const c = sent(t, 'taskCreateSetting.maxCall');
      if (!c || typeof c.before !== 'number' || typeof c.after !== 'number') return null;
      if (c.after <= 2 * c.before && c.after - c.before <= 50) return null;
      return `maxCall raised ${c.before} → ${c.after} (${Math.round((c.after / c.before) * 10) / 10}×, +${c.after - c.before} concurrent calls)`;
    },
  },
  {
    kind: 'callback-host-changed',
    detect: (t) => {
      const c = sent(t, 'taskCreateSetting.taskCallbackUrl');
      const [before, after] = [hostOf(c?.before), hostOf(c?.after)];
      return before && after && before !== after ? `callback host changed: ${before} → ${after} (task status callbacks go to the new host)` : null;
    },
  },
  {
    kind: 'startup-immediate',
    detect: (t) => {
      const c = sent(t, 'taskCreateSetting.startupType');
      if (!c || c.after !== 3 || c.before === 3) return null;
      return `startupType set to 3: the task starts dialing as soon as it has orders (${c.before === undefined ? UNKNOWN : `was ${c.before}`})`;
    },
  },
];

/** Every risk of every task, in task order, then detector order. */
export function classifyRisks(plan: Pick<CallformPlan, 'tasks'>, detectors: readonly RiskDetector[] = RISK_DETECTORS): PlanRisk[] {
  const risks: PlanRisk[] = [];
  for (const task of plan.tasks) {
    for (const d of detectors) {
      const message = d.detect(task);
      if (message === null) continue;
      const risk: PlanRisk = { userTaskID: task.userTaskID, kind: d.kind, message };
      if (task.source) risk.source = task.source;
      risks.push(risk);
    }
  }
  return risks;
}
