/** The terminal rendering of a plan's review: policy results and risk callouts, above the summary. */
import type { CallformPlan } from '../model/plan.js';
import { formatExemption, formatViolation } from '../policy/format.js';
import type { Colors } from './colors.js';
import { policyHeadline, risksOf } from './review-common.js';

export function policyLines(plan: CallformPlan, c: Colors): string[] {
  const policy = plan.policy;
  if (!policy) return [];
  const lines = [c.bold(`Policy: ${policyHeadline(policy)}`)];
  for (const v of policy.violations) lines.push(v.severity === 'error' ? c.red(`  x ${formatViolation(v)}`) : c.yellow(`  ! ${formatViolation(v)}`));
  for (const e of policy.exemptions) lines.push(c.dim(`  - ${formatExemption(e)}`));
  return [...lines, ''];
}

export function riskLines(plan: CallformPlan, c: Colors): string[] {
  const risks = risksOf(plan);
  if (risks.length === 0) return [];
  return [c.bold(c.yellow(`Risky changes (${risks.length}):`)), ...risks.map((r) => `  ${c.yellow('⚠')} ${r.userTaskID}: ${r.message}`), ''];
}
