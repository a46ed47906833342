/**
 * The policy as a gate: validate reports violations, plan fails on error-level ones, and
 * apply refuses to run while the policy in force now (read again from its files) has
 * any: for a fresh plan and for a saved one alike. No option turns this off; a policy
 * changes only by changing its files.
 */
import type { CallformPlan, PolicyReport } from '../model/plan.js';
import { CallformError } from '../errors.js';
import type { LoadedTasks } from '../config/load-tasks.js';
import { blockingViolations, formatViolation, shortDigest } from '../policy/report.js';
import type { Policy, PolicyResult, PolicyViolation } from '../policy/types.js';
import { policySubjects } from '../review/index.js';
import { loadProjectPolicy, loadProjectTasks, locatedInEnvironment, type Project } from './project.js';
import { checkSavedPolicyReport } from './saved-plan.js';

export interface ValidateRun {
  tasks: LoadedTasks;
  policy: Policy | null;
  /** Violations and exemptions of every declared task; null without a policy. */
  result: PolicyResult | null;
}

/**
 * `validate`: the task files (all, or just `files`) and the policy, checked together (no
 * state, no network).
 */
export async function validateProject(project: Project, files?: string[]): Promise<ValidateRun> {
  const [tasks, policy] = await Promise.all([loadProjectTasks(project, files), loadProjectPolicy(project)]);
  const evaluated = policy && (await import('../policy/evaluate.js')).evaluatePolicy(policy, tasks.tasks);
  return { tasks, policy, result: evaluated && (await locatedInEnvironment(project, evaluated, tasks)) };
}

const NO_BYPASS = 'fix the task files, or change the policy in a reviewed pull request; no option overrides a policy';

export function policyRefusal(violations: PolicyViolation[], what: string): CallformError {
  const lines = violations.slice(0, 20).map((v) => `  ${formatViolation(v)}`);
  if (violations.length > 20) lines.push(`  … and ${violations.length - 20} more`);
  return new CallformError(
    `${what}: ${violations.length} policy violation${violations.length === 1 ? '' : 's'} at error level:\n${lines.join('\n')}`,
    NO_BYPASS,
  );
}

/** Throws when a plan made now has error-level violations (apply of a fresh plan). */
export function assertPolicyAllows(plan: CallformPlan): void {
  const blocking = plan.policy ? blockingViolations(plan.policy) : [];
  if (blocking.length > 0) throw policyRefusal(blocking, 'apply refused');
}

/** Why the policy a saved plan was checked against is not the one in force now, or null. */
export function policyChange(recorded: PolicyReport | null | undefined, current: Policy | null): string | null {
  const describe = (digest: string | undefined) => (digest ? `sha256 ${shortDigest(digest)}` : 'no policy');
  if (recorded === undefined)
    return current
      ? `the plan (format 2.0) records no policy check; checking it against the current policy (${describe(current.digest)})`
      : null;
  if ((recorded?.digest ?? null) === (current?.digest ?? null)) return null;
  return `the policy files changed since the plan was made (plan: ${describe(recorded?.digest)}, now: ${describe(current?.digest)}); checking the plan against the current policy`;
}

/**
 * A saved plan is checked again against the policy files as they are now: when they
 * changed since the plan, says so; any error-level violation refuses the apply. Returns
 * the digest of the policy in force (recorded in the state by the apply).
 */
export async function assertSavedPlanAllowed(
  project: Project,
  saved: { file: string; plan: CallformPlan; state: { policyDigest?: string | null } },
  warn?: (message: string) => void,
): Promise<{ digest: string | null }> {
  const { plan } = saved;
  const policy = await loadProjectPolicy(project);
  const changed = policyChange(plan.policy, policy);
  if (!policy && plan.policy) {
    // Settings without the policy the plan was checked against (another --config, or the
    // policy removed since): removing a policy must not let plans made under it through.
    throw new CallformError(
      `apply refused: the plan was checked against a policy (sha256 ${shortDigest(plan.policy.digest)}), but the settings in use configure none`,
      'apply it with the settings the plan was made with; if the policy was removed on purpose, make a new plan (`callform plan --out FILE`) and apply that',
    );
  }
  if (changed) warn?.(changed);
  if (!policy) return { digest: null };
  // Under the policy it was checked against, its report must be that policy's verdict.
  if (!changed) await checkSavedPolicyReport(saved.file, plan, policy, saved.state);
  const { evaluatePolicy } = await import('../policy/evaluate.js');
  const blocking = blockingViolations(evaluatePolicy(policy, policySubjects(plan)));
  if (blocking.length > 0)
    throw policyRefusal(blocking, `apply refused${changed ? ` (${changed.split(';')[0]})` : ''}`);
  return { digest: policy.digest };
}
