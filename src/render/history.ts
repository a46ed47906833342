/** `callform history` output: one line per run, a task's changes across runs, one run in full. */
import type { FieldChange, HistoryRun } from '../state/history.js';

const when = (iso: string) => iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z');
const short = (commit: string | null) => (commit ? commit.slice(0, 8) : '-');
const value = (v: unknown) => (v === null || v === undefined ? '(unset)' : JSON.stringify(v));

function counts(run: HistoryRun): string {
  const c = run.counts;
  const parts = [`${c.applied} applied`, `${c.failed} failed`, `${c.blocked} blocked`];
  if (c.created) parts.unshift(`${c.created} created`);
  if (c.skipped) parts.push(`${c.skipped} skipped`);
  if (c.forgotten) parts.push(`${c.forgotten} forgotten`);
  if (c.resumed) parts.push(`${c.resumed} resumed`);
  return parts.join(', ');
}

/** The actor column, padded to the widest name of the listed runs so the columns after it line up. */
function actorColumn(runs: HistoryRun[]): (r: HistoryRun) => string {
  const width = Math.max(...runs.map((r) => (r.actor ?? '?').length));
  return (r) => (r.actor ?? '?').padEnd(width);
}

const change = (c: FieldChange) => `${c.field}: ${value(c.before)} → ${value(c.after)}`;

/** Runs newest first, one line each: when, who, commit, outcome, counts, id. */
export function renderRunList(runs: HistoryRun[]): string {
  if (runs.length === 0) return 'No runs recorded.\n';
  const actor = actorColumn(runs);
  return (
    runs
      .map(
        (r) => `${when(r.finishedAt)}  ${actor(r)}  ${short(r.commit)}  ${r.outcome.padEnd(11)}  ${counts(r)}  ${r.id}`,
      )
      .join('\n') + '\n'
  );
}

/** One task's changes across runs (each run already holds only that task). */
export function renderTaskHistory(task: string, runs: HistoryRun[]): string {
  if (runs.length === 0) return `No run recorded a change to ${task}.\n`;
  const lines: string[] = [];
  const actor = actorColumn(runs);
  for (const r of runs) {
    for (const t of r.tasks) {
      lines.push(
        `${when(r.finishedAt)}  ${actor(r)}  ${short(r.commit)}  ${t.action} ${t.outcome}${t.retCode !== null ? ` (retCode ${t.retCode})` : ''}  run ${r.id}`,
      );
      for (const c of t.changes) lines.push(`    ${change(c)}`);
      if (t.outcome !== 'applied' && t.message) lines.push(`    ${t.message}`);
    }
  }
  return lines.join('\n') + '\n';
}

/** One run in full. */
export function renderRun(r: HistoryRun): string {
  const lines = [
    `Run ${r.id}`,
    `  state:    ${r.state}${r.environment ? ` (environment ${r.environment})` : ''}`,
    `  started:  ${r.startedAt}`,
    `  finished: ${r.finishedAt}`,
    `  actor:    ${r.actor ?? '?'}`,
    `  commit:   ${r.commit ?? '-'}`,
    ...(r.ciRunUrl ? [`  CI run:   ${r.ciRunUrl}`] : []),
    `  plan:     sha256 ${r.planDigest}`,
    `  outcome:  ${r.outcome} (${counts(r)})`,
    ...(r.error ? [`  error:    ${r.error}`] : []),
    '',
  ];
  for (const t of r.tasks) {
    const extra = [
      t.retCode !== null ? `retCode ${t.retCode}` : null,
      t.pausedMs !== null ? `paused ${(t.pausedMs / 1000).toFixed(2)} s` : null,
    ].filter(Boolean);
    lines.push(`${t.userTaskID}: ${t.action} → ${t.outcome}${extra.length ? ` (${extra.join(', ')})` : ''}`);
    for (const c of t.changes) lines.push(`    ${change(c)}`);
    if (t.message) lines.push(`    ${t.message}`);
  }
  return lines.join('\n') + '\n';
}
