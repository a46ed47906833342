#!/usr/bin/env node
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { Command, Option, InvalidArgumentError } from 'commander';
import { CallformError, ExitCode } from './errors.js';
import { TOOL_VERSION } from './version.js';
import { processIo, type Io } from './cli/io.js';
import type {
  ApplyCommandOptions,
  EnvOptions,
  Format,
  GlobalOptions,
  ImportCommandOptions,
  PlanOptions,
} from './cli/commands.js';
import { duration, oneEnvironment, planOutFile, preParse, projectErrorOutput } from './cli/options.js';
import type { SimCliArgs } from './sim/index.js';
import { registerStateCommands } from './cli/state.js';
import { reportError } from './cli/report-error.js';

/** Plain decimal digits only: Number() would also take "0x10", "1e2" and " 8 ". */
function intInRange(name: string, min: number, max = Number.MAX_SAFE_INTEGER) {
  return (value: string) => {
    const n = /^\d+$/.test(value) ? Number(value) : NaN;
    if (!Number.isInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(
        `${name} must be a whole number ${max === Number.MAX_SAFE_INTEGER ? `≥ ${min}` : `from ${min} to ${max}`}`,
      );
    }
    return n;
  };
}
const positiveInt = (name: string) => intInRange(name, 0);
/** --status 1,2,5: task statuses (1 not started … 5 paused). */
function statusList(value: string): number[] {
  const items = value.split(',').map((s) => s.trim());
  if (items.some((s) => !/^[1-5]$/.test(s)))
    throw new InvalidArgumentError(
      '--status takes task statuses 1..5, comma-separated (1 not started, 2 running, 3 completed, 4 failed, 5 paused)',
    );
  return [...new Set(items.map(Number))];
}
function numberInRange(name: string, min: number, max: number, unit: string) {
  return (value: string) => {
    const n = /^\d+(\.\d+)?$/.test(value) ? Number(value) : NaN;
    if (!Number.isFinite(n) || n < min || n > max)
      throw new InvalidArgumentError(`${name} must be a number from ${min} to ${max} (${unit})`);
    return n;
  };
}
/** A filter value that must say something: an empty one would silently match every task. */
function nonEmpty(name: string) {
  return (value: string) => {
    if (value === '')
      throw new InvalidArgumentError(`${name} must not be empty (leave the option out to match every task)`);
    return value;
  };
}
const collect = (value: string, previous: string[] = []) => [...previous, value];
/** Options that shape a plan: plan takes them, and apply without a saved plan (which recorded them). */
const planShaping = (command: Command) =>
  command
    .option('-t, --target <id>', 'only tasks whose userTaskID matches (repeatable; * and ? wildcards)', collect)
    .option(
      '--pause-running',
      'running tasks with changes are paused, updated and resumed (as lifecycle.whenRunning: pause)',
    )
    .option(
      '--resync',
      'send every declared field of the targeted tasks, whatever the state says (repairs console edits)',
    )
    .addOption(
      new Option(
        '--refresh <mode>',
        'task statuses to read: all (every declared task), or changed (only those with something to do) (default: settings, all)',
      ).choices(['changed', 'all']),
    );
/** --env NAME (CALLFORM_ENV does the same) and, where the command runs across them, --all-envs. */
const envOptions = (command: Command, all: boolean) => {
  command.option(
    '--env <name>',
    'the environment to use (declared under `environments:`; also CALLFORM_ENV)',
    oneEnvironment,
  );
  return all ? command.option('--all-envs', 'every declared environment, in declaration order') : command;
};
const formatOption = () =>
  new Option('--format <format>', 'output format').choices(['text', 'markdown', 'json']).default('text');

export function buildProgram(io: Io, setExit: (code: number) => void): Command {
  const program = new Command('callform')
    .description('Declarative config-as-code for NXCloud Callbot tasks: validate, plan, apply.')
    .version(TOOL_VERSION, '-v, --version')
    .option(
      '-c, --config <file>',
      'settings file (default: discovered: callform.config.*, .callformrc*, package.json#callform)',
    )
    .option('--debug', 'log every API request and response (signature redacted, phone numbers masked) to stderr')
    .option('--no-color', 'disable colours (also NO_COLOR)')
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) })
    .exitOverride();

  const global = (): GlobalOptions => program.opts<GlobalOptions>();
  /** `json`: the command was given --format json, so a failure is also a JSON document on stdout. */
  const run =
    (fn: () => Promise<number>, json: () => boolean = () => false) =>
    async () => {
      try {
        setExit(await fn());
      } catch (err) {
        const code = reportError(io, err, Boolean(global().debug));
        if (json()) io.stdout.write((await import('./render/error-json.js')).renderErrorJson(err, code));
        setExit(code);
      }
    };
  const jsonFormat = (opts: { format?: string }) => () => opts.format === 'json';
  const commands = () => import('./cli/commands.js');

  envOptions(
    program
      .command('validate [files...]')
      .description('check that the settings and task files (all, or just FILES) are well-formed and sane (no network)'),
    true,
  ).action((files: string[], opts: EnvOptions) =>
    run(async () => (await commands()).validateCommand(io, global(), files, opts))(),
  );

  const plan = program
    .command('plan')
    .description('show what apply would change, task by task, field by field')
    .addOption(formatOption())
    .option(
      '--detailed-exitcode',
      'exit 2 when there are changes (blocked tasks included), 0 when none; tasks in error exit 1',
    )
    .option('--fail-on-risk', 'exit 4 when the plan has risky changes (see the callouts); an error still exits 1')
    .option('--offline', 'do not read remote task statuses (no credentials needed; blocked tasks not detected)')
    .option('-o, --out <file>', 'save the plan for `callform apply FILE` (exact payloads, stale-checked)', planOutFile);
  envOptions(planShaping(plan), true).action((opts: PlanOptions) =>
    run(async () => (await commands()).planCommand(io, global(), opts), jsonFormat(opts))(),
  );

  const apply = program
    .command('apply [planfile]')
    .description('apply the changes (or exactly the saved plan FILE) through signed updateTask calls')
    .option('--auto-approve', 'do not ask for confirmation')
    .option(
      '-p, --parallelism <n>',
      'ceiling of concurrent API calls; adaptive below it (default: settings, 8)',
      intInRange('--parallelism', 1, 256),
    )
    .option(
      '--lock-timeout <duration>',
      'wait this long for the state lock: milliseconds, or 500ms, 5s, 2m (default: settings, 0)',
      duration('--lock-timeout', 3_600_000),
    )
    .addOption(
      new Option('--format <format>', 'report format: text, or json on stdout (the human account goes to stderr)')
        .choices(['text', 'json'])
        .default('text'),
    );
  envOptions(planShaping(apply), true).action((planfile: string | undefined, opts: ApplyCommandOptions) =>
    run(async () => (await commands()).applyCommand(io, global(), planfile, opts), jsonFormat(opts))(),
  );

  envOptions(
    program.command('show <planfile>').description('render a saved plan').addOption(formatOption()),
    false,
  ).action((planfile: string, opts: { format: Format } & EnvOptions) =>
    run(async () => (await commands()).showCommand(io, global(), planfile, opts), jsonFormat(opts))(),
  );

  envOptions(program.command('doctor'), true)
    .description(
      'check the setup: settings, task files, state and lock, owed resumes, credentials, endpoint, a signed ping, clock, Node.js',
    )
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'json']).default('text'))
    .action((opts: { format: 'text' | 'json' } & EnvOptions) =>
      run(async () => (await commands()).doctorCommand(io, global(), opts), jsonFormat(opts))(),
    );

  envOptions(program.command('import'), false)
    .description(
      "write a task file for the account's tasks that no task file declares yet (identity only: listTask returns no settings)",
    )
    .option('-o, --out <file>', 'task file to write (never overwritten); required unless --dry-run')
    .option('--status <list>', 'only tasks in these statuses, e.g. 1,2,5', statusList)
    .option('--scene <id>', 'only tasks of this script template (sceneID)', nonEmpty('--scene'))
    .option(
      '--name-contains <text>',
      'only tasks whose name contains this text (case-insensitive)',
      nonEmpty('--name-contains'),
    )
    .option('--dry-run', 'list what would be imported; write nothing')
    .action((opts: ImportCommandOptions) => run(async () => (await commands()).importCommand(io, global(), opts))());

  envOptions(
    program
      .command('force-unlock <id>')
      .description('remove a state lock left by a run that is gone (ID from the "state is locked" message)'),
    false,
  ).action((id: string, opts: EnvOptions) =>
    run(async () => (await commands()).forceUnlockCommand(io, global(), id, opts))(),
  );

  program
    .command('explain <userTaskID>')
    .description(
      "list a task's final settings in an environment: each field's value, the file:line it came from, and what it overrode",
    )
    .option('--env <name>', 'the environment (also CALLFORM_ENV)', oneEnvironment)
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'json']).default('text'))
    .action((id: string, opts: { format: 'text' | 'json' } & EnvOptions) =>
      run(async () => {
        const { explainCommand } = await import('./cli/explain.js');
        return explainCommand(io, global(), id, opts);
      }, jsonFormat(opts))(),
    );

  program
    .command('init [dir]')
    .description(
      'scaffold a settings file, tasks/ with one example task (only in a project without task files), and .gitignore entries; idempotent',
    )
    .option('--env <name>', 'declare this environment (repeatable): settings, overlays/<name>/', collect)
    .action((dir: string | undefined, opts: { env?: string[] }) =>
      run(async () => {
        const { initCommand } = await import('./cli/init.js');
        return initCommand(io, dir, opts.env ?? []);
      })(),
    );

  program
    .command('sim')
    .description('run the local NXCloud Callbot simulator (for tests, demos and dry runs)')
    .option('--port <n>', 'port, 0 = any free port', positiveInt('--port'), 8787)
    .option('--host <host>', 'interface to listen on', '127.0.0.1')
    .option('--uuid <uuid>', 'account uuid the simulator accepts')
    .option('--secret <secret>', 'secret key the simulator accepts')
    .option('--seed <file>', 'YAML/JSON seed file: { tasks: [...] }')
    .option('--latency-ms <ms>', 'fixed delay per API response', positiveInt('--latency-ms'))
    .option('--fault-rate <p>', 'probability (0..1) of an injected fault per API request', Number)
    .option('--fault-kinds <list>', 'comma list of http500,http503,reset,timeout,retcode,badsign')
    .option('--fault-seed <n>', 'seed of the fault RNG', positiveInt('--fault-seed'))
    .option(
      '--pause-delay-ms <ms>',
      'a pause (mgrTaskStatus taskOperate 2) lands this much later; the task stays running meanwhile',
      positiveInt('--pause-delay-ms'),
    )
    .option(
      '--rate-limit <req/s>',
      'per-account token bucket: API requests per second (0 = off)',
      numberInRange('--rate-limit', 0, 1_000_000, 'requests per second; 0 = off'),
    )
    .option(
      '--burst <n>',
      'token bucket capacity (default: max(1, ceil(rate-limit / 10)))',
      intInRange('--burst', 1, 1_000_000),
    )
    .addOption(
      new Option('--throttle-style <style>', 'how throttled requests are refused (default: http429)').choices([
        'http429',
        'retcode7',
        'mixed',
      ]),
    )
    .action((opts: SimCliArgs) =>
      run(async () => {
        const { runSimCli } = await import('./sim/index.js');
        // Bad options, an unreadable seed, a busy port: the user's to fix, not a crash.
        const sim = await runSimCli(opts).catch((err: unknown) => {
          throw new CallformError(`sim: ${err instanceof Error ? err.message : String(err)}`);
        });
        await new Promise<void>((resolve) => {
          const stop = () => void sim.close().then(resolve);
          process.once('SIGINT', stop);
          process.once('SIGTERM', stop);
        });
        return ExitCode.Ok;
      })(),
    );
  registerStateCommands(program, io, global, run);
  projectErrorOutput(program);
  return program;
}

export async function main(argv: string[], io: Io = processIo()): Promise<number> {
  let code = 0;
  const program = buildProgram(io, (c) => (code = c));
  const pre = preParse(program, argv);
  if (pre.refusal) return reportError(io, new CallformError(pre.refusal.message, pre.refusal.hint), false);
  try {
    await program.parseAsync(pre.argv, { from: 'user' });
  } catch (err) {
    const e = err as { exitCode?: number; code?: string };
    if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help')
      return ExitCode.Ok;
    if (typeof e.exitCode === 'number') return e.exitCode === 0 ? 0 : ExitCode.Error;
    return reportError(io, err, false);
  }
  return code;
}

// Run as a program (dist/cli.js, or the bundle it loads: see scripts/bundle.mjs), not when imported.
// No top-level await: the bundle is a CommonJS script (it can carry a V8 code cache).
const programPath = process.argv.at(1);
const isEntry = programPath !== undefined && import.meta.url === pathToFileURL(realpathSync(programPath)).href;
if (isEntry) {
  // Let stdout drain before exiting (pipes in CI): set the code, do not call exit.
  void main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
