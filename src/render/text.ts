import type { CallformPlan, SettingChange, TaskPlan } from '../model/plan.js';
import type { ApplyResult } from '../apply/apply.js';
import { callsPerSecond, pausedTimes, type ApiTraffic } from '../apply/report.js';

const seconds = (ms: number) => `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
import { noColors, type Colors } from './colors.js';
import {
  changesOf,
  isCreatedUpdate,
  noteOf,
  remoteText,
  resumeText,
  sendNote,
  showValue,
  summaryLine,
  taskLabel,
  unreadNote,
  type TaskLabel,
} from './common.js';
import { windowSummary } from './review-common.js';
import { policyLines, riskLines } from './review-text.js';

const CHANGE_SYMBOL: Record<SettingChange['kind'], string> = { add: '+', change: '~', unmanage: '-' };
const LABEL_SYMBOL: Record<TaskLabel, string> = {
  create: '+',
  update: '~',
  'pause-update-resume': '~',
  blocked: '!',
  forget: '-',
  error: 'x',
  noop: ' ',
};

function describeChange(c: SettingChange): string {
  switch (c.kind) {
    case 'add':
      return `${c.path} = ${showValue(c.after)}`;
    case 'change':
      return `${c.path}: ${showValue(c.before)} → ${showValue(c.after)}`;
    case 'unmanage':
      return `${c.path} (was ${showValue(c.before)}): no longer managed, not sent; the server keeps its value`;
  }
}

const LABEL_WORD: Record<TaskLabel, string> = {
  create: 'will be created',
  update: 'will be updated',
  'pause-update-resume': 'will be updated (pause → update → resume)',
  blocked: 'is BLOCKED',
  forget: 'will be forgotten (state only, no API call)',
  error: 'has an ERROR',
  noop: 'is unchanged',
};

function taskBlock(t: TaskPlan, c: Colors): string {
  const label = taskLabel(t);
  const tint = {
    create: c.green,
    update: c.yellow,
    'pause-update-resume': c.yellow,
    blocked: c.magenta,
    forget: c.red,
    error: c.red,
    noop: c.dim,
  }[label];
  const remote = remoteText(t);
  const meta = [t.source, remote && `remote ${remote}`].filter(Boolean).join(', ');
  const lines = [
    tint(
      `${LABEL_SYMBOL[label]} ${c.bold(t.userTaskID)} ${LABEL_WORD[label]}${label === 'update' && isCreatedUpdate(t) ? ' (created, settings not yet sent)' : ''}`,
    ) + (meta ? c.dim(`  (${meta})`) : ''),
  ];
  for (const ch of changesOf(t)) {
    const color = ch.kind === 'add' ? c.green : ch.kind === 'change' ? c.yellow : c.red;
    lines.push(`    ${color(CHANGE_SYMBOL[ch.kind])} ${describeChange(ch)}`);
  }
  const window = windowSummary(t);
  if (window) lines.push(c.cyan(`    ${window.line}`));
  if (t.action === 'create' && t.deferred === null)
    lines.push(
      c.dim(
        t.sentFields.length === 0
          ? '    (createTask with productID, userTaskID and sceneID; no setting declared, so no updateTask)'
          : `    (createTask with productID, userTaskID and sceneID, then updateTask with ${t.sentFields.length} field${t.sentFields.length === 1 ? '' : 's'})`,
      ),
    );
  if (t.action === 'update' && !t.payload) lines.push(c.dim('    (nothing to send: only the state is updated)'));
  const send = sendNote(t);
  if (send) lines.push(c.dim(`    (${send})`));
  const note = noteOf(t);
  if (note) lines.push(t.action === 'forget' ? c.dim(`    ${note}`) : `    ${c.magenta('reason:')} ${note}`);
  for (const w of t.warnings) lines.push(`    ${c.yellow('warning:')} ${w}`);
  return lines.join('\n');
}

/** The terminal rendering of a plan (`+ ~ -` per field, one block per task that changes). */
export function renderPlanText(plan: CallformPlan, c: Colors = noColors): string {
  const out: string[] = [];
  if (plan.offline)
    out.push(
      c.yellow(
        'Offline plan: remote task statuses were not read; blocked tasks, tasks missing remotely and sceneID mismatches cannot be detected, and no task is planned for creation.',
      ),
      '',
    );
  const unread = unreadNote(plan);
  if (unread) out.push(c.yellow(`${unread}.`), '');
  for (const r of plan.resumes) out.push(c.magenta(`! ${resumeText(r)}: apply resumes it first`));
  if (plan.resumes.length > 0) out.push('');
  const shown = plan.tasks.filter((t) => taskLabel(t) !== 'noop');
  if (shown.length === 0 && plan.resumes.length === 0) {
    out.push(...policyLines(plan, c));
    out.push(
      c.green(
        `No changes. ${plan.summary.noop === 1 ? '1 task matches' : `${plan.summary.noop} tasks match`} the state.`,
      ),
    );
    return out.join('\n') + '\n';
  }
  out.push('callform will perform these actions (+ add, ~ change, - stop managing):', '');
  for (const t of shown) out.push(taskBlock(t, c), '');
  out.push(...policyLines(plan, c), ...riskLines(plan, c));
  out.push(c.bold(`Plan: ${summaryLine(plan)}.`));
  return out.join('\n') + '\n';
}

export function renderApplyLine(r: ApplyResult['results'][number], done: number, total: number): string {
  const detail = r.message ? `: ${r.message}` : '';
  return `[${done}/${total}] ${r.userTaskID} ${r.outcome}${detail}`;
}

/** "2 createTask calls, " when the run created tasks. */
const createNote = (r: ApplyResult) =>
  r.createCalls ? `${r.createCalls} createTask call${r.createCalls === 1 ? '' : 's'}, ` : '';

/** "; 14 API calls at 42.1 calls/s, 0 throttled" (empty without traffic figures). */
function trafficNote(t: ApiTraffic | null): string {
  if (!t) return '';
  return `; ${t.calls} API call${t.calls === 1 ? '' : 's'} at ${callsPerSecond(t).toFixed(1)} calls/s, ${t.throttled} throttled`;
}

/**
 * The end of an apply: failed, blocked, skipped and resumed tasks (each once), paused times,
 * warnings, then `Apply complete` / `Apply failed` (a task failed) / `Apply interrupted`
 * (`interrupted`: a stop ended the run; by default, when tasks were left unattempted).
 */
export function renderApplySummary(
  result: ApplyResult,
  c: Colors = noColors,
  traffic: ApiTraffic | null = null,
  interrupted: boolean = result.interrupted,
): string {
  const k = result.counts;
  const lines: string[] = [];
  for (const r of result.results) {
    if (r.outcome === 'failed') lines.push(c.red(`x ${r.userTaskID} failed: ${r.message}`));
    else if (r.outcome === 'blocked') lines.push(c.magenta(`! ${r.userTaskID} blocked: ${r.message}`));
    else if (r.outcome === 'skipped') lines.push(c.yellow(`- ${r.userTaskID} skipped: ${r.message}`));
    else if (r.outcome === 'resumed') lines.push(`> ${r.userTaskID}: ${r.message}`);
  }
  const paused = pausedTimes(result.results);
  if (paused.medianMs !== null) {
    const each = result.results.flatMap((r) =>
      r.pausedMs === undefined ? [] : [`${r.userTaskID} ${seconds(r.pausedMs)}`],
    );
    lines.push(
      `paused (pause → update → resume): ${paused.tasks} task${paused.tasks === 1 ? '' : 's'}, ${seconds(paused.totalMs)} in total, median ${seconds(paused.medianMs)}, longest ${seconds(paused.maxMs)}`,
    );
    lines.push(c.dim(`  ${each.join(', ')}`));
  }
  const warnings = new Set(
    result.results.filter((r) => r.outcome === 'applied' || r.outcome === 'created').flatMap((r) => r.warnings),
  );
  for (const w of warnings) lines.push(c.yellow(`warning: ${w}`));
  const parts = [
    ...(k.created ? [`${k.created} created`] : []),
    `${k.applied} applied`,
    `${k.blocked} blocked`,
    `${k.failed} failed`,
    `${k.unchanged} unchanged`,
  ];
  if (k.forgotten) parts.push(`${k.forgotten} forgotten`);
  if (k.skipped) parts.push(`${k.skipped} skipped`);
  if (k.resumed) parts.push(`${k.resumed} resumed`);
  const ok = k.failed === 0 && k.skipped === 0 && !interrupted;
  const ending = interrupted ? 'Apply interrupted' : k.failed > 0 ? 'Apply failed' : 'Apply complete';
  lines.push(
    (ok ? c.green : c.red)(
      c.bold(
        `${ending}: ${parts.join(', ')} (${createNote(result)}${result.updateCalls} updateTask call${result.updateCalls === 1 ? '' : 's'}${trafficNote(traffic)}).`,
      ),
    ),
  );
  return lines.join('\n') + '\n';
}
