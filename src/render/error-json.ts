import { failureOf } from '../errors.js';
import { ValidationError } from '../diagnostics/issue.js';

/**
 * The JSON document a command run with `--format json` prints on stdout when it fails
 * before it has its own output (settings, credentials, the lock, a saved plan refused):
 * a pipeline that parses stdout gets a document that says why, never an empty stream. The
 * same words go to stderr, as without --format json.
 */
export function renderErrorJson(err: unknown, exitCode: number): string {
  return JSON.stringify({ kind: 'callform-error', exit_code: exitCode, ...errorDetails(err) }, null, 2) + '\n';
}

/** A failure as JSON: its message and hint (as on stderr), and each located problem of a validation error. */
export function errorDetails(err: unknown): { message: string; hint: string | null; issues?: object[] } {
  const { message, hint } = failureOf(err);
  const issues =
    err instanceof ValidationError
      ? err.issues.map((i) => ({
          file: i.file,
          line: i.position?.line ?? null,
          column: i.position?.column ?? null,
          path: i.path ?? null,
          message: i.message,
          hint: i.hint ?? null,
        }))
      : undefined;
  return { message, hint: hint ?? null, ...(issues && { issues }) };
}
