import { isChange, type CallformPlan, type TaskPlan, type SettingChange } from '../model/plan.js';
import {
  changesOf,
  isCreatedUpdate,
  noteOf,
  remoteText,
  resumeText,
  sendNote,
  sentCount,
  showValue,
  summaryLine,
  taskLabel,
  unreadNote,
  type TaskLabel,
} from './common.js';
import { policyBlock, riskBlock, taskReview } from './review-markdown.js';

/** A bot finds its previous comment by this marker and edits it instead of posting anew. */
export const MARKDOWN_MARKER = '<!-- callform-plan -->';
/** GitHub's comment limit is 65,536 characters; keep a margin for the closing note. */
export const MARKDOWN_LIMIT = 65_536;
const BUDGET = MARKDOWN_LIMIT - 1_500;

export const LABEL: Record<TaskLabel, string> = {
  create: '🟢 create',
  update: '🟡 update',
  'pause-update-resume': '⏯️ pause → update → resume',
  blocked: '⛔ blocked',
  forget: '🗑️ forget',
  error: '❌ error',
  noop: 'unchanged',
};

const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
const escapeHtml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

const CHANGE_LABEL: Record<SettingChange['kind'], string> = {
  add: '+ add',
  change: '~ change',
  unmanage: '- unmanage',
};
const code = (v: unknown) => (v === undefined ? '' : `\`${cell(showValue(v)).replace(/`/g, "'")}\``);

/** One collapsible section per task: a table of its field changes, then reason and warnings. */
export function details(plan: CallformPlan, t: TaskPlan): string {
  const changes = changesOf(t);
  const changed = `${changes.length} field${changes.length === 1 ? '' : 's'}`;
  // A resync or sendMode declared sends more than it changes: say both.
  const count = sendNote(t) && isChange(t) ? `${changed} changed, ${t.sentFields.length} sent` : changed;
  const created = isCreatedUpdate(t) ? ' (created, settings not yet sent)' : '';
  const lines = [
    `<details><summary><code>${escapeHtml(t.userTaskID)}</code>: ${LABEL[taskLabel(t)]}${created} (${count})</summary>`,
    '',
  ];
  if (changes.length > 0) {
    lines.push('| Field | Change | Before | After |', '|---|---|---|---|');
    for (const c of changes)
      lines.push(
        `| \`${c.path}\` | ${CHANGE_LABEL[c.kind]} | ${code(c.before)} | ${c.kind === 'unmanage' ? '_not sent; server keeps its value_' : code(c.after)} |`,
      );
    lines.push('');
  }
  lines.push(...taskReview(plan, t));
  const note = noteOf(t);
  if (note) lines.push(`> ${cell(note)}`, '');
  const send = sendNote(t);
  if (send) lines.push(`> ${cell(send)}`, '');
  for (const w of t.warnings) lines.push(`> ⚠️ ${cell(w)}`, '');
  lines.push('</details>', '');
  return lines.join('\n');
}

/**
 * A pull-request comment: marker, one-line summary, a table of the tasks that change,
 * then one collapsible section per task. Values are masked; past GitHub's size limit
 * the rest is summarised, never cut mid-element.
 */
export function renderPlanMarkdown(plan: CallformPlan, options: { title?: string } = {}): string {
  const head = [
    MARKDOWN_MARKER,
    `### ${options.title ?? 'callform plan'}`,
    '',
    ...riskBlock(plan),
    `**${summaryLine(plan)}**${plan.offline ? ' (offline: task statuses not read; blocked tasks, tasks missing remotely and sceneID mismatches not detected; no task planned for creation)' : ''}${unreadNote(plan) ? ` (${unreadNote(plan)})` : ''}`,
    '',
    ...policyBlock(plan),
  ];
  for (const r of plan.resumes) head.push(`> ⏯️ **${cell(resumeText(r))}**: apply resumes it first.`, '');
  const changed = plan.tasks.filter((t) => taskLabel(t) !== 'noop');
  if (changed.length === 0)
    return [
      ...head,
      plan.resumes.length ? 'No settings change.' : 'No changes: every task matches the state.',
      '',
    ].join('\n');
  let text = head.join('\n') + '\n| Task | Action | Fields sent | Remote | Note |\n|---|---|---:|---|---|\n';
  let rows = 0;
  for (const t of changed) {
    const note = noteOf(t) ?? (t.warnings[0] ? `⚠️ ${t.warnings[0]}` : '');
    const label = `${LABEL[taskLabel(t)]}${isCreatedUpdate(t) ? ' (created, settings not yet sent)' : ''}`;
    const row = `| \`${cell(t.userTaskID)}\` | ${label} | ${sentCount(t)} | ${cell(remoteText(t) ?? '')} | ${cell(note)} |\n`;
    if (text.length + row.length > BUDGET / 2) break;
    text += row;
    rows++;
  }
  if (rows < changed.length) text += `\n_${changed.length - rows} more changed task(s) not listed in the table._\n`;
  text += '\n';
  let shown = 0;
  for (const t of changed) {
    const section = details(plan, t);
    if (text.length + section.length > BUDGET) break;
    text += section;
    shown++;
  }
  if (shown < changed.length) {
    text += `\n> ✂️ ${changed.length - shown} of ${changed.length} task details omitted to stay under GitHub's ${MARKDOWN_LIMIT.toLocaleString('en-US')}-character comment limit. Run \`callform show plan.cfplan\` (or see the CI artifact) for the full plan.\n`;
  }
  return text;
}
