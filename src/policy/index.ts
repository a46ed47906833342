/**
 * Policy checks: rules every task must pass (policy.schema.json). Compiled once per run
 * (compile.ts), evaluated purely against tasks' merged settings (evaluate.ts). Loading
 * the rules from files is config's job (config/load-policy.ts).
 */
export type * from './types.js';
export { compileRules } from './compile.js';
export { evaluatePolicy, policyReport } from './evaluate.js';
export { blockingViolations, formatViolation, formatExemption } from './report.js';
