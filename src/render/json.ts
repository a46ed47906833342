import type { CallformPlan } from '../model/plan.js';
import type { ApplyRun } from '../workflow/apply.js';
import { pausedTimes } from '../apply/report.js';
import { maskValue } from '../model/redact.js';

/** `--format json`: the documented plan format (schemas/plan.schema.json), values masked. */
export function renderPlanJson(plan: CallformPlan): string {
  return JSON.stringify({ ...maskValue(plan), kind: 'callform-plan' }, null, 2) + '\n';
}

/**
 * `apply --format json`: how the run ended, its exit code, the plan summary and, when it
 * applied, every task's outcome with the paused time of pause → update → resume windows.
 */
export function renderApplyJson(run: ApplyRun, exitCode: number): string {
  const base = { kind: 'callform-apply', status: run.status, exit_code: exitCode, summary: run.plan.summary };
  if (run.status !== 'applied') return JSON.stringify(base, null, 2) + '\n';
  const { results, counts, interrupted, updateCalls } = run.result;
  return JSON.stringify(maskValue({ ...base, counts, interrupted, update_calls: updateCalls, paused: pausedTimes(results), results }), null, 2) + '\n';
}
