/** The terminal rendering of a plan's review: policy results and risk callouts, above the summary. */
import type { CallformPlan } from '../model/plan.js';
import { formatIssue, type Issue } from '../diagnostics/issue.js';
import { blockingViolations, formatExemption, formatViolation, shortDigest } from '../policy/report.js';
import type { Policy, PolicyResult } from '../policy/types.js';
import type { Colors } from './colors.js';
import { policyHeadline, risksOf } from './review-common.js';

export function policyLines(plan: CallformPlan, c: Colors): string[] {
  const policy = plan.policy;
  if (!policy) return [];
  const lines = [c.bold(`Policy: ${policyHeadline(policy)}`)];
  for (const v of policy.violations)
    lines.push(v.severity === 'error' ? c.red(`  x ${formatViolation(v)}`) : c.yellow(`  ! ${formatViolation(v)}`));
  for (const e of policy.exemptions) lines.push(c.dim(`  - ${formatExemption(e)}`));
  return [...lines, ''];
}

export function riskLines(plan: CallformPlan, c: Colors): string[] {
  const risks = risksOf(plan);
  if (risks.length === 0) return [];
  return [
    c.bold(c.yellow(`Risky changes (${risks.length}):`)),
    ...risks.map((r) => `  ${c.yellow('⚠')} ${r.userTaskID}: ${r.message}`),
    '',
  ];
}

/** "warning: file:line:col: path: message" lines, then a count of the warnings not shown. */
export function warningLines(shown: Issue[], more = 0): string {
  const lines = shown.map((i) => `warning: ${formatIssue(i)}`);
  if (more > 0)
    lines.push(
      `warning: … and ${more} more lint warning${more === 1 ? '' : 's'}; \`callform validate\` lists them all`,
    );
  return lines.length > 0 ? lines.join('\n') + '\n' : '';
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
const NO_BYPASS_HINT =
  '  hint: fix the task files, or change the policy in a reviewed pull request; no option overrides a policy';

/** validate's policy verdict: violations for stderr, a summary for stdout, failed when any is an error. */
export function validatePolicyLines(
  policy: Pick<Policy, 'rules' | 'sources' | 'digest'>,
  result: PolicyResult,
): { stdout: string; stderr: string; failed: boolean } {
  const blocking = blockingViolations(result);
  const warns = result.violations.filter((v) => v.severity === 'warn');
  const lines = warns.map((v) => `policy warning: ${formatViolation(v)}`);
  if (blocking.length > 0)
    lines.push(
      `Error: ${plural(blocking.length, 'policy violation')} at error level:`,
      ...blocking.map((v) => `  ${formatViolation(v)}`),
      NO_BYPASS_HINT,
    );
  const summary = `Policy: ${plural(policy.rules.length, 'rule')} from ${policy.sources.join(', ')} (sha256 ${shortDigest(policy.digest)}): ${plural(blocking.length, 'error')}, ${plural(warns.length, 'warning')}, ${plural(result.exemptions.length, 'exemption')}.`;
  const exemptions = result.exemptions.map((e) => `  exempt: ${formatExemption(e)}`);
  return {
    stdout: [summary, ...exemptions].join('\n') + '\n',
    stderr: lines.length > 0 ? lines.join('\n') + '\n' : '',
    failed: blocking.length > 0,
  };
}

/** After a plan: why it fails (error-level violations), for stderr. */
export function policyVerdict(plan: CallformPlan): string {
  const blocking = plan.policy ? blockingViolations(plan.policy) : [];
  if (blocking.length === 0) return '';
  return `Error: the plan has ${plural(blocking.length, 'policy violation')} at error level; apply will refuse it:\n${blocking.map((v) => `  ${formatViolation(v)}`).join('\n')}\n${NO_BYPASS_HINT}\n`;
}
