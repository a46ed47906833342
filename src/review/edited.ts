/**
 * A saved plan's derived parts against what its own task entries give. Every part a reader
 * takes in before the tasks (the summary line, the risk callouts, the dialing-window views,
 * the policy verdict) is derived from the task entries; a file whose stored parts differ
 * was edited, and is refused naming the part. Pure.
 */
import type { CallformPlan, PlanRisk, PlanSummary, PolicyReport, TaskPlan } from '../model/plan.js';
import { dataEqual } from '../model/settings.js';
import { PRODUCT_ID } from '../model/task.js';
import { diffSettings, pickSettings } from '../plan/diff.js';
import { delayedEffect, sentPaths } from '../plan/plan.js';
import { derivePlanParts } from './index.js';

const SUMMARY_WORDS: Record<keyof PlanSummary, string> = {
  create: 'to create',
  update: 'to update',
  noop: 'unchanged',
  blocked: 'blocked',
  forget: 'to forget',
  error: 'with errors',
  resume: 'to resume',
};

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;
const riskList = (risks: readonly PlanRisk[]) =>
  risks.length === 0 ? 'none' : risks.map((r) => `${r.userTaskID} ${r.kind}`).join(', ');
/** Through JSON, as a saved plan holds it (no undefined fields). */
const asStored = (value: unknown): unknown => JSON.parse(JSON.stringify(value ?? null));

function summaryDifference(stored: PlanSummary, derived: PlanSummary): string | null {
  for (const key of Object.keys(SUMMARY_WORDS) as Array<keyof PlanSummary>) {
    // A plan older than format 2.2 has no create count: it creates nothing.
    if ((stored[key] ?? 0) !== (derived[key] ?? 0))
      return `its summary says ${stored[key] ?? 0} ${SUMMARY_WORDS[key]}, but its tasks have ${derived[key] ?? 0} ${SUMMARY_WORDS[key]}`;
  }
  return null;
}

/**
 * How one task entry contradicts itself, or null: its changes must be the difference of its
 * before and after, the fields it sends those its changes (or, declared and resync, every
 * declared one) give, its payload their values, and the delayed-effect warning present when
 * an update's payload has such a field. (Its before and after the stale check holds against the
 * state and the files.)
 */
function taskEntryDifference(t: TaskPlan): string | null {
  if (t.action === 'forget') return null;
  const changes = diffSettings(t.before, t.after);
  if (!dataEqual(asStored('changes' in t ? t.changes : []), asStored(changes)))
    return `task ${t.userTaskID}: its changes are not the difference between its before and after`;
  if (t.action === 'noop') return null;
  const identity = { productID: PRODUCT_ID, userTaskID: t.userTaskID, sceneID: t.sceneID };
  if (t.action === 'create' && !dataEqual(asStored(t.createPayload), identity))
    return `task ${t.userTaskID}: its createPayload is not the task's identity (productID, userTaskID, sceneID)`;
  const declaredToo =
    t.action !== 'create' && (t.resync || (t.sendMode === 'declared' && changes.some((c) => c.kind !== 'unmanage')));
  const sent =
    changes.length === 0 && !(t.action !== 'create' && t.resync) ? [] : sentPaths(changes, t.after, declaredToo);
  if (!dataEqual(t.sentFields, sent)) return `task ${t.userTaskID}: its sentFields are not the fields its changes send`;
  const settings = pickSettings(t.after, sent);
  const payload = settings && { ...identity, ...settings };
  if (!dataEqual(asStored(t.payload), asStored(payload)))
    return `task ${t.userTaskID}: its payload is not the values of the fields it sends`;
  if (t.action !== 'create' && !delayedEffect(payload).every((w) => t.warnings.includes(w)))
    return `task ${t.userTaskID}: the warning that phoneEncrypt and SMS changes take effect late is missing`;
  return null;
}

/**
 * Which stored part of the saved plan differs from what its task entries give, in words
 * ("its summary says 0 to update, but its tasks have 1 to update"), or null. A format 2.0
 * plan has no risks or dialing windows: only its summary is compared.
 */
export function editedPart(saved: CallformPlan): string | null {
  // The create action came with format 2.2: an older label on a plan that creates hides it.
  const minor = Number(saved.format_version.split('.')[1]);
  const create = minor < 2 ? saved.tasks.find((t) => t.action === 'create') : undefined;
  if (create)
    return `its format_version ${saved.format_version} has no create action, but task ${create.userTaskID} is one (format 2.2)`;
  for (const t of saved.tasks) {
    const entry = taskEntryDifference(t);
    if (entry) return entry;
  }
  const derived = derivePlanParts(saved);
  const summary = summaryDifference(saved.summary, derived.summary);
  if (summary) return summary;
  if (saved.risks !== undefined && !dataEqual(asStored(saved.risks), asStored(derived.risks))) {
    return `its risks list ${plural(saved.risks.length, 'risky change')} (${riskList(saved.risks)}), but its tasks have ${plural(derived.risks.length, 'risky change')} (${riskList(derived.risks)})`;
  }
  if (saved.dial_windows !== undefined && !dataEqual(asStored(saved.dial_windows), asStored(derived.dial_windows))) {
    const ids = (ws: readonly { userTaskID: string }[]) => ws.map((w) => w.userTaskID).join(', ') || 'none';
    if (ids(saved.dial_windows) !== ids(derived.dial_windows))
      return `its dialing-window views are of ${ids(saved.dial_windows)}, but its tasks change the windows of ${ids(derived.dial_windows)}`;
    const i = saved.dial_windows.findIndex((w, k) => !dataEqual(asStored(w), asStored(derived.dial_windows[k])));
    return `its dialing-window view of task ${saved.dial_windows[i]?.userTaskID ?? '?'} is not the window change its task makes`;
  }
  return null;
}

/**
 * A violation without its `source`: what the policy finds is compared, not where it is
 * written (in an environment, a value an overlay set is located in the overlay file, which
 * the plan's task entries do not record; the files are checked by the stale check).
 */
const unlocated = ({ source: _source, ...v }: PolicyReport['violations'][number]) => v;

/**
 * How a saved plan's policy report differs from the verdict of the same policy (same
 * digest) on the plan's tasks, or null. `fresh` is that verdict; its previous_digest (what
 * the state records) is compared only with `withPrevious` (when the state is at hand).
 */
export function policyReportDifference(
  stored: PolicyReport,
  fresh: PolicyReport,
  withPrevious: boolean,
): string | null {
  const count = (r: PolicyReport) =>
    `${plural(r.violations.length, 'violation')} and ${plural(r.exemptions.length, 'exemption')}`;
  if (!dataEqual(asStored(stored.violations.map(unlocated)), asStored(fresh.violations.map(unlocated))))
    return `its policy report lists ${count(stored)}, but the policy (sha256 ${stored.digest.slice(0, 12)}) finds ${count(fresh)} in its tasks`;
  if (!dataEqual(asStored(stored.exemptions), asStored(fresh.exemptions)))
    return `its policy report's exemptions are not the ones the policy (sha256 ${stored.digest.slice(0, 12)}) grants its tasks`;
  if (!dataEqual(stored.sources, fresh.sources) || stored.rules !== fresh.rules)
    return `its policy report names ${plural(stored.rules, 'rule')} from ${stored.sources.join(', ') || 'nowhere'}, but the policy with its digest has ${plural(fresh.rules, 'rule')} from ${fresh.sources.join(', ')}`;
  if (withPrevious && stored.previous_digest !== fresh.previous_digest)
    return `its policy report's previous_digest (${stored.previous_digest ?? 'absent'}) is not what the state records (${fresh.previous_digest ?? 'absent'})`;
  return null;
}
