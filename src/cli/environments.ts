/**
 * The commands across environments: validate every environment, plan --all-envs (text,
 * JSON, one Markdown comment), saved all-environments plans, and apply in declaration order.
 */
import { CallformError, ExitCode } from '../errors.js';
import { ValidationError, sortIssues, type Issue } from '../diagnostics/issue.js';
import type { CallformPlan } from '../model/plan.js';
import { colorsFor } from '../render/colors.js';
import {
  renderAllEnvsJson,
  renderAllEnvsMarkdown,
  renderAllEnvsText,
  renderAllEnvsTotal,
  renderEnvironmentText,
  type EnvironmentPlan,
} from '../render/environments.js';
import { policyVerdict as policyVerdictLines, validatePolicyLines, warningLines } from '../render/review-text.js';
import {
  readPlanFileOfAnyKind,
  writeAllEnvsPlan,
  type PlanFile,
  type SavedEnvironmentPlan,
} from '../plan/all-envs-plan.js';
import { readCheckedPlan, checkSavedPolicyReport } from '../workflow/saved-plan.js';
import { validateProject } from '../workflow/policy-gate.js';
import { assertPlanCurrent, computePlan, planExitCode } from '../workflow/plan.js';
import {
  createClient,
  loadProjectPolicy,
  loadProjectState,
  loadProjectTasks,
  warningIssue,
  type Project,
} from '../workflow/project.js';
import { assertCredentials, type ProjectSelection } from '../workflow/environments.js';
import { editedPart } from '../review/edited.js';
import type { Io } from './io.js';
import { reportError } from './report-error.js';
import { assertPlanEnvironment } from './select.js';
import {
  applyInProject,
  selectProjects,
  type ApplyCommandOptions,
  type EnvOptions,
  type Format,
  type GlobalOptions,
  type PlanOptions,
} from './commands.js';

const envName = (p: Project) => p.environment?.name ?? 'default';

/** validate in every selected environment: each one's merged tasks and policy, all problems together. */
export async function validateEnvironments(io: Io, selection: ProjectSelection, files: string[]): Promise<number> {
  const projects = selection.kind === 'all' ? selection.projects : [selection.project];
  const issues: Issue[] = [];
  let failed = false;
  let warned = false;
  for (const p of projects) {
    try {
      const { tasks, policy, result } = await validateProject(p, files);
      // The task files' lint warnings are the same in every environment: shown once.
      if (!warned) io.stderr.write(warningLines(sortIssues(tasks.warnings.map(warningIssue))));
      warned = true;
      const verdict = policy && result ? validatePolicyLines(policy, result) : null;
      if (verdict?.stderr) io.stderr.write(`environment ${envName(p)}:\n${verdict.stderr}`);
      if (verdict?.failed) {
        failed = true;
        continue;
      }
      const n = tasks.tasks.length;
      io.stdout.write(`Valid: ${n} task${n === 1 ? '' : 's'} in environment ${envName(p)}.\n`);
      if (verdict) io.stdout.write(verdict.stdout);
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err;
      issues.push(...err.issues.filter((i) => !issues.some((j) => sameIssue(i, j))));
    }
  }
  if (issues.length > 0)
    throw new ValidationError(issues, projects.length > 1 ? 'the environments' : `environment ${envName(projects[0])}`);
  return failed ? ExitCode.Error : ExitCode.Ok;
}

/**
 * Exit code over every environment's plan: 1 if any has an error, else 4 if any is risky
 * (--fail-on-risk), else 2 if any has something to do (--detailed-exitcode), else 0.
 */
function allEnvsExitCode(codes: number[]): number {
  for (const code of [ExitCode.Error, ExitCode.Risky, ExitCode.Changes]) if (codes.includes(code)) return code;
  return ExitCode.Ok;
}

/** plan --all-envs: every environment planned (credentials of all checked first), one output. */
export async function planAllCommand(
  io: Io,
  global: GlobalOptions,
  opts: PlanOptions,
  projects: Project[],
): Promise<number> {
  if (!opts.offline) assertCredentials(projects);
  const debug = global.debug ? (line: string) => io.stderr.write(`[debug] ${line}\n`) : undefined;
  const plans: EnvironmentPlan[] = [];
  // Text without --out is written environment by environment: only the summaries stay in memory.
  const streaming = opts.format === 'text' && !opts.out;
  const c = colorsFor(io.stdout, io.env, global.color === false ? false : undefined);
  let warned = false;
  const codes: number[] = [];
  for (const [i, p] of projects.entries()) {
    const client = opts.offline ? undefined : await createClient(p, { debug });
    const { plan, tasks } = await computePlan(p, {
      offline: Boolean(opts.offline),
      targets: opts.target?.length ? opts.target : null,
      pauseRunning: opts.pauseRunning,
      resync: opts.resync,
      client,
    });
    if (!warned && tasks.warnings.length > 0)
      io.stderr.write(
        warningLines(tasks.warnings.slice(0, 10).map(warningIssue), Math.max(0, tasks.warnings.length - 10)),
      );
    warned = true;
    const e = { name: envName(p), plan };
    codes.push(planExitCode(plan, { detailedExitcode: opts.detailedExitcode, failOnRisk: opts.failOnRisk }));
    const verdict = policyVerdictLines(plan);
    if (verdict) io.stderr.write(`environment ${e.name}: ${verdict}`);
    if (streaming) {
      io.stdout.write(`${i > 0 ? '\n' : ''}${renderEnvironmentText(e, c)}`);
      plans.push({ name: e.name, plan: headlineOnly(plan) });
    } else plans.push(e);
  }
  if (streaming) {
    io.stdout.write(`\n${renderAllEnvsTotal(plans)}`);
    return allEnvsExitCode(codes);
  }
  if (opts.out) await writeAllEnvsPlan(opts.out, plans);
  io.stdout.write(renderAll(plans, opts.format, io, global));
  if (opts.out && opts.format === 'text')
    io.stdout.write(
      `\nSaved every environment's plan to ${opts.out}. Apply them in order with: callform apply ${opts.out}\n`,
    );
  return allEnvsExitCode(codes);
}

/** What the closing line reads of a plan already written (summary, blocking policy findings); its tasks are dropped. */
function headlineOnly(plan: CallformPlan): CallformPlan {
  const policy = plan.policy && {
    ...plan.policy,
    violations: plan.policy.violations.filter((v) => v.severity === 'error'),
    exemptions: [],
  };
  return { ...plan, tasks: [], resumes: [], risks: [], dial_windows: [], policy };
}

function renderAll(plans: EnvironmentPlan[], format: Format, io: Io, global: GlobalOptions): string {
  switch (format) {
    case 'json':
      return renderAllEnvsJson(plans);
    case 'markdown':
      return renderAllEnvsMarkdown(plans);
    case 'text':
      return renderAllEnvsText(plans, colorsFor(io.stdout, io.env, global.color === false ? false : undefined));
  }
}

/** Each environment's derived parts (summary, risks, windows) are those of its task entries. */
function assertUnedited(file: string, plans: SavedEnvironmentPlan[]): void {
  for (const e of plans) {
    const edited = editedPart(e.plan);
    if (edited)
      throw new CallformError(
        `${file} (environment ${e.name}): ${edited}: the plan file was edited`,
        'make a new plan with `callform plan --all-envs --out FILE`',
      );
  }
}

/** A saved plan file of either kind (one plan, or every environment's). */
export function readPlanFile(file: string): Promise<PlanFile> {
  return readPlanFileOfAnyKind(file, readCheckedPlan);
}

/** show of an all-environments plan file: rendered as plan --all-envs renders it. */
export async function showAllCommand(
  io: Io,
  global: GlobalOptions,
  file: string,
  opts: { format: Format } & EnvOptions,
  plans: SavedEnvironmentPlan[],
): Promise<number> {
  if (opts.env !== undefined) throw allEnvsFileWithEnv(file);
  assertUnedited(file, plans);
  const selection = await selectProjects(io, global, { allEnvs: true }, { name: 'show', allowAll: true }).catch(
    () => null,
  );
  for (const e of plans) {
    if (!e.plan.policy || !selection || selection.kind !== 'all') continue;
    const p = selection.projects.find((q) => q.environment?.name === e.name);
    const unchecked = p
      ? await loadProjectPolicy(p).then(
          (policy) => checkSavedPolicyReport(file, e.plan, policy),
          (err: unknown) => (err instanceof CallformError ? err.message : String(err)),
        )
      : `environment ${e.name} is not declared in the settings`;
    if (unchecked)
      io.stderr.write(`warning: environment ${e.name}: the plan's policy report was not checked again: ${unchecked}\n`);
  }
  io.stdout.write(renderAll(plans, opts.format, io, global));
  return ExitCode.Ok;
}

const allEnvsFileWithEnv = (file: string) =>
  new CallformError(
    `${file} is an all-environments plan: --env cannot pick one environment of it`,
    `apply (or show) the whole file without --env, or make a plan for one environment: callform plan --env NAME --out FILE`,
  );

/** What apply runs: one project (with the saved plan read, if any), or every environment in order. */
export type ApplyTarget =
  | { kind: 'one'; project: Project; plan?: CallformPlan }
  | { kind: 'all'; projects: Project[]; plans?: Map<string, CallformPlan> };

export async function applyTarget(
  io: Io,
  global: GlobalOptions,
  planFile: string | undefined,
  opts: ApplyCommandOptions,
  overrides: { parallelism?: number; lockTimeoutMs?: number },
): Promise<ApplyTarget> {
  if (planFile === undefined) {
    const s = await selectProjects(io, global, opts, { name: 'apply', allowAll: true }, overrides);
    return s.kind === 'all' ? { kind: 'all', projects: s.projects } : { kind: 'one', project: s.project };
  }
  const saved = await readPlanFile(planFile);
  if (saved.kind === 'all') {
    if (opts.env !== undefined) throw allEnvsFileWithEnv(planFile);
    assertUnedited(planFile, saved.plans);
    const s = await selectProjects(io, global, { allEnvs: true }, { name: 'apply', allowAll: true }, overrides);
    if (s.kind !== 'all')
      throw new CallformError(
        `${planFile} is an all-environments plan, but the settings declare no environments`,
        'apply it in the project it was made in',
      );
    return { kind: 'all', projects: s.projects, plans: savedPlansByEnvironment(planFile, saved.plans, s.projects) };
  }
  const plan = saved.plan;
  if (opts.allEnvs)
    throw new CallformError(
      `${planFile} is one environment's plan: --all-envs does not apply to it`,
      'leave out --all-envs',
    );
  assertPlanEnvironment(io, planFile, plan.environment, opts, 'apply');
  const s = await selectProjects(
    io,
    global,
    { env: plan.environment ?? opts.env },
    { name: 'apply', allowAll: false },
    overrides,
  );
  if (s.kind === 'all') throw new CallformError('apply FILE runs in one environment', 'pass --env NAME');
  if (s.kind === 'one' && plan.environment === undefined)
    throw new CallformError(
      `${planFile} was made without environments`,
      'make the plan again for an environment: callform plan --env NAME --out FILE',
    );
  return { kind: 'one', project: s.project, plan };
}

/**
 * An all-environments plan file's plans by environment: exactly one for each declared
 * environment (they are applied in the settings' declaration order, whatever the file's).
 */
function savedPlansByEnvironment(
  planFile: string,
  plans: SavedEnvironmentPlan[],
  projects: Project[],
): Map<string, CallformPlan> {
  const remake = 'make the plan again: callform plan --all-envs --out FILE';
  const byName = new Map<string, CallformPlan>();
  for (const e of plans) {
    if (byName.has(e.name)) throw new CallformError(`${planFile}: environment ${e.name} has two plans`, remake);
    if (!projects.some((p) => envName(p) === e.name))
      throw new CallformError(`${planFile}: environment ${e.name} is not declared in the settings`, remake);
    byName.set(e.name, e.plan);
  }
  const missing = projects.map(envName).filter((name) => !byName.has(name));
  if (missing.length > 0)
    throw new CallformError(
      `${planFile} has no plan for environment${missing.length === 1 ? '' : 's'} ${missing.join(', ')}, declared in the settings`,
      remake,
    );
  return byName;
}

/**
 * Before the first environment applies: every environment's task, overlay and policy files
 * load and validate (a fresh apply), or every environment's saved plan is current (apply
 * FILE). A problem in the last environment must not come to light after the first one was
 * applied. Each environment checks again under its own lock when its turn comes.
 */
async function preflight(target: Extract<ApplyTarget, { kind: 'all' }>): Promise<void> {
  const issues: Issue[] = [];
  for (const p of target.projects) {
    const plan = target.plans?.get(envName(p));
    try {
      if (plan) await assertPlanCurrent(p, plan, await loadProjectState(p));
      else await Promise.all([loadProjectTasks(p), loadProjectPolicy(p)]);
    } catch (err) {
      if (err instanceof ValidationError)
        issues.push(...err.issues.filter((i) => !issues.some((j) => sameIssue(i, j))));
      else if (err instanceof CallformError)
        throw new CallformError(
          `environment ${envName(p)}: ${err.message}; no environment was applied`,
          err.hint,
          err.exitCode,
        );
      else throw err;
    }
  }
  if (issues.length > 0) throw new ValidationError(issues, 'the environments (no environment was applied)');
}

const sameIssue = (i: Issue, j: Issue) =>
  i.file === j.file && i.message === j.message && i.position?.line === j.position?.line;

/**
 * apply in every environment, in declaration order: each with its own plan (fresh, or
 * from the saved file), stale check, lock and state. Credentials of every environment are
 * checked before the first call; an environment that fails stops the ones after it.
 */
export async function applyAllCommand(
  io: Io,
  global: GlobalOptions,
  target: Extract<ApplyTarget, { kind: 'all' }>,
  opts: ApplyCommandOptions,
): Promise<number> {
  assertCredentials(target.projects);
  await preflight(target);
  const json = opts.format === 'json';
  const human = json ? io.stderr : io.stdout;
  const runs: EnvironmentApply[] = target.projects.map((p) => ({ name: envName(p), code: null }));
  for (const [i, p] of target.projects.entries()) {
    human.write(`${i > 0 ? '\n' : ''}== environment ${envName(p)}\n`);
    const plan = target.plans?.get(envName(p));
    const from = plan ? `environment ${envName(p)} of the saved plan` : undefined;
    const run = runs[i];
    try {
      run.code = await applyInProject(io, global, p, from, opts, plan, (report) => (run.report = report));
    } catch (err) {
      // A failure before or around its run (state, lock, stale plan) stops the environments after it too.
      run.code = reportError(io, err, Boolean(global.debug));
      run.error = err;
    }
    if (run.code === ExitCode.Error || run.code >= 128) break;
  }
  const notStarted = runs.filter((r) => r.code === null).map((r) => r.name);
  human.write(
    `\nEnvironments: ${runs.map((r) => `${r.name} ${r.code === null ? 'not started' : r.code === 0 ? 'ok' : `exit ${r.code}`}`).join(', ')}.\n`,
  );
  if (notStarted.length > 0)
    io.stderr.write(
      `Error: an environment failed; not started: ${notStarted.join(', ')}\n  hint: fix it, then apply again (environments already applied have nothing left to do)\n`,
    );
  const ran = runs.flatMap((r) => (r.code === null ? [] : [r.code]));
  const exit =
    ran.find((c) => c === ExitCode.Error || c >= 128) ??
    (ran.includes(ExitCode.Blocked) ? ExitCode.Blocked : ExitCode.Ok);
  if (json) io.stdout.write(await renderAllEnvsApplyJson(runs, exit));
  return exit;
}

/** One environment of `apply --all-envs`: its exit code (null: not started), its report or its failure. */
interface EnvironmentApply {
  name: string;
  code: number | null;
  report?: object;
  error?: unknown;
}

/** `apply --all-envs --format json`: one document, every environment in apply order. */
async function renderAllEnvsApplyJson(runs: EnvironmentApply[], exitCode: number): Promise<string> {
  const { errorDetails } = await import('../render/error-json.js');
  const environments = runs.map((r) => ({
    name: r.name,
    status: r.code === null ? 'not-started' : r.error === undefined ? 'ran' : 'failed',
    exit_code: r.code,
    report: r.report ?? null,
    error: r.error === undefined ? null : errorDetails(r.error),
  }));
  return JSON.stringify({ kind: 'callform-all-envs-apply', exit_code: exitCode, environments }, null, 2) + '\n';
}
