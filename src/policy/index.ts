/**
 * Policy checks: rules every task must pass (policy.schema.json). Compiled once per run
 * (compile.ts), evaluated purely against tasks' merged settings (evaluate.ts). Loading
 * the rules from files is config's job (config/load-policy.ts).
 */
export * from './types.js';
export { compileRules } from './compile.js';
export { evaluatePolicy, blockingViolations } from './evaluate.js';
export { formatViolation, formatExemption, shortDigest } from './format.js';
