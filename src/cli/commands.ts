import type { CallformPlan } from '../generated/plan.js';
import { CallformError, ExitCode } from '../errors.js';
import { colorsFor } from '../render/colors.js';
import { renderPlanText, renderApplySummary, renderApplyLine } from '../render/text.js';
import { renderPlanMarkdown } from '../render/markdown.js';
import { renderPlanJson } from '../render/json.js';
import { planHasChanges } from '../plan/plan.js';
import { readSavedPlan, writeSavedPlan } from '../plan/saved-plan.js';
import { forceUnlock } from '../state/lock.js';
import {
  openProject,
  loadProjectTasks,
  computePlan,
  createClient,
  lockState,
  loadProjectState,
  assertPlanCurrent,
  executePlan,
  applyExitCode,
  type Project,
} from '../workflow.js';
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
  const loaded = await loadProjectTasks(p);
  io.stdout.write(`Valid: ${loaded.tasks.length} task${loaded.tasks.length === 1 ? '' : 's'} in ${loaded.files.length} file${loaded.files.length === 1 ? '' : 's'}.\n`);
  return ExitCode.Ok;
}

export interface PlanOptions {
  format: Format;
  target?: string[];
  detailedExitcode?: boolean;
  offline?: boolean;
  out?: string;
}

export async function planCommand(io: Io, global: GlobalOptions, opts: PlanOptions): Promise<number> {
  const p = await project(io, global);
  const client = opts.offline ? undefined : await createClient(p, { debug: debugSink(io, global) });
  const { plan } = await computePlan(p, { offline: Boolean(opts.offline), targets: opts.target?.length ? opts.target : null, client });
  if (opts.out) await writeSavedPlan(opts.out, plan);
  io.stdout.write(render(plan, opts.format, io, global));
  if (opts.out && opts.format === 'text') io.stdout.write(`\nSaved the plan to ${opts.out}. Apply exactly this plan with: callform apply ${opts.out}\n`);
  return opts.detailedExitcode && planHasChanges(plan) ? ExitCode.Changes : ExitCode.Ok;
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
  const lock = await lockState(p, planFile ? `apply ${planFile}` : 'apply', (err) =>
    io.stderr.write(`warning: the state lock was taken away while this apply holds it (${err.message}); was force-unlock used on a live run? continuing: state writes stay atomic\n`),
  );
  const signals = trapSignals(io);
  try {
    let plan: CallformPlan;
    let state;
    if (planFile) {
      plan = await readSavedPlan(planFile);
      state = await loadProjectState(p);
      await assertPlanCurrent(p, plan, state);
      io.stdout.write(`Applying saved plan ${planFile} (made ${plan.created_at}): ${plan.summary.update} to update, ${plan.summary.forget} to forget.\n`);
      if (plan.offline) io.stderr.write('warning: this plan was made with --offline: task statuses were not checked, so running or finished tasks will fail instead of showing as blocked\n');
    } else {
      const run = await computePlan(p, { offline: false, targets: opts.target?.length ? opts.target : null, client });
      plan = run.plan;
      state = run.state;
      io.stdout.write(renderPlanText(plan, colors(io, global)));
      if (!planHasChanges(plan)) return ExitCode.Ok;
      if (plan.summary.update + plan.summary.forget === 0) {
        io.stdout.write('\nNothing can be applied now.\n');
        return plan.summary.error > 0 ? ExitCode.Error : ExitCode.Blocked;
      }
      if (!opts.autoApprove && !(await confirm(io, '\nDo you want to apply these changes? Only "yes" is accepted: '))) {
        io.stderr.write('Apply cancelled; nothing was changed.\n');
        return ExitCode.Error;
      }
    }
    const progress = progressReporter(io);
    const result = await executePlan(p, plan, state, { client, parallelism: p.settings.parallelism, onResult: progress.onResult, shouldStop: signals.stopped });
    progress.end();
    io.stdout.write('\n' + renderApplySummary(result, colors(io, global)));
    return signals.exitCode() ?? applyExitCode(result);
  } finally {
    signals.dispose();
    await lock.release();
  }
}

export async function forceUnlockCommand(io: Io, global: GlobalOptions, id: string): Promise<number> {
  const p = await project(io, global);
  const holder = await forceUnlock(p.settings.statePath, id);
  io.stdout.write(`Removed lock ${holder.id} (held by pid ${holder.pid} on ${holder.host} since ${holder.since}).\n`);
  return ExitCode.Ok;
}
