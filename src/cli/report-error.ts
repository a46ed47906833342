import { CallformError, ExitCode } from '../errors.js';
import type { Io } from './io.js';

/** A failure as the person at the terminal reads it (stderr); returns its exit code. */
export function reportError(io: Io, err: unknown, debug: boolean): number {
  if (err instanceof CallformError) {
    io.stderr.write(`Error: ${err.message}\n${err.hint ? `  hint: ${err.hint}\n` : ''}`);
    return err.exitCode;
  }
  const e = err as Partial<Error> | null | undefined; // anything can be thrown
  io.stderr.write(`Error: unexpected failure: ${e?.message ?? String(err)}\n`);
  io.stderr.write(
    debug ? `${e?.stack ?? ''}\n` : '  hint: run again with --debug for details, and report it if it persists\n',
  );
  return ExitCode.Error;
}
