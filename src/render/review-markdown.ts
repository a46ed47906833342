/** The Markdown (PR comment) rendering of a plan's review: risk block, policy table, window grids. */
import type { CallformPlan, TaskPlan } from '../model/plan.js';
import { dialGrid, gridLegend } from './dial-grid.js';
import { blockingCount, policyHeadline, risksByKind, risksOf, RISK_TITLE, windowSummary } from './review-common.js';

const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
const code = (s: string) => `\`${s.replace(/`/g, "'")}\``;
/** Task names listed per callout line before "and N more": the block stays short on big plans. */
const NAMES_PER_LINE = 10;

/** A callout line's tasks: the first names (as code), then "and N more". */
export function someTaskNames(userTaskIDs: readonly string[]): string {
  const names = [...new Set(userTaskIDs)];
  const shown = names.slice(0, NAMES_PER_LINE).map(code).join(', ');
  return `${shown}${names.length > NAMES_PER_LINE ? ` and ${names.length - NAMES_PER_LINE} more` : ''}`;
}

/** The ⚠ block that opens the comment: every kind of risk with the tasks it concerns. */
export function riskBlock(plan: CallformPlan): string[] {
  const groups = risksByKind(plan);
  if (groups.length === 0) return [];
  const tasks = new Set(risksOf(plan).map((r) => r.userTaskID));
  const lines = [
    `> ⚠️ **Risky changes in ${tasks.size} task${tasks.size === 1 ? '' : 's'}: review them before approving.**`,
    '>',
  ];
  for (const { kind, risks } of groups)
    lines.push(`> - **${RISK_TITLE[kind]}**: ${someTaskNames(risks.map((r) => r.userTaskID))}`);
  return [...lines, ''];
}

/** The policy result: a headline, then a table of violations and the exemptions with their reasons. */
export function policyBlock(plan: CallformPlan): string[] {
  const policy = plan.policy;
  if (!policy) return [];
  const blocking = blockingCount(plan);
  const lines = [
    blocking > 0
      ? `> ❌ **Policy: ${blocking} violation${blocking === 1 ? '' : 's'} at error level: apply will refuse this plan.** Fix the task files, or change the policy in a reviewed pull request.`
      : `**Policy:** ${policy.violations.length === 0 ? '✅ ' : ''}${policyHeadline(policy)}`,
    '',
  ];
  if (blocking > 0) lines.push(`**Policy:** ${policyHeadline(policy)}`, '');
  if (policy.violations.length > 0) {
    lines.push('| Severity | Rule | Task | Finding | Declared at |', '|---|---|---|---|---|');
    for (const v of policy.violations) {
      lines.push(
        `| ${v.severity === 'error' ? '❌ error' : '⚠️ warn'} | ${code(v.rule)} | ${code(v.userTaskID)} | ${cell(v.finding)}: ${cell(v.message)} | ${v.source ? code(v.source) : ''} |`,
      );
    }
    lines.push('');
  }
  if (policy.exemptions.length > 0) {
    lines.push(
      `<details><summary>${policy.exemptions.length} exemption${policy.exemptions.length === 1 ? '' : 's'} used</summary>`,
      '',
      '| Rule | Task | Exempted by | Reason |',
      '|---|---|---|---|',
    );
    for (const e of policy.exemptions)
      lines.push(
        `| ${code(e.rule)} | ${code(e.userTaskID)} | ${e.patterns.map(code).join(', ')} | ${cell(e.reason)} |`,
      );
    lines.push('', '</details>', '');
  }
  return lines;
}

/** Inside a task's section: its risks, then its dialing window before → after as a week grid. */
export function taskReview(plan: CallformPlan, task: TaskPlan): string[] {
  const lines = risksOf(plan)
    .filter((r) => r.userTaskID === task.userTaskID)
    .flatMap((r) => [`> ⚠️ **Risk:** ${cell(r.message)}`, '']);
  const window = windowSummary(task);
  if (!window) return lines;
  const [before, after] = [window.before?.schedule ?? null, window.after?.schedule ?? null];
  lines.push(`**${cell(window.line.replace(/^dialing window/, 'Dialing window'))}**`, '');
  if (before || after)
    lines.push('```text', ...dialGrid(before, after), '```', '', `<sub>${gridLegend(before, after)}</sub>`, '');
  return lines;
}
