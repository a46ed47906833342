import type { PolicyViolation, PolicyExemption } from './types.js';

/** "tasks/a.yaml:12: renewals-north [max-call-cap] maxCall is 80, above the maximum 50 — why the rule exists". */
export function formatViolation(v: PolicyViolation): string {
  return `${v.source ? `${v.source}: ` : ''}${v.userTaskID} [${v.rule}] ${v.finding} — ${v.message}`;
}

/** "support-callback-tier1 exempt from [no-immediate-start] (support-*): reason". */
export function formatExemption(e: PolicyExemption): string {
  return `${e.userTaskID} exempt from [${e.rule}] (${e.patterns.join(', ')}): ${e.reason}`;
}

export const shortDigest = (digest: string) => digest.slice(0, 12);
