import type { PolicyReport } from '../model/plan.js';
import type { Policy, PolicyExemption, PolicyResult, PolicySubject, PolicyViolation } from './types.js';

/**
 * Checks every task against every rule that applies to it. A failing task that a rule
 * exempts (with its written reason) is recorded as an exemption instead of a violation.
 * Pure and allocation-light: nothing is built for a task that passes. Rule by rule (one
 * check called over all tasks keeps the call site monomorphic, which matters for 10,000
 * tasks), then reported in task order, then rule order.
 */
export function evaluatePolicy(policy: Pick<Policy, 'rules'>, subjects: Iterable<PolicySubject>): PolicyResult {
  const tasks = Array.isArray(subjects) ? (subjects as PolicySubject[]) : [...subjects];
  const found: Array<{ task: number; rule: number; violation?: PolicyViolation; exemption?: PolicyExemption }> = [];
  policy.rules.forEach((rule, r) => {
    const { check, appliesTo } = rule;
    for (let i = 0; i < tasks.length; i++) {
      const task = tasks[i];
      if (appliesTo && !appliesTo(task.userTaskID)) continue;
      const finding = check(task);
      if (!finding) continue;
      const exempt = rule.exemptionOf(task.userTaskID);
      if (exempt) {
        found.push({
          task: i,
          rule: r,
          exemption: { rule: rule.name, userTaskID: task.userTaskID, patterns: exempt.patterns, reason: exempt.reason },
        });
        continue;
      }
      const violation: PolicyViolation = {
        rule: rule.name,
        kind: rule.kind,
        severity: rule.severity,
        userTaskID: task.userTaskID,
        finding: finding.finding,
        message: rule.message,
      };
      if (task.source) violation.source = task.source;
      if (finding.path) violation.path = finding.path;
      found.push({ task: i, rule: r, violation });
    }
  });
  found.sort((a, b) => a.task - b.task || a.rule - b.rule);
  const result: PolicyResult = { violations: [], exemptions: [] };
  for (const f of found) {
    if (f.violation) result.violations.push(f.violation);
    else result.exemptions.push(f.exemption!);
  }
  return result;
}

/** The policy report of a plan (format 2.1): where the rules came from, and what they found. */
export function policyReport(policy: Policy, subjects: Iterable<PolicySubject>): PolicyReport {
  return {
    digest: policy.digest,
    sources: policy.sources,
    rules: policy.rules.length,
    ...evaluatePolicy(policy, subjects),
  };
}
