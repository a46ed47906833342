import type { CallformPlan } from '../model/plan.js';
import type { ApplyRun } from '../workflow/apply.js';
import { callsPerSecond, pausedTimes } from '../apply/report.js';
import { maskValue } from '../model/redact.js';

/** `--format json`: the documented plan format (schemas/plan.schema.json), values masked. */
export function renderPlanJson(plan: CallformPlan): string {
  return JSON.stringify({ ...maskValue(plan), kind: 'callform-plan' }, null, 2) + '\n';
}

/**
 * `apply --format json`: how the run ended, its exit code, the plan summary, every task's
 * outcome and reason (whatever the status: held back, unchanged and skipped tasks too),
 * the paused time of pause → update → resume windows, and the API traffic of the execution
 * (calls, throttled answers, average calls per second; null without an execution or when
 * the client does not count them).
 */
export function renderApplyJson(run: ApplyRun, exitCode: number): string {
  return JSON.stringify(applyReport(run, exitCode), null, 2) + '\n';
}

/** The `callform-apply` document (renderApplyJson), as a value: `apply --all-envs` holds one per environment. */
export function applyReport(run: ApplyRun, exitCode: number): object {
  const { results, counts, interrupted, updateCalls, createCalls, traffic: t } = run.result;
  const traffic = t && {
    api_calls: t.calls,
    throttled: t.throttled,
    seconds: Math.round(t.seconds * 1000) / 1000,
    calls_per_second: Math.round(callsPerSecond(t) * 10) / 10,
  };
  return maskValue({
    kind: 'callform-apply',
    status: run.status,
    exit_code: exitCode,
    summary: run.plan.summary,
    counts,
    interrupted,
    update_calls: updateCalls,
    create_calls: createCalls,
    traffic,
    paused: pausedTimes(results),
    results,
  });
}
