#!/usr/bin/env node
// `npm run demo`: the simulator on a free port, seeded from examples/, then validate, plan and
// apply the example task files (under the example policy) against it, show what the server
// ended up with, and stop.
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { main } from './cli.js';
import { startSimulator } from './sim/index.js';
import { processIo } from './cli/io.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const examples = path.join(root, 'examples');

async function demo(): Promise<number> {
  const work = await mkdtemp(path.join(tmpdir(), 'callform-demo-'));
  await cp(path.join(examples, 'tasks'), path.join(work, 'tasks'), { recursive: true });
  await cp(path.join(examples, 'policies'), path.join(work, 'policies'), { recursive: true });
  await cp(path.join(examples, 'callform.config.yaml'), path.join(work, 'callform.config.yaml'));
  const sim = await startSimulator({ port: 0, seed: path.join(examples, 'sim-seed.yaml') });
  const io = { ...processIo(), cwd: work, env: { ...process.env, NXCLOUD_ENDPOINT: sim.url, NXCLOUD_UUID: sim.uuid, NXCLOUD_SECRET_KEY: sim.secret } };
  const step = (title: string) => process.stdout.write(`\n\x1b[1m== ${title}\x1b[0m\n`);
  try {
    process.stdout.write(`callform demo: simulator at ${sim.url} (seeded from examples/sim-seed.yaml), working copy of examples/ in ${work}\n`);
    step('callform validate');
    if ((await main(['validate'], io)) !== 0) return 1;
    step('callform plan');
    if ((await main(['plan'], io)) !== 0) return 1;
    step('callform apply --auto-approve');
    const applied = await main(['apply', '--auto-approve'], io);
    step('what the simulator now holds (first applied task)');
    const first = [...sim.tasks.values()].find((t) => t.taskStatus !== 2);
    if (first) process.stdout.write(JSON.stringify({ userTaskID: first.userTaskID, taskStatus: first.taskStatus, taskCreateSetting: first.taskCreateSetting, funcFlag: first.funcFlag }, null, 2) + '\n');
    step('callform plan --detailed-exitcode (again: only the blocked task remains)');
    const again = await main(['plan', '--detailed-exitcode'], io);
    const stats = sim.stats();
    process.stdout.write(`\nsimulator traffic: ${JSON.stringify(stats.byEndpoint)}\n`);
    process.stdout.write(`apply exit code ${applied} (3 = some tasks blocked by their status), second plan exit code ${again} (2 = changes remain)\n`);
    // The demo's seed has one running task on purpose: blocked (3) is the expected outcome.
    return applied === 0 || applied === 3 ? 0 : 1;
  } finally {
    await sim.close();
    await rm(work, { recursive: true, force: true });
  }
}

process.exitCode = await demo();
