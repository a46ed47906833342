import { targetFilter } from '../plan/targets.js';
import { CHECKS, lazyAjv, type CheckHelpers } from './checks.js';
import type { CompiledRule, PolicyRule, RuleKind, RuleOf, RuleProblem } from './types.js';

const patternList = (p: string | string[] | undefined): string[] => (p === undefined ? [] : Array.isArray(p) ? p : [p]);

/**
 * Compiles each rule once: its check, scope and exemptions, ready for thousands of
 * tasks. Problems in the rules themselves come back located by rule index and path.
 */
export function compileRules(rules: readonly PolicyRule[]): { rules: CompiledRule[]; problems: RuleProblem[] } {
  const helpers: CheckHelpers = { ajv: lazyAjv() };
  const problems: RuleProblem[] = [];
  const compiled = rules.map((rule, index): CompiledRule => {
    const compile = CHECKS[rule.kind] as (
      r: RuleOf<RuleKind>,
      h: CheckHelpers,
    ) => ReturnType<(typeof CHECKS)[RuleKind]>;
    const { check, problems: own } = compile(rule, helpers);
    problems.push(...own.map((p) => ({ ...p, rule: index })));
    const scope = rule.tasks === undefined ? null : targetFilter(patternList(rule.tasks));
    const exemptions = (rule.exempt ?? []).map((e) => ({
      patterns: patternList(e.tasks),
      reason: e.reason.trim(),
      matches: targetFilter(patternList(e.tasks)),
    }));
    return {
      name: rule.name,
      kind: rule.kind,
      severity: rule.severity,
      message: rule.message,
      appliesTo: scope,
      exemptionOf: (id) => {
        const e = exemptions.find((x) => x.matches(id));
        return e && { patterns: e.patterns, reason: e.reason };
      },
      check,
    };
  });
  return { rules: compiled, problems };
}
