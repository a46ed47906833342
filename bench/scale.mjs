// Figure 8 of `npm run bench` (called from bench/run.mjs): cost in proportion to the change.
//   8a–c  plan --offline of 10,000 tasks in 400 files (half JSON, half YAML, SMS rules in every
//         task) beside the bare parse of the same files and state (bench/bare-parse.mjs: js-yaml /
//         JSON.parse, nothing else), interleaved: the ratio is the figure.
//   8d–e  the same shape at 100,000 tasks in 4,000 files: wall ÷ the 10k figure of this run, and
//         peak RSS. Over a minute with generation, so only with BENCH_100K=1.
//   8h–k  listTask calls of plan and apply (CLI) for 10,000 tasks with 10 changed, with --refresh
//         changed and with --refresh all.
//   8f–g  apply of 10,000 changes at 0 ms latency (simulator in its own process): calls per
//         second, and the share of its time spent writing state (writes counted by the state's
//         serial, each costed by one serialise-and-write of the same state). The writer pauses
//         9 × the last write between writes (at most 2 s), so writes take ≤ ~10% of the time and
//         their number grows with the apply's length, i.e. with the changes, until the cap.
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { generateProject, seedFor } from './gen.mjs';

const BARE = path.join(path.dirname(fileURLToPath(import.meta.url)), 'bare-parse.mjs');
/** The shape: 25 tasks per file, every other file JSON, SMS rules in every task. */
const SHAPE = { perFile: 25, json: (f) => f % 2 === 1, sms: true };

/**
 * @param {object} b the bench's helpers: { tmp, NODE, CLI, runChild, expectOk, figure, median, round,
 *   cliEnv, startSimProcess, lib: { openProject, computePlan, executePlan, createClient } }
 */
export async function scaleFigures(b) {
  const { tmp, NODE, CLI, runChild, expectOk, figure, median, round } = b;
  const rounds = Number(process.env.BENCH_SCALE_ROUNDS ?? 5);

  /** plan --offline and the bare parse, alternating (forwards, then backwards) for `n` rounds. */
  async function sideBySide(dir, n, expectTasks) {
    const plan = { ms: [], cpu: [], rss: [] };
    const bare = { ms: [], cpu: [], rss: [] };
    const runPlan = async () => {
      const r = await runChild(NODE, [CLI, 'plan', '--offline'], { cwd: dir, rss: true, timeoutMs: 600_000 });
      expectOk(r, `plan --offline (${expectTasks} tasks)`);
      if (!r.stdout.includes(`${expectTasks - expectTasks / 10} unchanged.`))
        throw new Error(`plan --offline (${expectTasks}) did not plan the project; tail: ${r.stdout.slice(-300)}`);
      plan.ms.push(r.ms);
      plan.cpu.push(r.cpuMs ?? null);
      plan.rss.push(r.rssMb ?? null);
    };
    const runBare = async () => {
      const r = await runChild(NODE, [BARE, dir], { rss: true });
      expectOk(r, 'bare parse');
      if (!r.stdout.startsWith(`${expectTasks} tasks`)) throw new Error(`bare parse read ${r.stdout.trim()}`);
      bare.ms.push(r.ms);
      bare.cpu.push(r.cpuMs ?? null);
      bare.rss.push(r.rssMb ?? null);
    };
    for (let i = 0; i < n; i++) {
      if (i % 2 === 0) {
        await runPlan();
        await runBare();
      } else {
        await runBare();
        await runPlan();
      }
    }
    return { plan, bare };
  }
  const cpuMedian = (xs) => (xs.every((x) => x !== null) ? round(median(xs)) : null);

  // 8a–c: the parse floor.
  const dir10k = path.join(tmp, 'scale-10k');
  await generateProject(dir10k, 10_000, SHAPE);
  await runChild(NODE, [CLI, 'plan', '--offline'], { cwd: dir10k }); // file cache
  const s10 = await sideBySide(dir10k, rounds, 10_000);
  const plan10 = median(s10.plan.ms);
  const bare10 = median(s10.bare.ms);
  const paired = median(s10.plan.ms.map((ms, i) => ms / s10.bare.ms[i]));
  figure(
    '10a',
    `plan --offline, 10k tasks / 400 files (half JSON, SMS rules in every task) + state: wall (median of ${rounds})`,
    round(plan10),
    'ms',
    'info',
    null,
    {
      runs: s10.plan.ms.map((x) => round(x)),
      cpuMsMedian: cpuMedian(s10.plan.cpu),
      peakRssMb: round(Math.max(...s10.plan.rss)),
    },
  );
  figure(
    '10b',
    `bare parse of the same files and state (js-yaml / JSON.parse only, bench/bare-parse.mjs): wall (median of ${rounds}, interleaved)`,
    round(bare10),
    'ms',
    'info',
    null,
    {
      runs: s10.bare.ms.map((x) => round(x)),
      cpuMsMedian: cpuMedian(s10.bare.cpu),
      peakRssMb: round(Math.max(...s10.bare.rss)),
    },
  );
  const cpuRatio =
    cpuMedian(s10.plan.cpu) && cpuMedian(s10.bare.cpu) ? round(median(s10.plan.cpu) / median(s10.bare.cpu), 2) : null;
  figure(
    '10c',
    'plan --offline ÷ bare parse (medians; CPU ratio in details)',
    round(plan10 / bare10, 2),
    '×',
    '≤ 2×',
    plan10 / bare10 <= 2,
    {
      pairedRatioMedian: round(paired, 2),
      cpuRatio,
    },
  );

  // 8d–e: 100,000 tasks, only on request (generation and runs take minutes).
  if (process.env.BENCH_100K) {
    const dir100k = path.join(tmp, 'scale-100k');
    await generateProject(dir100k, 100_000, SHAPE);
    await runChild(NODE, [CLI, 'plan', '--offline'], { cwd: dir100k, timeoutMs: 600_000 });
    const n = Number(process.env.BENCH_100K_ROUNDS ?? 3);
    const s100 = await sideBySide(dir100k, n, 100_000);
    // The 10k figure again, beside it: the ratio compares runs under the same load.
    const again = await sideBySide(dir10k, n, 10_000);
    const plan100 = median(s100.plan.ms);
    const ref10 = median([...s10.plan.ms, ...again.plan.ms]);
    const rss100 = Math.max(...s100.plan.rss);
    figure(
      '10d',
      `plan --offline, 100k tasks / 4,000 files: wall (median of ${n}) ÷ the 10k figure of this run (${round(ref10)} ms)`,
      round(plan100 / ref10, 2),
      '×',
      '≤ 10×',
      plan100 / ref10 <= 10,
      {
        wallMs: round(plan100),
        runs: s100.plan.ms.map((x) => round(x)),
        cpuMsMedian: cpuMedian(s100.plan.cpu),
        bareParseMs: round(median(s100.bare.ms)),
        ratioToBareParse: round(plan100 / median(s100.bare.ms), 2),
      },
    );
    figure(
      '10e',
      'plan --offline, 100k tasks: peak RSS (max of the runs)',
      round(rss100),
      'MiB',
      '≤ 400 MiB',
      rss100 <= 400,
      {
        runs: s100.plan.rss.map((x) => round(x)),
        bareParsePeakRssMb: round(Math.max(...s100.bare.rss)),
      },
    );
    await rm(dir100k, { recursive: true, force: true });
  }

  // 8h–k: --refresh changed reads what changed; all reads every declared task.
  {
    const dir = path.join(tmp, 'refresh-10k');
    const gen = await generateProject(dir, 10_000, { isChanged: (i) => i % 1000 === 7 });
    const statePath = path.join(dir, 'callform.state.json');
    const pristine = await readFile(statePath);
    const sim = await b.startSimProcess(seedFor(gen.tasks), 0);
    try {
      const env = b.cliEnv({ NXCLOUD_ENDPOINT: sim.url, NXCLOUD_UUID: sim.uuid, NXCLOUD_SECRET_KEY: sim.secret });
      const calls = async (args, expectCode = 0) => {
        await writeFile(statePath, pristine); // the same 10 changes each time
        await sim.resetStats();
        const r = await runChild(NODE, [CLI, ...args], { cwd: dir, env, timeoutMs: 600_000 });
        expectOk(r, args.join(' '), expectCode);
        const st = await sim.stats();
        return { listTask: st.byEndpoint.listTask ?? 0, updateTask: st.byEndpoint.updateTask ?? 0, ms: r.ms };
      };
      const rows = [
        { fid: '10h', args: ['plan', '--refresh', 'changed'], reads: 1, updates: 0 },
        { fid: '10i', args: ['plan', '--refresh', 'all'], reads: 100, updates: 0 },
        { fid: '10j', args: ['apply', '--auto-approve', '--refresh', 'changed'], reads: 1, updates: 10 },
        { fid: '10k', args: ['apply', '--auto-approve', '--refresh', 'all'], reads: 100, updates: 10 },
      ];
      for (const { fid, args, reads, updates } of rows) {
        const c = await calls(args);
        figure(
          fid,
          `${args.join(' ')}, 10k tasks with 10 changed: listTask calls (updateTask ${c.updateTask})`,
          c.listTask,
          'calls',
          `= ${reads}`,
          c.listTask === reads && c.updateTask === updates,
          { ...c, wallMs: round(c.ms) },
        );
      }
    } finally {
      await sim.close();
    }
  }

  // 8f–g: apply of 10,000 changes at 0 ms latency.
  {
    const { openProject, computePlan, executePlan, createClient } = b.lib;
    const N = 10_000;
    const P = 16;
    const dir = path.join(tmp, 'apply-10k');
    const gen = await generateProject(dir, N, { isChanged: () => true });
    const statePath = path.join(dir, 'callform.state.json');
    const serialOf = async () => JSON.parse(await readFile(statePath, 'utf8')).serial;
    const sim = await b.startSimProcess(seedFor(gen.tasks), 0);
    try {
      const env = b.cliEnv({ NXCLOUD_ENDPOINT: sim.url, NXCLOUD_UUID: sim.uuid, NXCLOUD_SECRET_KEY: sim.secret });
      const project = await openProject({ cwd: dir, env, overrides: { parallelism: P } });
      const client = await createClient(project);
      const run = await computePlan(project, { offline: false, targets: null, client });
      if (run.plan.summary.update !== N) throw new Error(`plan has ${run.plan.summary.update} updates, expected ${N}`);
      const serial0 = await serialOf();
      const stateBytes = (await readFile(statePath)).byteLength;
      await sim.resetStats();
      const t0 = performance.now();
      const result = await executePlan(project, run.plan, run.state, { client, parallelism: P });
      const ms = performance.now() - t0;
      const s = await sim.stats();
      const updates = s.byEndpoint.updateTask ?? 0;
      if (result.counts.applied !== N || updates !== N)
        throw new Error(`applied ${result.counts.applied}, updateTask calls ${updates} (expected ${N})`);
      const writes = (await serialOf()) - serial0;
      const rate = (s.requests / ms) * 1000;
      // What one write costs: the writer serialises the whole state and writes it atomically.
      const state = JSON.parse(await readFile(statePath, 'utf8'));
      const w0 = performance.now();
      await writeFile(path.join(dir, 'write-probe.json'), JSON.stringify(state, null, 2) + '\n');
      const writeMs = performance.now() - w0;
      const share = (writes * writeMs) / ms;
      figure(
        '10f',
        `apply of ${N.toLocaleString('en')} changes at 0 ms latency (executePlan, parallelism ${P}): API calls per second`,
        round(rate),
        'calls/s',
        'report',
        null,
        { wallMs: round(ms), requests: s.requests, byEndpoint: s.byEndpoint },
      );
      figure(
        '10g',
        `same: time in state writes (${writes} writes of the whole ${round(stateBytes / 1048576)} MiB file, ~${round(writeMs)} ms each) ÷ apply wall`,
        round(100 * share, 1),
        '%',
        'report',
        null,
        {
          writes,
          stateBytes,
          writeMs: round(writeMs),
          bytesWritten: writes * stateBytes,
          bytesPerChange: round((writes * stateBytes) / N),
        },
      );
    } finally {
      await sim.close();
    }
  }
}
