// Figure 9 (environments, issue 17): `plan --all-envs --offline` for 3 environments over the
// same 10,000 tasks, each environment with an overlay touching 10 % of them, against a
// single-environment `plan --offline` of those tasks, measured side by side (alternating
// runs, median of 5). Target: ≤ 1.5 × (the task files are parsed once, not per environment).
import { cp, readFile, writeFile, mkdir } from 'node:fs/promises';
import { randomUUID } from 'node:crypto';
import path from 'node:path';

const ENVS = ['staging', 'canary', 'prod'];

/**
 * Each environment's state as a real applied repository holds it: its own lineage, every
 * task recorded, and the tasks its overlay touches recorded with that environment's values
 * (a previous apply there sent them). The tasks the one-environment state records as
 * changed (one in ten) stay changed, so each environment plans the same updates.
 */
function environmentState(base, e, touched) {
  const state = { ...base, lineage: randomUUID(), tasks: {} };
  for (const [id, entry] of Object.entries(base.tasks)) {
    const i = Number(id.slice(-6));
    state.tasks[id] =
      touched(id) && i % 10 !== 3
        ? {
            ...entry,
            taskCreateSetting: { ...entry.taskCreateSetting, maxRingTime: 40 + e },
            funcFlag: { ...entry.funcFlag, roundRedial: e % 2 === 0 },
          }
        : entry;
  }
  return state;
}

/** The 10k project again, with three environments, each its own state and overlay. */
async function withEnvironments(single, dir) {
  await cp(single, dir, { recursive: true });
  const settings = await readFile(path.join(dir, 'callform.config.yaml'), 'utf8');
  const envs = ENVS.map(
    (name) =>
      `  ${name}:\n    credentials: { uuid: NXCLOUD_UUID_${name.toUpperCase()}, secretKey: NXCLOUD_SECRET_KEY_${name.toUpperCase()} }\n    overlays: "overlays/${name}/*.yaml"`,
  );
  await writeFile(path.join(dir, 'callform.config.yaml'), `${settings}environments:\n${envs.join('\n')}\n`);
  const base = JSON.parse(await readFile(path.join(dir, 'callform.state.json'), 'utf8'));
  for (const [e, name] of ENVS.entries()) {
    const touched = (id) => id[id.length - 2] === String(e);
    await writeFile(
      path.join(dir, `callform.${name}.state.json`),
      JSON.stringify(environmentState(base, e, touched), null, 2) + '\n',
    );
    await mkdir(path.join(dir, 'overlays', name), { recursive: true });
    // bench-task-NNNNNN: the next-to-last digit picks one task in ten.
    await writeFile(
      path.join(dir, 'overlays', name, 'tuning.yaml'),
      `patches:\n  - tasks: "bench-task-????${e}?"\n    taskCreateSetting: { maxRingTime: ${40 + e} }\n    funcFlag: { roundRedial: ${e % 2 === 0} }\n`,
    );
  }
}

export async function benchEnvironments({
  tmp,
  generateProject,
  runChild,
  expectOk,
  figure,
  median,
  round,
  NODE,
  CLI,
}) {
  const single = path.join(tmp, 'envs-single');
  await generateProject(single, 10000);
  const multi = path.join(tmp, 'envs-multi');
  await withEnvironments(single, multi);
  const one = () => runChild(NODE, [CLI, 'plan', '--offline'], { cwd: single, rss: true });
  const all = () => runChild(NODE, [CLI, 'plan', '--offline', '--all-envs'], { cwd: multi, rss: true });
  const warm = [await one(), await all()];
  expectOk(warm[0], 'plan --offline (10k tasks, one environment)');
  expectOk(warm[1], 'plan --offline --all-envs (10k tasks, 3 environments)');
  if (!/All environments: 3 environments, 3 with changes, 0 with errors/.test(warm[1].stdout))
    throw new Error(`plan --all-envs did not report 3 environments; tail: ${warm[1].stdout.slice(-300)}`);
  const runs = { one: [], all: [] };
  for (let i = 0; i < 5; i++) {
    runs.one.push(await one());
    runs.all.push(await all());
  }
  const [oneMs, allMs] = [median(runs.one.map((r) => r.ms)), median(runs.all.map((r) => r.ms))];
  const cpu = (rs) => (rs.every((r) => r.cpuMs !== undefined) ? median(rs.map((r) => r.cpuMs)) : null);
  const [oneCpu, allCpu] = [cpu(runs.one), cpu(runs.all)];
  // Judged on CPU time (user + sys) when GNU time reports it: on a shared machine the wall
  // time of a 2-second run mostly measures the other processes. Wall is recorded too.
  const byCpu = oneCpu !== null && allCpu !== null;
  const ratio = byCpu ? allCpu / oneCpu : allMs / oneMs;
  figure(
    '9',
    `plan --all-envs --offline, 3 environments × 10k tasks (overlay on 10 % each) / one-environment plan (${byCpu ? 'CPU' : 'wall'}, median of 5)`,
    round(ratio, 2),
    '×',
    '≤ 1.5 ×',
    ratio <= 1.5,
    {
      judgedOn: byCpu ? 'cpu' : 'wall',
      wallRatio: round(allMs / oneMs, 2),
      oneEnvWallMsMedian: round(oneMs),
      allEnvsWallMsMedian: round(allMs),
      oneEnvCpuMsMedian: oneCpu === null ? null : round(oneCpu),
      allEnvsCpuMsMedian: allCpu === null ? null : round(allCpu),
      peakRssMb: {
        one: round(Math.max(...runs.one.map((r) => r.rssMb ?? 0))),
        all: round(Math.max(...runs.all.map((r) => r.rssMb ?? 0))),
      },
    },
  );
}
