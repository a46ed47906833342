import { createInterface } from 'node:readline';
import { ExitCode } from '../errors.js';

export type OutputName = 'stdout' | 'stderr';

/**
 * A write error on stdout or stderr (EPIPE: the reader went away, as in `callform plan | head`).
 * Without a handler the process exits at once, quietly, with ExitCode.OutputClosed; a command
 * with work to finish (apply) handles it instead, as a stop.
 */
interface OutputWatch {
  /** Until the returned function is called, a lost reader calls `handler` (once) instead of exiting. */
  handle(handler: (stream: OutputName) => void): () => void;
  /**
   * The stream that lost its reader first, if any. A failed write marks the stream errored at
   * once but emits the error a tick later: this reports it now, so that no new work starts
   * in between.
   */
  lost(): OutputName | null;
}

export interface Io {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** Present for the process's own stdout and stderr. */
  output?: OutputWatch;
}

type Watched = NodeJS.EventEmitter & { errored?: Error | null; destroyed?: boolean };

/**
 * Watches two output streams for write errors. Once a stream has failed, Node destroys it:
 * later writes to it are dropped without another 'error' event, so output code need not care.
 */
function watchOutput(
  streams: Record<OutputName, Watched>,
  exit: (code: number) => void = (code) => process.exit(code),
): OutputWatch {
  const names = ['stdout', 'stderr'] as const;
  let lost: OutputName | null = null;
  let handler: ((stream: OutputName) => void) | null = null;
  const report = (name: OutputName) => {
    if (lost) return;
    lost = name;
    if (handler) handler(name);
    else exit(ExitCode.OutputClosed);
  };
  for (const name of names) streams[name].on('error', () => report(name));
  return {
    handle(h) {
      handler = h;
      return () => {
        if (handler === h) handler = null;
      };
    },
    lost() {
      const failed = names.find((name) => streams[name].errored || streams[name].destroyed);
      if (failed) report(failed);
      return lost;
    },
  };
}

let processOutput: OutputWatch | undefined;

export function processIo(): Io {
  processOutput ??= watchOutput({ stdout: process.stdout, stderr: process.stderr });
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    env: process.env,
    cwd: process.cwd(),
    output: processOutput,
  };
}

/**
 * The answer to a confirmation: `yes` only for an exact "yes" (Terraform's convention);
 * `interrupted` for Ctrl-C or a stop (`abort`); `end` when the input ended (Ctrl-D).
 */
export type Answer = 'yes' | 'no' | 'interrupted' | 'end';

/** Asks on the terminal (the question on stderr). Never rejects. */
export function ask(io: Io, question: string, abort?: AbortSignal): Promise<Answer> {
  return new Promise((resolve) => {
    const rl = createInterface({ input: io.stdin, output: io.stderr });
    let settled = false;
    const finish = (answer: Answer) => {
      if (settled) return;
      settled = true;
      abort?.removeEventListener('abort', onAbort);
      // The cursor is still on the question's line unless a line was entered.
      if (answer === 'interrupted' || answer === 'end') io.stderr.write('\n');
      rl.close();
      resolve(answer);
    };
    const onAbort = () => finish('interrupted');
    // Ctrl-C on a terminal in raw mode reaches readline, not the process: a listener keeps readline
    // from closing (and the promise API from rejecting with "Aborted with Ctrl+C").
    rl.on('SIGINT', () => finish('interrupted'));
    rl.on('close', () => finish('end'));
    if (abort?.aborted) {
      finish('interrupted');
      return;
    }
    abort?.addEventListener('abort', onAbort);
    rl.question(question, (line) => finish(line.trim() === 'yes' ? 'yes' : 'no'));
  });
}
