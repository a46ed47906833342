/** What the text and Markdown renderings of risks, windows and the policy share. */
import type { CallformPlan, PlanRisk, PolicyReport, TaskPlan } from '../model/plan.js';
import { describeSchedule, formatZone } from '../windows/index.js';
import { changesDialWindow, readableWindow, type ReadableWindow } from '../review/index.js';
import { shortDigest } from '../policy/report.js';

export const RISK_TITLE: Record<PlanRisk['kind'], string> = {
  'phone-encrypt-off': 'number encryption turned off',
  'sms-enabled': 'SMS turned on',
  'sms-rules-changed': 'SMS rules changed',
  'dial-window-widened': 'dialing window widened',
  'max-call-raised': 'maxCall raised sharply',
  'callback-host-changed': 'callback host changed',
  'startup-immediate': 'immediate start (startupType 3)',
  'live-task-paused': 'running task paused and resumed',
  'new-task': 'new task',
};

export const risksOf = (plan: CallformPlan): PlanRisk[] => plan.risks ?? [];

/** Risks grouped by kind, in the order of RISK_TITLE. */
export function risksByKind(plan: CallformPlan): Array<{ kind: PlanRisk['kind']; risks: PlanRisk[] }> {
  return (Object.keys(RISK_TITLE) as Array<PlanRisk['kind']>)
    .map((kind) => ({ kind, risks: risksOf(plan).filter((r) => r.kind === kind) }))
    .filter((g) => g.risks.length > 0);
}

const windowText = (w: ReadableWindow | null, missing: string) => (w ? describeSchedule(w.schedule) : missing);

function zoneText(before: ReadableWindow | null, after: ReadableWindow | null): string {
  const zones = [before, after].filter((w): w is ReadableWindow => w !== null).map((w) => formatZone(w.zoneSecond));
  return zones.length === 2 && zones[0] !== zones[1] ? `${zones[0]} → ${zones[1]}` : (zones[0] ?? 'zone not declared');
}

export interface WindowSummary {
  before: ReadableWindow | null;
  after: ReadableWindow | null;
  /** "dialing window (GMT+8): Mon–Fri 09:00–12:00 → Mon–Fri 08:00–12:00". */
  line: string;
}

/** The task's dialing window before → after, when a window field changes and either window is known. */
export function windowSummary(task: TaskPlan): WindowSummary | null {
  if (!changesDialWindow(task)) return null;
  const before = readableWindow(task.before);
  const after = readableWindow(task.after);
  // Neither window fully known (only some of the three fields declared): the field changes say it all.
  if (!before && !after) return null;
  const line = `dialing window (${zoneText(before, after)}): ${windowText(before, '(not known to callform)')} → ${windowText(after, '(not fully managed: the server keeps its own values)')}`;
  return { before, after, line };
}

export function policyHeadline(policy: PolicyReport): string {
  const errors = policy.violations.filter((v) => v.severity === 'error').length;
  const warns = policy.violations.length - errors;
  const counts = [
    `${errors} error${errors === 1 ? '' : 's'}`,
    `${warns} warning${warns === 1 ? '' : 's'}`,
    `${policy.exemptions.length} exemption${policy.exemptions.length === 1 ? '' : 's'}`,
  ];
  return `${policy.rules} rule${policy.rules === 1 ? '' : 's'} from ${policy.sources.join(', ')} (sha256 ${shortDigest(policy.digest)}): ${counts.join(', ')}${policyChangeNote(policy)}`;
}

/** "; the policy changed since the last apply (…)" when the state recorded another policy. */
function policyChangeNote(policy: PolicyReport): string {
  const previous = policy.previous_digest;
  if (previous === undefined || previous === policy.digest) return '';
  return `; the policy files changed since the last apply (${previous === null ? 'it ran without a policy' : `it ran under sha256 ${shortDigest(previous)}`})`;
}

export const blockingCount = (plan: CallformPlan) =>
  plan.policy?.violations.filter((v) => v.severity === 'error').length ?? 0;
