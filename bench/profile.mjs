#!/usr/bin/env node
// CPU profiles of the slow paths, summarised by self time.
//   node bench/profile.mjs                 profile plan --offline @10k tasks, @examples (cold start), executePlan @1k
//   node bench/profile.mjs execute         only executePlan (1k updates, 50 ms latency, in-process simulator)
//   node bench/profile.mjs FILE.cpuprofile summarise an existing profile
// Profiles go to bench/work/profiles/ (gitignored). Uses ../dist/ as built.
import { spawn } from 'node:child_process';
import { mkdir, readFile, readdir, rm, cp, mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { generateProject } from './gen.mjs';

const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(BENCH_DIR, '..');
const OUT = path.join(BENCH_DIR, 'work', 'profiles');
const CLI = path.join(ROOT, 'dist', 'cli.js');

/** Module label for a script URL: package name, dist file, or node internals. */
function moduleOf(url) {
  if (!url) return '(native / vm)';
  if (url.startsWith('node:')) return 'node: ' + url.slice(5).split('/')[0];
  const nm = url.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + 14).split('/');
    return 'npm: ' + (rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]);
  }
  const d = url.indexOf('/dist/');
  if (d >= 0) return 'callform: dist/' + url.slice(d + 6);
  return url;
}

export function summarise(profile, top = 25) {
  const self = new Map(); // node id -> µs
  const { nodes, samples, timeDeltas, startTime, endTime } = profile;
  for (let i = 0; i < samples.length; i++) self.set(samples[i], (self.get(samples[i]) ?? 0) + (timeDeltas[i + 1] ?? 0));
  const byFn = new Map();
  const byMod = new Map();
  let total = 0;
  for (const n of nodes) {
    const us = self.get(n.id) ?? 0;
    if (!us) continue;
    total += us;
    const { functionName, url, lineNumber } = n.callFrame;
    const short = url ? url.replace(/^file:\/\//, '').replace(ROOT + '/', '') : '';
    const fnKey = `${functionName || '(anonymous)'}  ${short ? `${short}:${lineNumber + 1}` : ''}`.trim();
    byFn.set(fnKey, (byFn.get(fnKey) ?? 0) + us);
    const mod = functionName.startsWith('(') && !url ? functionName : moduleOf(url);
    byMod.set(mod, (byMod.get(mod) ?? 0) + us);
  }
  const fmt = (m) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(
        ([k, us]) =>
          `  ${(us / 1000).toFixed(1).padStart(8)} ms  ${((100 * us) / total).toFixed(1).padStart(5)} %  ${k}`,
      )
      .join('\n');
  return `profiled ${((endTime - startTime) / 1000).toFixed(0)} ms, sampled self time ${(total / 1000).toFixed(0)} ms\n-- by module --\n${fmt(byMod)}\n-- by function (self) --\n${fmt(byFn)}`;
}

function run(args, cwd) {
  return new Promise((resolve, reject) => {
    const c = spawn(process.execPath, args, {
      cwd,
      stdio: ['ignore', 'ignore', 'inherit'],
      env: { ...process.env, NO_COLOR: '1', CI: '1' },
    });
    c.on('error', reject);
    c.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${args.join(' ')} exited ${code}`))));
  });
}

async function profileCase(name, cwd, interval = 200) {
  const dir = path.join(OUT, name);
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  await run(['--cpu-prof', `--cpu-prof-dir=${dir}`, `--cpu-prof-interval=${interval}`, CLI, 'plan', '--offline'], cwd);
  const file = (await readdir(dir)).find((f) => f.endsWith('.cpuprofile'));
  const summary = summarise(JSON.parse(await readFile(path.join(dir, file), 'utf8')));
  process.stdout.write(
    `\n=== ${name}: node --cpu-prof dist/cli.js plan --offline  (${path.relative(ROOT, path.join(dir, file))})\n${summary}\n`,
  );
}

/** executePlan of 1,000 updates against an in-process simulator at 50 ms latency, profiled in-process. */
async function profileExecutePlan(tmp) {
  const { startSimulator } = await import('../dist/sim/index.js');
  const { openProject, computePlan, executePlan, createClient } = await import('../dist/index.js');
  const { seedFor } = await import('./gen.mjs');
  const inspector = await import('node:inspector/promises');
  const dir = path.join(tmp, 'apply-1k');
  const gen = await generateProject(dir, 1000, { isChanged: () => true });
  const sim = await startSimulator({ seed: seedFor(gen.tasks), port: 0, host: '127.0.0.1', latencyMs: 50 });
  try {
    const env = { ...process.env, NXCLOUD_ENDPOINT: sim.url, NXCLOUD_UUID: sim.uuid, NXCLOUD_SECRET_KEY: sim.secret };
    const project = await openProject({ cwd: dir, env, overrides: { parallelism: 16 } });
    const client = await createClient(project);
    const run = await computePlan(project, { offline: false, targets: null, client });
    const session = new inspector.Session();
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: 200 });
    await session.post('Profiler.start');
    const t0 = performance.now();
    await executePlan(project, run.plan, run.state, { client, parallelism: 16 });
    const ms = performance.now() - t0;
    const { profile } = await session.post('Profiler.stop');
    session.disconnect();
    const outDir = path.join(OUT, 'execute-plan-1k');
    await mkdir(outDir, { recursive: true });
    const file = path.join(outDir, 'executePlan.cpuprofile');
    await (await import('node:fs/promises')).writeFile(file, JSON.stringify(profile));
    process.stdout.write(
      `\n=== executePlan, 1000 updates, 50 ms latency, parallelism 16, simulator in the same process: ${ms.toFixed(0)} ms (ideal 3150)  (${path.relative(ROOT, file)})\n${summarise(profile)}\n`,
    );
  } finally {
    await sim.close();
  }
}

if (process.argv[2] === 'execute') {
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'callform-prof-'));
  try {
    await profileExecutePlan(tmp);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  process.exit(0);
} else if (process.argv[2]) {
  process.stdout.write(
    summarise(JSON.parse(await readFile(process.argv[2], 'utf8')), Number(process.argv[3] ?? 25)) + '\n',
  );
} else {
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'callform-prof-'));
  try {
    const big = path.join(tmp, 'plan-10k');
    await generateProject(big, 10000);
    await run([CLI, 'plan', '--offline'], big); // warm the file cache
    await profileCase('plan-offline-10k', big);
    const ex = path.join(tmp, 'examples');
    await cp(path.join(ROOT, 'examples', 'callform.config.yaml'), path.join(ex, 'callform.config.yaml'));
    await cp(path.join(ROOT, 'examples', 'tasks'), path.join(ex, 'tasks'), { recursive: true });
    await cp(path.join(ROOT, 'examples', 'policies'), path.join(ex, 'policies'), { recursive: true });
    await run([CLI, 'plan', '--offline'], ex);
    await profileCase('cold-start-examples', ex, 100);
    await profileExecutePlan(tmp);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  process.exit(0);
}
