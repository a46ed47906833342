/**
 * Figure 8 (issue 19): creating 1,000 tasks the files declare and NXCloud does not have,
 * at 50 ms latency with parallelism 16. Each task is two calls in a row (createTask, then
 * updateTask with its declared settings), so the ideal is ceil(1000/16) × 2 × 50 ms; the
 * target is ≤ 1.15 × that, with exactly 1,000 createTask and 1,000 updateTask calls.
 */
import path from 'node:path';
import { rm } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { generateProject } from './gen.mjs';

/**
 * @param {{ tmp: string, figure: Function, startSimProcess: Function, cliEnv: Function,
 *   openProject: Function, computePlan: Function, executePlan: Function, createClient: Function,
 *   round: (x: number, d?: number) => number }} h the harness of bench/run.mjs
 */
export async function benchCreate(h) {
  const N = 1000;
  const P = 16;
  const LAT = 50;
  const dir = path.join(h.tmp, 'create-1k');
  await generateProject(dir, N);
  await rm(path.join(dir, 'callform.state.json')); // a new project: no state, no task on the server
  const ideal = Math.ceil(N / P) * 2 * LAT;
  const sim = await h.startSimProcess({ tasks: [] }, LAT);
  try {
    const env = h.cliEnv({ NXCLOUD_ENDPOINT: sim.url, NXCLOUD_UUID: sim.uuid, NXCLOUD_SECRET_KEY: sim.secret });
    const project = await h.openProject({ cwd: dir, env, overrides: { parallelism: P } });
    const client = await h.createClient(project);
    const run = await h.computePlan(project, { offline: false, targets: null, client });
    if (run.plan.summary.create !== N) throw new Error(`plan: ${run.plan.summary.create} creates, expected ${N}`);
    await sim.resetStats();
    const t0 = performance.now();
    const result = await h.executePlan(project, run.plan, run.state, { client, parallelism: P });
    const execMs = performance.now() - t0;
    const s = await sim.stats();
    const creates = s.byEndpoint.createTask ?? 0;
    const updates = s.byEndpoint.updateTask ?? 0;
    if (result.counts.created !== N) throw new Error(`executePlan created ${result.counts.created} of ${N} tasks`);
    h.figure(
      '8a',
      `create ${N} tasks (createTask + updateTask each) @ ${LAT} ms, parallelism ${P}: time / ideal (ceil(1000/16) × 2 × 50 ms)`,
      h.round(execMs / ideal, 3),
      '×',
      '≤ 1.15',
      execMs / ideal <= 1.15,
      { execMs: h.round(execMs), idealMs: ideal },
    );
    h.figure(
      '8b',
      'create: createTask / updateTask calls',
      `${creates} / ${updates}`,
      '',
      `${N} / ${N}`,
      creates === N && updates === N && s.creates === N,
      { createTask: creates, updateTask: updates, tasksCreated: s.creates, requests: s.requests },
    );
  } finally {
    await sim.close();
  }
}
