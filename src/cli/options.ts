/**
 * Option parsing that commander does not do itself: Terraform habits (single-dash long
 * options, `-o json`), durations, and commander's own errors in the project's
 * `Error: … / hint: …` form with a pointer to `--help`.
 */
import { InvalidArgumentError, type Command } from 'commander';

/** Output format names: `plan -o json` means `--format json`, not a plan file named "json". */
const FORMAT_NAMES = new Set(['text', 'markdown', 'md', 'json']);

/** A line an argument parser adds to its message to become the error's hint (see formatCommanderError). */
const HINT_LINE = '\nhint: ';

/** plan's `-o, --out <file>`: a saved-plan file, never a format name. */
export function planOutFile(value: string): string {
  if (value.trim() === '' || value === '-') {
    throw new InvalidArgumentError(
      `${value === '-' ? '"-"' : 'an empty name'} is not a file to save the plan to (a saved plan is always a file)${HINT_LINE}give a file name, e.g. --out plan.cfplan; to print the plan as JSON use --format json`,
    );
  }
  if (FORMAT_NAMES.has(value.toLowerCase())) {
    throw new InvalidArgumentError(
      `"${value}" is an output format, not a file to save the plan to${HINT_LINE}for the output format use --format ${value.toLowerCase() === 'md' ? 'markdown' : value.toLowerCase()}; to save the plan give a file name, e.g. --out plan.cfplan`,
    );
  }
  return value;
}

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;

/**
 * A duration in milliseconds: a whole number of milliseconds (`5000`) or a number with a
 * unit (`500ms`, `5s`, `1.5s`, `2m`, `1h`).
 */
export function duration(name: string, maxMs: number) {
  return (value: string): number => {
    const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(value);
    const unit = (m?.[2] || 'ms') as keyof typeof UNIT_MS;
    // Without a unit, whole milliseconds only ("1.5" is more likely a typo than 1.5 ms).
    const ms = m && (m[2] || !m[1].includes('.')) ? Math.round(Number(m[1]) * UNIT_MS[unit]) : NaN;
    if (!Number.isFinite(ms) || ms > maxMs) {
      throw new InvalidArgumentError(
        `${name} must be a duration from 0 to ${maxMs / 60_000} minutes${HINT_LINE}give milliseconds (5000) or a number with a unit: 500ms, 5s, 2m`,
      );
    }
    return ms;
  };
}

/** `callform plan --help`, or `callform --help` for the program itself. */
function helpCommandOf(command: Command): string {
  const names: string[] = [];
  for (let c: Command | null = command; c; c = c.parent) names.unshift(c.name());
  return `${names.join(' ')} --help`;
}

/**
 * Commander's error text (`error: unknown option '--ofline'\n(Did you mean --offline?)`)
 * in the project's form: `Error: …` then a `hint:` with the suggestion, if any, and the
 * command's `--help`.
 */
function formatCommanderError(text: string, command: Command): string {
  const lines = text
    .replace(/^error: /, '')
    .trimEnd()
    .split('\n');
  const what: string[] = [];
  const hints: string[] = [];
  for (const line of lines) {
    const suggestion = /^\(Did you mean (.+)\?\)$/.exec(line);
    if (suggestion) hints.push(`did you mean ${suggestion[1]}?`);
    else if (line.startsWith('hint: ')) hints.push(line.slice('hint: '.length));
    else if (line.trim() !== '') what.push(line);
  }
  const lists = command.commands.length > 0 && !command.parent ? 'the commands' : 'its options';
  hints.push(`\`${helpCommandOf(command)}\` lists ${lists}`);
  const hint = hints.reduce((all, h) => `${all}${/[?.]$/.test(all) ? ' ' : '; '}${h}`);
  return `Error: ${what.join(' ')}\n  hint: ${hint}\n`;
}

/** Every command prints commander's errors in the project's form, without the help dump. */
export function projectErrorOutput(program: Command): void {
  for (const command of [program, ...program.commands]) {
    command.showHelpAfterError(false);
    command.configureOutput({ outputError: (text, write) => write(formatCommanderError(text, command)) });
  }
}

interface Refusal {
  message: string;
  hint: string;
}

/**
 * Terraform spells long options with one dash: `-out=x.cfplan`, `-auto-approve`. Commander
 * reads those as short options with a value (`-o` "ut=x.cfplan") or an unknown `-a`. A
 * single-dash word whose two-dash spelling is a known option of the command is refused
 * with the right spelling. `help NAME` with an unknown NAME is parsed as the command NAME
 * (commander's "unknown command" error, with its suggestion) rather than showing help
 * and exiting 0. A switch given a value (`--auto-approve=true`) is refused saying it takes none.
 */
export function preParse(program: Command, argv: string[]): { argv: string[]; refusal?: Refusal } {
  const global = program.options;
  let command: Command | null = null;
  let expectValue = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') break;
    if (expectValue) {
      expectValue = false;
      continue;
    }
    const options = [...global, ...(command?.options ?? [])];
    if (!arg.startsWith('-')) {
      if (command) continue;
      if (arg === 'help') {
        const name = i + 1 < argv.length ? argv[i + 1] : '-';
        if (!name.startsWith('-') && !program.commands.some((c) => c.name() === name))
          return { argv: [...argv.slice(0, i), ...argv.slice(i + 1)] };
        return { argv };
      }
      command = program.commands.find((c) => c.name() === arg) ?? null;
      if (!command) return { argv };
      continue;
    }
    const word = /^-([A-Za-z][A-Za-z-]+)(=.*)?$/.exec(arg);
    // Terraform's `show -json` / `plan -json`: callform spells it --format json.
    if ((arg === '-json' || arg === '--json') && options.some((o) => o.long === '--format')) {
      const where = command ? `callform ${command.name()}` : 'callform';
      return {
        argv,
        refusal: {
          message: `unknown option '${arg}'`,
          hint: `did you mean --format json? \`${where} --help\` lists its options`,
        },
      };
    }
    if (word) {
      const long = `--${word[1]}`;
      if (long === '--help' || options.some((o) => o.long === long)) {
        const where = command ? `callform ${command.name()}` : 'callform';
        return {
          argv,
          refusal: {
            message: `unknown option '${arg}'`,
            hint: `did you mean ${long}? Long options take two dashes: ${long}${word[2] || ''}; \`${where} --help\` lists its options`,
          },
        };
      }
    }
    // `--auto-approve=true`: a switch takes no value (commander calls it an unknown option).
    const valued = /^(--[A-Za-z][A-Za-z-]*)=/.exec(arg);
    const switchOption = valued && options.find((o) => o.long === valued[1] && !o.required && !o.optional);
    if (valued && switchOption) {
      const where = command ? `callform ${command.name()}` : 'callform';
      return {
        argv,
        refusal: {
          message: `option '${valued[1]}' takes no value (got '${arg}')`,
          hint: `write ${valued[1]} alone to turn it on, and leave it out to keep it off; \`${where} --help\` lists its options`,
        },
      };
    }
    const flag = arg.includes('=') ? null : options.find((o) => o.long === arg || o.short === arg);
    expectValue = Boolean(flag && flag.required);
  }
  return { argv };
}

/** --env NAME given twice is refused: the last one silently winning could apply to the wrong account. */
export function oneEnvironment(value: string, previous: string | undefined): string {
  if (previous !== undefined && previous !== value)
    throw new InvalidArgumentError(
      `--env is given twice (${previous}, then ${value}); pass one --env, or --all-envs for every environment`,
    );
  return value;
}
