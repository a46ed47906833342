// The second part of `npm run demo`: environments. Two simulator accounts (different uuid
// and secret) as staging and prod, the example tasks with a staging overlay, and the one
// all-environments pull-request comment; then apply in order and a clean re-plan.
import { cp, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { main } from './cli.js';
import { startSimulator } from './sim/index.js';
import type { Io } from './cli/io.js';

export async function environmentsDemo(
  examples: string,
  work: string,
  io: Io,
  step: (title: string) => void,
): Promise<number> {
  const seed = path.join(examples, 'sim-seed.yaml');
  const staging = await startSimulator({ port: 0, seed, uuid: 'demo-uuid-staging', secret: 'demo-secret-staging' });
  const prod = await startSimulator({ port: 0, seed, uuid: 'demo-uuid-prod', secret: 'demo-secret-prod' });
  try {
    await cp(path.join(examples, 'overlays'), path.join(work, 'overlays'), { recursive: true });
    await writeFile(
      path.join(work, 'callform.environments.yaml'),
      [
        'tasks: "tasks/**/*.{yaml,yml,json}"',
        'policyFiles: "policies/*.yaml"',
        'environments:',
        '  staging:',
        `    endpoint: ${staging.url}`,
        '    credentials: { uuid: NXCLOUD_UUID_STAGING, secretKey: NXCLOUD_SECRET_KEY_STAGING }',
        '    state: callform.staging.state.json',
        '    overlays: "overlays/staging/*.yaml"',
        '  prod:',
        `    endpoint: ${prod.url}`,
        '    credentials: { uuid: NXCLOUD_UUID_PROD, secretKey: NXCLOUD_SECRET_KEY_PROD }',
        '    state: callform.prod.state.json',
        '',
      ].join('\n'),
    );
    const envIo: Io = {
      ...io,
      env: {
        ...io.env,
        NXCLOUD_UUID_STAGING: staging.uuid,
        NXCLOUD_SECRET_KEY_STAGING: staging.secret,
        NXCLOUD_UUID_PROD: prod.uuid,
        NXCLOUD_SECRET_KEY_PROD: prod.secret,
      },
    };
    const run = (...args: string[]) => main(['--config', 'callform.environments.yaml', ...args], envIo);
    io.stdout.write(
      `\nenvironments: staging at ${staging.url} (uuid ${staging.uuid}), prod at ${prod.url} (uuid ${prod.uuid}); overlay overlays/staging/calm.yaml\n`,
    );
    step('callform apply --all-envs --auto-approve (staging, then prod: each its own state, lock and account)');
    if ((await run('apply', '--all-envs', '--auto-approve')) !== 0) return 1;
    // A pull request: west dials more (staging's overlay keeps every renewal at 2) and east stops redialing.
    const renewals = path.join(work, 'tasks', 'collections', 'renewals.yaml');
    const text = await readFile(renewals, 'utf8');
    await writeFile(
      renewals,
      text.replace('maxCall: 10', 'maxCall: 14').replace('roundRedial: true', 'roundRedial: false'),
    );
    step(
      'a change to tasks/collections/renewals.yaml: callform plan --all-envs --format markdown (the one PR comment)',
    );
    await run('plan', '--all-envs', '--format', 'markdown');
    step('callform explain renewals-2026-q4-west --env staging (why staging does not change)');
    if ((await run('explain', 'renewals-2026-q4-west', '--env', 'staging')) !== 0) return 1;
    step('callform apply --all-envs --auto-approve');
    const applied = await run('apply', '--all-envs', '--auto-approve');
    const maxCall = (sim: typeof staging) => sim.tasks.get('renewals-2026-q4-west')?.taskCreateSetting.maxCall;
    io.stdout.write(
      `\nrenewals-2026-q4-west maxCall: staging account ${maxCall(staging)}, prod account ${maxCall(prod)}\n`,
    );
    step('callform plan --all-envs --detailed-exitcode (again: nothing left to do)');
    const again = await run('plan', '--all-envs', '--detailed-exitcode');
    io.stdout.write(`environments: apply exit code ${applied}, second plan exit code ${again}\n`);
    return applied === 0 && again === 0 ? 0 : 1;
  } finally {
    await Promise.all([staging.close(), prod.close()]);
  }
}
