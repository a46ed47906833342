import { failureOf } from '../errors.js';
import type { Io } from './io.js';

/** A failure as the person at the terminal reads it (stderr); returns its exit code. */
export function reportError(io: Io, err: unknown, debug: boolean): number {
  const f = failureOf(err);
  io.stderr.write(`Error: ${f.message}\n`);
  // With --debug, an unexpected failure shows its stack instead of the hint to use --debug.
  if (!f.expected && debug) io.stderr.write(`${(err as Partial<Error> | null | undefined)?.stack ?? ''}\n`);
  else if (f.hint) io.stderr.write(`  hint: ${f.hint}\n`);
  return f.exitCode;
}
