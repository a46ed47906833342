import type { Policy, PolicyResult, PolicySubject, PolicyViolation } from './types.js';

/**
 * Checks every task against every rule that applies to it. A failing task that a rule
 * exempts (with its written reason) is recorded as an exemption instead of a violation.
 * Pure and allocation-light: nothing is built for a task that passes.
 */
export function evaluatePolicy(policy: Pick<Policy, 'rules'>, subjects: Iterable<PolicySubject>): PolicyResult {
  const result: PolicyResult = { violations: [], exemptions: [] };
  for (const task of subjects) {
    for (const rule of policy.rules) {
      if (!rule.appliesTo(task.userTaskID)) continue;
      const found = rule.check(task);
      if (!found) continue;
      const exempt = rule.exemptionOf(task.userTaskID);
      if (exempt) {
        result.exemptions.push({ rule: rule.name, userTaskID: task.userTaskID, patterns: exempt.patterns, reason: exempt.reason });
        continue;
      }
      const violation: PolicyViolation = { rule: rule.name, kind: rule.kind, severity: rule.severity, userTaskID: task.userTaskID, finding: found.finding, message: rule.message };
      if (task.source) violation.source = task.source;
      if (found.path) violation.path = found.path;
      result.violations.push(violation);
    }
  }
  return result;
}

/** Error-level violations: any one of them fails plan and refuses apply. */
export function blockingViolations(result: Pick<PolicyResult, 'violations'>): PolicyViolation[] {
  return result.violations.filter((v) => v.severity === 'error');
}
