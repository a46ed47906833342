/** `callform state pull|push|list|schema` and `callform history [show]`. */
import { Command, InvalidArgumentError, Option } from 'commander';
import { CallformError, ExitCode } from '../errors.js';
import type { Project } from '../workflow/project.js';
import type { Io } from './io.js';
import { oneProject } from './select.js';
import { duration, oneEnvironment } from './options.js';

interface Global {
  config?: string;
}

type Runner = (fn: () => Promise<number>) => () => Promise<void>;

/** Which environment's state a command uses (--env, else CALLFORM_ENV; needed when environments are declared). */
interface Target {
  name: string;
  env?: string;
}

const ENV_HELP = 'the environment whose state to use (declared under `environments:`; also CALLFORM_ENV)';

async function withProject(
  io: Io,
  global: Global,
  target: Target,
  fn: (p: Project) => Promise<number>,
): Promise<number> {
  const p = await oneProject(io, global, { env: target.env }, target.name);
  try {
    return await fn(p);
  } finally {
    await p.state.close();
  }
}

function positive(value: string): number {
  const n = /^\d+$/.test(value) ? Number(value) : NaN;
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('--limit must be a whole number ≥ 1');
  return n;
}

function date(value: string): Date {
  const t = Date.parse(value);
  if (Number.isNaN(t) || !calendarDateExists(value))
    throw new InvalidArgumentError(`"${value}" is not a date: use e.g. 2026-12-01 or 2026-12-01T08:00:00Z`);
  return new Date(t);
}

/** Date.parse rolls 2026-02-30 over to 2026-03-02: the calendar date written must exist. */
function calendarDateExists(value: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(value);
  if (!m) return true;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const day = new Date(Date.UTC(y, mo - 1, d));
  return day.getUTCFullYear() === y && day.getUTCMonth() === mo - 1 && day.getUTCDate() === d;
}

interface HistoryOptions {
  task?: string;
  since?: Date;
  limit: number;
  format: 'text' | 'json';
  env?: string;
}

export function registerStateCommands(program: Command, io: Io, global: () => Global, run: Runner): void {
  const state = program.command('state').description('move and inspect the stored state (file or PostgreSQL)');
  state
    .command('pull')
    .description('print the current state as JSON')
    .option('--env <name>', ENV_HELP, oneEnvironment)
    .action((opts: { env?: string }) =>
      run(() =>
        withProject(io, global(), { name: 'state pull', env: opts.env }, async (p) => {
          const loaded = await p.state.read();
          if (!loaded.exists) throw new CallformError(`${p.state.display} holds no state yet`, 'nothing was applied');
          io.stdout.write(JSON.stringify(loaded.state, null, 2) + '\n');
          return ExitCode.Ok;
        }),
      )(),
    );
  state
    .command('push <file>')
    .description(
      'write a state file into the configured backend (refused over a non-empty state of another lineage, a higher serial, or the same serial with another content)',
    )
    .option('--env <name>', ENV_HELP, oneEnvironment)
    .option(
      '--lock-timeout <duration>',
      'wait this long for the state lock: milliseconds, or 500ms, 5s, 2m (default: settings, 0)',
      duration('--lock-timeout', 3_600_000),
    )
    .action((file: string, opts: { env?: string; lockTimeout?: number }) =>
      run(() =>
        withProject(io, global(), { name: 'state push', env: opts.env }, async (p) => {
          const { pushState } = await import('../workflow/state-ops.js');
          const lockTimeoutMs = opts.lockTimeout ?? p.settings.lockTimeoutMs;
          const { pushed, replaced } = await pushState({ ...p, settings: { ...p.settings, lockTimeoutMs } }, file);
          io.stdout.write(
            `Pushed ${file} (lineage ${pushed.lineage}, serial ${pushed.serial}, ${Object.keys(pushed.tasks).length} tasks) to ${p.state.display}${replaced ? ` (it held serial ${replaced.serial})` : ''}.\n`,
          );
          return ExitCode.Ok;
        }),
      )(),
    );
  state
    .command('list')
    .description('list the state names in the configured PostgreSQL schema')
    .option('--env <name>', ENV_HELP, oneEnvironment)
    .action((opts: { env?: string }) =>
      run(() =>
        withProject(io, global(), { name: 'state list', env: opts.env }, async (p) => {
          const { listStates } = await import('../workflow/state-ops.js');
          const names = await listStates(p);
          if (names.length === 0) io.stdout.write('No states yet.\n');
          for (const n of names) io.stdout.write(`${n.name}  serial ${n.serial}  updated ${n.updatedAt}\n`);
          return ExitCode.Ok;
        }),
      )(),
    );
  state
    .command('schema')
    .description("print the SQL that creates the PostgreSQL backend's tables (for skipSchemaCreation)")
    .option('--env <name>', ENV_HELP, oneEnvironment)
    .action((opts: { env?: string }) =>
      run(() =>
        withProject(io, global(), { name: 'state schema', env: opts.env }, async (p) => {
          const s = p.settings.state;
          const { schemaSql } = await import('../state/postgres-schema.js');
          io.stdout.write(schemaSql(s.backend === 'postgres' ? s.schema : 'callform'));
          return ExitCode.Ok;
        }),
      )(),
    );

  const history = program
    .command('history')
    .description('list the recorded applies, newest first (with --task: that task’s changes across runs)')
    .option('--task <id>', "only this task's changes (userTaskID)")
    .option('--since <date>', 'only runs started at or after this date', date)
    .option('--limit <n>', 'at most this many runs (default 20)', positive, 20)
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'json']).default('text'))
    .option('--env <name>', ENV_HELP, oneEnvironment)
    .action((opts: HistoryOptions) =>
      run(() =>
        withProject(io, global(), { name: 'history', env: opts.env }, async (p) => {
          const runs = await p.state.readHistory({ task: opts.task, since: opts.since, limit: opts.limit });
          const r = await import('../render/history.js');
          if (opts.format === 'json') io.stdout.write(JSON.stringify(runs, null, 2) + '\n');
          else io.stdout.write(opts.task ? r.renderTaskHistory(opts.task, runs) : r.renderRunList(runs));
          return ExitCode.Ok;
        }),
      )(),
    );
  history
    .command('show <run-id>')
    .description('show one recorded apply in full')
    .addOption(new Option('--format <format>', 'output format (default: text)').choices(['text', 'json']))
    .option('--env <name>', ENV_HELP, oneEnvironment)
    .action((id: string, own: { format?: 'text' | 'json'; env?: string }) => {
      // `history` has the same options and reads them wherever they are written
      // (`history show ID --format json`): what it read counts for show too.
      const parent = history.opts<HistoryOptions>();
      const opts = { format: own.format ?? parent.format, env: own.env ?? parent.env };
      return run(() =>
        withProject(io, global(), { name: 'history show', env: opts.env }, async (p) => {
          const found = (await p.state.readHistory({ id, limit: 1 })).at(0);
          if (!found)
            throw new CallformError(
              `no run ${id} in the history of ${p.state.display}`,
              'callform history lists the run IDs',
            );
          const r = await import('../render/history.js');
          io.stdout.write(opts.format === 'json' ? JSON.stringify(found, null, 2) + '\n' : r.renderRun(found));
          return ExitCode.Ok;
        }),
      )();
    });
}
