import { readFile, stat } from 'node:fs/promises';
import { PLAN_FORMAT_VERSION, isChange, isCreate, type CallformPlan } from '../model/plan.js';
import { dataEqual } from '../model/settings.js';
import { ownEntry } from '../model/task.js';
import { recordedSettings } from './plan.js';
import type { CallformState } from '../generated/state.js';
import { CallformError, fsProblem } from '../errors.js';
import { formatIssue } from '../diagnostics/issue.js';
import { ajvIssues } from '../diagnostics/ajv.js';

/**
 * A saved plan is the plan itself (plan.schema.json, kind callform-saved-plan): the exact
 * payloads, the state lineage/serial and the task-file digest it was computed from, the
 * remote statuses it saw, the tool version. It never holds NXCloud credentials (uuid, secret);
 * like the state, it does hold the settings themselves, taskCallbackUrl included.
 */
export async function writeSavedPlan(file: string, plan: CallformPlan, options: { raw?: boolean } = {}): Promise<void> {
  await refuseNonRegularTarget(file);
  const { default: writeFileAtomic } = await import('write-file-atomic');
  // raw: a document that sets its own kind (an all-environments plan file).
  const doc = options.raw ? plan : { ...plan, kind: 'callform-saved-plan' };
  try {
    await writeFileAtomic(file, JSON.stringify(doc, null, 2) + '\n');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new CallformError(
      `cannot write saved plan ${file}: ${e.code === 'ENOENT' ? 'its directory does not exist' : e.message}`,
      'check the --out path',
    );
  }
}

/**
 * The atomic write renames a temp file over the target: over a device, a pipe or a
 * directory that would replace it (as root, `--out /dev/null` would delete the device).
 * Only a new path or an existing regular file may be a saved plan.
 */
async function refuseNonRegularTarget(file: string): Promise<void> {
  // stat, not lstat: the write follows a symbolic link, so its target is what gets replaced.
  const st = await stat(file).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return null;
    throw new CallformError(`cannot write saved plan ${file}: ${fsProblem(err)}`, 'check the --out path');
  });
  if (st === null || st.isFile()) return;
  const kind = st.isDirectory()
    ? 'a directory'
    : st.isFIFO()
      ? 'a named pipe'
      : st.isCharacterDevice() || st.isBlockDevice()
        ? 'a device'
        : st.isSocket()
          ? 'a socket'
          : 'not a regular file';
  throw new CallformError(
    `cannot write saved plan ${file}: it is ${kind}, and saving would replace it`,
    'give --out a new file name or an existing plan file, e.g. --out plan.cfplan',
  );
}

export async function readSavedPlan(file: string): Promise<CallformPlan> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new CallformError(
      `cannot read saved plan ${file}: ${fsProblem(err)}`,
      'pass a file written by `callform plan --out FILE`',
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new CallformError(`${file} is not a saved plan (not JSON)`, 'create one with `callform plan --out FILE`');
  }
  return checkSavedPlanValue(file, value);
}

/** A parsed saved plan's format version and schema checked (`file` names it in messages). */
export async function checkSavedPlanValue(file: string, value: unknown): Promise<CallformPlan> {
  const version = (value as { format_version?: unknown } | null)?.format_version;
  const [major, minor] = PLAN_FORMAT_VERSION.split('.').map(Number) as [number, number];
  const [theirMajor, theirMinor] = (typeof version === 'string' ? version.split('.').map(Number) : []) as Array<
    number | undefined
  >;
  if (typeof version === 'string' && theirMajor !== major) {
    throw new CallformError(
      `${file} has plan format ${version}; this callform reads format ${major}.x (it writes ${PLAN_FORMAT_VERSION})`,
      'make the plan again with this callform: `callform plan --out FILE`',
    );
  }
  if (theirMinor !== undefined && theirMinor > minor) {
    throw new CallformError(
      `${file} has plan format ${String(version)}, written by a newer callform; this one reads format ${major}.0 to ${PLAN_FORMAT_VERSION}`,
      'apply it with the callform that made it, or upgrade callform',
    );
  }
  // Loaded here only: no other command validates plans.
  const { validatePlan } = await import('../generated/plan-validator.js');
  if (!validatePlan(value) || (value as CallformPlan).kind !== 'callform-saved-plan') {
    const issues = ajvIssues(validatePlan.errors, { file, basePath: [], sources: [] });
    throw new CallformError(
      `${file} is not a valid callform saved plan${
        issues.length
          ? ':\n' +
            issues
              .slice(0, 5)
              .map((i) => '  ' + formatIssue(i))
              .join('\n')
          : ' (kind is not callform-saved-plan)'
      }`,
      'create one with `callform plan --out FILE`',
    );
  }
  return value as CallformPlan;
}

/**
 * True when the state already records everything the plan does: each create or update it applies
 * (the recorded settings are its `after`, confirmed), each forget, each owed resume. So a
 * second `apply FILE` of the same plan can say so.
 */
export function stateRecordsPlan(plan: CallformPlan, state: CallformState): boolean {
  let work = plan.resumes.length;
  for (const t of plan.tasks) {
    const recorded = ownEntry(state.tasks, t.userTaskID);
    if (t.action === 'forget') {
      work++;
      if (recorded) return false;
    } else if ((isChange(t) || isCreate(t)) && t.deferred === null) {
      work++;
      if (!recorded || recorded.pending || recorded.creating || !dataEqual(recordedSettings(recorded), t.after))
        return false;
    }
  }
  return work > 0 && plan.resumes.every((r) => !ownEntry(state.owedResumes, r.userTaskID));
}

/** Why a saved plan can no longer be applied as is; `applied`: because it was applied already. */
export interface Staleness {
  reason: string;
  applied: boolean;
}

/** Why a saved plan can no longer be applied as is, or null when it is current. */
export function planStaleness(
  plan: CallformPlan,
  state: CallformState,
  stateExists: boolean,
  filesDigest: string,
): Staleness | null {
  const lineage = stateExists ? state.lineage : null;
  const moved = plan.state.lineage !== lineage || plan.state.serial !== state.serial;
  // The same state file, moved on (or created) since the plan, and holding what the plan does.
  const sameFile = plan.state.lineage === null || plan.state.lineage === lineage;
  if (moved && stateExists && sameFile && stateRecordsPlan(plan, state)) {
    const since =
      plan.state.lineage === null
        ? 'the state file was created since'
        : `serial ${plan.state.serial} → ${state.serial}`;
    return {
      reason: `this saved plan was already applied: the state moved on since it was made (${since}) and records its changes`,
      applied: true,
    };
  }
  const stale = (reason: string): Staleness => ({ reason, applied: false });
  if (plan.state.lineage !== lineage) {
    return stale(
      `the state lineage changed (plan: ${plan.state.lineage ?? 'no state'}, now: ${lineage ?? 'no state'}): this plan was made for another state file`,
    );
  }
  if (plan.state.serial !== state.serial) {
    return stale(
      `the state changed since the plan was made (serial ${plan.state.serial} → ${state.serial}): another apply ran in between`,
    );
  }
  if (plan.files_digest !== filesDigest) return stale('the task files changed since the plan was made');
  return null;
}

/** Why a saved plan can no longer be applied as is, or null when it is current. */
export function staleReason(
  plan: CallformPlan,
  state: CallformState,
  stateExists: boolean,
  filesDigest: string,
): string | null {
  return planStaleness(plan, state, stateExists, filesDigest)?.reason ?? null;
}
