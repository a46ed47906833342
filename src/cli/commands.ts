import type { CallformPlan } from '../model/plan.js';
import { CallformError, ExitCode } from '../errors.js';
import { colorsFor } from '../render/colors.js';
import { renderPlanText, renderApplySummary, renderApplyLine } from '../render/text.js';
import { renderPlanMarkdown } from '../render/markdown.js';
import { renderPlanJson } from '../render/json.js';
import { readSavedPlan, writeSavedPlan } from '../plan/saved-plan.js';
import { forceUnlock } from '../state/lock.js';
import { openProject, computePlan, createClient, runApply, applyExitCode, planExitCode, validateProject, warningIssue, type LintWarning, type Project } from '../workflow/index.js';
import { policyVerdict, validatePolicyLines, warningLines } from '../render/review-text.js';
import { sortIssues } from '../diagnostics/issue.js';
import { confirm, type Io } from './io.js';
import type { ApplyResult } from '../apply/apply.js';

export type Format = 'text' | 'markdown' | 'json';

export interface GlobalOptions {
  config?: string;
  debug?: boolean;
  color?: boolean;
}

function debugSink(io: Io, global: GlobalOptions) {
  return global.debug ? (line: string) => io.stderr.write(`[debug] ${line}\n`) : undefined;
}

async function project(io: Io, global: GlobalOptions, overrides: { parallelism?: number; lockTimeoutMs?: number } = {}): Promise<Project> {
  return openProject({ cwd: io.cwd, configFile: global.config, env: io.env, overrides });
}

/** --no-color wins; otherwise colours follow the terminal and NO_COLOR / FORCE_COLOR. */
function colors(io: Io, global: GlobalOptions) {
  return colorsFor(io.stdout, io.env, global.color === false ? false : undefined);
}

function render(plan: CallformPlan, format: Format, io: Io, global: GlobalOptions): string {
  switch (format) {
    case 'json':
      return renderPlanJson(plan);
    case 'markdown':
      return renderPlanMarkdown(plan);
    default:
      return renderPlanText(plan, colors(io, global));
  }
}

export async function validateCommand(io: Io, global: GlobalOptions): Promise<number> {
  const p = await project(io, global);
  const { tasks: loaded, policy, result } = await validateProject(p);
  io.stderr.write(warningLines(sortIssues(loaded.warnings.map(warningIssue))));
  const verdict = policy && result ? validatePolicyLines(policy, result) : null;
  if (verdict?.stderr) io.stderr.write(verdict.stderr);
  if (verdict?.failed) return ExitCode.Error;
  io.stdout.write(`Valid: ${loaded.tasks.length} task${loaded.tasks.length === 1 ? '' : 's'} in ${loaded.files.length} file${loaded.files.length === 1 ? '' : 's'}.\n`);
  if (verdict) io.stdout.write(verdict.stdout);
  return ExitCode.Ok;
}

/** plan shows this many lint warnings (validate shows them all): each is located by a positional parse of its file. */
const PLAN_WARNINGS_SHOWN = 10;

function firstWarnings(warnings: LintWarning[]): string {
  return warningLines(warnings.slice(0, PLAN_WARNINGS_SHOWN).map(warningIssue), Math.max(0, warnings.length - PLAN_WARNINGS_SHOWN));
}

export interface PlanOptions {
  format: Format;
  target?: string[];
  detailedExitcode?: boolean;
  failOnRisk?: boolean;
  offline?: boolean;
  out?: string;
}

export async function planCommand(io: Io, global: GlobalOptions, opts: PlanOptions): Promise<number> {
  const p = await project(io, global);
  const client = opts.offline ? undefined : await createClient(p, { debug: debugSink(io, global) });
  const { plan, tasks } = await computePlan(p, { offline: Boolean(opts.offline), targets: opts.target?.length ? opts.target : null, client });
  io.stderr.write(firstWarnings(tasks.warnings));
  if (opts.out) await writeSavedPlan(opts.out, plan);
  io.stdout.write(render(plan, opts.format, io, global));
  if (opts.out && opts.format === 'text') io.stdout.write(`\nSaved the plan to ${opts.out}. Apply exactly this plan with: callform apply ${opts.out}\n`);
  io.stderr.write(policyVerdict(plan));
  return planExitCode(plan, { detailedExitcode: opts.detailedExitcode, failOnRisk: opts.failOnRisk });
}

export async function showCommand(io: Io, global: GlobalOptions, file: string, opts: { format: Format }): Promise<number> {
  const plan = await readSavedPlan(file);
  io.stdout.write(render(plan, opts.format, io, global));
  return ExitCode.Ok;
}

export interface ApplyCommandOptions {
  autoApprove?: boolean;
  target?: string[];
  parallelism?: number;
  lockTimeout?: number;
}

/** Stop handling: the first SIGINT/SIGTERM stops new calls; a second one exits at once. */
function trapSignals(io: Io) {
  let signal: NodeJS.Signals | null = null;
  const handler = (s: NodeJS.Signals) => {
    if (signal) process.exit(s === 'SIGINT' ? ExitCode.Interrupted : ExitCode.Terminated);
    signal = s;
    io.stderr.write(`\n${s}: finishing the calls in flight and saving state; no new calls will start (repeat to exit now).\n`);
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return {
    stopped: () => signal !== null,
    exitCode: () => (signal === 'SIGINT' ? ExitCode.Interrupted : signal === 'SIGTERM' ? ExitCode.Terminated : null),
    dispose: () => {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
    },
  };
}

function progressReporter(io: Io) {
  const tty = Boolean(io.stderr.isTTY) && !io.env.CI;
  let failures = 0;
  return {
    onResult(r: ApplyResult['results'][number], done: number, total: number) {
      if (r.outcome === 'failed') failures++;
      if (tty) {
        io.stderr.write(`\r\x1b[2K[${done}/${total}] ${failures} failed so far`);
        if (done === total) io.stderr.write('\r\x1b[2K');
      } else if (r.outcome !== 'unchanged') {
        io.stdout.write(renderApplyLine(r, done, total) + '\n');
      }
    },
    end() {
      if (tty) io.stderr.write('\r\x1b[2K');
    },
  };
}

export async function applyCommand(io: Io, global: GlobalOptions, planFile: string | undefined, opts: ApplyCommandOptions): Promise<number> {
  if (planFile && opts.target?.length) throw new CallformError('--target cannot be combined with a saved plan', 'targets are chosen when the plan is made: `callform plan --target ID --out FILE`');
  if (!planFile && !opts.autoApprove && !io.stdin.isTTY) {
    throw new CallformError('apply needs confirmation but standard input is not a terminal', 'pass --auto-approve, or apply a reviewed saved plan: `callform apply FILE`');
  }
  const p = await project(io, global, { parallelism: opts.parallelism, lockTimeoutMs: opts.lockTimeout });
  const client = await createClient(p, { debug: debugSink(io, global) });
  const c = colors(io, global);
  const signals = trapSignals(io);
  const progress = progressReporter(io);
  try {
    const run = await runApply(p, planFile ? { planFile } : { targets: opts.target?.length ? opts.target : null }, {
      client,
      onPlan: (plan) => io.stdout.write(renderPlanText(plan, c)),
      onSavedPlan: (plan, file) =>
        io.stdout.write(`Applying saved plan ${file} (made ${plan.created_at}): ${plan.summary.update} to update, ${plan.summary.forget} to forget.\n`),
      confirm: opts.autoApprove ? undefined : () => confirm(io, '\nDo you want to apply these changes? Only "yes" is accepted: '),
      warn: (message) => io.stderr.write(`warning: ${message}\n`),
      onResult: progress.onResult,
      shouldStop: signals.stopped,
    });
    progress.end();
    if (run.status === 'nothing-applicable') io.stdout.write('\nNothing can be applied now.\n');
    if (run.status === 'cancelled') io.stderr.write('Apply cancelled; nothing was changed.\n');
    if (run.status === 'applied') io.stdout.write('\n' + renderApplySummary(run.result, c));
    return signals.exitCode() ?? applyExitCode(run);
  } finally {
    signals.dispose();
  }
}

export async function forceUnlockCommand(io: Io, global: GlobalOptions, id: string): Promise<number> {
  const p = await project(io, global);
  const holder = await forceUnlock(p.settings.statePath, id);
  io.stdout.write(`Removed lock ${holder.id} (held by pid ${holder.pid} on ${holder.host} since ${holder.since}).\n`);
  return ExitCode.Ok;
}
