import { deferralOf, type CallformPlan } from '../model/plan.js';
import { CallformError, ExitCode } from '../errors.js';
import { colorsFor, noColors } from '../render/colors.js';
import { renderPlanText, renderApplySummary, renderApplyLine } from '../render/text.js';
// Plan and validate load only what they use; the API client, other output formats, saved
// plans, the lock and the apply, doctor and import workflows load when a command needs them
// (cold start is a benchmark figure: every command pays for what it imports).
import {
  openProject,
  createClient,
  loadProjectPolicy,
  createRateController,
  warningIssue,
  type LintWarning,
  type Project,
  type RateController,
} from '../workflow/project.js';
import { computePlan, planExitCode } from '../workflow/plan.js';
import { targetFilter } from '../plan/targets.js';
import { validateProject } from '../workflow/policy-gate.js';
import { describeStatus } from '../model/status.js';
import { printable } from '../model/printable.js';
import { policyVerdict, validatePolicyLines, warningLines } from '../render/review-text.js';
import { sortIssues } from '../diagnostics/issue.js';
import { ask as askUser, type Io, type OutputName } from './io.js';
import type { ApplyResult } from '../apply/apply.js';
import type { LifecycleStep } from '../apply/lifecycle.js';
import type { ImportDestination } from '../workflow/import.js';
import type { RefreshMode } from '../workflow/plan.js';
import { assertPlanEnvironment, oneProject, selectProjects, type EnvOptions } from './select.js';

export type Format = 'text' | 'markdown' | 'json';

export interface GlobalOptions {
  config?: string;
  debug?: boolean;
  color?: boolean;
}

export type { EnvOptions } from './select.js';
export { selectProjects } from './select.js';

function debugSink(io: Io, global: GlobalOptions) {
  return global.debug ? (line: string) => io.stderr.write(`[debug] ${line}\n`) : undefined;
}

/** --no-color wins; otherwise colours follow the terminal and NO_COLOR / FORCE_COLOR. */
function colors(io: Io, global: GlobalOptions) {
  return colorsFor(io.stdout, io.env, global.color === false ? false : undefined);
}

async function render(plan: CallformPlan, format: Format, io: Io, global: GlobalOptions): Promise<string> {
  switch (format) {
    case 'json':
      return (await import('../render/json.js')).renderPlanJson(plan);
    case 'markdown':
      return (await import('../render/markdown.js')).renderPlanMarkdown(plan);
    case 'text':
      return renderPlanText(plan, colors(io, global));
  }
}

export async function validateCommand(
  io: Io,
  global: GlobalOptions,
  files: string[] = [],
  opts: EnvOptions = {},
): Promise<number> {
  const selection = await selectProjects(io, global, opts, { name: 'validate', allowAll: true, defaultAll: true });
  if (selection.kind !== 'implicit') {
    const { validateEnvironments } = await import('./environments.js');
    return validateEnvironments(io, selection, files);
  }
  const p = selection.project;
  const { tasks: loaded, policy, result } = await validateProject(p, files);
  io.stderr.write(warningLines(sortIssues(loaded.warnings.map(warningIssue))));
  const verdict = policy && result ? validatePolicyLines(policy, result) : null;
  if (verdict?.stderr) io.stderr.write(verdict.stderr);
  if (verdict?.failed) return ExitCode.Error;
  io.stdout.write(
    `Valid: ${loaded.tasks.length} task${loaded.tasks.length === 1 ? '' : 's'} in ${loaded.files.length} file${loaded.files.length === 1 ? '' : 's'}.\n`,
  );
  if (verdict) io.stdout.write(verdict.stdout);
  return ExitCode.Ok;
}

/** plan shows this many lint warnings (validate shows them all): each is located by a positional parse of its file. */
const PLAN_WARNINGS_SHOWN = 10;

function firstWarnings(warnings: LintWarning[]): string {
  return warningLines(
    warnings.slice(0, PLAN_WARNINGS_SHOWN).map(warningIssue),
    Math.max(0, warnings.length - PLAN_WARNINGS_SHOWN),
  );
}

export interface PlanOptions extends EnvOptions {
  format: Format;
  target?: string[];
  detailedExitcode?: boolean;
  failOnRisk?: boolean;
  offline?: boolean;
  out?: string;
  pauseRunning?: boolean;
  resync?: boolean;
  refresh?: RefreshMode;
}

export async function planCommand(io: Io, global: GlobalOptions, opts: PlanOptions): Promise<number> {
  const selection = await selectProjects(io, global, opts, { name: 'plan', allowAll: true });
  if (selection.kind === 'all') {
    const { planAllCommand } = await import('./environments.js');
    return planAllCommand(io, global, opts, selection.projects);
  }
  const p = selection.project;
  const client = opts.offline ? undefined : await createClient(p, { debug: debugSink(io, global) });
  const { plan, tasks } = await computePlan(p, {
    offline: Boolean(opts.offline),
    targets: opts.target?.length ? opts.target : null,
    pauseRunning: opts.pauseRunning,
    resync: opts.resync,
    refresh: opts.refresh,
    client,
  });
  // With --target, only the targeted tasks' warnings: the others are not part of this plan.
  const selected = targetFilter(opts.target ?? null);
  const warnings = opts.target?.length
    ? tasks.warnings.filter((w) => (w.userTaskIDs ?? []).some(selected))
    : tasks.warnings;
  io.stderr.write(firstWarnings(warnings));
  if (opts.out) await (await import('../plan/saved-plan.js')).writeSavedPlan(opts.out, plan);
  io.stdout.write(await render(plan, opts.format, io, global));
  if (opts.out && opts.format === 'text')
    io.stdout.write(`\nSaved the plan to ${opts.out}. Apply exactly this plan with: callform apply ${opts.out}\n`);
  io.stderr.write(policyVerdict(plan));
  io.stderr.write(planErrorsLine(plan));
  return planExitCode(plan, { detailedExitcode: opts.detailedExitcode, failOnRisk: opts.failOnRisk });
}

/** plan exits 1 when tasks are in error (the plan itself is printed whole): say so on stderr. */
function planErrorsLine(plan: CallformPlan): string {
  const inError = plan.tasks.filter((t) => deferralOf(t)?.reason === 'error').map((t) => t.userTaskID);
  if (inError.length === 0) return '';
  const shown = inError.slice(0, 5).join(', ') + (inError.length > 5 ? `, … (${inError.length - 5} more)` : '');
  return `Error: ${inError.length} task${inError.length === 1 ? '' : 's'} in error: ${shown}\n  hint: each is explained in the plan above; fix the task files or the tasks on NXCloud, then plan again (apply skips tasks in error)\n`;
}

/** The policy of the project show runs in (its settings, as plan and apply find them; a plan's own environment). */
async function projectPolicy(io: Io, global: GlobalOptions, opts: EnvOptions, plan: CallformPlan) {
  return loadProjectPolicy(await oneProject(io, global, { env: plan.environment ?? opts.env }, 'show'));
}

export async function showCommand(
  io: Io,
  global: GlobalOptions,
  file: string,
  opts: { format: Format } & EnvOptions,
): Promise<number> {
  const { checkSavedPolicyReport } = await import('../workflow/saved-plan.js');
  const { readPlanFile, showAllCommand } = await import('./environments.js');
  const saved = await readPlanFile(file);
  if (saved.kind === 'all') return showAllCommand(io, global, file, opts, saved.plans);
  const plan = saved.plan;
  assertPlanEnvironment(io, file, plan.environment, opts, 'show');
  if (plan.policy) {
    // The policy report is checked against the policy of the project show runs in, when it
    // is the one the plan was checked against; otherwise show says it could not be.
    const unchecked = await projectPolicy(io, global, opts, plan).then(
      (policy) => checkSavedPolicyReport(file, plan, policy),
      (err: unknown) => (err instanceof CallformError ? err.message : String(err)),
    );
    if (unchecked) io.stderr.write(`warning: the plan's policy report was not checked again: ${unchecked}\n`);
  }
  io.stdout.write(await render(plan, opts.format, io, global));
  return ExitCode.Ok;
}

export interface ApplyCommandOptions extends EnvOptions {
  autoApprove?: boolean;
  target?: string[];
  parallelism?: number;
  lockTimeout?: number;
  pauseRunning?: boolean;
  resync?: boolean;
  refresh?: RefreshMode;
  format?: 'text' | 'json';
}

/** What stops an apply: a signal, or a reader of stdout / stderr that went away. */
type StopCause = NodeJS.Signals | OutputName;

const stopExitCode = (cause: StopCause): number =>
  cause === 'SIGINT' ? ExitCode.Interrupted : cause === 'SIGTERM' ? ExitCode.Terminated : ExitCode.OutputClosed;

/**
 * Stop handling. The first SIGINT/SIGTERM, or stdout or stderr losing its reader (EPIPE),
 * stops new calls; calls in flight finish. Tasks inside a pause window are updated and
 * resumed before exiting, for at most `graceMs`; then (or on a third signal) the run exits
 * and the next apply resumes them from the state's owed-resume record. Without open
 * windows a second signal exits at once. A stop while the confirmation prompt is open
 * ends the prompt: the apply is cancelled.
 */
function trapStops(io: Io, graceMs: number) {
  let cause: StopCause | null = null;
  let count = 0;
  let prompting = false;
  const abort = new AbortController();
  const windows = new Set<string>();
  const code = () => (cause ? stopExitCode(cause) : ExitCode.Error);
  const list = () => [...windows].sort().join(', ');
  let timer: NodeJS.Timeout | undefined;
  const giveUp = () => {
    io.stderr.write(`\nstopped waiting; the next apply resumes: ${list()}\n`);
    process.exit(code());
  };
  const stop = (s: StopCause) => {
    count++;
    cause ??= s;
    abort.abort();
    if (prompting) return; // the prompt ends; the apply is cancelled
    if (count === 1) {
      const what = s === 'stdout' || s === 'stderr' ? `${s} closed (its reader went away)` : s;
      io.stderr.write(
        `\n${what}: finishing the calls in flight and saving state; no new calls will start${s.startsWith('SIG') ? ' (repeat to exit now)' : ''}.\n`,
      );
      if (windows.size > 0) {
        io.stderr.write(
          `waiting (at most ${Math.ceil(graceMs / 1000)} s) for ${windows.size} task(s) in a pause window to be updated and resumed: ${list()}\n`,
        );
        timer = setTimeout(giveUp, graceMs);
        timer.unref();
      }
      return;
    }
    if (windows.size > 0 && count === 2) {
      io.stderr.write(
        `still waiting for the resume of: ${list()} (repeat once more to exit now; the next apply resumes them)\n`,
      );
      return;
    }
    if (windows.size > 0) giveUp();
    process.exit(code());
  };
  const onSignal = (s: NodeJS.Signals) => stop(s);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const releaseOutput = io.output?.handle(stop);
  return {
    stopped: () => {
      io.output?.lost(); // a failed write is a stop now, not a tick later
      return cause !== null;
    },
    exitCode: () => (cause ? code() : null),
    /** Aborted at the first stop (ends the confirmation prompt). */
    signal: abort.signal,
    /** Ctrl-C at the prompt reaches readline, not the process: it counts as SIGINT. */
    interrupt: () => stop('SIGINT'),
    prompting: (open: boolean) => {
      prompting = open;
    },
    onStep: (userTaskID: string, step: LifecycleStep) => {
      if (step === 'pausing') windows.add(userTaskID);
      else if (step === 'resumed' || step === 'left-paused') windows.delete(userTaskID);
    },
    dispose: () => {
      clearTimeout(timer);
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      releaseOutput?.();
    },
  };
}

/** Without a TTY, the rate line repeats at most this often (long applies in CI logs). */
const RATE_LINE_EVERY_MS = 10_000;

/**
 * One line per task that was not unchanged (`[3/12] renewals-east applied`), on the human
 * stream; skipped tasks only in the summary (they all come at the end). TTY: below those
 * lines, one live line on stderr, `[done/total] N failed so far · 97.1 req/s (paced at
 * 98.0), concurrency 5/64, 3 throttled`, cleared at the end (the task lines stay).
 * Otherwise the rate line every RATE_LINE_EVERY_MS.
 */
function progressReporter(io: Io, out: Io['stdout'], gate: RateController) {
  const tty = Boolean(io.stderr.isTTY) && !io.env.CI;
  let failures = 0;
  let rateLineAt = performance.now();
  let live = false;
  const clear = () => {
    if (live) io.stderr.write('\r\x1b[2K');
    live = false;
  };
  return {
    onResult: (r: ApplyResult['results'][number], done: number, total: number) => {
      if (r.outcome === 'failed') failures++;
      const line = r.outcome !== 'unchanged' && r.outcome !== 'skipped';
      if (tty) {
        if (line) {
          clear();
          out.write(renderApplyLine(r, done, total) + '\n');
        }
        if (done < total) {
          io.stderr.write(`\r\x1b[2K[${done}/${total}] ${failures} failed so far · ${gate.describe()}`);
          live = true;
        } else clear();
        return;
      }
      if (line) out.write(renderApplyLine(r, done, total) + '\n');
      if (performance.now() - rateLineAt >= RATE_LINE_EVERY_MS) {
        rateLineAt = performance.now();
        out.write(`[${done}/${total}] rate: ${gate.describe()}\n`);
      }
    },
    end: clear,
  };
}

/** Flags that shape a plan: with a saved plan, they were chosen when it was made. */
function planShapingFlags(opts: ApplyCommandOptions): string[] {
  return [
    opts.target?.length && '--target',
    opts.pauseRunning && '--pause-running',
    opts.resync && '--resync',
    opts.refresh && '--refresh',
  ].filter((f): f is string => Boolean(f));
}

export async function applyCommand(
  io: Io,
  global: GlobalOptions,
  planFile: string | undefined,
  opts: ApplyCommandOptions,
): Promise<number> {
  const shaping = planShapingFlags(opts);
  if (planFile && shaping.length > 0) {
    throw new CallformError(
      `${shaping.join(', ')} cannot be combined with a saved plan`,
      'these are chosen when the plan is made, e.g. `callform plan --target ID --pause-running --out FILE`; apply FILE does exactly what was planned',
    );
  }
  if (!planFile && !opts.autoApprove && !io.stdin.isTTY) {
    throw new CallformError(
      'apply needs confirmation but standard input is not a terminal',
      'pass --auto-approve, or apply a reviewed saved plan: `callform apply FILE`',
    );
  }
  const overrides = { parallelism: opts.parallelism, lockTimeoutMs: opts.lockTimeout };
  const env = await import('./environments.js');
  const target = await env.applyTarget(io, global, planFile, opts, overrides);
  if (target.kind === 'all') return env.applyAllCommand(io, global, target, opts);
  return applyInProject(io, global, target.project, planFile, opts, target.plan);
}

/** apply in one project (the implicit one or one environment): a fresh plan, or `plan` read from `planFile`. */
export async function applyInProject(
  io: Io,
  global: GlobalOptions,
  p: Project,
  planFile: string | undefined,
  opts: ApplyCommandOptions,
  savedPlan?: CallformPlan,
  /** With --format json, takes the report instead of stdout (apply --all-envs makes one document of them). */
  onReport?: (report: object) => void,
): Promise<number> {
  const { runApply, applyExitCode } = await import('../workflow/apply.js');
  const gate = createRateController(p, debugSink(io, global));
  const client = await createClient(p, { debug: debugSink(io, global), gate });
  const json = opts.format === 'json';
  // With --format json, stdout carries only the JSON report; the human account goes to stderr.
  const human = json ? io.stderr : io.stdout;
  const c = json ? noColors : colors(io, global);
  const s = p.settings;
  const stops = trapStops(io, s.pauseTimeoutMs * 2 + 2 * s.timeoutMs * (s.retries + 1));
  const progress = progressReporter(io, human, gate);
  const ask = async (): Promise<boolean> => {
    stops.prompting(true);
    try {
      const answer = await askUser(io, '\nDo you want to apply these changes? Only "yes" is accepted: ', stops.signal);
      if (answer === 'interrupted' && !stops.stopped()) stops.interrupt();
      return answer === 'yes';
    } finally {
      stops.prompting(false);
    }
  };
  try {
    const request = planFile
      ? { planFile, ...(savedPlan && { plan: savedPlan }) }
      : {
          targets: opts.target?.length ? opts.target : null,
          pauseRunning: opts.pauseRunning,
          resync: opts.resync,
          refresh: opts.refresh,
        };
    const run = await runApply(p, request, {
      client,
      onPlan: (plan) => human.write(renderPlanText(plan, c)),
      onSavedPlan: (plan, file) =>
        human.write(
          `Applying saved plan ${file} (made ${plan.created_at}): ${plan.summary.create ? `${plan.summary.create} to create, ` : ''}${plan.summary.update} to update, ${plan.summary.forget} to forget, ${plan.summary.resume} to resume.\n`,
        ),
      confirm: opts.autoApprove ? undefined : ask,
      warn: (message) => io.stderr.write(`warning: ${message}\n`),
      onResult: progress.onResult,
      shouldStop: stops.stopped,
      onStep: stops.onStep,
    });
    progress.end();
    if (run.status === 'nothing-applicable') human.write('\nNothing can be applied now.\n');
    if (run.status === 'cancelled') io.stderr.write('Apply cancelled. Nothing was sent.\n');
    if (run.status === 'applied')
      human.write(
        '\n' + renderApplySummary(run.result, c, run.result.traffic, run.result.interrupted || stops.stopped()),
      );
    const exit = stops.exitCode() ?? applyExitCode(run);
    if (json) {
      const { applyReport, renderApplyJson } = await import('../render/json.js');
      if (onReport) onReport(applyReport(run, exit));
      else io.stdout.write(renderApplyJson(run, exit));
    }
    return exit;
  } finally {
    stops.dispose();
  }
}

export async function forceUnlockCommand(
  io: Io,
  global: GlobalOptions,
  id: string,
  opts: EnvOptions = {},
): Promise<number> {
  const { holderRunsHere } = await import('../state/lock.js');
  const p = await oneProject(io, global, opts, 'force-unlock');
  const holder = await p.state.forceUnlock(id);
  io.stdout.write(`Removed lock ${holder.id} (held by pid ${holder.pid} on ${holder.host} since ${holder.since}).\n`);
  if (holderRunsHere(holder)) {
    io.stderr.write(
      `warning: pid ${holder.pid} on this host, which held the lock, is still running: its ${holder.operation} may still write the state; let it finish (or stop it) before the next apply\n`,
    );
  }
  return ExitCode.Ok;
}

export async function doctorCommand(
  io: Io,
  global: GlobalOptions,
  opts: { format: 'text' | 'json' } & EnvOptions,
): Promise<number> {
  const [{ runDoctor }, { renderDoctorText, renderDoctorJson }] = await Promise.all([
    import('../workflow/doctor.js'),
    import('../render/doctor.js'),
  ]);
  const base = { cwd: io.cwd, configFile: global.config, env: io.env };
  // Settings that do not load are doctor's first finding, not an error before it.
  const root = await openProject(base).catch(() => null);
  const chosen = opts.env !== undefined || opts.allEnvs || Boolean(io.env.CALLFORM_ENV);
  const selection =
    root && (root.settings.environments || chosen)
      ? await selectProjects(io, global, opts, { name: 'doctor', allowAll: true })
      : null;
  const projects =
    selection && selection.kind !== 'implicit'
      ? selection.kind === 'all'
        ? selection.projects
        : [selection.project]
      : [undefined];
  let ok = true;
  const json: string[] = [];
  for (const p of projects) {
    const report = await runDoctor({ ...base, ...(p && { project: p }) });
    ok &&= report.ok;
    if (opts.format === 'json') json.push(renderDoctorJson(report).trimEnd());
    else {
      if (p?.environment) io.stdout.write(`== environment ${p.environment.name}\n`);
      io.stdout.write(renderDoctorText(report, colors(io, global)));
    }
  }
  // Several environments: one JSON document, { environments: { name: report } }.
  if (opts.format === 'json')
    io.stdout.write(
      projects.length === 1
        ? `${json[0]}\n`
        : `{\n  "environments": {\n${projects.map((p, i) => `    ${JSON.stringify(p?.environment?.name)}: ${json[i].replace(/\n/g, '\n    ')}`).join(',\n')}\n  }\n}\n`,
    );
  return ok ? ExitCode.Ok : ExitCode.Error;
}

export interface ImportCommandOptions extends EnvOptions {
  out?: string;
  status?: number[];
  scene?: string;
  nameContains?: string;
  dryRun?: boolean;
}

/** --out is required unless --dry-run, which writes nothing (and may still check a would-be --out path). */
function importDestination(opts: ImportCommandOptions): ImportDestination {
  if (opts.dryRun) return { kind: 'dry-run', out: opts.out };
  if (opts.out === undefined)
    throw new CallformError(
      'import needs --out <file>: the task file to write',
      'add --out tasks/imported.yaml, or --dry-run to only list what would be imported',
    );
  return { kind: 'file', out: opts.out };
}

export async function importCommand(io: Io, global: GlobalOptions, opts: ImportCommandOptions): Promise<number> {
  const { runImport } = await import('../workflow/import.js');
  const p = await oneProject(io, global, opts, 'import');
  const r = await runImport(p, {
    destination: importDestination(opts),
    statuses: opts.status,
    sceneID: opts.scene,
    nameContains: opts.nameContains,
  });
  for (const t of r.imported)
    io.stdout.write(
      `${printable(`${opts.dryRun ? 'would import' : 'imported'} ${t.userTaskID} (sceneID ${t.sceneID}, taskID ${t.taskID}, status ${describeStatus(t.taskStatus)})`)}\n`,
    );
  const wrote = r.written
    ? `wrote ${r.imported.length} to ${r.written}`
    : opts.dryRun
      ? `would write ${r.imported.length} (dry run: nothing written)`
      : 'wrote nothing (nothing to import)';
  io.stdout.write(
    `Found ${r.found} task${r.found === 1 ? '' : 's'}, skipped ${r.skipped} already declared, ${wrote}; ${r.listTaskCalls} listTask call${r.listTaskCalls === 1 ? '' : 's'}.\n`,
  );
  if (r.imported.length > 0 && r.outsideTaskGlobs)
    io.stderr.write(
      `warning: ${opts.out ?? ''} is not matched by the settings' "tasks" patterns (${p.settings.taskPatterns.join(', ')}): plan will not read it until it is moved or the patterns include it\n`,
    );
  return ExitCode.Ok;
}
