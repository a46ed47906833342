/**
 * Helpers for the hostile-input corpus (test/fixtures/bad): materialise a case in a
 * temp dir, generate the inputs too big or too binary to commit, run the built CLI.
 */
import { cp, readFile, readdir, rm, writeFile, mkdir, open } from 'node:fs/promises';
import path from 'node:path';
import { REPO_ROOT } from './repo.js';
import { runCli, type CliResult } from './project.js';
import { tempDir } from './temp.js';

export { type CliResult };
export const CLI = path.join(REPO_ROOT, 'dist', 'cli.js');
const BAD_DIR = path.join(REPO_ROOT, 'test', 'fixtures', 'bad');

export interface CaseExpect {
  args: string[];
  env?: Record<string, string>;
  /** Something to write at test time instead of committing it. */
  /** 'huge' | 'latin1' | 'foreign-lock'; read from expect.json, so any other word is rejected at run time. */
  generate?: string;
  /** Fragments that must all appear in stderr. */
  stderr: string[];
  /** Expected exit code; 1 when absent. */
  exitCode?: number;
}

export async function listCases(): Promise<string[]> {
  const entries = await readdir(BAD_DIR, { withFileTypes: true });
  return entries
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
}

export async function readExpect(caseName: string): Promise<CaseExpect> {
  return JSON.parse(await readFile(path.join(BAD_DIR, caseName, 'expect.json'), 'utf8')) as CaseExpect;
}

/** 16 MiB + 1 byte of valid YAML (a comment block): only the size is wrong. */
async function writeHuge(file: string): Promise<void> {
  const limit = 16 * 1024 * 1024;
  const line = '# ' + 'x'.repeat(61) + '\n'; // 64 bytes
  const chunk = Buffer.from(line.repeat(16 * 1024)); // 1 MiB
  const fh = await open(file, 'w');
  try {
    for (let written = 0; written < limit; written += chunk.byteLength) await fh.write(chunk);
    await fh.write(Buffer.from('\n'));
  } finally {
    await fh.close();
  }
}

/** Copies the case to a fresh temp dir (without expect.json; removed automatically) and generates what it asks for. */
export async function materialise(caseName: string, expect: CaseExpect): Promise<string> {
  // 'file': the corpus runs its cases with it.concurrent, where the running test is not known.
  const dir = await tempDir(`callform-bad-${caseName}-`, 'file');
  await cp(path.join(BAD_DIR, caseName), dir, { recursive: true });
  await rm(path.join(dir, 'expect.json'));
  if (expect.generate) {
    await mkdir(path.join(dir, 'tasks'), { recursive: true });
    if (expect.generate === 'huge') await writeHuge(path.join(dir, 'tasks', 'huge.yaml'));
    else if (expect.generate === 'latin1') {
      // "café" saved as Latin-1: 0xE9 is not valid UTF-8.
      await writeFile(
        path.join(dir, 'tasks', 'a.yaml'),
        Buffer.concat([Buffer.from('userTaskID: t1\nsceneID: caf'), Buffer.from([0xe9]), Buffer.from('\n')]),
      );
    } else if (expect.generate === 'foreign-lock') {
      // A live-looking lock held by another host: the lock file is the holder record. Written
      // at test time so that it is fresh (a committed one would be older than 10 s: stale).
      const info = {
        id: 'f00dfeed-0000-4000-8000-000000000001',
        operation: 'apply',
        pid: 4242,
        host: 'ci-runner-7',
        since: '2026-11-02T10:00:00.000Z',
      };
      await writeFile(path.join(dir, 'callform.state.json.lock'), JSON.stringify(info) + '\n');
    } else throw new Error(`unknown generate kind ${String(expect.generate)}`);
  }
  return dir;
}

/** Runs one corpus case: the outer NXCLOUD_* and FORCE_COLOR never leak in. */
export async function runCase(
  args: string[],
  cwd: string,
  extraEnv: Record<string, string> = {},
  timeoutMs = 20_000,
): Promise<CliResult> {
  return runCli(args, { cwd, env: { FORCE_COLOR: undefined, ...extraEnv }, timeoutMs });
}

/** Every path under dir whose name contains ".lock" (lock files, their temp files, an older callform's lock dirs and .lock.info). */
export async function lockLeftovers(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string) => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.name.includes('.lock')) out.push(path.relative(dir, p));
      if (e.isDirectory()) await walk(p);
    }
  };
  await walk(dir);
  return out;
}

export const STACK_TRACE = /\n\s+at .+\(.*:\d+:\d+\)/;
