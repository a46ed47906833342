import type { CallformPlan } from '../model/plan.js';
import { maskValue } from '../model/redact.js';

/** `--format json`: the documented plan format (schemas/plan.schema.json), values masked. */
export function renderPlanJson(plan: CallformPlan): string {
  return JSON.stringify({ ...maskValue(plan), kind: 'callform-plan' }, null, 2) + '\n';
}
