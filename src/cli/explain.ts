import { ExitCode } from '../errors.js';
import { showValue } from '../render/common.js';
import { maskValue } from '../model/redact.js';
import { explainTask, type Explanation, type ExplainedSource } from '../workflow/explain.js';
import type { Io } from './io.js';
import { selectProjects, type EnvOptions, type GlobalOptions } from './commands.js';

const at = (s: ExplainedSource) =>
  `${s.kind === 'environment' ? 'environment block' : s.kind} ${s.file}${s.line === null ? '' : `:${s.line}`}`;

function renderExplainText(e: Explanation): string {
  const lines = [`${e.userTaskID} in environment ${e.environment} (declared at ${e.source})`];
  const width = Math.min(48, Math.max(0, ...e.fields.map((f) => f.path.length)));
  for (const f of e.fields) {
    lines.push(`  ${f.path.padEnd(width)} = ${showValue(f.value)}   ← ${at(f.from)}`);
    for (const o of f.overrode) lines.push(`  ${''.padEnd(width)}   overrode ${showValue(o.value)} (${at(o.from)})`);
  }
  for (const r of e.removed) {
    lines.push(`  ${r.path.padEnd(width)}   removed (null) ← ${at(r.by)}: not managed in ${e.environment}`);
    for (const o of r.overrode) lines.push(`  ${''.padEnd(width)}   was ${showValue(o.value)} (${at(o.from)})`);
  }
  return lines.join('\n') + '\n';
}

/** `callform explain <userTaskID> --env NAME [--format text|json]`. */
export async function explainCommand(
  io: Io,
  global: GlobalOptions,
  userTaskID: string,
  opts: { format: 'text' | 'json' } & EnvOptions,
): Promise<number> {
  const s = await selectProjects(io, global, opts, { name: 'explain', allowAll: false });
  const project = s.kind === 'all' ? s.projects[0] : s.project;
  const e = await explainTask(project, userTaskID);
  io.stdout.write(
    opts.format === 'json'
      ? JSON.stringify({ kind: 'callform-explain', ...(maskValue(e) as object) }, null, 2) + '\n'
      : renderExplainText(e),
  );
  return ExitCode.Ok;
}
