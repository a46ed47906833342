/**
 * Every environment's plan in one output: text (a section each, then a total), JSON (one
 * document), and one Markdown pull-request comment that stays under its size budget.
 */
import { isChange, planHasChanges, type CallformPlan, type PolicyViolation, type TaskPlan } from '../model/plan.js';
import { blockingViolations, formatViolation } from '../policy/report.js';
import { maskValue } from '../model/redact.js';
import { noColors, type Colors } from './colors.js';
import { renderPlanText } from './text.js';
import { summaryLine, taskLabel } from './common.js';
import { risksOf } from './review-common.js';
import { riskBlock, someTaskNames } from './review-markdown.js';
import { details, LABEL, MARKDOWN_MARKER } from './markdown.js';

export interface EnvironmentPlan {
  name: string;
  plan: CallformPlan;
}

/** The all-environments comment never exceeds this many characters (GitHub's limit is 65,536). */
export const ALL_ENVS_BUDGET = 60_000;

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
const escapeHtml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** An environment's plan has an error: a task in error, or an error-level policy violation. */
function envHasErrors(plan: CallformPlan): boolean {
  return plan.summary.error > 0 || (plan.policy ? blockingViolations(plan.policy).length > 0 : false);
}

/** The numbers a summary line and table show. */
export function envSummary(e: EnvironmentPlan) {
  const s = e.plan.summary;
  return {
    environment: e.name,
    changes: planHasChanges(e.plan),
    // Only when the plan creates tasks, as in the plan's own summary (format 2.2).
    ...(s.create ? { create: s.create } : {}),
    update: s.update,
    blocked: s.blocked,
    forget: s.forget,
    resume: s.resume,
    error: s.error,
    unchanged: s.noop,
    risks: risksOf(e.plan).length,
    policy_errors: e.plan.policy ? blockingViolations(e.plan.policy).length : 0,
  };
}

/** "3 environments, 2 with changes, 0 with errors". */
function allEnvsHeadline(envs: readonly EnvironmentPlan[]): string {
  const changed = envs.filter((e) => planHasChanges(e.plan)).length;
  const errors = envs.filter((e) => envHasErrors(e.plan)).length;
  return `${plural(envs.length, 'environment')}, ${changed} with changes, ${errors} with errors`;
}

/** One environment's section of the text output. */
export function renderEnvironmentText(e: EnvironmentPlan, c: Colors = noColors): string {
  return `${c.bold(`== environment ${e.name}`)}\n${renderPlanText(e.plan, c)}`;
}

/** The closing line of the text output, from each environment's plan (or just its summary). */
export function renderAllEnvsTotal(envs: readonly EnvironmentPlan[]): string {
  const total = envs.reduce(
    (acc, e) => ({
      create: acc.create + (e.plan.summary.create ?? 0),
      update: acc.update + e.plan.summary.update,
      blocked: acc.blocked + e.plan.summary.blocked,
      error: acc.error + e.plan.summary.error,
    }),
    { create: 0, update: 0, blocked: 0, error: 0 },
  );
  const create = total.create > 0 ? `${total.create} to create, ` : '';
  return `All environments: ${allEnvsHeadline(envs)}; ${create}${total.update} to update, ${total.blocked} blocked, ${total.error} in error.\n`;
}

export function renderAllEnvsText(envs: readonly EnvironmentPlan[], c: Colors = noColors): string {
  return `${envs.map((e) => renderEnvironmentText(e, c)).join('\n')}\n${renderAllEnvsTotal(envs)}`;
}

export function renderAllEnvsJson(envs: readonly EnvironmentPlan[]): string {
  const doc = {
    kind: 'callform-all-envs-plan',
    format_version: '1.0',
    summary: envs.map(envSummary),
    environments: envs.map((e) => ({
      name: e.name,
      plan: { ...(maskValue(e.plan) as object), kind: 'callform-plan' },
    })),
  };
  return JSON.stringify(doc, null, 2) + '\n';
}

/** How much of each environment's section is shown: the comment shrinks level by level. */
type Level = 'full' | 'risky-details' | 'lines';

const taskLine = (t: TaskPlan) => {
  const fields = isChange(t) ? ` (${plural(t.changes.length, 'field')})` : '';
  return `- \`${cell(t.userTaskID)}\`: ${LABEL[taskLabel(t)]}${fields}`;
};

/** One environment's task entries at a level: a <details> per task, or a line per task. */
function taskEntries(e: EnvironmentPlan, level: Level): string[] {
  const risky = new Set(risksOf(e.plan).map((r) => r.userTaskID));
  const changed = e.plan.tasks.filter((t) => taskLabel(t) !== 'noop');
  return changed.map((t) => {
    if (level === 'full' || (level === 'risky-details' && risky.has(t.userTaskID))) return details(e.plan, t).trimEnd();
    return taskLine(t);
  });
}

interface Section {
  open: string[];
  entries: string[];
  /** Entries cut from the middle (0: none). */
  omitted: number;
  close: string[];
}

function sectionOf(e: EnvironmentPlan, level: Level): Section {
  const open = envHasErrors(e.plan) || risksOf(e.plan).length > 0;
  return {
    open: [
      `<details${open ? ' open' : ''}><summary><b>${escapeHtml(e.name)}</b>: ${cell(summaryLine(e.plan))}</summary>`,
      '',
      ...(e.plan.offline ? ['_offline: task statuses not read_', ''] : []),
    ],
    entries: taskEntries(e, level),
    omitted: 0,
    close: ['', '</details>', ''],
  };
}

/** Omits the fewest middle entries that bring the section to at most `cap` characters. */
function cutTo(s: Section, cap: number): void {
  if (renderSection(s).length <= cap) return;
  let [lo, hi] = [1, s.entries.length];
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (renderSection({ ...s, omitted: mid }).length <= cap) hi = mid;
    else lo = mid + 1;
  }
  s.omitted = lo;
}

function renderSection(s: Section): string {
  const entries = s.entries;
  if (s.omitted === 0) return [...s.open, ...entries, ...s.close].join('\n');
  if (s.omitted >= entries.length) return [...s.open, omittedLine(s.omitted), ...s.close].join('\n');
  const keep = entries.length - s.omitted;
  const head = entries.slice(0, Math.ceil(keep / 2));
  const tail = entries.slice(entries.length - Math.floor(keep / 2));
  return [...s.open, ...head, '', omittedLine(s.omitted), '', ...tail, ...s.close].join('\n');
}

const omittedLine = (n: number) =>
  `_… ${plural(n, 'task')} omitted, see the full plan (\`callform show\` of the saved plan, or the CI artifact)._`;

/**
 * Error-level violations one line per rule, each naming its first tasks and counting the
 * rest: the comment's form when a line per violation would not fit in its budget.
 */
function violationsByRule(violations: readonly PolicyViolation[]): string[] {
  const byRule = new Map<string, PolicyViolation[]>();
  for (const v of violations) {
    const list = byRule.get(v.rule);
    if (list) list.push(v);
    else byRule.set(v.rule, [v]);
  }
  // Named as the risk callouts name their tasks.
  return [...byRule].map(
    ([rule, vs]) =>
      `> - **[${cell(rule)}]** ${plural(vs.length, 'violation')}: ${cell(someTaskNames(vs.map((v) => v.userTaskID)))} — ${cell(vs[0].message)}`,
  );
}

/**
 * The parts never dropped: header, summary table, every risk callout (grouped by kind),
 * every policy error (a line each, or grouped per rule with `byRule` when those lines alone
 * would not fit), the unchanged line.
 */
function commentHead(envs: readonly EnvironmentPlan[], byRule = false): string[] {
  const lines = [MARKDOWN_MARKER, `### callform plan: ${allEnvsHeadline(envs)}`, ''];
  // A Create column only when some environment creates tasks (the table is otherwise unchanged).
  const creates = envs.some((e) => (e.plan.summary.create ?? 0) > 0);
  lines.push(
    `| Environment |${creates ? ' Create |' : ''} Update | Blocked | Error | Risks | Policy errors |`,
    `|---|${creates ? '---:|' : ''}---:|---:|---:|---:|---:|`,
  );
  for (const e of envs) {
    const s = envSummary(e);
    const create = creates ? ` ${s.create ?? 0} |` : '';
    lines.push(`| ${e.name} |${create} ${s.update} | ${s.blocked} | ${s.error} | ${s.risks} | ${s.policy_errors} |`);
  }
  lines.push('');
  for (const e of envs) {
    const block = riskBlock(e.plan);
    if (block.length > 0)
      lines.push(...block.map((l, i) => (i === 0 ? l.replace('> ⚠️ **Risky', `> ⚠️ **${e.name}: risky`) : l)));
    const blocking = e.plan.policy ? blockingViolations(e.plan.policy) : [];
    if (blocking.length > 0) {
      lines.push(
        `> ❌ **${e.name}: ${plural(blocking.length, 'policy violation')} at error level: apply will refuse this plan.**`,
        '>',
      );
      if (byRule) lines.push(...violationsByRule(blocking));
      else for (const v of blocking) lines.push(`> - ${cell(formatViolation(v))}`);
      lines.push('');
    }
  }
  const unchanged = envs.filter((e) => !planHasChanges(e.plan)).map((e) => e.name);
  if (unchanged.length > 0) lines.push(`No changes in ${unchanged.join(', ')}.`, '');
  return lines;
}

/** A section cut to its "… N tasks omitted" line, with a long environment name: an upper bound. */
const SMALLEST_SECTION = 400;

const lengthOf = (head: string, sections: Section[]) =>
  head.length + sections.reduce((n, s) => n + renderSection(s).length + 1, 0);

/**
 * One pull-request comment for every environment, at most `budget` characters. Past the
 * budget it shrinks step by step: field tables only for tasks with risks, then one line
 * per task, then the middle of the longest section is cut with a visible "… N tasks
 * omitted" line. The header, the summary table, the risk callouts and the policy errors
 * are never dropped (policy errors are grouped per rule when their lines alone would not fit).
 */
export function renderAllEnvsMarkdown(envs: readonly EnvironmentPlan[], budget = ALL_ENVS_BUDGET): string {
  const changed = envs.filter((e) => planHasChanges(e.plan));
  let head = commentHead(envs).join('\n') + '\n';
  // Room for every changed environment's section at its smallest (its "… N omitted" line).
  if (head.length + changed.length * SMALLEST_SECTION > budget) head = commentHead(envs, true).join('\n') + '\n';
  let sections: Section[] = [];
  for (const level of ['full', 'risky-details', 'lines'] as const) {
    sections = changed.map((e) => sectionOf(e, level));
    if (lengthOf(head, sections) <= budget) return head + sections.map(renderSection).join('\n');
  }
  // Cut the middles of the longest sections: every section is held to one length cap, the
  // largest that fits (so the longest lose the most), each with its "… N omitted" line.
  const room = budget - head.length - sections.length;
  const lengths = sections.map((s) => renderSection(s).length);
  let [lo, hi] = [0, Math.max(0, ...lengths)];
  while (lo < hi) {
    const cap = Math.ceil((lo + hi) / 2);
    if (lengths.reduce((n, l) => n + Math.min(l, cap), 0) <= room) lo = cap;
    else hi = cap - 1;
  }
  for (const s of sections) cutTo(s, lo);
  return head + sections.map(renderSection).join('\n');
}
