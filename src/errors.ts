/** Exit codes shared by every command (README "Exit codes"). */
export const ExitCode = {
  Ok: 0,
  Error: 1,
  Changes: 2,
  Blocked: 3,
  /** plan --fail-on-risk: the plan has risky changes (and no error). */
  Risky: 4,
  Interrupted: 130,
  /** stdout or stderr lost its reader (a broken pipe, as `| head`): 128 + SIGPIPE, as the shell reports a process it kills. */
  OutputClosed: 141,
  Terminated: 143,
} as const;

/** A problem the user can fix: printed without a stack trace, exits 1. */
export class CallformError extends Error {
  constructor(
    message: string,
    readonly hint?: string,
    readonly exitCode: number = ExitCode.Error,
  ) {
    super(message);
    this.name = 'CallformError';
  }
}

/**
 * A failure in callform's words, for stderr and for `--format json`: a CallformError as it
 * is; anything else (a bug) as an unexpected failure, with the hint to run with --debug.
 */
export function failureOf(err: unknown): { message: string; hint?: string; exitCode: number; expected: boolean } {
  if (err instanceof CallformError)
    return { message: err.message, hint: err.hint, exitCode: err.exitCode, expected: true };
  return {
    message: `unexpected failure: ${(err as Partial<Error> | null | undefined)?.message ?? String(err)}`, // anything can be thrown
    hint: 'run again with --debug for details, and report it if it persists',
    exitCode: ExitCode.Error,
    expected: false,
  };
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** A file-system error in words (the code, not libuv's text): "no such file", "it is a directory", … */
export function fsProblem(err: unknown): string {
  switch ((err as NodeJS.ErrnoException | undefined)?.code ?? '') {
    case 'ENOENT':
      return 'no such file';
    case 'EISDIR':
      return 'it is a directory, not a file';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    default:
      return errorMessage(err);
  }
}
