/**
 * A saved all-environments plan (`plan --all-envs --out FILE`): every environment's saved
 * plan, in declaration (apply) order, in one file. `apply FILE` applies them in that
 * order, each with its own stale check, lock and state.
 */
import { readFile } from 'node:fs/promises';
import type { CallformPlan } from '../model/plan.js';
import { CallformError, fsProblem } from '../errors.js';
import { checkSavedPlanValue, writeSavedPlan } from './saved-plan.js';

const ALL_ENVS_KIND = 'callform-saved-plans';

export interface SavedEnvironmentPlan {
  name: string;
  plan: CallformPlan;
}

/** What a plan file holds: one plan, or one per environment. */
export type PlanFile = { kind: 'one'; plan: CallformPlan } | { kind: 'all'; plans: SavedEnvironmentPlan[] };

export async function writeAllEnvsPlan(file: string, plans: readonly SavedEnvironmentPlan[]): Promise<void> {
  // The same guarded atomic write as a single plan; its kind and entries are set below.
  const doc = {
    kind: ALL_ENVS_KIND,
    format_version: '1.0',
    environments: plans.map((p) => ({ name: p.name, plan: { ...p.plan, kind: 'callform-saved-plan' } })),
  };
  await writeSavedPlan(file, doc as unknown as CallformPlan, { raw: true });
}

/** Reads a saved plan file of either kind; each environment's plan is checked as a single saved plan is. */
export async function readPlanFileOfAnyKind(
  file: string,
  readOne: (file: string) => Promise<CallformPlan>,
): Promise<PlanFile> {
  let value: unknown;
  try {
    value = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code)
      throw new CallformError(
        `cannot read saved plan ${file}: ${fsProblem(err)}`,
        'pass a file written by `callform plan --out FILE`',
      );
    value = null;
  }
  const doc = value as { kind?: unknown; environments?: unknown } | null;
  if (doc?.kind !== ALL_ENVS_KIND) return { kind: 'one', plan: await readOne(file) };
  const entries = Array.isArray(doc.environments)
    ? (doc.environments as Array<{ name?: unknown; plan?: unknown }>)
    : [];
  if (entries.length === 0 || entries.some((e) => typeof e.name !== 'string'))
    throw new CallformError(
      `${file} is not a valid all-environments plan (no environments)`,
      'create one with `callform plan --all-envs --out FILE`',
    );
  const plans: SavedEnvironmentPlan[] = [];
  for (const e of entries) {
    const plan = await checkSavedPlanValue(`${file} (environment ${String(e.name)})`, e.plan);
    if (plan.environment !== e.name)
      throw new CallformError(
        `${file}: the plan under environment ${String(e.name)} is for ${plan.environment ?? 'no environment'}: the plan file was edited`,
        'create one with `callform plan --all-envs --out FILE`',
      );
    plans.push({ name: e.name as string, plan });
  }
  return { kind: 'all', plans };
}
