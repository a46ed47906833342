import type { DoctorReport, CheckStatus } from '../workflow/doctor.js';
import { noColors, type Colors } from './colors.js';

const MARK: Record<CheckStatus, string> = { ok: '✓', warn: '!', fail: '✗', skip: '-' };

/** The doctor's checklist: ✓ / ✗ / ! (and - for skipped), each problem with its fix. */
export function renderDoctorText(report: DoctorReport, c: Colors = noColors): string {
  const tint: Record<CheckStatus, (s: string) => string> = { ok: c.green, warn: c.yellow, fail: c.red, skip: c.dim };
  const width = Math.max(...report.checks.map((k) => k.title.length));
  const lines = ['callform doctor', ''];
  for (const k of report.checks) {
    const [first, ...rest] = k.detail.split('\n');
    lines.push(`${tint[k.status](MARK[k.status])} ${k.title.padEnd(width)}  ${first}`);
    for (const more of rest) lines.push(`  ${' '.repeat(width)}  ${more}`);
    if (k.fix && k.status !== 'ok') lines.push(`  ${' '.repeat(width)}  ${c.dim('fix:')} ${k.fix}`);
  }
  const failed = report.checks.filter((k) => k.status === 'fail').length;
  const warned = report.checks.filter((k) => k.status === 'warn').length;
  lines.push(
    '',
    failed
      ? c.red(
          `${failed} problem${failed === 1 ? '' : 's'} to fix${warned ? `, ${warned} warning${warned === 1 ? '' : 's'}` : ''}.`,
        )
      : warned
        ? c.yellow(`All set, with ${warned} warning${warned === 1 ? '' : 's'}.`)
        : c.green('All set.'),
  );
  return lines.join('\n') + '\n';
}

export function renderDoctorJson(report: DoctorReport): string {
  return JSON.stringify({ kind: 'callform-doctor', ...report }, null, 2) + '\n';
}
