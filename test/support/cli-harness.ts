import { mkdtemp, writeFile, mkdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Runs the real CLI binary as a user would (non-TTY stdin, no colours, no outer NXCLOUD_*). */
export { runCli, type CliResult as RunResult } from './project.js';

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
      await writeFile(
        file,
        typeof content === 'string'
          ? content
          : rel.endsWith('.json')
            ? JSON.stringify(content, null, 2)
            : stringify(content),
      );
    },
    read: (rel) => readFile(path.join(dir, rel), 'utf8'),
    state: async () => JSON.parse(await readFile(path.join(dir, 'callform.state.json'), 'utf8')),
  };
  await project.write('callform.config.yaml', { parallelism: 4, timeoutMs: 5000, retries: 1, ...config });
  return project;
}
