/**
 * The built CLI on a real terminal: python3's `pty` module (no npm dependency) runs
 * `node dist/cli.js …` on a pseudo-terminal, relays what the test writes to the terminal
 * (keystrokes: "yes\r", Ctrl-C "\x03", Ctrl-D "\x04") and what the CLI writes to it (stdout
 * and stderr together, as on a screen), forwards SIGINT/SIGTERM to the CLI, and exits with
 * the CLI's exit code (128 + N when a signal N killed it).
 */
import { spawn } from 'node:child_process';
import { cliEnv, cliPath, collectOutput, type CliResult } from './project.js';

const RELAY = String.raw`
import fcntl, os, pty, select, signal, struct, sys, termios
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[1], sys.argv[1:])
fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack('HHHH', 40, 160, 0, 0))
for s in (signal.SIGINT, signal.SIGTERM):
    signal.signal(s, lambda n, _f: os.kill(pid, n))
reading = True
while True:
    r, _, _ = select.select([fd] + ([0] if reading else []), [], [])
    if 0 in r:
        data = os.read(0, 1024)
        if data:
            os.write(fd, data)
        else:
            reading = False
    if fd in r:
        try:
            data = os.read(fd, 65536)
        except OSError:
            break
        if not data:
            break
        os.write(1, data)
_, status = os.waitpid(pid, 0)
code = os.waitstatus_to_exitcode(status)
sys.exit(code if code >= 0 else 128 - code)
`;

export interface PtyCli {
  /** Everything the CLI wrote to its terminal so far (escape sequences included). */
  screen(): string;
  /** Types on the terminal. */
  type(keys: string): void;
  /** Sends a signal to the CLI itself (not through the terminal). */
  signal(signal: 'SIGINT' | 'SIGTERM'): void;
  /** Resolves once `text` has appeared on the terminal; rejects when the CLI exits first. */
  waitFor(text: string | RegExp): Promise<void>;
  done: Promise<CliResult>;
}

export function spawnCliInPty(
  args: string[],
  options: { cwd: string; env?: Record<string, string | undefined>; timeoutMs?: number },
): PtyCli {
  const child = spawn('python3', ['-c', RELAY, process.execPath, cliPath(), ...args], {
    cwd: options.cwd,
    env: cliEnv(options.env),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const waiters = new Set<() => void>();
  const out = collectOutput(child, options.timeoutMs ?? 30_000, () => {
    for (const w of waiters) w();
  });
  return {
    screen: out.stdout,
    type: (keys) => child.stdin.write(keys),
    signal: (s) => child.kill(s),
    waitFor: (text) =>
      new Promise<void>((resolve, reject) => {
        const check = () => {
          const screen = out.stdout();
          if (typeof text === 'string' ? screen.includes(text) : text.test(screen)) {
            waiters.delete(check);
            resolve();
          } else if (out.exited()) {
            waiters.delete(check);
            reject(new Error(`the CLI exited before ${String(text)} appeared:\n${screen}\n${out.stderr()}`));
          }
        };
        waiters.add(check);
        check();
      }),
    done: out.done,
  };
}

/**
 * What a terminal shows once `raw` is written to it: lines as they remain after carriage
 * returns, "erase line" (ESC [2K) and newlines; other escape sequences (colours) dropped.
 */
export function terminalLines(raw: string): string[] {
  const lines: string[] = [''];
  let row = 0;
  let col = 0;
  const text = raw.replace(/\r\n/g, '\n');
  for (let i = 0; i < text.length; i++) {
    const ch = text.charAt(i);
    if (ch === '\n') {
      lines.push('');
      row++;
      col = 0;
    } else if (ch === '\r') col = 0;
    else if (ch === '\x1b' && text.charAt(i + 1) === '[') {
      // CSI: parameters, then a final letter.
      let end = i + 2;
      while (end < text.length && /[0-9;?]/.test(text.charAt(end))) end++;
      const params = text.slice(i + 2, end);
      const final = text.charAt(end);
      if (final === 'K' && params === '2') lines[row] = '';
      else if (final === 'G') col = Math.max(0, Number(params || 1) - 1);
      i = end;
    } else {
      const line = (lines[row] ?? '').padEnd(col);
      lines[row] = line.slice(0, col) + ch + line.slice(col + 1);
      col++;
    }
  }
  return lines.filter((l) => l.trim() !== '');
}
