/**
 * Reading a saved plan for `show` and `apply`: its derived parts (summary, risks,
 * dialing-window views, policy report) are recomputed from its own task entries and must
 * be what the file says; a difference refuses the file as edited, naming the part.
 */
import type { CallformPlan, PolicyReport } from '../model/plan.js';
import { CallformError } from '../errors.js';
import { readSavedPlan } from '../plan/saved-plan.js';
import { editedPart, policyReportDifference } from '../review/edited.js';
import { derivePlanParts, policySubjects } from '../review/index.js';
import { shortDigest } from '../policy/report.js';
import type { Policy } from '../policy/types.js';

const REMAKE = 'make a new plan with `callform plan --out FILE`, review it, and apply that';

function editedPlanError(file: string, what: string): CallformError {
  return new CallformError(`${file}: ${what}: the plan file was edited`, REMAKE);
}

/**
 * A saved plan whose summary, risks and dialing-window views are those of its task entries.
 * A format 2.0 plan has no risks or windows: they are derived, so its risky changes are
 * called out as in any other plan.
 */
export async function readCheckedPlan(file: string): Promise<CallformPlan> {
  const plan = await readSavedPlan(file);
  const edited = editedPart(plan);
  if (edited) throw editedPlanError(file, edited);
  if (plan.risks !== undefined && plan.dial_windows !== undefined) return plan;
  const { risks, dial_windows } = derivePlanParts(plan);
  return { ...plan, risks: plan.risks ?? risks, dial_windows: plan.dial_windows ?? dial_windows };
}

/** The policy's verdict on a plan's tasks, as a plan records it (previous_digest: what the state records). */
export async function policyVerdict(
  policy: Policy,
  plan: Pick<CallformPlan, 'tasks'>,
  previous: string | null | undefined,
): Promise<PolicyReport> {
  const { policyReport } = await import('../policy/evaluate.js');
  const report = policyReport(policy, policySubjects(plan));
  return previous === undefined ? report : { ...report, previous_digest: previous };
}

/**
 * Compares a saved plan's policy report with the verdict of the policy in force, when
 * that policy is the one the plan was checked against (same digest); throws when they
 * differ. Returns why the report could not be compared, or null when it was (or there is
 * none). `state`: the state's recorded policy digest, when the state is at hand.
 */
export async function checkSavedPolicyReport(
  file: string,
  plan: CallformPlan,
  policy: Policy | null,
  state?: { policyDigest?: string | null },
): Promise<string | null> {
  const stored = plan.policy;
  if (!stored) return null;
  if (!policy) return 'the settings in use configure no policy';
  if (policy.digest !== stored.digest)
    return `the policy files changed since the plan was made (plan: sha256 ${shortDigest(stored.digest)}, now: sha256 ${shortDigest(policy.digest)})`;
  const fresh = await policyVerdict(policy, plan, state?.policyDigest);
  const differs = policyReportDifference(stored, fresh, state !== undefined);
  if (differs) throw editedPlanError(file, differs);
  return null;
}
