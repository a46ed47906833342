/** Reading a policy result: what blocks, and how violations and exemptions read. No checking here (see evaluate.ts). */
import type { PolicyViolation, PolicyExemption } from './types.js';

/** Error-level violations: any one of them fails plan and refuses apply. */
export function blockingViolations(result: { violations: readonly PolicyViolation[] }): PolicyViolation[] {
  return result.violations.filter((v) => v.severity === 'error');
}

/** "tasks/a.yaml:12: renewals-north [max-call-cap] maxCall is 80, above the maximum 50 — why the rule exists". */
export function formatViolation(v: PolicyViolation): string {
  return `${v.source ? `${v.source}: ` : ''}${v.userTaskID} [${v.rule}] ${v.finding} — ${v.message}`;
}

/** "support-callback-tier1 exempt from [no-immediate-start] (support-*): reason". */
export function formatExemption(e: PolicyExemption): string {
  return `${e.userTaskID} exempt from [${e.rule}] (${e.patterns.join(', ')}): ${e.reason}`;
}

export const shortDigest = (digest: string) => digest.slice(0, 12);
