import { spawn } from 'node:child_process';
import { mkdtemp, writeFile, mkdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CLI = path.join(REPO, 'dist', 'cli.js');

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs the real CLI binary as a user would (non-TTY stdin, no colours). */
export function runCli(args: string[], options: { cwd: string; env?: Record<string, string | undefined>; input?: string; timeoutMs?: number }): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const env: Record<string, string | undefined> = { ...process.env, NO_COLOR: '1' };
    for (const k of Object.keys(env)) if (k.startsWith('NXCLOUD_')) delete env[k];
    Object.assign(env, options.env ?? {});
    const child = spawn(process.execPath, [CLI, ...args], { cwd: options.cwd, env: env as NodeJS.ProcessEnv, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
    child.stdin.end(options.input ?? '');
  });
}

export interface TempProject {
  dir: string;
  write(rel: string, content: string | object): Promise<void>;
  read(rel: string): Promise<string>;
  state(): Promise<any>;
}

export async function tempProject(config: object = {}): Promise<TempProject> {
  const dir = await mkdtemp(path.join(tmpdir(), 'callform-it-'));
  const project: TempProject = {
    dir,
    async write(rel, content) {
      const file = path.join(dir, rel);
      await mkdir(path.dirname(file), { recursive: true });
      await writeFile(file, typeof content === 'string' ? content : rel.endsWith('.json') ? JSON.stringify(content, null, 2) : stringify(content));
    },
    read: (rel) => readFile(path.join(dir, rel), 'utf8'),
    state: async () => JSON.parse(await readFile(path.join(dir, 'callform.state.json'), 'utf8')),
  };
  await project.write('callform.config.yaml', { parallelism: 4, timeoutMs: 5000, retries: 1, ...config });
  return project;
}
