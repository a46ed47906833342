import type { TaskCreateSetting, FuncFlag } from '../model/task.js';
import type { PolicyViolation, PolicyExemption } from '../model/plan.js';
import type { PolicyRule } from '../generated/policy.js';

export type { PolicyRule, PolicyViolation, PolicyExemption };
export type RuleKind = PolicyRule['kind'];
export type RuleOf<K extends RuleKind> = Extract<PolicyRule, { kind: K }>;

/** What a rule checks: a task's merged settings, as they will be sent and recorded. */
export interface PolicySubject {
  userTaskID: string;
  sceneID: string;
  taskCreateSetting: TaskCreateSetting;
  funcFlag: FuncFlag;
  /** "file:line" of the declaration. */
  source?: string;
}

/** What is wrong with one task, for one rule. */
export interface Finding {
  path?: string;
  finding: string;
}

/** One rule's test of one task: a finding, or null when it passes. */
export type Check = (subject: PolicySubject) => Finding | null;

/** A problem in a rule itself, at a path inside the rule (['between'], ['schema']). */
export interface RuleProblem {
  /** Index of the rule in the list given to compileRules. */
  rule: number;
  at: Array<string | number>;
  message: string;
  hint?: string;
}

export interface CompiledRule {
  name: string;
  kind: RuleKind;
  severity: 'error' | 'warn';
  message: string;
  /** False for tasks outside the rule's `tasks` scope; null when the rule applies to every task. */
  appliesTo: ((userTaskID: string) => boolean) | null;
  /** The exemption that covers the task, if any. */
  exemptionOf(userTaskID: string): { patterns: string[]; reason: string } | undefined;
  check: Check;
}

/** The policy in force: compiled rules, where they came from and a digest of their sources. */
export interface Policy {
  rules: CompiledRule[];
  /** Policy files and the settings file (for its policy section), relative to the project. */
  sources: string[];
  /** SHA-256 over the sources: a saved plan records it, apply compares. */
  digest: string;
}

export interface PolicyResult {
  violations: PolicyViolation[];
  exemptions: PolicyExemption[];
}
