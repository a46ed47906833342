#!/usr/bin/env node
// `npm run demo`: the simulator on a free port, seeded from examples/, then validate, plan and
// apply the example task files (under the example policy) against it, show what the server
// ended up with (the running task paused and resumed, the task the seed lacks created), and stop.
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { main } from './cli.js';
import { startSimulator } from './sim/index.js';
import { processIo } from './cli/io.js';
import { colorsFor } from './render/colors.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const examples = path.join(root, 'examples');

async function demo(): Promise<number> {
  const work = await mkdtemp(path.join(tmpdir(), 'callform-demo-'));
  await cp(path.join(examples, 'tasks'), path.join(work, 'tasks'), { recursive: true });
  await cp(path.join(examples, 'policies'), path.join(work, 'policies'), { recursive: true });
  await cp(path.join(examples, 'callform.config.yaml'), path.join(work, 'callform.config.yaml'));
  const sim = await startSimulator({ port: 0, seed: path.join(examples, 'sim-seed.yaml') });
  const io = {
    ...processIo(),
    cwd: work,
    env: { ...process.env, NXCLOUD_ENDPOINT: sim.url, NXCLOUD_UUID: sim.uuid, NXCLOUD_SECRET_KEY: sim.secret },
  };
  // Bold only where callform itself would colour (a TTY, no NO_COLOR): `npm run demo > log` stays plain.
  const bold = colorsFor(process.stdout).bold;
  const step = (title: string) => process.stdout.write(`\n${bold(`== ${title}`)}\n`);
  try {
    process.stdout.write(
      `callform demo: simulator at ${sim.url} (seeded from examples/sim-seed.yaml), working copy of examples/ in ${work}\n`,
    );
    step('callform validate');
    if ((await main(['validate'], io)) !== 0) return 1;
    step('callform plan');
    if ((await main(['plan'], io)) !== 0) return 1;
    step('callform apply --auto-approve');
    const applied = await main(['apply', '--auto-approve'], io);
    step("the running task: paused, updated and resumed (the simulator's log)");
    const running = 'renewals-2026-q4-south';
    for (const e of sim.log().filter((x) => x.userTaskID === running)) {
      const what =
        e.kind === 'status'
          ? `status ${e.from} → ${e.to}`
          : e.endpoint === 'updateTask'
            ? 'updateTask'
            : `mgrTaskStatus taskOperate ${e.taskOperate} (${e.taskOperate === 2 ? 'pause' : 'start'})`;
      process.stdout.write(`  #${e.seq} ${what}\n`);
    }
    const task = sim.tasks.get(running);
    if (task)
      process.stdout.write(
        JSON.stringify(
          { userTaskID: task.userTaskID, taskStatus: task.taskStatus, taskCreateSetting: task.taskCreateSetting },
          null,
          2,
        ) + '\n',
      );
    const created = 'appointment-confirm-clinic-2026-11';
    step(`the new task: ${created} was not on the server, so apply created it (createTask, then updateTask)`);
    const made = sim.tasks.get(created);
    if (made)
      process.stdout.write(
        JSON.stringify(
          {
            userTaskID: made.userTaskID,
            taskID: made.taskID,
            taskStatus: made.taskStatus,
            taskCreateSetting: made.taskCreateSetting,
          },
          null,
          2,
        ) + '\n',
      );
    step('callform plan --detailed-exitcode (again: nothing left to do)');
    const again = await main(['plan', '--detailed-exitcode'], io);
    process.stdout.write(`\nsimulator traffic: ${JSON.stringify(sim.stats().byEndpoint)}\n`);
    process.stdout.write(
      `apply exit code ${applied} (0 = every change landed), second plan exit code ${again} (0 = the account matches the files)\n`,
    );
    if (applied !== 0 || again !== 0) return 1;
    const { environmentsDemo } = await import('./demo-environments.js');
    return await environmentsDemo(examples, work, io, step);
  } finally {
    await sim.close();
    await rm(work, { recursive: true, force: true });
  }
}

process.exitCode = await demo();
